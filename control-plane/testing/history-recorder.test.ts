import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { HistoryRecorder, monotonicClock } from './history-recorder.js';
import { storeOutcomeOfError, type StoreInput, type StoreOutput } from './linearizability-model.js';
import { checkStoreHistory } from './store-history-check.js';

/** A clock the test moves by hand. */
function manualClock(start = 100): { now(): number; set(t: number): void } {
  let t = start;
  return { now: () => t, set: (x: number) => { t = x; } };
}

test('a call and its answer are recorded with the times of the injected clock', () => {
  const clock = manualClock();
  const rec = new HistoryRecorder<StoreInput, StoreOutput>(clock);
  const p = rec.call('c1', { type: 'create', key: 'k', value: 'a' });
  assert.equal(rec.inFlight, 1);
  clock.set(107);
  rec.answered(p, { type: 'written', revision: 3 });
  assert.equal(rec.inFlight, 0);
  assert.deepEqual(rec.history(), [
    { client: 'c1', input: { type: 'create', key: 'k', value: 'a' }, call: 100, result: { output: { type: 'written', revision: 3 }, at: 107 } },
  ]);
});

test('an operation given up on, or still in flight, has an unknown outcome', () => {
  const clock = manualClock();
  const rec = new HistoryRecorder<StoreInput, StoreOutput>(clock);
  const a = rec.call(1, { type: 'get', key: 'k' });
  rec.call(2, { type: 'delete', key: 'k' });
  clock.set(150);
  rec.unknown(a);
  assert.deepEqual(rec.history(), [
    { client: 1, input: { type: 'get', key: 'k' }, call: 100, gaveUpAt: 150 },
    { client: 2, input: { type: 'delete', key: 'k' }, call: 100 },
  ]);
  assert.equal(rec.inFlight, 1);
});

test('an operation ends once, and only one this recorder started', () => {
  const rec = new HistoryRecorder<StoreInput, StoreOutput>(manualClock());
  const p = rec.call(1, { type: 'get', key: 'k' });
  rec.answered(p, { type: 'absent' });
  assert.throws(() => rec.unknown(p), /operation 0 must end once: it has already ended/);
  assert.throws(() => rec.answered({ id: 5 }, { type: 'absent' }), /pending call 5 was not made by this recorder/);
});

test('a clock that goes backwards is refused rather than recorded', () => {
  const clock = manualClock();
  const rec = new HistoryRecorder<StoreInput, StoreOutput>(clock);
  const p = rec.call(1, { type: 'get', key: 'k' });
  clock.set(99);
  assert.throws(() => rec.answered(p, { type: 'absent' }), /the history clock must never go backwards: it read 99 after 100/);
});

test('what is recorded is a copy: changing the objects afterwards does not rewrite the history', () => {
  const rec = new HistoryRecorder<StoreInput, StoreOutput>(manualClock());
  const input: StoreInput = { type: 'create', key: 'k', value: 'a' };
  const output: StoreOutput = { type: 'written', revision: 1 };
  rec.answered(rec.call(1, input), output);
  input.value = 'changed';
  output.revision = 9;
  const h = rec.history();
  (h[0]!.input as { value: string }).value = 'changed too';
  assert.deepEqual(rec.history()[0], { client: 1, input: { type: 'create', key: 'k', value: 'a' }, call: 100, result: { output: { type: 'written', revision: 1 }, at: 100 } });
});

test('record: an answer, a refused precondition and a broken call, never rethrown', async () => {
  const clock = manualClock();
  const rec = new HistoryRecorder<StoreInput, StoreOutput>(clock);
  const create: StoreInput = { type: 'create', key: 'k', value: 'a' };
  const ok = await rec.record(1, create, async () => { clock.set(110); return { type: 'written', revision: 1 }; },
    (e) => storeOutcomeOfError(create, e));
  assert.deepEqual(ok, { outcome: 'answered', output: { type: 'written', revision: 1 } });
  const again = await rec.record(2, create, async () => { throw new BrambleError('ALREADY_EXISTS', 'k exists'); },
    (e) => storeOutcomeOfError(create, e));
  assert.deepEqual(again, { outcome: 'answered', output: { type: 'failed', code: 'ALREADY_EXISTS' } });
  const get: StoreInput = { type: 'get', key: 'k' };
  const broken = new BrambleError('UNAVAILABLE', 'connection reset');
  const lost = await rec.record(3, get, () => { throw broken; }, (e) => storeOutcomeOfError(get, e));
  assert.deepEqual(lost, { outcome: 'unknown', error: broken });
  const h = rec.history();
  assert.deepEqual(h.map((op) => op.result?.output ?? 'unknown'), [
    { type: 'written', revision: 1 }, { type: 'failed', code: 'ALREADY_EXISTS' }, 'unknown',
  ]);
  assert.equal(checkStoreHistory(h).result, 'ok');
});

test('errors map to outcomes: a refused precondition is definite, a get of nothing is absent, the rest unknown', () => {
  const update: StoreInput = { type: 'update', key: 'k', value: 'b', resourceVersion: 3 };
  assert.deepEqual(storeOutcomeOfError(update, new BrambleError('CONFLICT', 'x')), { type: 'failed', code: 'CONFLICT' });
  assert.deepEqual(storeOutcomeOfError(update, new BrambleError('NOT_FOUND', 'x')), { type: 'failed', code: 'NOT_FOUND' });
  assert.equal(storeOutcomeOfError(update, new BrambleError('ALREADY_EXISTS', 'x')), undefined);
  assert.equal(storeOutcomeOfError(update, new Error('socket hang up')), undefined);
  assert.deepEqual(storeOutcomeOfError({ type: 'get', key: 'k' }, new BrambleError('NOT_FOUND', 'x')), { type: 'absent' });
  assert.equal(storeOutcomeOfError({ type: 'get', key: 'k' }, new BrambleError('UNAVAILABLE', 'x')), undefined);
  assert.deepEqual(storeOutcomeOfError({ type: 'delete', key: 'k' }, new BrambleError('NOT_FOUND', 'x')), { type: 'failed', code: 'NOT_FOUND' });
});

test('the monotonic clock never goes backwards', () => {
  let last = monotonicClock.now();
  for (let i = 0; i < 1000; i++) {
    const t = monotonicClock.now();
    assert.ok(t >= last);
    last = t;
  }
});

const thing = (name: string, value: string): KObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'lin' }, data: { v: value } });

/** One store operation as a fault test's client makes it, through the Store interface. */
async function perform(store: Store, read: (key: string) => KObject | undefined, input: StoreInput): Promise<StoreOutput> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const { key } = input;
  switch (input.type) {
    case 'get': {
      const o = read(key);
      return o ? { type: 'found', value: (o.data as { v: string }).v, resourceVersion: Number(o.metadata.resourceVersion) } : { type: 'absent' };
    }
    case 'delete': {
      const precondition = input.resourceVersion === undefined ? undefined : { resourceVersion: String(input.resourceVersion) };
      const r = await store.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'lin', name: key, precondition }] });
      return { type: 'written', revision: r.revision };
    }
    default: {
      const precondition = input.type === 'create' ? { absent: true as const } : { resourceVersion: String(input.resourceVersion) };
      const r = await store.propose({ ops: [{ type: 'put', object: thing(key, input.value), precondition }] });
      return { type: 'written', revision: r.revision };
    }
  }
}

/** 5 clients x 200 operations on 3 keys, concurrently, each update from the client's last read. */
async function load(store: Store, read: (key: string) => KObject | undefined): Promise<ReturnType<HistoryRecorder<StoreInput, StoreOutput>['history']>> {
  let t = 0;
  const rec = new HistoryRecorder<StoreInput, StoreOutput>({ now: () => ++t });
  let seed = 7;
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const client = async (c: number): Promise<void> => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const key = `k${random(3)}`;
      const kind = random(10);
      const input: StoreInput = kind < 2 ? { type: 'create', key, value: `c${c}-${i}` }
        : kind < 6 ? { type: 'update', key, value: `c${c}-${i}`, resourceVersion: seen.get(key) ?? 1 }
          : kind < 7 ? { type: 'delete', key } : { type: 'get', key };
      const r = await rec.record(c, input, () => perform(store, read, input), (e) => storeOutcomeOfError(input, e));
      if (r.outcome === 'answered' && r.output.type === 'found') seen.set(key, r.output.resourceVersion);
      if (r.outcome === 'answered' && r.output.type === 'written' && r.output.revision !== undefined) seen.set(key, r.output.revision);
    }
  };
  await Promise.all([0, 1, 2, 3, 4].map(client));
  return rec.history();
}

test('concurrent clients recorded against the memory store make a linearizable history', async () => {
  const store = createMemoryStore();
  const history = await load(store, (key) => store.get('ConfigMap', 'lin', key));
  assert.equal(history.length, 1000);
  assert.ok(history.filter((op) => op.result?.output.type === 'written').length > 100);
  const r = checkStoreHistory(history);
  assert.equal(r.result, 'ok', r.message);
  await store.close();
});

test('reads served from a copy that lags behind the store are caught', async () => {
  const store = createMemoryStore();
  // As a follower that applies the log late: the copy catches up only every 5th read.
  const copy = new Map<string, KObject | undefined>();
  let reads = 0;
  const lagging = (key: string): KObject | undefined => {
    if (reads++ % 5 === 0 || !copy.has(key)) copy.set(key, store.get('ConfigMap', 'lin', key));
    return copy.get(key);
  };
  const r = checkStoreHistory(await load(store, lagging));
  assert.equal(r.result, 'illegal', r.message);
  await store.close();
});
