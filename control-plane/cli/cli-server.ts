// `bramble server`: starts the control plane and, unless --disable-agent, an
// agent in the same process for this machine (as k3s does), labelled as the
// control-plane node. Keeps running until SIGTERM or SIGINT, then closes the
// agent, then the server (the store flushes), and exits 0. A store that cannot
// be read at start-up or refuses a write later ends it with exit 74 after one
// clear line (process-exit.ts has the policy).
import os from 'node:os';
import path from 'node:path';
import { isIPv4 } from 'node:net';
import type { RunningAgent } from '../../agent/main.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { checkHostPort, checkNodeName, closeOnSignals } from './cli-agent.js';
import type { CommandContext } from './cli-context.js';
import { reportError, UsageError } from './cli-errors.js';
import { parseDuration } from './cli-token.js';
import { EXIT_STORE_FAILED } from '../../proto/util/process-exit.js';
import { clientVersion } from './cli-version.js';
import { defaultDataDir } from '../pki/client-config.js';
import { CONTROLLER_NAMES, selectControllers } from '../controllers/controller-selection.js';
import { parseSnapshotFlags, type SnapshotFlags } from './cli-server-snapshots.js';

export { CONTROLLER_NAMES };

export const DEFAULT_GRPC_ADDR = '0.0.0.0:7443';
export const DEFAULT_HTTP_ADDR = '0.0.0.0:7080';
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

export interface ServerInput extends SnapshotFlags {
  dataDir?: string;
  grpcAddr: string;
  httpAddr: string;
  tlsSans: string[];
  /** Run the control plane alone: no agent, no containerd needed. */
  disableAgent?: boolean;
  /** The local agent's node name; default the host name in lower case. */
  nodeName?: string;
  containerdAddress?: string;
  /** --ignore-check: the local agent's preflight checks whose fatal findings do not stop it. */
  ignoreChecks?: string[];
  clusterCidr?: string;
  serviceCidr?: string;
  /** --controllers: which controllers run ("*", "foo", "-foo"). */
  controllers?: string;
  /** --node-monitor-grace-period, as typed (a duration such as 40s). */
  nodeMonitorGracePeriod?: string;
  /** --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds, as typed. */
  defaultNotReadyTolerationSeconds?: string;
  defaultUnreachableTolerationSeconds?: string;
  /** --event-ttl: how long Events live after they last happened ("1h"). */
  eventTtl?: string;
  /** --cluster-init: start a replicated control plane with this server as its first member. */
  clusterInit?: boolean;
  /** --join HOST:PORT: join the replicated control plane that server belongs to. */
  join?: string;
  token?: string;
  tokenFile?: string;
  envToken?: string;
  /** --advertise-address HOST:PORT: where the other members reach this server. */
  advertiseAddress?: string;
  /** --raft-heartbeat-interval and --raft-election-timeout, as typed (500ms, 2s). */
  raftHeartbeatInterval?: string;
  raftElectionTimeout?: string;
}

export const RAFT_TICK_MS = 100;
export const DEFAULT_RAFT_HEARTBEAT_INTERVAL = '200ms';
export const DEFAULT_RAFT_ELECTION_TIMEOUT = '1s';

/** A duration in milliseconds: "500ms", "2s", "1m"; a whole number of ticks (100 ms each). */
export function parseRaftDuration(flag: string, text: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000) : NaN;
  if (!Number.isSafeInteger(ms) || ms < RAFT_TICK_MS || ms % RAFT_TICK_MS !== 0 || ms > 10 * 60_000) {
    throw new UsageError(`${flag} must be a duration of whole tenths of a second from 100ms to 10m, such as 200ms or 2s: current value is "${text}"`);
  }
  return ms;
}

/** The Raft timing in ticks; the election timeout must leave room for several heartbeats. */
export function raftTiming(input: Pick<ServerInput, 'raftHeartbeatInterval' | 'raftElectionTimeout'>): { tickMs: number; heartbeatTick: number; electionTick: number } {
  const heartbeat = parseRaftDuration('--raft-heartbeat-interval', input.raftHeartbeatInterval ?? DEFAULT_RAFT_HEARTBEAT_INTERVAL);
  const election = parseRaftDuration('--raft-election-timeout', input.raftElectionTimeout ?? DEFAULT_RAFT_ELECTION_TIMEOUT);
  if (election < 3 * heartbeat) {
    throw new UsageError(`--raft-election-timeout must be at least 3 times --raft-heartbeat-interval (${heartbeat}ms): current value is "${input.raftElectionTimeout ?? DEFAULT_RAFT_ELECTION_TIMEOUT}"`);
  }
  return { tickMs: RAFT_TICK_MS, heartbeatTick: heartbeat / RAFT_TICK_MS, electionTick: election / RAFT_TICK_MS };
}

/** Where other members reach this server: --advertise-address, the gRPC address if it names one, else this machine's first LAN address. */
export function advertiseAddress(input: Pick<ServerInput, 'advertiseAddress' | 'grpcAddr'>, interfaces = os.networkInterfaces()): string {
  if (input.advertiseAddress !== undefined) {
    checkHostPort('--advertise-address', input.advertiseAddress);
    return input.advertiseAddress;
  }
  const m = /^(.*):(\d+)$/.exec(input.grpcAddr)!;
  const host = m[1]!;
  if (host !== '' && host !== '0.0.0.0' && host !== '::' && host !== '[::]') return input.grpcAddr;
  for (const addrs of Object.values(interfaces)) {
    const lan = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (lan) return `${lan.address}:${m[2]}`;
  }
  return `127.0.0.1:${m[2]}`;
}

/** Seconds as typed for a toleration flag: a whole number, 0 or more (0 evicts at once). */
export function parseTolerationSeconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t)) || Number(t) > 2 ** 31 - 1) {
    throw new UsageError(`${flag} must be a whole number of seconds, 0 or more: current value is "${text}"`);
  }
  return Number(t);
}

/** --node-monitor-grace-period: a duration (40s, 2m) of at least one second, in ms. */
export function parseGracePeriod(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = parseDuration(text, flag);
  if (seconds < 1) throw new UsageError(`${flag} must be at least 1s: current value is "${text}"`);
  return seconds * 1000;
}

/**
 * An IPv4 CIDR whose prefix leaves room for what it is cut into: the cluster
 * range gives each node a /24, so its prefix is at most 24.
 */
export function checkCidr(flag: string, value: string, maxPrefix: number): void {
  const m = value.match(/^([\d.]+)\/(\d{1,2})$/);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !isIPv4(m[1]!) || !(prefix >= 8 && prefix <= maxPrefix)) {
    throw new UsageError(`${flag} must be an IPv4 CIDR with a prefix from /8 to /${maxPrefix}, e.g. 10.42.0.0/16: current value is "${value}"`);
  }
}

export async function runServer(ctx: CommandContext, input: ServerInput): Promise<number> {
  checkHostPort('--grpc-addr', input.grpcAddr);
  checkHostPort('--http-addr', input.httpAddr);
  const clusterCidr = input.clusterCidr ?? DEFAULT_CLUSTER_CIDR;
  const serviceCidr = input.serviceCidr ?? DEFAULT_SERVICE_CIDR;
  checkCidr('--cluster-cidr', clusterCidr, 24);
  if (input.controllers !== undefined) selectControllers(input.controllers);
  const nodeMonitorGracePeriodMs = parseGracePeriod('--node-monitor-grace-period', input.nodeMonitorGracePeriod);
  const notReadySeconds = parseTolerationSeconds('--default-not-ready-toleration-seconds', input.defaultNotReadyTolerationSeconds);
  const unreachableSeconds = parseTolerationSeconds('--default-unreachable-toleration-seconds', input.defaultUnreachableTolerationSeconds);
  checkCidr('--service-cidr', serviceCidr, 30);
  const eventTtlSeconds = input.eventTtl === undefined ? undefined : parseDuration(input.eventTtl, '--event-ttl');
  if (eventTtlSeconds === 0) throw new UsageError(`--event-ttl must be a positive duration such as 1h or 30m: current value is "${input.eventTtl}"`);
  const nodeName = input.nodeName ?? os.hostname().toLowerCase();
  if (!input.disableAgent || input.clusterInit || input.join !== undefined) checkNodeName('--node-name', nodeName);
  if (input.clusterInit && input.join !== undefined) throw new UsageError('give either --cluster-init (start a cluster) or --join HOST:PORT (join one), not both');
  if (input.join !== undefined) checkHostPort('--join', input.join);
  if (input.ignoreChecks && input.ignoreChecks.length > 0) {
    const { checkIgnoredChecks } = await import('../../agent/main.js');
    await checkIgnoredChecks(input.ignoreChecks);
  }
  const timing = raftTiming(input);
  const advertise = advertiseAddress(input);
  let joinToken: string | undefined;
  if (input.join !== undefined) {
    const { resolveToken } = await import('../../agent/main.js');
    joinToken = await resolveToken(input);
    if (joinToken === undefined) throw new UsageError('--join needs the cluster\'s join token: --token, --token-file or $BRAMBLE_TOKEN (`bramble token create` on a member)');
  }
  // Loaded here, not at the top: every other command would pay for the server's modules at start-up.
  const [{ startServer, localClientHost }, { createLogger }] = await Promise.all([import('../server.js'), import('../../proto/util/log.js')]);
  const logger = createLogger('bramble-server');
  const dataDir = path.resolve(input.dataDir ?? defaultDataDir());
  const snapshots = parseSnapshotFlags(input, dataDir);
  // Set once the store has failed (server.ts has logged the one fatal line); `stop` exists once running.
  let storeFailed = false;
  let stop: ((code: number) => void) | undefined;
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer({
      dataDir,
      grpcAddr: input.grpcAddr,
      httpAddr: input.httpAddr,
      tlsSans: input.tlsSans,
      clusterCidr,
      serviceCidr,
      controllers: input.controllers,
      nodeMonitorGracePeriodMs,
      defaultTolerations: { notReadySeconds, unreachableSeconds },
      ...(eventTtlSeconds !== undefined ? { eventTtlMs: eventTtlSeconds * 1000 } : {}),
      snapshots,
      cluster: {
        name: nodeName, advertise, ...timing,
        ...(input.clusterInit ? { init: true } : {}),
        ...(input.join !== undefined && joinToken !== undefined ? { join: { server: input.join, token: joinToken } } : {}),
      },
      logger,
      onFatal: () => {
        storeFailed = true;
        stop?.(EXIT_STORE_FAILED);
      },
    });
  } catch (e) {
    // A store that cannot be read will not read better on the next start: say so and use the code
    // a supervisor can be told not to restart on.
    if (!isBrambleError(e, 'STORE_FAILED')) throw e;
    reportError(e, ctx.io.stderr);
    return EXIT_STORE_FAILED;
  }
  ctx.io.stderr.write(`join token: ${running.tokenFile}\n`);

  let agent: RunningAgent | undefined;
  if (!input.disableAgent) {
    const server = `${localClientHost(input.grpcAddr.replace(/:\d+$/, ''))}:${running.grpcPort}`;
    try {
      const { startLocalAgent } = await import('../../agent/main.js');
      agent = await startLocalAgent({
        server, servers: [server, ...running.servers().filter((a) => a !== advertise)], nodeName, dataDir, tokenFile: running.tokenFile, containerdAddress: input.containerdAddress,
        ignoreChecks: input.ignoreChecks,
        labels: { [CONTROL_PLANE_LABEL]: 'true' }, version: clientVersion(),
      });
    } catch (e) {
      await running.close();
      if (storeFailed) return EXIT_STORE_FAILED;
      throw e;
    }
    logger.info({ node: agent.nodeName, podCidr: agent.podCidr }, 'local agent started');
  }
  const local = agent;
  const started = running;
  stop = closeOnSignals(logger, 'server', async () => {
    await local?.close();
    await started.close();
  });
  if (storeFailed) stop(EXIT_STORE_FAILED);
  return 0;
}
