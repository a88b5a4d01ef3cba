// Every external command the agent runs (ctr, ip, CNI plugins) goes through a
// CommandRunner, so unit tests can check the exact argument arrays and replay
// scripted answers instead of touching the machine.
import { execFile } from 'node:child_process';
import { BrambleError } from '../proto/util/errors.js';

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Added to (and overriding) the agent's own environment. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CommandRunner {
  /** Resolves with the exit code, also when it is non-zero; rejects only when the command could not run or timed out. */
  run(file: string, args: string[], opts?: RunOptions): Promise<RunResult>;
}

export class CommandTimeoutError extends BrambleError {
  constructor(readonly command: string, readonly timeoutMs: number) {
    super('RUNTIME_FAILED', `command must finish within ${timeoutMs} ms: "${command}" did not`);
  }
}

function describe(file: string, args: string[]): string {
  return [file, ...args].join(' ');
}

/** The real runner: execFile with an argument array, never a shell. */
export const execRunner: CommandRunner = {
  run(file, args, opts = {}) {
    return new Promise<RunResult>((resolve, reject) => {
      const child = execFile(
        file,
        args,
        {
          env: opts.env ? { ...process.env, ...opts.env } : process.env,
          timeout: opts.timeoutMs ?? 0,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024 * 1024,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          if (!error) {
            resolve({ stdout, stderr, exitCode: 0 });
            return;
          }
          const e = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
          if (e.killed && opts.timeoutMs) {
            reject(new CommandTimeoutError(describe(file, args), opts.timeoutMs));
          } else if (typeof e.code === 'number') {
            resolve({ stdout, stderr, exitCode: e.code });
          } else if (e.signal) {
            resolve({ stdout, stderr, exitCode: 128 + signalNumber(e.signal) });
          } else {
            reject(new BrambleError('RUNTIME_FAILED', `command must be runnable: "${describe(file, args)}" failed with ${e.code ?? e.message}`));
          }
        },
      );
      // Commands such as `ctr task exec` forward stdin; close it so they never wait on the agent's.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input ?? '');
    });
  },
};

function signalNumber(signal: string): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return table[signal] ?? 1;
}

/** Runs every command inside a network namespace (a board, in tests) without touching the mount namespace. */
export function nsenterRunner(netnsPath: string, inner: CommandRunner = execRunner): CommandRunner {
  return {
    run: (file, args, opts) => inner.run('nsenter', [`--net=${netnsPath}`, file, ...args], opts),
  };
}

export interface RecordedCall {
  file: string;
  args: string[];
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export type FakeReply = Partial<RunResult> | Error | ((call: RecordedCall) => Partial<RunResult> | Error);

interface Rule {
  match: (call: RecordedCall) => boolean;
  reply: FakeReply;
  times?: number;
}

/**
 * Records every call and answers from scripted rules. Rules with `times` (see `once`)
 * are used up in the order they were added and come first; among lasting rules the
 * newest match wins, so a test can change an answer midway. Unmatched calls succeed
 * with empty output.
 */
export class FakeRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  private rules: Rule[] = [];

  /**
   * `match` is either a predicate or a list of words that must appear contiguously in
   * `[file, ...args]`, e.g. `['task', 'ls']`.
   */
  on(match: string[] | ((call: RecordedCall) => boolean), reply: FakeReply, opts: { times?: number } = {}): this {
    const predicate = Array.isArray(match) ? (c: RecordedCall) => containsRun([c.file, ...c.args], match) : match;
    this.rules.push({ match: predicate, reply, times: opts.times });
    return this;
  }

  /** Shorthand for a rule used once, in order: scripts a sequence of answers. */
  once(match: string[] | ((call: RecordedCall) => boolean), reply: FakeReply): this {
    return this.on(match, reply, { times: 1 });
  }

  /** The argument arrays of calls that contain `words`, for assertions. */
  argsOf(words: string[]): string[][] {
    return this.calls.filter((c) => containsRun([c.file, ...c.args], words)).map((c) => c.args);
  }

  async run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const call: RecordedCall = { file, args: [...args], input: opts.input, env: opts.env, timeoutMs: opts.timeoutMs };
    this.calls.push(call);
    const rule = this.rules.find((r) => r.times !== undefined && r.match(call))
      ?? [...this.rules].reverse().find((r) => r.times === undefined && r.match(call));
    if (!rule) return { stdout: '', stderr: '', exitCode: 0 };
    if (rule.times !== undefined && --rule.times <= 0) this.rules = this.rules.filter((r) => r !== rule);
    const reply = typeof rule.reply === 'function' ? rule.reply(call) : rule.reply;
    if (reply instanceof Error) throw reply;
    return { stdout: reply.stdout ?? '', stderr: reply.stderr ?? '', exitCode: reply.exitCode ?? 0 };
  }
}

function containsRun(haystack: string[], needle: string[]): boolean {
  if (needle.length === 0) return true;
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((w, j) => haystack[i + j] === w)) return true;
  }
  return false;
}
