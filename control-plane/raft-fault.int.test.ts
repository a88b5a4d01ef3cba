// Fault tests of the replicated control plane with real processes on loopback:
// three `bramble server` members under concurrent load from several clients while
// a nemesis kills the leader, pauses and partitions members and restarts them.
// The recorded history must be linearizable, no acknowledged write may be lost,
// and every member must end with the same revision and contents.
// BRAMBLE_FAULT_SEED=N replays a run's choices (timing still varies).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClusterConnection } from './cli/cli-client.js';
import { checkStoreHistory } from './testing/store-history-check.js';
import type { StoreOperation } from './testing/linearizability-model.js';
import { StoreWorkload, WORKLOAD_NAMESPACE } from './testing/store-workload.js';
import { FaultCluster } from '../test/support/fault-cluster.js';
import { Nemesis } from '../test/support/nemesis.js';

const SEED = Number(process.env.BRAMBLE_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS_PER_MEMBER = 2;
const CHECK_BUDGET_MS = 30_000;

/** Every ConfigMap of the workload as one member holds it, read from its own state. */
async function contentsOn(conn: ClusterConnection): Promise<{ revision: number; objects: string[] }> {
  const res = await conn.list({ kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE, consistency: 'serializable' });
  return { revision: Number(res.revision), objects: [...res.objects].sort() };
}

/**
 * Each acknowledged create or update of a key is the final value of that key, or a
 * later write replaced it: the final resourceVersion is above it, or the key is gone
 * and some delete of it may have taken effect.
 */
function lostWrites(history: readonly StoreOperation[], final: Map<string, { value: string; resourceVersion: number } | undefined>): string[] {
  const lost: string[] = [];
  for (const op of history) {
    const o = op.result?.output;
    if (op.input.type !== 'create' && op.input.type !== 'update') continue;
    if (o?.type !== 'written' || o.revision === undefined) continue;
    const now = final.get(op.input.key);
    if (now === undefined) {
      const deleted = history.some((d) => d.input.type === 'delete' && d.input.key === op.input.key && d.result?.output.type !== 'failed');
      if (!deleted) lost.push(`${op.input.key}: ${op.input.value} at ${o.revision} acknowledged, the key is gone and no delete of it ran`);
    } else if (now.resourceVersion < o.revision || (now.resourceVersion === o.revision && now.value !== op.input.value)) {
      lost.push(`${op.input.key}: ${op.input.value} at ${o.revision} acknowledged, the key ends at ${JSON.stringify(now.value)} ${now.resourceVersion}`);
    }
  }
  return lost;
}

describe('a replicated control plane under faults', { timeout: 240_000 }, () => {
  let cluster: FaultCluster;

  before(async () => {
    cluster = await FaultCluster.start(['cp1', 'cp2', 'cp3']);
    await cluster.waitHealthy({ converged: true });
  });
  after(async () => {
    await cluster?.close();
  });

  test('under kills, pauses, partitions and restarts, the history is linearizable, no acknowledged write is lost, and the members converge', async () => {
    const clients: ClusterConnection[] = [];
    for (const name of ['cp1', 'cp2', 'cp3']) for (let i = 0; i < CLIENTS_PER_MEMBER; i++) clients.push(await cluster.connect(name));
    const workload = new StoreWorkload({ clients, seed: SEED, sleep: (ms) => delay(ms), thinkMs: 5 });
    const nemesis = new Nemesis(cluster, { seed: SEED });
    const context = (): string => `seed ${SEED} (BRAMBLE_FAULT_SEED=${SEED} replays it)\n${nemesis.describe()}\nload: ${JSON.stringify(workload.stats)}`;

    workload.start();
    try {
      await nemesis.run();
    } finally {
      await workload.stop();
      cluster.heal();
    }
    const healthy = await cluster.waitHealthy({ converged: true, timeoutMs: 30_000 });
    const reader = await cluster.connect(healthy.leader);
    const final = await workload.finalReads(reader);
    const history = workload.history();
    assert.ok(workload.stats.answered > 200, `the load got work done: ${context()}`);

    const lost = lostWrites(history, final);
    assert.deepEqual(lost, [], `acknowledged writes lost: ${context()}`);

    const started = Date.now();
    const verdict = checkStoreHistory(history, { timeBudgetMs: CHECK_BUDGET_MS });
    // 'unknown' fails too: a history the checker cannot decide proves nothing.
    assert.equal(verdict.result, 'ok', `${verdict.message}\n${context()}`);
    console.log(`checked ${history.length} operations in ${Date.now() - started} ms: ${verdict.message}; ${context()}`);

    const views = await Promise.all(['cp1', 'cp2', 'cp3'].map(async (n) => ({ name: n, ...(await contentsOn(await cluster.connect(n))) })));
    for (const v of views.slice(1)) {
      assert.equal(v.revision, views[0]!.revision, `${v.name} is at the revision of ${views[0]!.name}`);
      assert.deepEqual(v.objects, views[0]!.objects, `${v.name} holds what ${views[0]!.name} holds`);
    }
  });
});
