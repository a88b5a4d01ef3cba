import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import type { Pod, ReplicaSet } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { makeNamespace, makeReplicaSet, makeRsPod, seed } from '../testing/replicaset-fixtures.js';
import { ReplicaSetController, slowStartBatch } from './controller-replicaset.js';
import { FakePodControl } from './pod-control-fake.js';
import { StorePodControl, type PodControl } from './pod-control.js';

const KEY = 'default/web';

/** Names web-00001, web-00002, …: predictable, unlike the real generator. */
function sequentialNames(): (base: string) => string {
  let n = 0;
  return (base) => `${base}${String(++n).padStart(5, '0')}`;
}

async function setup(t: TestContext, opts: { podControl?: (store: Store, clock: FakeClock) => PodControl; runWorkers?: boolean; burst?: number } = {}) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await seed(store, makeNamespace());
  const real = new StorePodControl({ store, clock, generateName: sequentialNames() });
  const podControl = opts.podControl?.(store, clock) ?? real;
  const controller = new ReplicaSetController({ store, clock, podControl, burstReplicas: opts.burst });
  controller.start(undefined, { runWorkers: opts.runWorkers ?? false });
  await controller.whenSynced();
  t.after(async () => {
    await controller.stop();
    await store.close();
  });
  /** Lets the informers deliver what the store committed (events go out on setImmediate). */
  const settle = () => clock.advance(0);
  const pods = () => (store.list('Pod', 'default').items as Pod[]).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const live = () => pods().filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
  const rs = (name = 'web') => store.get('ReplicaSet', 'default', name) as ReplicaSet;
  const sync = async (key = KEY) => {
    await settle();
    await controller.reconcile(key);
    await settle();
  };
  return { store, clock, controller, settle, pods, live, rs, sync, real };
}

describe('ReplicaSet controller', () => {
  test('scaling up from 0 to 3 creates three Pods from the template, each controlled by the ReplicaSet', async (t) => {
    const { store, sync, pods, rs } = await setup(t);
    await seed(store, makeReplicaSet('web', { replicas: 0 }));
    await sync();
    assert.equal(pods().length, 0);
    await store.propose({ ops: [{ type: 'put', object: { ...rs(), spec: { ...rs().spec, replicas: 3 } }, precondition: { resourceVersion: rs().metadata.resourceVersion! } }] });
    await sync();
    assert.deepEqual(pods().map((p) => p.metadata.name), ['web-00001', 'web-00002', 'web-00003']);
    for (const p of pods()) {
      assert.deepEqual(p.metadata.labels, { app: 'web' });
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'uid-rs-web', controller: true, blockOwnerDeletion: true }]);
      assert.ok(p.metadata.uid && p.metadata.creationTimestamp && p.metadata.resourceVersion);
    }
    await sync();
    assert.equal(pods().length, 3, 'a second pass creates nothing more');
    assert.equal(rs().status?.replicas, 3);
  });

  test('scaling down deletes unscheduled, then not-ready, then the newest Pods first', async (t) => {
    const { store, sync, live } = await setup(t);
    const web = makeReplicaSet('web', { replicas: 2 });
    await seed(store, web,
      makeRsPod('old-ready', { owner: web, labels: { app: 'web' }, phase: 'Running', ready: true, readySince: '2026-01-01T00:00:00.000Z', created: '2025-12-01T00:00:00.000Z' }),
      makeRsPod('new-ready', { owner: web, labels: { app: 'web' }, phase: 'Running', ready: true, readySince: '2026-01-01T00:00:00.000Z', created: '2025-12-20T00:00:00.000Z' }),
      makeRsPod('not-ready', { owner: web, labels: { app: 'web' }, phase: 'Running', ready: false, created: '2025-11-01T00:00:00.000Z' }),
      makeRsPod('unscheduled', { owner: web, labels: { app: 'web' }, created: '2025-10-01T00:00:00.000Z' }),
    );
    await sync();
    assert.deepEqual(live(), ['new-ready', 'old-ready']);
    const current = store.get('ReplicaSet', 'default', 'web') as ReplicaSet;
    await store.propose({ ops: [{ type: 'put', object: { ...current, spec: { ...current.spec, replicas: 1 } }, precondition: { resourceVersion: current.metadata.resourceVersion! } }] });
    await sync();
    assert.deepEqual(live(), ['old-ready']);
  });

  test('a deleted Pod is replaced', async (t) => {
    const { store, sync, live } = await setup(t);
    await seed(store, makeReplicaSet('web', { replicas: 2 }));
    await sync();
    assert.deepEqual(live(), ['web-00001', 'web-00002']);
    const gone = store.get('Pod', 'default', 'web-00001')!;
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'web-00001', precondition: { resourceVersion: gone.metadata.resourceVersion! } }] });
    await sync();
    assert.deepEqual(live(), ['web-00002', 'web-00003']);
  });

  test('a matching orphan is adopted instead of a new Pod being made; a Pod owned by another controller is left alone', async (t) => {
    const { store, sync, pods } = await setup(t);
    const other = makeReplicaSet('other', { labels: { app: 'web' } });
    await seed(store, makeRsPod('orphan', { labels: { app: 'web' } }), makeRsPod('theirs', { labels: { app: 'web' }, owner: other }));
    await seed(store, makeReplicaSet('web', { replicas: 1 }));
    await sync();
    assert.deepEqual(pods().map((p) => p.metadata.name), ['orphan', 'theirs']);
    const orphan = store.get('Pod', 'default', 'orphan')!;
    assert.equal(orphan.metadata.ownerReferences?.[0]?.uid, 'uid-rs-web');
    assert.equal(orphan.metadata.ownerReferences?.[0]?.blockOwnerDeletion, true);
    assert.equal(store.get('Pod', 'default', 'theirs')!.metadata.ownerReferences?.[0]?.uid, 'uid-rs-other');
  });

  test('a Pod whose labels stop matching is released and replaced', async (t) => {
    const { store, sync, live } = await setup(t);
    await seed(store, makeReplicaSet('web', { replicas: 1 }));
    await sync();
    const pod = store.get('Pod', 'default', 'web-00001')!;
    await store.propose({ ops: [{ type: 'put', object: { ...pod, metadata: { ...pod.metadata, labels: { app: 'debug' } } }, precondition: { resourceVersion: pod.metadata.resourceVersion! } }] });
    await sync();
    assert.equal(store.get('Pod', 'default', 'web-00001')!.metadata.ownerReferences, undefined, 'released');
    await sync();
    assert.deepEqual(live(), ['web-00001', 'web-00002']);
    assert.equal(store.get('Pod', 'default', 'web-00002')!.metadata.ownerReferences?.[0]?.uid, 'uid-rs-web');
  });

  test('terminating and finished Pods are not counted, so replacements are made while they go away', async (t) => {
    const { store, sync, rs } = await setup(t);
    const web = makeReplicaSet('web', { replicas: 2 });
    await seed(store, web,
      makeRsPod('terminating', { owner: web, labels: { app: 'web' }, deleting: true, phase: 'Running' }),
      makeRsPod('failed', { owner: web, labels: { app: 'web' }, phase: 'Failed' }),
    );
    await sync();
    await sync();
    const made = (store.list('Pod', 'default').items as Pod[]).filter((p) => p.metadata.name.startsWith('web-')).length;
    assert.equal(made, 2);
    assert.equal(rs().status?.replicas, 2);
  });

  test('status counts ready and available Pods (minReadySeconds by the Ready transition time) and records the generation', async (t) => {
    const { store, clock, sync, rs, controller } = await setup(t);
    const now = clock.now();
    const web = makeReplicaSet('web', { replicas: 3, minReadySeconds: 10, generation: 4 });
    await seed(store, web,
      makeRsPod('a', { owner: web, labels: { app: 'web' }, nodeName: 'pi-1', phase: 'Running', ready: true, readySince: new Date(now - 60_000).toISOString() }),
      makeRsPod('b', { owner: web, labels: { app: 'web' }, nodeName: 'pi-1', phase: 'Running', ready: true, readySince: new Date(now - 4_000).toISOString() }),
      makeRsPod('c', { owner: web, labels: { app: 'web', extra: 'x' }, nodeName: 'pi-1', phase: 'Running', ready: false }),
    );
    await sync();
    assert.deepEqual(rs().status, { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 2, availableReplicas: 1, observedGeneration: 4 });
    const revision = store.revision();
    await sync();
    assert.equal(store.revision(), revision, 'an unchanged status is not written again');
    // b becomes available 6 s from now.
    await clock.advance(6_000);
    await controller.reconcile(KEY);
    assert.equal(rs().status?.availableReplicas, 2);
  });

  test('expectations keep a second pass from creating again before the informer sees the first creates', async (t) => {
    const fake = new FakePodControl();
    const { store, sync, controller } = await setup(t, { podControl: () => fake });
    await seed(store, makeReplicaSet('web', { replicas: 3 }));
    await sync();
    assert.equal(fake.created.length, 3);
    // The fake's Pods never reach the store, so the cache still shows none.
    await sync();
    assert.equal(fake.created.length, 3);
    assert.deepEqual(controller.pendingExpectations(KEY), { adds: 3, deletes: [] });
  });

  test('creates start in slow-start batches, stop at the first failing batch, and a failing create is retried with back-off', async (t) => {
    let fake!: FakePodControl;
    const { store, clock, controller, live, rs } = await setup(t, {
      runWorkers: true,
      podControl: (s, c) => (fake = new FakePodControl({ passTo: new StorePodControl({ store: s, clock: c, generateName: sequentialNames() }) })),
    });
    fake.failCreates(new BrambleError('UNAVAILABLE', 'the store is briefly away'));
    await seed(store, makeReplicaSet('web', { replicas: 4 }));
    await clock.advance(0);
    assert.deepEqual(live(), [], 'the first batch (one Pod) failed, so no more were tried');
    assert.equal(controller.failureCount(KEY), 1);
    assert.equal(rs().status?.conditions?.[0]?.reason, 'FailedCreate');
    await clock.advance(199);
    assert.deepEqual(live(), [], 'not before the back-off');
    await clock.advance(1);
    await clock.advance(0);
    assert.equal(live().length, 4);
    assert.equal(rs().status?.conditions, undefined, 'the failure condition is cleared once creates succeed');
  });

  test('a controller restarted mid-scale finishes the job without creating too many', async (t) => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    t.after(() => store.close());
    await seed(store, makeNamespace(), makeReplicaSet('web', { replicas: 5 }));
    const names = sequentialNames();
    const first = new ReplicaSetController({ store, clock, podControl: new StorePodControl({ store, clock, generateName: names }), burstReplicas: 2 });
    first.start(undefined, { runWorkers: false });
    await first.whenSynced();
    await first.reconcile(KEY);
    await first.stop();
    assert.equal(store.list('Pod', 'default').items.length, 2);
    const second = new ReplicaSetController({ store, clock, podControl: new StorePodControl({ store, clock, generateName: names }), burstReplicas: 2 });
    t.after(() => second.stop());
    second.start();
    for (let i = 0; i < 5; i++) await clock.advance(0);
    assert.equal(store.list('Pod', 'default').items.length, 5);
    assert.equal((store.get('ReplicaSet', 'default', 'web') as ReplicaSet).status?.replicas, 5);
  });
});

describe('slowStartBatch', () => {
  test('runs batches of 1, 2, 4, … and stops after the first batch with a failure', async () => {
    let calls = 0;
    const result = await slowStartBatch(10, async () => {
      calls++;
      if (calls === 5) throw new Error('boom');
    });
    assert.equal(calls, 7, 'batches 1, 2 and 4 ran; the failure was in the third');
    assert.deepEqual({ succeeded: result.succeeded, attempted: result.attempted }, { succeeded: 6, attempted: 7 });
  });
});
