// The Store contract as tests, run against every Store implementation
// (control-plane/store/store-memory.test.ts, control-plane/store/store-level.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import type { Store, StoreEvent } from '../../control-plane/store/store.js';

export type OpenStore = (opts: { retainEvents?: number }) => Promise<Store>;

export function configMap(name: string, namespace = 'default', data: Record<string, string> = {}): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export function labelled(name: string, labels: Record<string, string> | undefined, data: Record<string, string> = {}): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) }, data };
}

export function node(name: string): KObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} };
}

/** Polls until `cond` holds or the deadline passes; never sleeps a fixed time to wait for state. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function collect(store: Store, opts: Parameters<Store['watch']>[0]): { events: StoreEvent[]; cancel(): void } {
  const events: StoreEvent[] = [];
  const w = store.watch(opts, (e) => events.push(e));
  return { events, cancel: () => w.cancel() };
}

export function storeContractTests(open: OpenStore): void {
  async function withStore(opts: { retainEvents?: number }, fn: (s: Store) => Promise<void>): Promise<void> {
    const store = await open(opts);
    try { await fn(store); } finally { await store.close(); }
  }

  test('each committed command gets the next revision, stamped as resourceVersion', () => withStore({}, async (s) => {
    assert.equal(s.revision(), 0);
    const a = await s.propose({ ops: [{ type: 'put', object: configMap('a'), precondition: { absent: true } }] });
    const b = await s.propose({ ops: [{ type: 'put', object: configMap('b') }] });
    assert.equal(a.revision, 1);
    assert.equal(b.revision, 2);
    assert.equal(s.revision(), 2);
    assert.equal(s.get('ConfigMap', 'default', 'a')?.metadata.resourceVersion, '1');
    assert.equal(b.objects[0]?.metadata.resourceVersion, '2');
    assert.equal(s.objectCount(), 2);
  }));

  test('a create of an existing key fails with ALREADY_EXISTS naming the object', () => withStore({}, async (s) => {
    await s.propose({ ops: [{ type: 'put', object: configMap('a'), precondition: { absent: true } }] });
    await assert.rejects(s.propose({ ops: [{ type: 'put', object: configMap('a'), precondition: { absent: true } }] }),
      (e) => isBrambleError(e, 'ALREADY_EXISTS') && /ConfigMap default\/a already exists/.test(e.message));
    assert.equal(s.revision(), 1);
  }));

  test('an update carrying a stale resourceVersion fails with CONFLICT and names both versions', () => withStore({}, async (s) => {
    await s.propose({ ops: [{ type: 'put', object: configMap('a') }] });
    await s.propose({ ops: [{ type: 'put', object: configMap('a', 'default', { x: '1' }) }] });
    await assert.rejects(
      s.propose({ ops: [{ type: 'put', object: configMap('a', 'default', { x: '2' }), precondition: { resourceVersion: '1' } }] }),
      (e) => isBrambleError(e, 'CONFLICT') && e.message === 'ConfigMap default/a is at resourceVersion 2, the request carried 1');
    assert.deepEqual(s.get('ConfigMap', 'default', 'a')?.data, { x: '1' });
    const ok = await s.propose({ ops: [{ type: 'put', object: configMap('a', 'default', { x: '3' }), precondition: { resourceVersion: '2' } }] });
    assert.equal(ok.revision, 3);
  }));

  test('a delete or exists-update of a missing key fails with NOT_FOUND naming the object', () => withStore({}, async (s) => {
    await assert.rejects(s.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'pi-1' }] }),
      (e) => isBrambleError(e, 'NOT_FOUND') && /Node pi-1 not found/.test(e.message));
    await assert.rejects(s.propose({ ops: [{ type: 'put', object: configMap('a'), precondition: { exists: true } }] }),
      (e) => isBrambleError(e, 'NOT_FOUND') && /ConfigMap default\/a/.test(e.message));
    await assert.rejects(s.propose({ ops: [{ type: 'put', object: configMap('a'), precondition: { resourceVersion: '4' } }] }),
      (e) => isBrambleError(e, 'NOT_FOUND'));
    assert.equal(s.revision(), 0);
  }));

  test('a command whose last op fails writes nothing at all', () => withStore({}, async (s) => {
    await s.propose({ ops: [{ type: 'put', object: configMap('taken') }] });
    const w = collect(s, { fromRevision: 0 });
    await assert.rejects(s.propose({ ops: [
      { type: 'put', object: configMap('new') },
      { type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'taken' },
      { type: 'put', object: configMap('taken'), precondition: { resourceVersion: '1' } },
    ] }), (e) => isBrambleError(e, 'NOT_FOUND') && /taken not found/.test(e.message));
    assert.equal(s.revision(), 1);
    assert.equal(s.get('ConfigMap', 'default', 'new'), undefined);
    assert.ok(s.get('ConfigMap', 'default', 'taken'));
    const next = await s.propose({ ops: [{ type: 'put', object: node('n') }] });
    assert.equal(next.revision, 2);
    await waitFor(() => w.events.length === 1, 'the next event');
    assert.equal(w.events[0]?.object.kind, 'Node');
    w.cancel();
  }));

  test('later ops of a command see earlier ones and all share one revision', () => withStore({}, async (s) => {
    const w = collect(s, { fromRevision: 0 });
    const r = await s.propose({ ops: [
      { type: 'put', object: configMap('a'), precondition: { absent: true } },
      { type: 'put', object: configMap('a', 'default', { v: '2' }), precondition: { resourceVersion: '1' } },
      { type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'a', precondition: { exists: true } },
    ] });
    assert.equal(r.revision, 1);
    assert.equal(s.get('ConfigMap', 'default', 'a'), undefined);
    await waitFor(() => w.events.length === 3, 'three events');
    assert.deepEqual(w.events.map((e) => [e.type, e.revision]), [['ADDED', 1], ['MODIFIED', 1], ['DELETED', 1]]);
    w.cancel();
  }));

  test('stored objects cannot be changed through references handed in or out', () => withStore({}, async (s) => {
    const input = configMap('a', 'default', { k: 'v' });
    const r = await s.propose({ ops: [{ type: 'put', object: input }] });
    (input.data as Record<string, string>).k = 'changed';
    assert.equal(input.metadata.resourceVersion, undefined);
    const got = s.get('ConfigMap', 'default', 'a')!;
    assert.deepEqual(got.data, { k: 'v' });
    assert.throws(() => { (got.data as Record<string, string>).k = 'x'; }, TypeError);
    assert.throws(() => { r.objects[0]!.metadata.name = 'y'; }, TypeError);
  }));

  test('a delete event carries the last object stamped with the delete revision', () => withStore({}, async (s) => {
    await s.propose({ ops: [{ type: 'put', object: configMap('a', 'default', { k: 'v' }) }] });
    const w = collect(s, { fromRevision: 1 });
    const r = await s.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'a' }] });
    assert.equal(r.objects[0]?.metadata.resourceVersion, '1');
    await waitFor(() => w.events.length === 1, 'the delete event');
    assert.equal(w.events[0]?.type, 'DELETED');
    assert.equal(w.events[0]?.object.metadata.resourceVersion, '2');
    assert.deepEqual(w.events[0]?.object.data, { k: 'v' });
    w.cancel();
  }));

  test('a write that changes labels records the previous ones on its event, and one that keeps them does not', () => withStore({}, async (s) => {
    const fresh = collect(s, { fromRevision: 0 });
    await s.propose({ ops: [{ type: 'put', object: labelled('a', undefined) }] });
    await s.propose({ ops: [{ type: 'put', object: labelled('a', { app: 'web', tier: 'f' }) }] });
    await s.propose({ ops: [{ type: 'put', object: labelled('a', { tier: 'f', app: 'web' }, { k: 'v' }) }] });
    await s.propose({ ops: [{ type: 'put', object: labelled('a', { app: 'db' }) }, { type: 'put', object: labelled('a', {}) }] });
    await s.propose({ ops: [{ type: 'put', object: labelled('a', undefined) }] });
    const resumed = collect(s, { fromRevision: 1 });
    const want = [
      ['ADDED', 1, undefined],
      ['MODIFIED', 2, {}],
      // Same labels in another key order: unchanged.
      ['MODIFIED', 3, undefined],
      ['MODIFIED', 4, { app: 'web', tier: 'f' }],
      // Within one command the second op's previous labels are the first op's.
      ['MODIFIED', 4, { app: 'db' }],
      // No labels and empty labels are the same.
      ['MODIFIED', 5, undefined],
    ];
    const view = (events: StoreEvent[]): unknown[] => events.map((e) => [e.type, e.revision, e.previousLabels]);
    await waitFor(() => fresh.events.length === want.length, 'the live events');
    await waitFor(() => resumed.events.length === want.length - 1, 'the replayed events');
    assert.deepEqual(view(fresh.events), want);
    assert.deepEqual(view(resumed.events), want.slice(1));
    assert.ok(Object.isFrozen(fresh.events[1]!.previousLabels));
    fresh.cancel();
    resumed.cancel();
  }));

  test('list filters by namespace, sorts by key and reports the revision', () => withStore({}, async (s) => {
    await s.propose({ ops: [
      { type: 'put', object: configMap('b', 'prod') }, { type: 'put', object: configMap('a', 'prod') },
      { type: 'put', object: configMap('c', 'dev') }, { type: 'put', object: node('pi') },
    ] });
    assert.deepEqual(s.list('ConfigMap', 'prod').items.map((o) => o.metadata.name), ['a', 'b']);
    assert.deepEqual(s.list('ConfigMap').items.map((o) => o.metadata.name), ['c', 'a', 'b']);
    assert.equal(s.list('Node').items.length, 1);
    assert.equal(s.list('Pod').items.length, 0);
    assert.equal(s.list('ConfigMap').revision, 1);
  }));

  test('a watch resumes with exactly the events after its revision, then live ones', () => withStore({}, async (s) => {
    for (let i = 1; i <= 5; i++) await s.propose({ ops: [{ type: 'put', object: configMap(`c${i}`) }] });
    const w = collect(s, { fromRevision: 2 });
    const fresh = collect(s, { fromRevision: 0 });
    await s.propose({ ops: [{ type: 'put', object: configMap('c6') }] });
    await waitFor(() => w.events.length === 4, 'resumed events');
    await waitFor(() => fresh.events.length === 1, 'the live event');
    assert.deepEqual(w.events.map((e) => e.revision), [3, 4, 5, 6]);
    assert.deepEqual(fresh.events.map((e) => e.revision), [6]);
    w.cancel();
    fresh.cancel();
  }));

  test('a watch filters by kind and namespace', () => withStore({}, async (s) => {
    const byNs = collect(s, { kind: 'ConfigMap', namespace: 'prod', fromRevision: 0 });
    const nodes = collect(s, { kind: 'Node', fromRevision: 0 });
    await s.propose({ ops: [{ type: 'put', object: configMap('a', 'dev') }, { type: 'put', object: configMap('b', 'prod') }] });
    await s.propose({ ops: [{ type: 'put', object: node('pi') }] });
    await waitFor(() => nodes.events.length === 1, 'the node event');
    assert.deepEqual(byNs.events.map((e) => e.object.metadata.name), ['b']);
    assert.deepEqual(nodes.events.map((e) => e.object.metadata.name), ['pi']);
    byNs.cancel();
    nodes.cancel();
  }));

  test('a watch from a revision no longer retained fails with STORE_REVISION_TOO_OLD', () => withStore({ retainEvents: 3 }, async (s) => {
    for (let i = 1; i <= 6; i++) await s.propose({ ops: [{ type: 'put', object: configMap(`c${i}`) }] });
    assert.equal(s.oldestResumableRevision(), 3);
    assert.throws(() => s.watch({ fromRevision: 2 }, () => {}),
      (e) => isBrambleError(e, 'STORE_REVISION_TOO_OLD') && e.message === 'revision 2 is older than the oldest retained revision 3: list again');
    const w = collect(s, { fromRevision: 3 });
    await waitFor(() => w.events.length === 3, 'retained events');
    assert.deepEqual(w.events.map((e) => e.revision), [4, 5, 6]);
    w.cancel();
  }));

  test('no event reaches a cancelled watch, and a throwing watcher does not stop writes', () => withStore({}, async (s) => {
    const cancelled = collect(s, { fromRevision: 0 });
    s.watch({ fromRevision: 0 }, () => { throw new Error('watcher bug'); });
    const live = collect(s, { fromRevision: 0 });
    await s.propose({ ops: [{ type: 'put', object: configMap('a') }] });
    cancelled.cancel();
    await s.propose({ ops: [{ type: 'put', object: configMap('b') }] });
    await waitFor(() => live.events.length === 2, 'both events');
    assert.equal(cancelled.events.length, 0);
    live.cancel();
  }));
}
