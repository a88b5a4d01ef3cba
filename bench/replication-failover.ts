// Failover of the replicated control plane: kill -9 of the leader, then the
// time until a client that was talking to it has a write acknowledged again.
// The client is the CLI's own connection (openCluster) with the leader first in
// its list: an unreachable member makes it try the next, and the bench retries a
// refused write (no leader yet) every RETRY_MS. The killed member is restarted
// and every member caught up before the next kill, so each kill starts from a
// whole cluster. Default timeouts: 100 ms ticks, election after 1–2 s.
import { performance } from 'node:perf_hooks';
import { openCluster } from '../control-plane/cli/cli-client.js';
import { readClientConfig } from '../control-plane/pki/client-config.js';
import { pidOf, type BrambleReplicas } from './bramble-replicas.js';
import { round, sleep, summarizeMs, type LatencySummary } from './util.js';
import { smallConfigMap } from './write-load.js';

const RETRY_MS = 20;
/** Per attempt: a write to a member that waits for an election gives up after its leader wait (5 s). */
const CALL_DEADLINE_MS = 8000;
export const FAILOVER_TARGET_MS = 2000;

export interface FailoverResult {
  kills: number;
  /** Target ≤ 2 s: `metTarget` holds for p50, `maxMetTarget` for the slowest kill. */
  killToFirstWrite: LatencySummary & { target: number; metTarget: boolean; maxMetTarget: boolean };
  /** Attempts refused or failed before the first acknowledged write, summed over the kills. */
  failedAttempts: number;
  /** Which member led before each kill, and which member the client reached with the first acknowledged write. */
  perKill: { killed: string; via: string; ms: number; attempts: number }[];
  /** Restart of the killed member until every member was at one applied index. */
  restartToCaughtUp: LatencySummary;
}

export async function measureFailover(cluster: BrambleReplicas, kills: number, log: (m: string) => void): Promise<FailoverResult> {
  const cfg = await readClientConfig(cluster.configPath);
  const samples: number[] = [];
  const restarts: number[] = [];
  const perKill: FailoverResult['perKill'] = [];
  let failedAttempts = 0;
  let n = 0;
  for (let k = 0; k < kills; k++) {
    const leaderName = await cluster.leader();
    const leader = cluster.replica(leaderName);
    const others = cluster.replicas.filter((r) => r !== leader).map((r) => r.address);
    const conn = openCluster({ ...cfg, server: leader.address, servers: [leader.address, ...others] }, { configPath: cluster.configPath, deadlineMs: CALL_DEADLINE_MS });
    const write = async (): Promise<void> => {
      const i = n++;
      await conn.apply({ objects: [smallConfigMap(`failover-${i}`, i)] });
    };
    try {
      // The connection is up and the leader answers before the clock starts.
      await write();
      const pid = pidOf(leader);
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      let attempts = 0;
      for (;;) {
        attempts++;
        try {
          await write();
          break;
        } catch {
          failedAttempts++;
          if (performance.now() - t0 > 60_000) throw new Error(`no write was acknowledged within 60 s of killing leader ${leaderName}`);
          await sleep(RETRY_MS);
        }
      }
      const ms = performance.now() - t0;
      samples.push(ms);
      const via = cluster.replicas.find((r) => r.address === conn.address)?.name ?? conn.address;
      perKill.push({ killed: leaderName, via, ms: round(ms, 0), attempts });
      log(`kill ${k + 1}/${kills}: leader ${leaderName} killed, a write was acknowledged after ${round(ms, 0)} ms (${attempts} attempts)`);
    } finally {
      conn.close();
    }
    const r0 = performance.now();
    await leader.server.kill();
    await leader.server.restart();
    await cluster.caughtUp(leaderName);
    restarts.push(performance.now() - r0);
  }
  const s = summarizeMs(samples);
  return {
    kills,
    killToFirstWrite: { ...s, target: FAILOVER_TARGET_MS, metTarget: s.p50 <= FAILOVER_TARGET_MS, maxMetTarget: s.max <= FAILOVER_TARGET_MS },
    failedAttempts,
    perKill,
    restartToCaughtUp: summarizeMs(restarts),
  };
}
