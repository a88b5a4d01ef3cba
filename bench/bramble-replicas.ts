// Three real `bramble server` processes on loopback as one replicated control
// plane, default settings and --disable-agent, for the replication section: the
// first starts the cluster (--cluster-init), the other two join it with its token,
// as the server-raft integration test does. Gives the leader, each member's pid
// (for /proc readings), kill -9 / restart of one member, and an API connection
// whose config lists every member.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openCluster, type ClusterConnection } from '../control-plane/cli/cli-client.js';
import { readClientConfig } from '../control-plane/pki/client-config.js';
import { startServerProcess, type ServerProcess } from '../test/support/server-process.js';
import { readCpuSeconds, readWriteBytes, waitFor } from './util.js';

export const MEMBER_NAMES = ['cp1', 'cp2', 'cp3'] as const;

export interface Replica {
  name: string;
  server: ServerProcess;
  /** host:port of its gRPC API. */
  address: string;
}

export interface BrambleReplicas {
  replicas: Replica[];
  /** A config that lists every member (cp3's admin.conf, written after it joined). */
  configPath: string;
  replica(name: string): Replica;
  /** A client of the cluster; `server` pins it to one member, otherwise it fails over through all. */
  connect(opts?: { server?: string; deadlineMs?: number }): Promise<ClusterConnection>;
  /** The leader's name as `via` sees it, once it knows one and every member is a voter with no error. */
  leader(via?: string, deadlineMs?: number): Promise<string>;
  /** Waits until every member reports the same applied index (and no error), asked through `via`. */
  caughtUp(via: string, deadlineMs?: number): Promise<number>;
  /** Bytes each member's process wrote so far (/proc/PID/io write_bytes), in member order. */
  writeBytes(): Promise<number[]>;
  /** CPU seconds (user + system, every thread) each member's process used so far, in member order. */
  cpuSeconds(): Promise<number[]>;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  /** Run every server under `node --cpu-prof`, profiles written here when it exits cleanly (SIGTERM). */
  cpuProfileDir?: string;
}

/**
 * Node refuses --cpu-prof in NODE_OPTIONS, and bin/bramble.js finds node through
 * `env -S node`: a `node` first on PATH that adds the flag profiles what users run.
 */
async function profilingEnv(dir: string): Promise<NodeJS.ProcessEnv> {
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const wrapper = path.join(bin, 'node');
  await writeFile(wrapper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --cpu-prof --cpu-prof-dir=${JSON.stringify(dir)} "$@"\n`);
  await chmod(wrapper, 0o755);
  return { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
}

export function pidOf(r: Replica): number {
  const pid = r.server.pid;
  if (pid === undefined || r.server.exit() !== undefined) throw new Error(`replica ${r.name} is not running`);
  return pid;
}

export async function startBrambleReplicas(opts: ReplicaOptions = {}): Promise<BrambleReplicas> {
  const replicas: Replica[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(replicas.map((r) => r.server.close()));
  };
  const env = opts.cpuProfileDir ? await profilingEnv(path.resolve(opts.cpuProfileDir)) : process.env;
  try {
    const first = await startServerProcess({ extraArgs: ['--cluster-init', '--node-name', MEMBER_NAMES[0]], env });
    replicas.push({ name: MEMBER_NAMES[0], server: first, address: `127.0.0.1:${first.grpcPort}` });
    for (const name of MEMBER_NAMES.slice(1)) {
      const s = await startServerProcess({
        extraArgs: ['--join', `127.0.0.1:${first.grpcPort}`, '--token-file', path.join(first.dataDir, 'token'), '--node-name', name],
        env,
      });
      replicas.push({ name, server: s, address: `127.0.0.1:${s.grpcPort}` });
    }
  } catch (e) {
    await close();
    throw e;
  }
  const configPath = replicas[2]!.server.configPath;
  const cfg = await readClientConfig(configPath);
  const connect = async (o: { server?: string; deadlineMs?: number } = {}): Promise<ClusterConnection> =>
    openCluster(cfg, { configPath, ...(o.server !== undefined ? { server: o.server } : {}), ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}) });
  const replica = (name: string): Replica => {
    const r = replicas.find((x) => x.name === name);
    if (!r) throw new Error(`no replica named ${name}`);
    return r;
  };
  const status = async (via: string) => {
    const c = await connect({ server: replica(via).address, deadlineMs: 3000 });
    try {
      return await c.clusterStatus();
    } finally {
      c.close();
    }
  };
  const leader = (via = replicas[0]!.name, deadlineMs = 30_000): Promise<string> =>
    waitFor(`a leader of three voters seen by ${via}`, deadlineMs, async () => {
      const s = await status(via);
      const voters = s.members.filter((m) => (m.role === 'leader' || m.role === 'follower') && m.error === '');
      return s.leader !== '' && voters.length === replicas.length ? s.leader : undefined;
    }, 100);
  const caughtUp = (via: string, deadlineMs = 30_000): Promise<number> =>
    waitFor(`every member at one applied index, seen by ${via}`, deadlineMs, async () => {
      const s = await status(via);
      const applied = s.members.map((m) => m.appliedIndex);
      const ok = s.members.length === replicas.length && s.members.every((m) => m.error === '' && m.appliedIndex === applied[0]);
      return ok ? applied[0] : undefined;
    }, 100);
  return {
    replicas,
    configPath,
    replica,
    connect,
    leader,
    caughtUp,
    writeBytes: () => Promise.all(replicas.map((r) => readWriteBytes(pidOf(r)))),
    cpuSeconds: () => Promise.all(replicas.map((r) => readCpuSeconds(pidOf(r)))),
    close,
  };
}
