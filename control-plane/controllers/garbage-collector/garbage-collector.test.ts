import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../proto/util/clock.js';
import { FOREGROUND_FINALIZER, type KObject, type OwnerReference, type PropagationPolicy } from '../../../proto/model.js';
import { planDelete } from '../../api/api-apply.js';
import { createMemoryStore } from '../../store/store-memory.js';
import type { Store, StoreEvent } from '../../store/store.js';
import { makeNode } from '../../testing/scheduler-fixtures.js';
import { GarbageCollector } from './garbage-collector.js';

function configMap(name: string, uid: string): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid }, data: { k: 'v' } };
}

function ownedBy(owner: KObject, extra: Partial<OwnerReference> = {}): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, ...extra };
}

function pod(name: string, owners: OwnerReference[], nodeName?: string): KObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ...(owners.length > 0 ? { ownerReferences: owners } : {}) },
    spec: { containers: [{ name: 'main', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
  };
}

/** Resolves once `cond` holds; the collector runs on microtasks and turns, so a few hundred turns is plenty. */
async function until(what: string, cond: () => boolean, turns = 500): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`still not true after ${turns} turns: ${what}`);
}

/** Lets the collector run for a while, for checks that something does not happen. */
async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function setup(t: TestContext) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  const collectors: GarbageCollector[] = [];
  const startCollector = (): GarbageCollector => {
    const gc = new GarbageCollector({ store, clock });
    collectors.push(gc);
    gc.start();
    return gc;
  };
  const events: StoreEvent[] = [];
  const watch = store.watch({ fromRevision: 0 }, (e) => events.push(e));
  t.after(async () => {
    watch.cancel();
    for (const gc of collectors) await gc.stop();
    await store.close();
  });
  const create = async (...objects: KObject[]): Promise<void> => {
    await store.propose({ ops: objects.map((object) => ({ type: 'put' as const, object, precondition: { absent: true as const } })) });
  };
  const remove = async (kind: string, name: string, propagationPolicy: PropagationPolicy = 'Background'): Promise<void> => {
    const plan = planDelete(store, { kind, namespace: 'default', name, propagationPolicy, now: new Date(clock.now()).toISOString() });
    await store.propose(plan.command);
  };
  const get = (kind: string, name: string): KObject | undefined => store.get(kind, 'default', name);
  return { store, clock, startCollector, create, remove, get, events };
}

function names(store: Store, kind: string): string[] {
  return store.list(kind, 'default').items.map((o) => o.metadata.name).sort();
}

describe('garbage collector', () => {
  test('a background delete of an owner deletes its dependents and leaves everything else', async (t) => {
    const { store, startCollector, create, remove } = await setup(t);
    const owner = configMap('cfg', 'u1');
    await create(owner, configMap('other', 'u9'), pod('a', [ownedBy(owner)]), pod('b', [ownedBy(owner)]), pod('free', []),
      pod('theirs', [ownedBy(configMap('other', 'u9'))]));
    startCollector();
    await settle();
    assert.deepEqual(names(store, 'Pod'), ['a', 'b', 'free', 'theirs']);
    await remove('ConfigMap', 'cfg');
    await until('the owner\'s pods are gone', () => names(store, 'Pod').length === 2);
    assert.deepEqual(names(store, 'Pod'), ['free', 'theirs']);
  });

  test('dependents of a deleted owner are deleted even though an owner of the same name exists again, and the new owner\'s are kept', async (t) => {
    const { store, startCollector, create, remove } = await setup(t);
    const first = configMap('cfg', 'u1');
    await create(first, pod('old', [ownedBy(first)]));
    // Deleted and created again before any collector saw it: only the uid tells them apart.
    await remove('ConfigMap', 'cfg');
    const second = configMap('cfg', 'u2');
    await create(second, pod('new', [ownedBy(second)]));
    startCollector();
    await until('the old owner\'s pod is gone', () => !store.get('Pod', 'default', 'old'));
    await settle();
    assert.deepEqual(names(store, 'Pod'), ['new']);
    assert.equal(store.get('ConfigMap', 'default', 'cfg')?.metadata.uid, 'u2');
  });

  test('an orphan delete removes the owner and strips the reference from its dependents in one command', async (t) => {
    const { store, startCollector, create, remove, get } = await setup(t);
    const owner = configMap('cfg', 'u1');
    const other = configMap('other', 'u2');
    await create(owner, other, pod('a', [ownedBy(owner, { controller: true })]), pod('both', [ownedBy(owner), ownedBy(other)]));
    startCollector();
    await settle();
    const before = store.revision();
    await remove('ConfigMap', 'cfg', 'Orphan');
    assert.equal(store.revision(), before + 1, 'one command');
    await settle();
    assert.equal(get('ConfigMap', 'cfg'), undefined);
    assert.equal(get('Pod', 'a')?.metadata.ownerReferences, undefined);
    assert.deepEqual(get('Pod', 'both')?.metadata.ownerReferences?.map((r) => r.uid), ['u2']);
    assert.equal(store.revision(), before + 1, 'nothing left for the collector to do');
  });

  test('a foreground delete deletes the blocking dependents first and then the owner', async (t) => {
    const { store, startCollector, create, remove, get, events } = await setup(t);
    const owner = configMap('cfg', 'u1');
    await create(owner, pod('a', [ownedBy(owner, { blockOwnerDeletion: true })]), pod('b', [ownedBy(owner, { blockOwnerDeletion: true })]));
    startCollector();
    await settle();
    await remove('ConfigMap', 'cfg', 'Foreground');
    const marked = get('ConfigMap', 'cfg');
    assert.ok(marked?.metadata.deletionTimestamp, 'the owner is marked, not removed');
    assert.deepEqual(marked?.metadata.finalizers, [FOREGROUND_FINALIZER]);
    // The test's own watch is drained on later turns, like every watch: wait for it to see the end.
    const deletes = (): string[] => events.filter((e) => e.type === 'DELETED').map((e) => `${e.object.kind}/${e.object.metadata.name}`);
    await until('the owner\'s delete is seen', () => deletes().includes('ConfigMap/cfg'));
    assert.equal(get('ConfigMap', 'cfg'), undefined);
    assert.deepEqual(deletes().slice(-1), ['ConfigMap/cfg']);
    assert.deepEqual(deletes().slice(0, -1).sort(), ['Pod/a', 'Pod/b']);
    assert.deepEqual(names(store, 'Pod'), []);
  });

  test('a foreground delete waits for a bound pod until its agent has stopped it', async (t) => {
    const { store, startCollector, create, remove, get } = await setup(t);
    const owner = configMap('cfg', 'u1');
    await create(makeNode('pi-1'), owner, pod('running', [ownedBy(owner, { blockOwnerDeletion: true })], 'pi-1'));
    startCollector();
    await remove('ConfigMap', 'cfg', 'Foreground');
    await until('the pod is terminating', () => get('Pod', 'running')?.metadata.deletionTimestamp !== undefined);
    await settle();
    assert.ok(get('ConfigMap', 'cfg'), 'the owner waits for its pod');
    // The agent reports the pod finalized; the Node API removes it.
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'running' }] });
    await until('the owner is gone', () => !get('ConfigMap', 'cfg'));
  });

  test('a dependent with several owners survives until the last of them is deleted', async (t) => {
    const { store, startCollector, create, remove, get } = await setup(t);
    const one = configMap('one', 'u1');
    const two = configMap('two', 'u2');
    await create(one, two, pod('shared', [ownedBy(one), ownedBy(two)]));
    startCollector();
    await remove('ConfigMap', 'one');
    await until('the dangling reference is dropped', () => get('Pod', 'shared')?.metadata.ownerReferences?.length === 1);
    assert.equal(get('Pod', 'shared')?.metadata.ownerReferences?.[0]?.uid, 'u2');
    await remove('ConfigMap', 'two');
    await until('the pod is gone', () => !get('Pod', 'shared'));
    assert.deepEqual(names(store, 'Pod'), []);
  });

  test('a collector restarted in the middle of a foreground delete finishes it', async (t) => {
    const { store, startCollector, create, remove, get } = await setup(t);
    const owner = configMap('cfg', 'u1');
    await create(makeNode('pi-1'), owner,
      pod('bound', [ownedBy(owner, { blockOwnerDeletion: true })], 'pi-1'), pod('unbound', [ownedBy(owner, { blockOwnerDeletion: true })]));
    const first = startCollector();
    await remove('ConfigMap', 'cfg', 'Foreground');
    await until('the first collector made its steps', () => !get('Pod', 'unbound') && get('Pod', 'bound')?.metadata.deletionTimestamp !== undefined);
    await first.stop();
    // While no collector runs, the agent finishes the pod, and a background delete's dependents wait too.
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'bound' }] });
    const later = configMap('later', 'u2');
    await create(later, pod('orphaned', [ownedBy(later)]));
    await remove('ConfigMap', 'later');
    await settle();
    assert.ok(get('ConfigMap', 'cfg') && get('Pod', 'orphaned'), 'nothing happens without a collector');
    startCollector();
    await until('both deletes are finished', () => !get('ConfigMap', 'cfg') && !get('Pod', 'orphaned'));
  });

  test('pods whose owner is gone get the graceful delete: marked for their agent, not removed', async (t) => {
    const { clock, startCollector, create, remove, get } = await setup(t);
    const owner = configMap('cfg', 'u1');
    await create(makeNode('pi-1'), owner, pod('bound', [ownedBy(owner)], 'pi-1'), pod('unbound', [ownedBy(owner)]));
    startCollector();
    await remove('ConfigMap', 'cfg');
    await until('both pods are handled', () => !get('Pod', 'unbound') && get('Pod', 'bound')?.metadata.deletionTimestamp !== undefined);
    assert.equal(get('Pod', 'bound')?.metadata.deletionTimestamp, new Date(clock.now()).toISOString());
  });

  test('a reference to a kind the cluster does not have is left alone', async (t) => {
    const { startCollector, create, get } = await setup(t);
    await create(pod('p', [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'u-w' }]));
    startCollector();
    await settle();
    assert.ok(get('Pod', 'p'));
  });

  test('a dependent changed after it was read is not deleted: the delete carries its resourceVersion', async (t) => {
    const { store, create, remove, get } = await setup(t);
    const owner = configMap('cfg', 'u1');
    const adopter = configMap('adopter', 'u2');
    await create(owner, adopter, pod('p', [ownedBy(owner)]));
    await remove('ConfigMap', 'cfg');
    const gc = new GarbageCollector({ store, clock: new FakeClock() });
    // Adopted between the read and the write: the stale write must lose.
    const realPropose = store.propose.bind(store);
    let adopted = false;
    store.propose = async (command) => {
      if (!adopted) {
        adopted = true;
        const current = store.get('Pod', 'default', 'p')!;
        await realPropose({ ops: [{ type: 'put', object: { ...current, metadata: { ...current.metadata, ownerReferences: [ownedBy(adopter)] } } }] });
      }
      return realPropose(command);
    };
    await assert.rejects(gc.reconcile('Pod/default/p'), (e: Error & { code?: string }) => e.code === 'CONFLICT');
    store.propose = realPropose;
    await gc.reconcile('Pod/default/p');
    assert.deepEqual(get('Pod', 'p')?.metadata.ownerReferences?.map((r) => r.uid), ['u2']);
  });
});
