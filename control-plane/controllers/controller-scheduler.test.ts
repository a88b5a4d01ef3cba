import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import type { KObject, Pod } from '../../proto/model.js';
import { SchedulerController } from './controller-scheduler.js';
import { makeNode, makePod } from '../testing/scheduler-fixtures.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { AlwaysLeader } from './leadership.js';
import { ControllerManager } from './manager.js';

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

async function create(store: Store, ...objects: KObject[]): Promise<void> {
  await store.propose({ ops: objects.map((object) => ({ type: 'put' as const, object, precondition: { absent: true as const } })) });
}

function getPod(store: Store, name: string): Pod {
  return store.get('Pod', 'default', name) as Pod;
}

function podScheduled(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

function setup(t: TestContext) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  const controller = new SchedulerController({ store, clock, unschedulableBackoff: { baseMs: 1_000, maxMs: 8_000 } });
  t.after(async () => {
    await controller.stop();
    await store.close();
  });
  return { store, clock, controller };
}

describe('scheduler controller', () => {
  test('binds a pending pod to a ready node and records PodScheduled=True', async (t) => {
    const { store, controller } = setup(t);
    await create(store, makeNode('pi-1', { ready: false }), makeNode('pi-2'));
    controller.start();
    await create(store, makePod('web'));
    const pod = await waitFor('the pod to be bound', () => (getPod(store, 'web').spec.nodeName ? getPod(store, 'web') : undefined));
    assert.equal(pod.spec.nodeName, 'pi-2');
    assert.equal(podScheduled(pod)?.status, 'True');
    assert.equal(pod.status?.phase, 'Pending');
  });

  test('leaves an unschedulable pod Pending with the message, without rewriting it, and binds it once a node fits', async (t) => {
    const { store, clock, controller } = setup(t);
    await create(store, makeNode('pi-1', { memory: '512Mi' }));
    controller.start();
    await create(store, makePod('big', { memory: '1Gi' }));
    const pending = await waitFor('the Unschedulable condition', () => {
      const p = getPod(store, 'big');
      return podScheduled(p)?.status === 'False' && p;
    });
    assert.deepEqual(
      { reason: podScheduled(pending)?.reason, message: podScheduled(pending)?.message, node: pending.spec.nodeName },
      { reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.', node: undefined },
    );
    const rv = pending.metadata.resourceVersion;
    // Several back-off rounds: each retries the pod, none rewrites the same message.
    for (let i = 0; i < 4; i++) await clock.advance(10_000);
    assert.equal(getPod(store, 'big').metadata.resourceVersion, rv);
    assert.deepEqual(controller.unschedulableKeys(), ['default/big']);

    await create(store, makeNode('pi-2', { memory: '2Gi' }));
    const bound = await waitFor('the pod to be bound to the new node', () => (getPod(store, 'big').spec.nodeName ? getPod(store, 'big') : undefined));
    assert.equal(bound.spec.nodeName, 'pi-2');
    assert.equal(podScheduled(bound)?.status, 'True');
    assert.deepEqual(controller.unschedulableKeys(), []);
  });

  test('spreads the replicas of one owner across two nodes', async (t) => {
    const { store, controller } = setup(t);
    await create(store, makeNode('pi-1'), makeNode('pi-2'));
    controller.start();
    await create(store, ...['r1', 'r2', 'r3', 'r4'].map((n) => makePod(n, { ownerUid: 'rs-web' })));
    const nodes = await waitFor('all replicas bound', () => {
      const names = ['r1', 'r2', 'r3', 'r4'].map((n) => getPod(store, n).spec.nodeName);
      return names.every((n) => n) && names;
    });
    assert.deepEqual([...nodes].sort(), ['pi-1', 'pi-1', 'pi-2', 'pi-2']);
  });

  test('pods created together never overcommit a node', async (t) => {
    const { store, controller } = setup(t);
    await create(store, makeNode('pi-1', { cpu: '1' }));
    controller.start();
    const names = ['a', 'b', 'c', 'd', 'e'];
    await create(store, ...names.map((n) => makePod(n, { cpu: '300m' })));
    await waitFor('every pod decided', () => names.every((n) => getPod(store, n).spec.nodeName || podScheduled(getPod(store, n))?.status === 'False'));
    const bound = names.filter((n) => getPod(store, n).spec.nodeName === 'pi-1');
    assert.equal(bound.length, 3);
    assert.equal(controller.unschedulableKeys().length, 2);
  });

  test('a pod naming a missing node stays Pending with a message until that node joins', async (t) => {
    const { store, controller } = setup(t);
    controller.start();
    await create(store, makePod('pinned', { nodeName: 'pi-9' }));
    const pending = await waitFor('the message', () => podScheduled(getPod(store, 'pinned'))?.status === 'False' && getPod(store, 'pinned'));
    assert.match(podScheduled(pending)!.message!, /spec\.nodeName names node "pi-9", which does not exist/);
    await create(store, makeNode('pi-9'));
    const ok = await waitFor('PodScheduled=True', () => podScheduled(getPod(store, 'pinned'))?.status === 'True' && getPod(store, 'pinned'));
    assert.equal(ok.spec.nodeName, 'pi-9');
  });

  test('pods already in the store when the scheduler starts are scheduled, and deleting pods are not', async (t) => {
    const { store, controller } = setup(t);
    const leaving = makePod('leaving');
    leaving.metadata.deletionTimestamp = '2026-01-01T00:00:00.000Z';
    await create(store, makeNode('pi-1'), makePod('early'), leaving);
    controller.start();
    await waitFor('the early pod bound', () => getPod(store, 'early').spec.nodeName);
    await create(store, makePod('later'));
    await waitFor('the later pod bound', () => getPod(store, 'later').spec.nodeName);
    assert.equal(getPod(store, 'leaving').spec.nodeName, undefined);
  });

  test('a scheduler started again (a new term) rebuilds its view: pods deleted meanwhile free their node', async (t) => {
    const { store, controller } = setup(t);
    await create(store, makeNode('pi-1', { pods: '1' }));
    controller.start();
    await create(store, makePod('first'));
    await waitFor('the first pod bound', () => getPod(store, 'first').spec.nodeName);
    await controller.stop();
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'first' }] });
    await create(store, makePod('second'));
    controller.start();
    const second = await waitFor('the second pod bound', () => (getPod(store, 'second').spec.nodeName ? getPod(store, 'second') : undefined));
    assert.equal(second.spec.nodeName, 'pi-1');
    assert.deepEqual(controller.unschedulableKeys(), []);
  });

  test('under the controller manager it schedules from the shared informers', async (t) => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    const scheduler = new SchedulerController({ store, clock });
    const manager = new ControllerManager({ store, clock, leadership: new AlwaysLeader(), controllers: [scheduler] });
    t.after(async () => {
      await manager.stop();
      await store.close();
    });
    await create(store, makeNode('pi-1'), makePod('early'));
    await manager.start();
    await create(store, makePod('later'));
    await waitFor('both pods bound', () => getPod(store, 'early').spec.nodeName && getPod(store, 'later').spec.nodeName);
    await manager.stop();
    await create(store, makePod('after-stop'));
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(getPod(store, 'after-stop').spec.nodeName, undefined);
  });
});
