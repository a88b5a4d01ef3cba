// Section `replication`: Bramble's replicated control plane (three real `bramble
// server` processes on loopback, default settings) against a 3-member etcd 3.4
// cluster under one load generator, and a bare grpc-js server on the product's
// mutual TLS as the floor under both (grpc-floor.ts); then on the same Bramble
// cluster the RSS of each replica with 10,000 objects and after the Raft log compacted, failover
// after kill -9 of the leader, and last an idle 3-replica cluster with 3 boards
// joined. See bench/README.md for how each figure is measured.
import { Etcd3 } from 'etcd3';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_COMPACT_ENTRIES } from '../control-plane/raft/raft-log-store.js';
import { idleSecondsFromEnv } from './api.js';
import { pidOf, startBrambleReplicas, type BrambleReplicas } from './bramble-replicas.js';
import { measureGrpcFloor } from './grpc-floor.js';
import { etcdInstalled, startEtcdCluster, ETCD_BINARY } from './etcd-cluster.js';
import { measureFailover, type FailoverResult } from './replication-failover.js';
import { measureIdleWithBoards, type IdleResult } from './replication-idle.js';
import { brambleTarget, compare, etcdLeaderUrl, etcdTarget, measureStore, type SideBySide, type StoreRun } from './replication-throughput.js';
import { figure, MB, readRssBytes, sleep, waitFor, type Figure } from './util.js';
import { runWriteLoad, smallConfigMap } from './write-load.js';

export interface ReplicationOptions {
  log: (m: string) => void;
  idleSeconds?: number;
  writes1?: number;
  writes64?: number;
  kills?: number;
  /** Write each replica's CPU profile (node --cpu-prof, on a clean exit) into this directory. */
  cpuProfileDir?: string;
}

export interface RssResult {
  objects: number;
  withObjects: Record<string, Figure>;
  /** After enough further writes (updates of the same objects) to pass the log's compaction point. */
  afterCompaction: Record<string, Figure>;
  compactEntries: number;
  /** Members whose log said "raft: log compacted" by then. */
  compacted: string[];
}

export interface ReplicationReport {
  settings: { writes1: number; writes64: number; valueBytes: number; settleSeconds: number; kills: number; idleSeconds: number };
  storeWrites: SideBySide;
  /** A bare grpc-js call over mutual TLS with the same load (grpc-floor.ts): the floor under Bramble's figures. */
  grpcFloor: { clients64: StoreRun };
  rss: RssResult;
  failover: FailoverResult;
  idle: IdleResult;
}

const SETTLE_MS = 3000;
const OBJECTS = 10_000;
const FILL_BATCH = 250;

const rssOf = async (cluster: BrambleReplicas): Promise<Record<string, Figure>> => {
  const out: Record<string, Figure> = {};
  for (const r of cluster.replicas) out[r.name] = figure((await readRssBytes(pidOf(r))) / MB, 'MB');
  return out;
};

async function measureEtcd(writes1: number, writes64: number, log: (m: string) => void): Promise<SideBySide['etcd']> {
  if (!etcdInstalled()) throw new Error(`${ETCD_BINARY} is missing: apt-get install etcd-server`);
  log('etcd: starting 3 members');
  const etcd = await startEtcdCluster(3);
  try {
    const client = new Etcd3({ hosts: await etcdLeaderUrl(etcd) });
    try {
      await client.put('/bench/warm').value('x');
      log(`etcd: ${writes1} writes, 1 client`);
      const clients1 = await measureStore(etcdTarget(client, 'one'), etcd, 1, writes1, SETTLE_MS);
      log(`etcd: ${writes64} writes, 64 clients`);
      const clients64 = await measureStore(etcdTarget(client, 'many'), etcd, 64, writes64, SETTLE_MS);
      return { clients1, clients64 };
    } finally {
      client.close();
    }
  } finally {
    await etcd.stop();
  }
}

async function measureRss(cluster: BrambleReplicas, log: (m: string) => void): Promise<RssResult> {
  const leader = cluster.replica(await cluster.leader());
  const conn = await cluster.connect({ server: leader.address, deadlineMs: 60_000 });
  try {
    // Up to 10,000 objects in all (the load runs wrote the first ones), in Lists of
    // 250 per Apply: one log entry each, so the log stays short of its compaction point here.
    const fill = Math.max(0, OBJECTS - (await conn.version()).objectCount);
    for (let i = 0; i < fill; i += FILL_BATCH) {
      const objects = [];
      for (let j = i; j < Math.min(fill, i + FILL_BATCH); j++) {
        objects.push(smallConfigMap(`fill-${j}`, j));
      }
      await conn.apply({ objects });
    }
    const count = (await conn.version()).objectCount;
    await cluster.caughtUp(leader.name);
    await sleep(SETTLE_MS);
    const withObjects = await rssOf(cluster);
    const status = await conn.clusterStatus();
    const commit = status.members.find((m) => m.role === 'leader')?.commitIndex ?? 0;
    // Updates of existing objects: the count stays, the log passes compactEntries.
    // A few hundred past it: enough to cross it, and a short run.
    const updates = Math.max(0, DEFAULT_COMPACT_ENTRIES + 300 - commit);
    log(`rss: ${count} objects at log index ${commit}; ${updates} updates to pass the compaction point (${DEFAULT_COMPACT_ENTRIES} entries)`);
    await runWriteLoad({
      write: async (i) => {
        // A value no earlier write had: an unchanged object would propose nothing.
        await conn.apply({ objects: [smallConfigMap(`fill-${i % FILL_BATCH}`, OBJECTS + i)] });
      },
    }, 64, updates);
    const compacted = await waitFor('every member compacted its log', 30_000, async () => {
      const names = cluster.replicas.filter((r) => r.server.output().includes('raft: log compacted')).map((r) => r.name);
      return names.length === cluster.replicas.length ? names : undefined;
    }, 250).catch(() => cluster.replicas.filter((r) => r.server.output().includes('raft: log compacted')).map((r) => r.name));
    await cluster.caughtUp(leader.name);
    await sleep(SETTLE_MS);
    return { objects: count, withObjects, afterCompaction: await rssOf(cluster), compactEntries: DEFAULT_COMPACT_ENTRIES, compacted };
  } finally {
    conn.close();
  }
}

export async function runReplicationBench(opts: ReplicationOptions): Promise<ReplicationReport> {
  const { log } = opts;
  const writes1 = opts.writes1 ?? 500;
  const writes64 = opts.writes64 ?? 5000;
  const kills = opts.kills ?? 20;
  const idleSeconds = opts.idleSeconds ?? 60;

  const etcd = await measureEtcd(writes1, writes64, log);
  const grpcFloor = await measureGrpcFloor(writes64, log);

  log('bramble: starting 3 replicas');
  const cluster = await startBrambleReplicas({ ...(opts.cpuProfileDir ? { cpuProfileDir: opts.cpuProfileDir } : {}) });
  let storeWrites: SideBySide;
  let rss: RssResult;
  let failover: FailoverResult;
  try {
    const leader = cluster.replica(await cluster.leader());
    await cluster.caughtUp(leader.name);
    log(`bramble: ${leader.name} leads`);
    const conn = await cluster.connect({ server: leader.address });
    let bramble: SideBySide['bramble'];
    try {
      await brambleTarget(conn, 'warm').write(0);
      log(`bramble: ${writes1} writes, 1 client`);
      const clients1 = await measureStore(brambleTarget(conn, 'one'), cluster, 1, writes1, SETTLE_MS);
      log(`bramble: ${writes64} writes, 64 clients`);
      const clients64 = await measureStore(brambleTarget(conn, 'many'), cluster, 64, writes64, SETTLE_MS);
      bramble = { clients1, clients64 };
    } finally {
      conn.close();
    }
    storeWrites = { bramble, etcd, ...compare(bramble, etcd) };
    log(`ratios ${JSON.stringify(storeWrites.ratios)}`);
    rss = await measureRss(cluster, log);
    failover = await measureFailover(cluster, kills, log);
  } finally {
    await cluster.close();
  }

  const idle = await measureIdleWithBoards({ idleSeconds, settleSeconds: 5, log });
  return {
    settings: { writes1, writes64, valueBytes: 128, settleSeconds: SETTLE_MS / 1000, kills, idleSeconds },
    storeWrites, grpcFloor, rss, failover, idle,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const progress = (m: string): void => {
    process.stderr.write(`[replication] ${m}\n`);
  };
  runReplicationBench({
    log: progress,
    idleSeconds: idleSecondsFromEnv(),
    ...(process.env.BENCH_REPLICATION_KILLS ? { kills: Number(process.env.BENCH_REPLICATION_KILLS) } : {}),
    ...(process.env.BENCH_CPU_PROFILE_DIR ? { cpuProfileDir: process.env.BENCH_CPU_PROFILE_DIR } : {}),
  }).then((r) => {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  }, (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
