import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, type KObject, type Pod, type Taint, type Toleration } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import { makeNode, makePod } from '../testing/scheduler-fixtures.js';
import { FakeRecorder } from './event-recorder.js';
import { TAINT_EVICTION_REASON, TaintEvictionController } from './controller-taint-eviction.js';
import { DEFAULT_TOLERATIONS, effectiveTolerations, evictionTime, type DefaultTolerations } from './taint-tolerations.js';

async function setup(t: TestContext, opts: { defaults?: DefaultTolerations } = {}) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  const recorder = new FakeRecorder();
  const controller = new TaintEvictionController({ store, clock, recorder, defaults: opts.defaults });
  t.after(async () => {
    await controller.stop();
    await store.close();
  });
  const put = async (...objects: KObject[]) => {
    for (const o of objects) {
      const stored = store.get(o.kind, o.metadata.namespace, o.metadata.name);
      await store.propose({ ops: [{ type: 'put', object: o, precondition: stored ? { resourceVersion: stored.metadata.resourceVersion! } : { absent: true } }] });
    }
  };
  const terminating = (name: string) => (store.get('Pod', 'default', name) as Pod | undefined)?.metadata.deletionTimestamp !== undefined;
  const taint = (key: string, effect: Taint['effect'] = 'NoExecute'): Taint => ({ key, effect, timeAdded: new Date(clock.now()).toISOString() });
  return { store, clock, recorder, controller, put, terminating, taint };
}

describe('taint eviction controller', () => {
  test('a Pod that does not tolerate a NoExecute taint of its node is marked for deletion at once, with an event', async (t) => {
    const { clock, recorder, controller, put, terminating, taint } = await setup(t);
    controller.start();
    await put(makeNode('pi-1'), makePod('web', { nodeName: 'pi-1' }), makePod('free', { nodeName: 'pi-2' }));
    await clock.advance(0);
    assert.equal(terminating('web'), false);
    await put(makeNode('pi-1', { taints: [taint('maintenance')] }));
    await clock.advance(0);
    assert.equal(terminating('web'), true);
    assert.equal(terminating('free'), false, 'Pods on other nodes stay');
    assert.deepEqual(recorder.reasons(), [TAINT_EVICTION_REASON]);
    assert.match(recorder.events[0]!.message, /Marking for deletion Pod default\/web/);
  });

  test('a NoSchedule taint evicts nothing', async (t) => {
    const { clock, controller, put, terminating, taint } = await setup(t);
    controller.start();
    await put(makeNode('pi-1', { taints: [taint('maintenance', 'NoSchedule')] }), makePod('web', { nodeName: 'pi-1' }));
    await clock.advance(3600_000);
    assert.equal(terminating('web'), false);
  });

  test('every Pod tolerates an unreachable node for the default 60 s, counted from the taint\'s timeAdded', async (t) => {
    const { clock, controller, put, terminating, taint } = await setup(t);
    controller.start();
    await put(makeNode('pi-1', { ready: false, taints: [taint(TAINT_NODE_UNREACHABLE)] }));
    await clock.advance(20_000);
    await put(makePod('web', { nodeName: 'pi-1' }));
    await clock.advance(39_000);
    assert.equal(terminating('web'), false);
    await clock.advance(1_000);
    assert.equal(terminating('web'), true, 'evicted 60 s after the taint was added, not after the Pod was seen');
  });

  test('the default tolerations are configurable, not-ready and unreachable apart', async (t) => {
    const { clock, controller, put, terminating, taint } = await setup(t, { defaults: { notReadySeconds: 5, unreachableSeconds: 30 } });
    controller.start();
    await put(
      makeNode('pi-1', { taints: [taint(TAINT_NODE_NOT_READY)] }), makeNode('pi-2', { taints: [taint(TAINT_NODE_UNREACHABLE)] }),
      makePod('a', { nodeName: 'pi-1' }), makePod('b', { nodeName: 'pi-2' }),
    );
    await clock.advance(5_000);
    assert.deepEqual([terminating('a'), terminating('b')], [true, false]);
    await clock.advance(25_000);
    assert.equal(terminating('b'), true);
  });

  test('a Pod\'s own toleration with tolerationSeconds replaces the default', async (t) => {
    const { clock, controller, put, terminating, taint } = await setup(t);
    controller.start();
    const own: Toleration[] = [{ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }];
    const patient: Toleration[] = [{ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 600 }];
    await put(makeNode('pi-1', { taints: [taint(TAINT_NODE_UNREACHABLE)] }), makePod('quick', { nodeName: 'pi-1', tolerations: own }), makePod('slow', { nodeName: 'pi-1', tolerations: patient }));
    await clock.advance(10_000);
    assert.deepEqual([terminating('quick'), terminating('slow')], [true, false]);
    await clock.advance(60_000);
    assert.equal(terminating('slow'), false, 'its own 600 s, not the default 60 s');
    await clock.advance(530_000);
    assert.equal(terminating('slow'), true);
  });

  test('a toleration without tolerationSeconds keeps the Pod on the node forever', async (t) => {
    const { clock, controller, put, terminating, taint } = await setup(t);
    controller.start();
    const forever: Toleration[] = [{ operator: 'Exists' }];
    await put(makeNode('pi-1', { taints: [taint(TAINT_NODE_UNREACHABLE), taint('maintenance')] }), makePod('daemon', { nodeName: 'pi-1', tolerations: forever }));
    await clock.advance(24 * 3600_000);
    assert.equal(terminating('daemon'), false);
  });

  test('a taint removed before the toleration runs out evicts nothing', async (t) => {
    const { clock, controller, put, terminating, taint } = await setup(t);
    controller.start();
    await put(makeNode('pi-1', { taints: [taint(TAINT_NODE_UNREACHABLE)] }), makePod('web', { nodeName: 'pi-1' }));
    await clock.advance(30_000);
    await put(makeNode('pi-1'));
    await clock.advance(120_000);
    assert.equal(terminating('web'), false);
  });

  test('a new term gives every Pod its full toleration from its own start, whatever the taint\'s age', async (t) => {
    const { store, clock, controller, put, terminating, taint } = await setup(t);
    await put(makeNode('pi-1', { taints: [taint(TAINT_NODE_UNREACHABLE)] }), makePod('web', { nodeName: 'pi-1' }));
    controller.start();
    await clock.advance(30_000);
    await controller.stop();
    await clock.advance(600_000);
    const next = new TaintEvictionController({ store, clock });
    t.after(() => next.stop());
    next.start();
    await clock.advance(59_000);
    assert.equal(terminating('web'), false);
    await clock.advance(1_000);
    assert.equal(terminating('web'), true);
  });
});

describe('taint tolerations', () => {
  const pod = (tolerations?: Toleration[]) => makePod('p', { tolerations });

  test('a Pod gets the default not-ready and unreachable tolerations unless it has its own for the key', () => {
    const keys = (p: Pod) => effectiveTolerations(p, DEFAULT_TOLERATIONS).map((x) => `${x.key ?? '*'}:${x.tolerationSeconds ?? '-'}`);
    assert.deepEqual(keys(pod()), [`${TAINT_NODE_NOT_READY}:60`, `${TAINT_NODE_UNREACHABLE}:60`]);
    assert.deepEqual(keys(pod([{ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }])), [`${TAINT_NODE_UNREACHABLE}:5`, `${TAINT_NODE_NOT_READY}:60`]);
    assert.deepEqual(keys(pod([{ operator: 'Exists' }])), ['*:-'], 'a blanket toleration leaves no room for defaults');
  });

  test('the shortest tolerationSeconds among the matching tolerations decides; an untolerated taint means at once', () => {
    const at = Date.UTC(2026, 0, 1);
    const iso = new Date(at).toISOString();
    const unreachable: Taint = { key: TAINT_NODE_UNREACHABLE, effect: 'NoExecute', timeAdded: iso };
    const two = pod([
      { key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 100 },
      { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 20 },
    ]);
    assert.equal(evictionTime(two, [unreachable], DEFAULT_TOLERATIONS, 0).at, at + 20_000);
    assert.equal(evictionTime(pod(), [unreachable, { key: 'x', effect: 'NoExecute' }], DEFAULT_TOLERATIONS, 0).at, -Infinity);
    assert.equal(evictionTime(pod(), [unreachable], DEFAULT_TOLERATIONS, at + 5_000).at, at + 65_000, 'counted from the term\'s start when that is later');
    assert.equal(evictionTime(pod([{ operator: 'Exists' }]), [unreachable], DEFAULT_TOLERATIONS, 0).at, Infinity);
  });
});
