import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import type { KObject, Pod } from '../../proto/model.js';
import { makeNode, makePod } from '../testing/scheduler-fixtures.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { ListResult, Store } from '../store/store.js';
import { INDEX_CONTROLLER, INDEX_NAMESPACE, INDEX_NODE, INDEX_OWNER, Informer, keyOf, splitKey, objectKey } from './informer.js';
import { SharedInformers } from './shared-informers.js';

/** Lets the store's watch fan-out (one setImmediate per turn) deliver what is queued. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

async function put(store: Store, ...objects: KObject[]): Promise<void> {
  await store.propose({ ops: objects.map((object) => ({ type: 'put' as const, object })) });
}

async function remove(store: Store, kind: string, namespace: string | undefined, name: string): Promise<void> {
  await store.propose({ ops: [{ type: 'delete', kind, namespace, name }] });
}

function record(inf: Informer<KObject>): string[] {
  const seen: string[] = [];
  const name = (o: KObject) => `${keyOf(o)}@${o.metadata.resourceVersion}`;
  inf.addEventHandler({
    onAdd: (o) => seen.push(`add ${name(o)}`),
    onUpdate: (old, o) => seen.push(`update ${name(old)} -> ${name(o)}`),
    onDelete: (o) => seen.push(`delete ${keyOf(o)}`),
  });
  return seen;
}

function setup(t: TestContext, store: Store = createMemoryStore(), kind = 'Pod') {
  const clock = new FakeClock();
  const informer = new Informer({ store, kind, clock });
  t.after(async () => {
    informer.stop();
    await store.close();
  });
  return { store, clock, informer };
}

function owned(name: string, ownerUid: string, opts: { nodeName?: string; controller?: boolean; namespace?: string } = {}): Pod {
  const pod = makePod(name, { nodeName: opts.nodeName, namespace: opts.namespace });
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: ownerUid, controller: opts.controller ?? true },
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'extra', uid: 'not-a-controller' },
      ],
    },
  };
}

const names = (objects: KObject[]) => objects.map((o) => o.metadata.name);

describe('informer', () => {
  test('keys are namespace/name, or the name alone for cluster-scoped objects', () => {
    assert.equal(objectKey('default', 'web'), 'default/web');
    assert.equal(objectKey(undefined, 'pi-1'), 'pi-1');
    assert.deepEqual(splitKey('default/web'), { namespace: 'default', name: 'web' });
    assert.deepEqual(splitKey('pi-1'), { namespace: undefined, name: 'pi-1' });
  });

  test('is synced only once the list is in the cache', async (t) => {
    const { store, informer } = setup(t);
    await put(store, makePod('a'), makePod('b'));
    let synced = false;
    void informer.whenSynced().then((s) => (synced = s));
    await settle();
    assert.equal(informer.hasSynced(), false);
    assert.equal(synced, false);
    assert.deepEqual(informer.list(), []);
    informer.start();
    assert.equal(informer.hasSynced(), true);
    assert.deepEqual(names(informer.list()).sort(), ['a', 'b']);
    assert.equal(informer.lastSyncRevision(), store.revision());
    await settle();
    assert.equal(synced, true);
  });

  test('whenSynced resolves false when the informer stops before it synced', async (t) => {
    const { informer } = setup(t);
    const synced = informer.whenSynced();
    informer.stop();
    assert.equal(await synced, false);
    informer.start();
    assert.equal(informer.hasSynced(), false, 'a stopped informer does not start again');
  });

  test('every change after the list revision reaches the handlers exactly once', async (t) => {
    const { store, informer } = setup(t);
    await put(store, makePod('a'), makePod('b'));
    const seen = record(informer);
    informer.start();
    await put(store, makePod('a', { nodeName: 'pi-1' }));
    await put(store, makePod('c'));
    await remove(store, 'Pod', 'default', 'b');
    await settle();
    assert.deepEqual(seen, [
      'add default/a@1', 'add default/b@1',
      'update default/a@1 -> default/a@2',
      'add default/c@3',
      'delete default/b',
    ]);
    assert.deepEqual(names(informer.list()).sort(), ['a', 'c']);
    assert.equal(informer.lastSyncRevision(), 4);
  });

  test('only its own kind reaches the cache', async (t) => {
    const { store, informer } = setup(t);
    informer.start();
    await put(store, makeNode('pi-1'), makePod('a'));
    await settle();
    assert.deepEqual(informer.keys(), ['default/a']);
  });

  test('cached objects are the store\'s frozen objects and cannot be changed', async (t) => {
    const { store, informer } = setup(t);
    await put(store, makePod('a'));
    informer.start();
    await put(store, makePod('b'));
    await settle();
    for (const key of ['default/a', 'default/b']) {
      const cached = informer.get(key)!;
      assert.equal(cached, store.get('Pod', 'default', splitKey(key).name), 'the same object, not a copy');
      assert.ok(Object.isFrozen(cached) && Object.isFrozen(cached.metadata) && Object.isFrozen(cached.spec));
      assert.throws(() => { (cached.metadata as { name: string }).name = 'changed'; }, TypeError);
    }
    const listed = informer.list();
    listed.pop();
    assert.equal(informer.list().length, 2, 'list() hands out a fresh array');
  });

  test('indexes by namespace, owner, controller and node follow updates and deletes', async (t) => {
    const { store, informer } = setup(t);
    await put(store, owned('a', 'rs-1', { nodeName: 'pi-1' }), owned('b', 'rs-1'), owned('c', 'rs-2', { namespace: 'other', controller: false }));
    informer.start();
    assert.deepEqual(names(informer.byIndex(INDEX_NAMESPACE, 'default')), ['a', 'b']);
    assert.deepEqual(names(informer.byIndex(INDEX_NAMESPACE, 'other')), ['c']);
    assert.deepEqual(names(informer.byIndex(INDEX_OWNER, 'rs-1')), ['a', 'b']);
    assert.deepEqual(names(informer.byIndex(INDEX_OWNER, 'not-a-controller')).sort(), ['a', 'b', 'c']);
    assert.deepEqual(names(informer.byIndex(INDEX_CONTROLLER, 'rs-2')), [], 'an owner without controller: true is no controller');
    assert.deepEqual(names(informer.byIndex(INDEX_CONTROLLER, 'not-a-controller')), []);
    assert.deepEqual(names(informer.byIndex(INDEX_NODE, 'pi-1')), ['a']);

    await put(store, owned('a', 'rs-2', { nodeName: 'pi-2' }), owned('b', 'rs-1', { nodeName: 'pi-1' }));
    await remove(store, 'Pod', 'other', 'c');
    await settle();
    assert.deepEqual(names(informer.byIndex(INDEX_NODE, 'pi-1')), ['b']);
    assert.deepEqual(names(informer.byIndex(INDEX_NODE, 'pi-2')), ['a']);
    assert.deepEqual(names(informer.byIndex(INDEX_CONTROLLER, 'rs-1')), ['b']);
    assert.deepEqual(names(informer.byIndex(INDEX_CONTROLLER, 'rs-2')), ['a']);
    assert.deepEqual(names(informer.byIndex(INDEX_NAMESPACE, 'other')), []);
    assert.deepEqual(names(informer.byIndex(INDEX_OWNER, 'not-a-controller')), ['a', 'b']);
    assert.throws(() => informer.byIndex('colour', 'red'), /no index "colour"/);
  });

  test('a watch that fell behind relists: vanished keys are deleted, the rest resynced', async (t) => {
    const store = createMemoryStore({ retainEvents: 1 });
    await put(store, makePod('a'), makePod('b'), makePod('c'));
    // A list served from further back than the store keeps events for (a lagging source).
    const stale = store.list('Pod');
    await remove(store, 'Pod', 'default', 'b');
    await put(store, makePod('c', { nodeName: 'pi-1' }));
    await put(store, makePod('d'));
    const lists: number[] = [];
    const lagging: Store = {
      ...store,
      list: (kind, ns): ListResult => {
        const res = lists.length === 0 ? stale : store.list(kind, ns);
        lists.push(res.revision);
        return res;
      },
    };
    const { informer } = setup(t, lagging);
    const seen = record(informer);
    informer.start();
    assert.deepEqual(lists, [1, 4], 'the stale list, then one fresh relist');
    assert.deepEqual(seen, [
      'add default/a@1', 'add default/b@1', 'add default/c@1',
      'delete default/b',
      'update default/a@1 -> default/a@1',
      'update default/c@1 -> default/c@3',
      'add default/d@4',
    ]);
    assert.deepEqual(informer.keys().sort(), ['default/a', 'default/c', 'default/d']);
    assert.deepEqual(names(informer.byIndex(INDEX_NAMESPACE, 'default')), ['a', 'c', 'd']);
    assert.deepEqual(names(informer.byIndex(INDEX_NODE, 'pi-1')), ['c']);

    // And it watches from the relist's revision: the next change arrives once.
    await put(lagging, makePod('e'));
    await settle();
    assert.deepEqual(seen.slice(7), ['add default/e@5']);
  });

  test('a watch that keeps falling behind relists again after a back-off on the clock', async (t) => {
    const store = createMemoryStore({ retainEvents: 1 });
    await put(store, makePod('a'));
    const stale = store.list('Pod');
    await put(store, makePod('b'));
    await put(store, makePod('c'));
    let staleLists = 3;
    const lagging: Store = { ...store, list: (kind, ns) => (staleLists-- > 0 ? stale : store.list(kind, ns)) };
    const { clock, informer } = setup(t, lagging);
    informer.start();
    assert.deepEqual(informer.keys(), ['default/a'], 'two stale lists in a row: waiting');
    assert.equal(clock.pendingCount, 1);
    await clock.advance(499);
    assert.deepEqual(informer.keys(), ['default/a']);
    await clock.advance(1);
    assert.deepEqual(informer.keys(), ['default/a'], 'the third list was stale too');
    await clock.advance(1_000);
    assert.deepEqual(informer.keys().sort(), ['default/a', 'default/b', 'default/c']);
    assert.equal(clock.pendingCount, 0);
  });

  test('no handler runs after stop', async (t) => {
    const { store, informer } = setup(t);
    const seen = record(informer);
    informer.start();
    await put(store, makePod('a'));
    informer.stop();
    await put(store, makePod('b'));
    await settle();
    assert.deepEqual(seen, []);
  });

  test('a handler added after the sync is first told of every cached object', async (t) => {
    const { store, informer } = setup(t);
    await put(store, makePod('a'));
    informer.start();
    const seen = record(informer);
    assert.deepEqual(seen, ['add default/a@1']);
  });

  test('a handler that throws does not keep the others or the cache from the event', async (t) => {
    const { store, informer } = setup(t);
    informer.addEventHandler({ onAdd: () => { throw new Error('boom'); } });
    const seen = record(informer);
    informer.start();
    await put(store, makePod('a'));
    await settle();
    assert.deepEqual(seen, ['add default/a@1']);
    assert.ok(informer.get('default/a'));
  });
});

describe('shared informers', () => {
  test('make one informer per kind, started together and at once when asked for later', async (t) => {
    const store = createMemoryStore();
    const informers = new SharedInformers({ store, clock: new FakeClock() });
    t.after(async () => {
      informers.stop();
      await store.close();
    });
    await put(store, makeNode('pi-1'), makePod('a'));
    const pods = informers.informer('Pod');
    assert.equal(informers.informer('Pod'), pods);
    assert.equal(pods.hasSynced(), false);
    informers.start();
    assert.equal(pods.hasSynced(), true);
    const nodes = informers.informer('Node');
    assert.equal(nodes.hasSynced(), true);
    assert.deepEqual(informers.kinds(), ['Pod', 'Node']);
    assert.equal(await informers.waitForSync(new AbortController().signal), true);
    informers.stop();
    await put(store, makePod('b'));
    await settle();
    assert.deepEqual(pods.keys(), ['default/a']);
  });

  test('waiting for the sync ends with false when the signal aborts', async (t) => {
    const store = createMemoryStore();
    const informers = new SharedInformers({ store, clock: new FakeClock() });
    t.after(() => store.close());
    informers.informer('Pod');
    const abort = new AbortController();
    const waiting = informers.waitForSync(abort.signal);
    abort.abort();
    assert.equal(await waiting, false);
  });
});
