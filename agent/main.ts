// The agent's entry point, as `bramble agent` and `bramble server`'s local
// agent use it: checks the flags before anything touches the network, joins
// (or reuses the credential in the data dir), and keeps running until SIGTERM
// or SIGINT. Join failures (bad token, wrong CA, name taken, server
// unreachable) and a missing containerd end it with a message that says what
// to do. The rest of the agent is loaded only once the flags are good, so the
// CLI pays nothing for it at start-up. Nothing here imports the control plane.
import fs from 'node:fs/promises';
import path from 'node:path';
import { BrambleError, isBrambleError, UsageError } from '../proto/util/errors.js';
import { readFile } from 'node:fs/promises';
import { parseToken } from '../proto/token.js';
import type { Logger } from '../proto/util/log.js';
import type { RunningAgent } from './agent.js';
import type { ShimGroupMode } from './runtime.js';
import type { Finding } from './preflight.js';

export type { Finding, RunningAgent };
import { closeThenExit } from '../proto/util/process-exit.js';
import { containerdSocketPath, probeContainerd } from './containerd-probe.js';

export { containerdSocketPath, probeContainerd };
import { labelKeyRule, labelValueRule, nodeNameRule, parseHostPort } from '../proto/names.js';

/** Same value as agent.ts's DEFAULT_CONTAINERD_ADDRESS, kept here so the CLI table loads no more of the agent. */
export const DEFAULT_CONTAINERD_ADDRESS = '/run/containerd/containerd.sock';
const CLOSE_DEADLINE_MS = 10_000;

/** Checks a HOST:PORT flag before anything binds or dials, so the error names the flag. */
export function checkHostPort(flag: string, value: string): void {
  if (!parseHostPort(value)) {
    throw new UsageError(`${flag} must be HOST:PORT with a port from 0 to 65535: current value is "${value}"`);
  }
}

/**
 * Closes `what` on the first SIGTERM or SIGINT and exits 0, or 1 when closing
 * fails or hangs past the deadline (a stuck stream must not keep a stopped daemon alive).
 * Returns a trigger for stopping the same way with another exit code (a fatal
 * failure): whichever comes first decides the code, so a signal during a fatal
 * stop cannot turn its exit code into 0.
 */
export function closeOnSignals(logger: Logger, what: string, close: () => Promise<void>): (code: number) => void {
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    closeThenExit({ logger, what, code, close, deadlineMs: CLOSE_DEADLINE_MS });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stopping) logger.info({ signal }, `stopping the ${what}`);
    stop(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return stop;
}

/** "k=v,k2=v2" as a label map; a bad pair is a usage error that names it. */
export function parseLabels(text: string, flag = '--labels'): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const raw of text.split(',')) {
    const pair = raw.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) throw new UsageError(`${flag} must be a list of KEY=VALUE pairs: "${pair}" has no "="`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const keyProblem = labelKeyRule(key);
    if (keyProblem) throw new UsageError(`${flag}: the key of "${pair}" ${keyProblem}`);
    const valueProblem = labelValueRule(value);
    if (valueProblem) throw new UsageError(`${flag}: the value of "${pair}" ${valueProblem}`);
    labels[key] = value;
  }
  return labels;
}

export function checkNodeName(flag: string, name: string): void {
  const problem = nodeNameRule(name);
  if (problem) throw new UsageError(`${flag} ${problem}: current value is "${name}"`);
}

/** What to print when containerd is not there; `alternative` names the other way out for this command. */
export function containerdUnreachable(address: string, reason: string, alternative: string): BrambleError {
  return new BrambleError(
    'RUNTIME_FAILED',
    `containerd is not reachable at ${containerdSocketPath(address)} (${reason}): start containerd, ${alternative}`,
  );
}

/** A join failure, with where the agent tried to join; other errors pass through. */
export function explainAgentStartError(e: unknown, server: string): unknown {
  if (isBrambleError(e, 'TOKEN_INVALID') || isBrambleError(e, 'CA_MISMATCH') || isBrambleError(e, 'NODE_NAME_TAKEN')) {
    return new BrambleError(e.code, `cannot join the cluster at ${server}: ${e.message}`, e.details);
  }
  if (isBrambleError(e, 'UNAVAILABLE') && !e.message.includes(server)) {
    return new BrambleError('UNAVAILABLE', `cannot join the cluster at ${server}: ${e.message}`, e.details);
  }
  return e;
}

export interface AgentInput {
  /** Every control-plane member: the flag given several times, or a comma-separated list, or both. */
  server?: string | string[];
  token?: string;
  tokenFile?: string;
  /** $BRAMBLE_TOKEN: keeps the token out of the process list. */
  envToken?: string;
  nodeName?: string;
  dataDir?: string;
  containerdAddress?: string;
  labels?: string;
  reserve?: string;
  insecureRegistries: string[];
  cniPath?: string;
  /** "pod" (default) or "container": see ShimGroupMode. */
  shimGroup?: string;
  /** Remove what the agent added to the board's network, then exit (no join, no server needed). */
  cleanup?: boolean;
  /** Preflight checks whose fatal findings do not stop the start ("all" for every one). */
  ignoreChecks?: string[];
}

/** Every flag checked; the agent module is loaded only after, so a typo fails at once. */
/** One token source at most: --token, --token-file or $BRAMBLE_TOKEN (in that order of precedence). */
export async function resolveToken(input: Pick<AgentInput, 'token' | 'tokenFile' | 'envToken'>): Promise<string | undefined> {
  if (input.token !== undefined && input.tokenFile !== undefined) {
    throw new UsageError('--token and --token-file cannot both be given: choose one');
  }
  if (input.tokenFile !== undefined) {
    try {
      return (await readFile(input.tokenFile, 'utf8')).trim();
    } catch (e) {
      throw new UsageError(`--token-file cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)} for "${input.tokenFile}"`);
    }
  }
  return input.token ?? (input.envToken?.trim() || undefined);
}

/** --server's values as one list of members, in the order given, each checked like a single address. */
export function parseServers(value: string | string[] | undefined): string[] {
  const servers: string[] = [];
  for (const part of (Array.isArray(value) ? value : [value ?? '']).flatMap((v) => v.split(','))) {
    const address = part.trim();
    if (address === '') continue;
    checkHostPort('--server', address);
    if (/:0$/.test(address)) throw new UsageError(`--server port must be 1-65535: current value is "${address}"`);
    if (!servers.includes(address)) servers.push(address);
  }
  if (servers.length === 0) throw new UsageError('--server HOST:PORT is required: the control plane\'s gRPC address, e.g. 192.168.1.10:7443');
  return servers;
}

/** --shim-group's value; undefined means the default, one shim per Pod. */
export function parseShimGroup(value: string | undefined): ShimGroupMode {
  if (value === undefined || value === 'pod') return 'pod';
  if (value === 'container') return 'container';
  throw new UsageError(`--shim-group must be "pod" or "container": current value is "${value}"`);
}

async function checkAgentInput(input: AgentInput): Promise<{ servers: string[]; labels: Record<string, string>; token?: string; shimGroup: ShimGroupMode }> {
  const servers = parseServers(input.server);
  const shimGroup = parseShimGroup(input.shimGroup);
  for (const r of input.insecureRegistries) checkHostPort('--insecure-registry', r);
  if (input.nodeName !== undefined) checkNodeName('--node-name', input.nodeName);
  const labels = parseLabels(input.labels ?? '');
  await checkIgnoredChecks(input.ignoreChecks ?? []);
  if (input.reserve !== undefined) {
    const { parseReserve } = await import('./stats.js');
    try {
      parseReserve(input.reserve);
    } catch (e) {
      throw new UsageError(`--reserve: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const token = await resolveToken(input);
  // A mistyped token fails here, before the server is asked anything.
  if (token !== undefined) parseToken(token);
  return { servers, labels, token, shimGroup };
}

/** --ignore-check's names: each a check `bramble check` runs, or "all"; a typo must not silently ignore nothing. */
export async function checkIgnoredChecks(names: readonly string[]): Promise<void> {
  const { CHECK_NAMES } = await import('./preflight-checks.js');
  for (const name of names) {
    if (name !== 'all' && !CHECK_NAMES.includes(name)) {
      throw new UsageError(`--ignore-check must name a check (${CHECK_NAMES.join(', ')}) or "all": current value is "${name}"`);
    }
  }
}

/** `bramble check`: every preflight finding for this machine, defaults as the agent's. */
export async function checkThisBoard(opts: { containerdAddress?: string; cniPath?: string; dataDir?: string; now: number }): Promise<Finding[]> {
  const [{ checkBoard }, { realHostProbe }, { DEFAULT_CNI_PATH }, { defaultAgentDataDir }] = await Promise.all([
    import('./preflight-checks.js'), import('./preflight-probe.js'), import('./network-cni.js'), import('./agent.js'),
  ]);
  return checkBoard(realHostProbe, {
    containerdAddress: opts.containerdAddress ?? DEFAULT_CONTAINERD_ADDRESS,
    cniPath: opts.cniPath ?? DEFAULT_CNI_PATH,
    dataDir: opts.dataDir ?? defaultAgentDataDir(),
    now: opts.now,
  });
}

/** The board's preflight at an agent's start (agent/preflight-checks.ts): logs every finding, throws on a fatal one not ignored. */
async function preflight(logger: Logger, opts: { containerdAddress: string; cniPath?: string; dataDir: string; ignoreChecks?: string[] }): Promise<void> {
  const [{ preflightAgent }, { realHostProbe }, { DEFAULT_CNI_PATH }, { realClock }] = await Promise.all([
    import('./preflight-checks.js'), import('./preflight-probe.js'), import('./network-cni.js'), import('../proto/util/clock.js'),
  ]);
  await preflightAgent(realHostProbe, {
    containerdAddress: opts.containerdAddress, cniPath: opts.cniPath ?? DEFAULT_CNI_PATH, dataDir: opts.dataDir, now: realClock.now(),
  }, opts.ignoreChecks ?? [], logger);
}

/** Where the agent tells the person who started it how it went. */
export interface AgentIo {
  stderr: { write(text: string): unknown };
}

/** Runs `bramble agent` until a signal; `version` is the package's, reported to the control plane. */
export async function runAgent(io: AgentIo, input: AgentInput, version: string): Promise<number> {
  if (input.cleanup) return runCleanup(io, input);
  const { servers, labels, token, shimGroup } = await checkAgentInput(input);
  const server = servers.join(',');
  const containerdAddress = input.containerdAddress ?? DEFAULT_CONTAINERD_ADDRESS;
  const [{ startAgent, defaultAgentDataDir }, { createLogger }] = await Promise.all([import('./agent.js'), import('../proto/util/log.js')]);
  const logger = createLogger('bramble-agent');
  const dataDir = input.dataDir ?? defaultAgentDataDir();
  // Before the join: a board that can run nothing must not appear as a node.
  await preflight(logger, { containerdAddress, cniPath: input.cniPath, dataDir, ignoreChecks: input.ignoreChecks });
  let agent: RunningAgent;
  try {
    agent = await startAgent({
      server: servers[0]!,
      servers,
      token,
      nodeName: input.nodeName,
      dataDir,
      containerdAddress,
      labels,
      reserve: input.reserve,
      insecureRegistries: input.insecureRegistries,
      cniPath: input.cniPath,
      shimGroup,
      version,
      logger,
    });
  } catch (e) {
    // The runtime is first used after the join: tell a missing containerd from a ctr failure.
    if (isBrambleError(e, 'RUNTIME_FAILED')) {
      const reason = await probeContainerd(containerdAddress);
      if (reason !== undefined) throw containerdUnreachable(containerdAddress, reason, 'or pass --containerd-address SOCK');
    }
    throw explainAgentStartError(e, server);
  }
  io.stderr.write(`bramble agent: running as node ${agent.nodeName} (pod CIDR ${agent.podCidr}), control plane ${server}\n`);
  closeOnSignals(logger, 'agent', () => agent.close());
  return 0;
}

/** `bramble agent --cleanup`: routes, Pod sandboxes, the bridge and the hooks' rules, then exit 0. */
async function runCleanup(io: AgentIo, input: AgentInput): Promise<number> {
  const [{ cleanupAgent }, { defaultAgentDataDir }, { createLogger }, { serviceRulesCleanup }, { execRunner }, { realClock }] = await Promise.all([
    import('./agent-cleanup.js'), import('./agent.js'), import('../proto/util/log.js'), import('./agent-services.js'),
    import('./exec-runner.js'), import('../proto/util/clock.js'),
  ]);
  const logger = createLogger('bramble-agent');
  const report = await cleanupAgent({
    dataDir: input.dataDir ?? defaultAgentDataDir(), cniPath: input.cniPath, logger,
    hooks: [serviceRulesCleanup(execRunner, realClock, logger)],
  });
  const hooks = report.hooks.length > 0 ? `, ${report.hooks.join(', ')} cleaned up` : '';
  io.stderr.write(`bramble agent: removed ${report.routes} route(s), ${report.pods} pod sandbox(es)${report.bridge ? ' and the bridge' : ''}${hooks}\n`);
  return 0;
}

export interface LocalAgentInput {
  server: string;
  /** Every control-plane member, `server` first (a replicated control plane); the agent fails over between them. */
  servers?: string[];
  nodeName: string;
  dataDir: string;
  tokenFile: string;
  containerdAddress?: string;
  labels: Record<string, string>;
  version: string;
  /** As `bramble agent --ignore-check`. */
  ignoreChecks?: string[];
}

/** This machine's own board: its data in <data-dir>/agent, joined with the server's default token. */
export async function startLocalAgent(input: LocalAgentInput): Promise<RunningAgent> {
  const containerdAddress = input.containerdAddress ?? DEFAULT_CONTAINERD_ADDRESS;
  const alternative = 'pass --containerd-address SOCK, or run the control plane alone with --disable-agent';
  // Checked before joining: a board that can run nothing must not appear as a node.
  const reason = await probeContainerd(containerdAddress);
  if (reason !== undefined) throw containerdUnreachable(containerdAddress, reason, alternative);
  const token = (await fs.readFile(input.tokenFile, 'utf8')).trim();
  const [{ startAgent }, { createLogger }] = await Promise.all([import('./agent.js'), import('../proto/util/log.js')]);
  const logger = createLogger('bramble-agent');
  const dataDir = path.join(input.dataDir, 'agent');
  try {
    await preflight(logger, { containerdAddress, dataDir, ignoreChecks: input.ignoreChecks });
  } catch (e) {
    if (e instanceof BrambleError) throw new BrambleError(e.code, `the local agent could not start: ${e.message}, or run the control plane alone with --disable-agent`, e.details);
    throw e;
  }
  try {
    return await startAgent({
      server: input.server,
      ...(input.servers ? { servers: input.servers } : {}),
      token,
      nodeName: input.nodeName,
      dataDir,
      containerdAddress,
      labels: input.labels,
      version: input.version,
      logger,
    });
  } catch (e) {
    const err = explainAgentStartError(e, input.server);
    if (err instanceof BrambleError) throw new BrambleError(err.code, `the local agent could not start: ${err.message}`, err.details);
    throw err;
  }
}
