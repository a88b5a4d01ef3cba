// A 3-member etcd 3.4 cluster on loopback (Debian's etcd-server), default settings,
// for side-by-side store benchmarks: the same load generator drives it and
// Bramble's replicated store in one run. Every member gets a fresh temp data dir
// and free ports; stop() kills them and removes the dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort, makeTempDir, readCpuSeconds, readWriteBytes, removeDir, stopChild, waitFor } from './util.js';

export const ETCD_BINARY = '/usr/bin/etcd';

export interface EtcdMember {
  name: string;
  pid: number;
  clientUrl: string;
  dataDir: string;
}

export interface EtcdCluster {
  members: EtcdMember[];
  clientUrls: string[];
  /** Bytes each member's process wrote to disk so far (/proc/PID/io write_bytes). */
  writeBytes(): Promise<number[]>;
  /** CPU seconds (user + system, every thread) each member's process used so far, in member order. */
  cpuSeconds(): Promise<number[]>;
  stop(): Promise<void>;
}

export function etcdInstalled(): boolean {
  return existsSync(ETCD_BINARY);
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const root = await makeTempDir('etcd');
  const specs = [];
  for (let i = 1; i <= size; i++) {
    specs.push({ name: `etcd${i}`, client: await freePort(), peer: await freePort(), dataDir: path.join(root, `etcd${i}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const children: ChildProcess[] = [];
  const tails = new Map<string, string>();
  const members: EtcdMember[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
    await removeDir(root);
  };
  try {
    for (const s of specs) {
      const child = spawn(ETCD_BINARY, [
        '--name', s.name, '--data-dir', s.dataDir,
        '--listen-client-urls', `http://127.0.0.1:${s.client}`, '--advertise-client-urls', `http://127.0.0.1:${s.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${s.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${s.peer}`,
        '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'bramble-bench',
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      child.stderr!.on('data', (chunk: Buffer) => tails.set(s.name, ((tails.get(s.name) ?? '') + chunk.toString()).slice(-4000)));
      members.push({ name: s.name, pid: child.pid!, clientUrl: `http://127.0.0.1:${s.client}`, dataDir: s.dataDir });
    }
    for (const m of members) {
      await waitFor(`etcd member ${m.name} healthy at ${m.clientUrl}/health`, 30_000, async () => {
        const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { health?: string };
        return body.health === 'true' ? true : undefined;
      });
    }
  } catch (e) {
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}; etcd said: ${[...tails.values()].join('\n').slice(-2000)}`);
  }
  return {
    members,
    clientUrls: members.map((m) => m.clientUrl),
    writeBytes: () => Promise.all(members.map((m) => readWriteBytes(m.pid))),
    cpuSeconds: () => Promise.all(members.map((m) => readCpuSeconds(m.pid))),
    stop,
  };
}
