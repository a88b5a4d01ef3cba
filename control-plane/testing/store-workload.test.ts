// The fault tests' workload against an in-memory stand-in for the Cluster API: a
// correct store yields a history the checker accepts, one that serves stale reads
// yields one it refuses, and the API's errors map onto the model's answers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BrambleError } from '../../proto/util/errors.js';
import type { ClusterConnection } from '../cli/cli-client.js';
import { checkStoreHistory } from './store-history-check.js';
import { seededRandom, StoreWorkload, workloadOutcomeOfError } from './store-workload.js';

interface Stored { value: string; rv: number }

/** Enough of a ClusterConnection for the workload: ConfigMaps by name, one revision counter. */
function fakeConnection(opts: { staleReads?: boolean } = {}): ClusterConnection {
  const objects = new Map<string, Stored>();
  const previous = new Map<string, Stored | undefined>();
  let revision = 0;
  const tick = () => new Promise((r) => setImmediate(r));
  const json = (name: string, s: Stored) => JSON.stringify({ kind: 'ConfigMap', metadata: { name, resourceVersion: String(s.rv) }, data: { v: s.value } });
  const write = (name: string, s: Stored | undefined) => {
    previous.set(name, objects.get(name));
    if (s) objects.set(name, s);
    else objects.delete(name);
  };
  const conn = {
    apply: async (req: { objects?: string[] }) => {
      await tick();
      const o = JSON.parse(req.objects![0]!) as { metadata: { name: string; resourceVersion?: string }; data: { v: string } };
      const stored = objects.get(o.metadata.name);
      const given = o.metadata.resourceVersion;
      if (given !== undefined && !stored) throw new BrambleError('CONFLICT', `configmap "${o.metadata.name}" has resourceVersion "${given}" but does not exist`);
      if (given !== undefined && String(stored!.rv) !== given) throw new BrambleError('CONFLICT', 'changed since it was read');
      const s = { value: o.data.v, rv: ++revision };
      write(o.metadata.name, s);
      return { results: [{ action: stored ? 'configured' : 'created', object: json(o.metadata.name, s) }], revision };
    },
    get: async (req: { name?: string }) => {
      await tick();
      const s = opts.staleReads && previous.has(req.name!) ? previous.get(req.name!) : objects.get(req.name!);
      if (!s) throw new BrambleError('NOT_FOUND', `configmap "${req.name}" not found`);
      return { object: json(req.name!, s) };
    },
    delete: async (req: { name?: string; resourceVersion?: string }) => {
      await tick();
      const stored = objects.get(req.name!);
      if (!stored) throw new BrambleError('NOT_FOUND', `configmap "${req.name}" not found`);
      if (req.resourceVersion && String(stored.rv) !== req.resourceVersion) throw new BrambleError('CONFLICT', 'changed since it was read');
      revision++;
      write(req.name!, undefined);
      return { object: json(req.name!, stored) };
    },
  };
  return conn as unknown as ClusterConnection;
}

async function runFor(conn: ClusterConnection, operations: number, seed = 7): Promise<StoreWorkload> {
  const w = new StoreWorkload({ clients: [conn, conn, conn], seed, prefix: 't-', sleep: () => new Promise((r) => setImmediate(r)) });
  w.start();
  while (w.recorder.history().length < operations) await new Promise((r) => setTimeout(r, 1));
  await w.stop();
  await w.finalReads(conn);
  return w;
}

describe('the fault tests\' store workload', () => {
  test('against a correct store, it records a history the checker finds linearizable, with every kind of operation', async () => {
    const w = await runFor(fakeConnection(), 600);
    const verdict = checkStoreHistory(w.history());
    assert.equal(verdict.result, 'ok', verdict.message);
    for (const type of ['create', 'update', 'delete', 'get']) assert.ok((w.stats.byType[type] ?? 0) > 10, `${type}: ${JSON.stringify(w.stats)}`);
    assert.equal(w.stats.unknown, 0);
    assert.deepEqual(w.anomalies, []);
    assert.ok([...w.names].every((n) => n.startsWith('t-')));
  });

  test('against a store that serves stale reads, the history it records is refused', async () => {
    const w = await runFor(fakeConnection({ staleReads: true }), 600);
    assert.equal(checkStoreHistory(w.history()).result, 'illegal');
  });

  test('an update of a name that does not exist is NOT_FOUND to the model, and a broken connection is of unknown outcome', () => {
    const update = { type: 'update' as const, key: 'a', value: 'v', resourceVersion: 3 };
    assert.deepEqual(workloadOutcomeOfError(update, new BrambleError('CONFLICT', 'configmap "a" has resourceVersion "3" but does not exist: remove it')), { type: 'failed', code: 'NOT_FOUND' });
    assert.deepEqual(workloadOutcomeOfError(update, new BrambleError('CONFLICT', 'changed since it was read')), { type: 'failed', code: 'CONFLICT' });
    assert.equal(workloadOutcomeOfError(update, new BrambleError('UNAVAILABLE', 'connection reset')), undefined);
    assert.deepEqual(workloadOutcomeOfError({ type: 'get', key: 'a' }, new BrambleError('NOT_FOUND', 'not found')), { type: 'absent' });
  });

  test('the same seed makes the same choices', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepEqual(Array.from({ length: 5 }, () => b()), xs);
    assert.notDeepEqual(Array.from({ length: 5 }, () => c()), xs);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});
