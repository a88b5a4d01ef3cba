// An idle 3-replica control plane with 3 boards joined: bytes written per minute
// by each replica while the boards only heartbeat. The boards are the end-to-end
// tests' (test/support/cluster.ts: a network namespace, containerd and a
// `bramble agent` each); that helper's server is started with --cluster-init and
// becomes cp1, and two loopback servers join it. The agents talk to cp1, which
// leads (it campaigns alone before the others join), so their heartbeats reach
// the leader's Node service. Needs root, containerd and runc, as `pods` does.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openCluster } from '../control-plane/cli/cli-client.js';
import { readClientConfig } from '../control-plane/pki/client-config.js';
import { startCluster, type TestCluster } from '../test/support/cluster.js';
import { startServerProcess, type ServerProcess } from '../test/support/server-process.js';
import { waitForBoardsReady } from './bench-cluster.js';
import { fileSizes, sizeChanges } from './pods.js';
import { closeBenchCluster, figure, readCpuSeconds, readWriteBytes, round, sleep, waitFor, type Figure } from './util.js';

export interface IdleReplica {
  name: string;
  role: string;
  writeBytes: Figure;
  writeBytesPerMinute: Figure & { target: 0; metTarget: boolean };
  cpuSecondsPerMinute: Figure;
  /** Files of its data dir that grew or shrank during the window. */
  dataDirChanges: Record<string, number>;
}

export interface IdleResult {
  boards: number;
  boardsReady: boolean;
  settleSeconds: number;
  seconds: number;
  /** Revision delta of the store over the window (0: nothing was written through Raft). */
  storeRevisions: number;
  /** Raft log growth over the window, from the leader's commit index. */
  raftEntries: number;
  replicas: IdleReplica[];
  metTarget: boolean;
}

interface Member { name: string; server: ServerProcess }

export async function measureIdleWithBoards(opts: { idleSeconds: number; settleSeconds: number; log: (m: string) => void }): Promise<IdleResult> {
  const { log } = opts;
  let cluster: TestCluster | undefined;
  const joined: ServerProcess[] = [];
  let failed = false;
  try {
    log('idle: starting cp1 with three boards');
    cluster = await startCluster({
      boards: [{ name: 'rpa' }, { name: 'rpb' }, { name: 'rpc' }],
      serverArgs: ['--cluster-init', '--node-name', 'cp1'],
    });
    const first = cluster.server;
    for (const name of ['cp2', 'cp3']) {
      log(`idle: ${name} joins`);
      joined.push(await startServerProcess({
        extraArgs: ['--join', `127.0.0.1:${cluster.grpcPort}`, '--token-file', path.join(first.dataDir, 'token'), '--node-name', name],
      }));
    }
    const members: Member[] = [{ name: 'cp1', server: first }, { name: 'cp2', server: joined[0]! }, { name: 'cp3', server: joined[1]! }];
    const configPath = joined[1]!.configPath;
    const conn = openCluster(await readClientConfig(configPath), { configPath, server: `127.0.0.1:${cluster.grpcPort}` });
    try {
      await waitForBoardsReady(cluster);
      log('idle: boards Ready; waiting for three voters at one applied index');
      await waitFor('three voters at one applied index', 60_000, async () => {
        const s = await conn.clusterStatus();
        const ok = s.members.length === 3 && s.members.every((m) => (m.role === 'leader' || m.role === 'follower') && m.error === '' && m.appliedIndex === s.members[0]!.appliedIndex);
        return ok ? true : undefined;
      }, 250);
      await sleep(opts.settleSeconds * 1000);
      const status0 = await conn.clusterStatus();
      const rev0 = (await conn.version()).revision;
      const pids = members.map((m) => {
        if (m.server.pid === undefined) throw new Error(`${m.name} is not running`);
        return m.server.pid;
      });
      const files0 = await Promise.all(members.map((m) => fileSizes(m.server.dataDir)));
      const w0 = await Promise.all(pids.map(readWriteBytes));
      const c0 = await Promise.all(pids.map(readCpuSeconds));
      const t0 = performance.now();
      log(`idle: window of ${opts.idleSeconds} s`);
      await sleep(opts.idleSeconds * 1000);
      const w1 = await Promise.all(pids.map(readWriteBytes));
      const c1 = await Promise.all(pids.map(readCpuSeconds));
      const seconds = (performance.now() - t0) / 1000;
      const files1 = await Promise.all(members.map((m) => fileSizes(m.server.dataDir)));
      const rev1 = (await conn.version()).revision;
      const status1 = await conn.clusterStatus();
      const commit = (s: typeof status0): number => s.members.find((m) => m.role === 'leader')?.commitIndex ?? 0;
      const replicas = members.map((m, i): IdleReplica => {
        const perMinute = ((w1[i]! - w0[i]!) / seconds) * 60;
        return {
          name: m.name,
          role: status1.members.find((x) => x.name === m.name)?.role ?? 'unknown',
          writeBytes: figure(w1[i]! - w0[i]!, 'bytes', 0),
          writeBytesPerMinute: { ...figure(perMinute, 'bytes/min', 0), target: 0, metTarget: w1[i] === w0[i] },
          cpuSecondsPerMinute: figure(((c1[i]! - c0[i]!) / seconds) * 60, 's/min', 3),
          dataDirChanges: sizeChanges(files0[i]!, files1[i]!),
        };
      });
      return {
        boards: cluster.boards.length,
        boardsReady: true,
        settleSeconds: opts.settleSeconds,
        seconds: round(seconds),
        storeRevisions: rev1 - rev0,
        raftEntries: commit(status1) - commit(status0),
        replicas,
        metTarget: replicas.every((r) => r.writeBytesPerMinute.metTarget),
      };
    } finally {
      conn.close();
    }
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await Promise.all(joined.map((s) => s.close()));
    await closeBenchCluster(cluster, failed, log);
  }
}
