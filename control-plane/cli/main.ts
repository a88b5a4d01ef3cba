// The `bramble` executable: builds the commander program from the command
// table and runs it. Usage mistakes exit 2, failed commands 1. Daemons also
// exit 70 on an uncaught exception and 74 when their store fails; the policy
// is in process-exit.ts.
import { Command, CommanderError, Option } from 'commander';
import { COMMANDS, isCommandGroup, type CommandEntry, type CommandSpec, type OptionSpec } from './cli-commands.js';
import { stderrClientLog } from './cli-learn-members.js';
import { processIo, type CliIo, type RawOptions } from './cli-context.js';
import { EXIT_USAGE, reportError, UsageError } from './cli-errors.js';
import { clientVersion } from './cli-version.js';

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
}

function toOption(spec: OptionSpec): Option {
  const opt = new Option(spec.flags, spec.description);
  if (spec.choices) opt.choices(spec.choices);
  if (spec.repeatable) opt.argParser(collect);
  else if (spec.defaultValue !== undefined) opt.default(spec.defaultValue);
  return opt;
}

interface Outcome {
  code: number;
  daemon: boolean;
}

function buildProgram(io: CliIo, outcome: Outcome): Command {
  const program = new Command('bramble')
    .description('Bramble: a small container orchestrator for Raspberry Pi clusters')
    .version(clientVersion(), '--version', 'print the client version')
    .option('--config <file>', 'client config (default: $BRAMBLE_CONFIG, ~/.bramble/config, <data dir>/admin.conf)')
    .option('--server <host:port>', 'talk to this control-plane member only (default: the config\'s servers, in order, failing over when one is down)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const entry of COMMANDS) addEntry(program, entry, io, outcome);
  return program;
}

/** A group (`bramble token ...`) becomes a command whose subcommands carry the actions. */
function addEntry(parent: Command, entry: CommandEntry, io: CliIo, outcome: Outcome): void {
  if (!isCommandGroup(entry)) {
    addCommand(parent, entry, io, outcome);
    return;
  }
  const group = parent.command(entry.name).description(entry.description);
  for (const sub of entry.subcommands) addEntry(group, sub, io, outcome);
}

function addCommand(parent: Command, spec: CommandSpec, io: CliIo, outcome: Outcome): void {
  const cmd = parent.command(spec.name).description(spec.description);
  for (const alias of spec.aliases ?? []) cmd.alias(alias);
  for (const a of spec.arguments) cmd.argument(a.name, a.description);
  for (const o of spec.options) cmd.addOption(toOption(o));
  cmd.action(async () => {
    outcome.daemon = spec.daemon === true;
    if (outcome.daemon) await guardDaemon(spec.name);
    const opts = cmd.optsWithGlobals() as RawOptions;
    const config = typeof opts.config === 'string' ? opts.config : undefined;
    const server = typeof opts.server === 'string' && !spec.daemon ? opts.server : undefined;
    try {
      if (server !== undefined) checkServerAddress(server);
      outcome.code = await spec.action({ io, connect: { configPath: config, env: io.env, log: stderrClientLog(io), ...(server !== undefined ? { server } : {}) } }, cmd.processedArgs as unknown[], opts);
    } catch (e) {
      outcome.code = reportError(e, io.stderr);
    }
  });
}

function checkServerAddress(server: string): void {
  const port = Number(/:(\d+)$/.exec(server)?.[1]);
  if (!/^[^:\s]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(server) || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`--server must be HOST:PORT with a port of 1-65535: current value is "${server}"`);
  }
}

/**
 * Last-resort handlers for a long-running process: an uncaught exception ends it
 * with one fatal line and exit 70, an unhandled rejection is logged and counted.
 * Loaded only for daemons, so other commands do not pay for the logger.
 */
async function guardDaemon(name: string): Promise<void> {
  const [{ createLogger }, { installLastResortHandlers }] = await Promise.all([import('../../proto/util/log.js'), import('../../proto/util/process-exit.js')]);
  installLastResortHandlers({ logger: createLogger(`bramble-${name}`) });
}

async function main(): Promise<void> {
  const io = processIo();
  const outcome: Outcome = { code: 0, daemon: false };
  try {
    await buildProgram(io, outcome).parseAsync(process.argv);
  } catch (e) {
    // Commander has already printed its message; help and --version end with exit code 0.
    outcome.code = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : EXIT_USAGE) : reportError(e, io.stderr);
  }
  // A daemon that started keeps the process alive; one that failed may have left handles open.
  if (outcome.daemon && outcome.code !== 0) process.exit(outcome.code);
  process.exitCode = outcome.code;
}

await main();
