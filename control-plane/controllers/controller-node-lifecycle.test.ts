import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import type { NodeObject } from '../../proto/model.js';
import { NodeLifecycleController, NODE_UNKNOWN_MESSAGE, NODE_UNKNOWN_REASON } from './controller-node-lifecycle.js';
import { NodeHeartbeats } from '../nodes/node-heartbeats.js';
import { makeNode } from '../testing/scheduler-fixtures.js';
import { createMemoryStore } from '../store/store-memory.js';
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE } from '../../proto/model.js';
import type { Store } from '../store/store.js';

/** What an agent's heartbeat does to the stored Node (node-status.ts): Ready=True, spec untouched. */
async function setReady(store: Store, name: string, status: 'True' | 'False', nowIso: string): Promise<void> {
  const node = store.get('Node', undefined, name) as NodeObject;
  const conditions = (node.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
  const next = { ...node, status: { ...node.status, conditions: [...conditions, { type: 'Ready', status, lastTransitionTime: nowIso }] } } as NodeObject;
  await store.propose({ ops: [{ type: 'put', object: next, precondition: { resourceVersion: node.metadata.resourceVersion! } }] });
}

const figures = { name: 'pi-1', cpuPercent: 5, memoryUsedBytes: 1, memoryTotalBytes: 2, temperatureCelsius: 50, hasTemperature: true, load1: 0.2 };

async function setup(t: TestContext, nodes: string[]) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  const heartbeats = new NodeHeartbeats(clock);
  await store.propose({ ops: nodes.map((n) => ({ type: 'put' as const, object: makeNode(n), precondition: { absent: true as const } })) });
  const controller = new NodeLifecycleController({ store, clock, heartbeats });
  t.after(async () => {
    await controller.stop();
    await store.close();
  });
  const taints = (name: string) => (store.get('Node', undefined, name) as NodeObject).spec?.taints;
  const ready = (name: string) => (store.get('Node', undefined, name) as NodeObject).status?.conditions?.find((c) => c.type === 'Ready');
  return { store, clock, heartbeats, controller, ready, taints };
}

describe('node lifecycle controller', () => {
  test('a node silent for more than 40 s is marked Ready=Unknown, once', async (t) => {
    const { store, clock, heartbeats, controller, ready } = await setup(t, ['pi-1']);
    controller.start();
    heartbeats.observe('pi-1', figures, []);
    await clock.advance(40_000);
    assert.equal(ready('pi-1')?.status, 'True');
    await clock.advance(5_000);
    assert.deepEqual(
      { status: ready('pi-1')?.status, reason: ready('pi-1')?.reason, message: ready('pi-1')?.message },
      { status: 'Unknown', reason: NODE_UNKNOWN_REASON, message: NODE_UNKNOWN_MESSAGE },
    );
    assert.equal(ready('pi-1')?.lastTransitionTime, new Date(clock.now()).toISOString());
    const revision = store.revision();
    await clock.advance(60_000);
    assert.equal(store.revision(), revision, 'an Unknown node is not written again');
  });

  test('nothing is written while heartbeats keep arriving', async (t) => {
    const { store, clock, heartbeats, controller, ready } = await setup(t, ['pi-1']);
    controller.start();
    const revision = store.revision();
    for (let i = 0; i < 30; i++) {
      heartbeats.observe('pi-1', figures, []);
      await clock.advance(10_000);
    }
    assert.equal(store.revision(), revision);
    assert.equal(ready('pi-1')?.status, 'True');
    assert.equal(heartbeats.get('pi-1')?.figures?.cpuPercent, 5);
  });

  test('a freshly started control plane gives every node 40 s from its own start', async (t) => {
    const { clock, heartbeats, controller, ready } = await setup(t, ['pi-1', 'pi-2']);
    // Before this process started, nothing was heard: the old leader's heartbeats are gone.
    await clock.advance(120_000);
    controller.start();
    await clock.advance(35_000);
    assert.equal(ready('pi-1')?.status, 'True');
    heartbeats.observe('pi-2', figures, []);
    await clock.advance(10_000);
    assert.equal(ready('pi-1')?.status, 'Unknown');
    assert.equal(ready('pi-2')?.status, 'True');
  });

  test('heartbeats of a node that was removed are forgotten', async (t) => {
    const { heartbeats, controller } = await setup(t, ['pi-1']);
    controller.start();
    heartbeats.observe('gone', figures, []);
    heartbeats.observe('pi-1', figures, []);
    await controller.tick();
    assert.deepEqual([...heartbeats.all().keys()], ['pi-1']);
  });

  test('a node added after the start is watched too, and marked Unknown 40 s after its creation if it stays silent', async (t) => {
    const { store, clock, heartbeats, controller, ready } = await setup(t, ['pi-1']);
    controller.start();
    await clock.advance(30_000);
    const late = makeNode('pi-2');
    late.metadata.creationTimestamp = new Date(clock.now()).toISOString();
    await store.propose({ ops: [{ type: 'put', object: late, precondition: { absent: true } }] });
    heartbeats.observe('pi-1', figures, []);
    await clock.advance(40_000);
    assert.equal(ready('pi-2')?.status, 'True', 'its own 40 s count from its creation, not from the start');
    await clock.advance(5_000);
    assert.equal(ready('pi-2')?.status, 'Unknown');
    assert.equal(ready('pi-1')?.status, 'Unknown', 'pi-1 was last heard 45 s ago');
  });

  test('a deleted node\'s heartbeats are forgotten as soon as the delete is seen, before the next pass', async (t) => {
    const { store, clock, heartbeats, controller } = await setup(t, ['pi-1', 'pi-2']);
    controller.start();
    heartbeats.observe('pi-1', figures, []);
    heartbeats.observe('pi-2', figures, []);
    await store.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'pi-1' }] });
    await clock.advance(0);
    assert.deepEqual([...heartbeats.all().keys()], ['pi-2']);
  });

  test('a stopped controller writes nothing, however long the nodes stay silent', async (t) => {
    const { store, clock, controller } = await setup(t, ['pi-1']);
    controller.start();
    await controller.stop();
    const revision = store.revision();
    await clock.advance(120_000);
    assert.equal(await controller.tick(), 0);
    assert.equal(store.revision(), revision);
  });

  test('a node marked Ready=Unknown is tainted unreachable:NoExecute, dated, and untainted once it is Ready again', async (t) => {
    const { store, clock, heartbeats, controller, taints } = await setup(t, ['pi-1']);
    controller.start();
    heartbeats.observe('pi-1', figures, []);
    await clock.advance(40_000);
    assert.equal(taints('pi-1'), undefined);
    await clock.advance(5_000);
    const markedAt = new Date(clock.now()).toISOString();
    assert.deepEqual(taints('pi-1'), [{ key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute', timeAdded: markedAt }]);
    await clock.advance(20_000);
    assert.equal(taints('pi-1')?.[0]?.timeAdded, markedAt, 'later passes keep the taint and its date');
    heartbeats.observe('pi-1', figures, []);
    await setReady(store, 'pi-1', 'True', new Date(clock.now()).toISOString());
    await clock.advance(5_000);
    assert.equal(taints('pi-1'), undefined);
  });

  test('a node that reports Ready=False is tainted not-ready:NoExecute; other taints are left alone', async (t) => {
    const { store, clock, heartbeats, controller, taints } = await setup(t, ['pi-1']);
    const node = store.get('Node', undefined, 'pi-1') as NodeObject;
    await store.propose({ ops: [{ type: 'put', object: { ...node, spec: { taints: [{ key: 'gpu', effect: 'NoSchedule' }] } }, precondition: { resourceVersion: node.metadata.resourceVersion! } }] });
    controller.start();
    heartbeats.observe('pi-1', figures, []);
    await setReady(store, 'pi-1', 'False', new Date(clock.now()).toISOString());
    await clock.advance(5_000);
    assert.deepEqual(taints('pi-1')?.map((x) => `${x.key}:${x.effect}`), ['gpu:NoSchedule', `${TAINT_NODE_NOT_READY}:NoExecute`]);
    heartbeats.observe('pi-1', figures, []);
    await setReady(store, 'pi-1', 'True', new Date(clock.now()).toISOString());
    await clock.advance(5_000);
    assert.deepEqual(taints('pi-1'), [{ key: 'gpu', effect: 'NoSchedule' }]);
  });

  test('a new leader gives every node a full grace period, and leaves an earlier leader\'s taint alone meanwhile', async (t) => {
    const { store, clock, heartbeats, controller, ready, taints } = await setup(t, ['pi-1', 'pi-2']);
    controller.start();
    heartbeats.observe('pi-1', figures, []);
    heartbeats.observe('pi-2', figures, []);
    await clock.advance(45_000);
    assert.equal(ready('pi-1')?.status, 'Unknown');
    const markedAt = taints('pi-1')?.[0]?.timeAdded;
    assert.ok(markedAt);
    await controller.stop();
    // pi-2's agent came back while nobody led; the next leader is a new process that has heard nobody.
    await setReady(store, 'pi-2', 'True', new Date(clock.now()).toISOString());
    await clock.advance(120_000);
    const next = new NodeLifecycleController({ store, clock, heartbeats: new NodeHeartbeats(clock) });
    t.after(() => next.stop());
    next.start();
    await clock.advance(40_000);
    assert.equal(ready('pi-2')?.status, 'True', 'judged only after 40 s of its own');
    assert.equal(taints('pi-1')?.[0]?.timeAdded, markedAt, 'the old taint is neither removed nor redated within the grace period');
    await clock.advance(5_000);
    assert.equal(ready('pi-2')?.status, 'Unknown');
    assert.deepEqual(taints('pi-2')?.map((x) => x.key), [TAINT_NODE_UNREACHABLE]);
    assert.equal(taints('pi-1')?.[0]?.timeAdded, markedAt);
  });
});
