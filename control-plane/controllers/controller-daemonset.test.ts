import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { CONTROLLER_REVISION_HASH_LABEL, type DaemonSet, type DaemonSetSpec, type NodeObject, type Pod, type Taint } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { finishDeletions, makeDaemonSet, markReady, nodeNamed, update } from '../testing/daemonset-fixtures.js';
import { makeNamespace, makeRsPod, seed } from '../testing/replicaset-fixtures.js';
import { makeNode } from '../testing/scheduler-fixtures.js';
import { DaemonSetController } from './controller-daemonset.js';
import { FakePodControl } from './pod-control-fake.js';
import { StorePodControl, type PodControl } from './pod-control.js';
import { podTemplateHash } from './pod-template-hash.js';

const KEY = 'default/logs';

function sequentialNames(): (base: string) => string {
  let n = 0;
  return (base) => `${base}${String(++n).padStart(5, '0')}`;
}

async function setup(t: TestContext, opts: { podControl?: (store: Store, clock: FakeClock) => PodControl; runWorkers?: boolean } = {}) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await seed(store, makeNamespace());
  const real = new StorePodControl({ store, clock, generateName: sequentialNames() });
  const podControl = opts.podControl?.(store, clock) ?? real;
  const controller = new DaemonSetController({ store, clock, podControl });
  controller.start(undefined, { runWorkers: opts.runWorkers ?? false });
  await controller.whenSynced();
  t.after(async () => {
    await controller.stop();
    await store.close();
  });
  const settle = () => clock.advance(0);
  const sync = async (key = KEY) => {
    await settle();
    await controller.reconcile(key);
    await settle();
  };
  const livePods = () => (store.list('Pod', 'default').items as Pod[])
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  /** Node name -> the names of the live Pods bound to it, e.g. { 'pi-1': ['logs-00001'] }. */
  const byNode = () => {
    const out: Record<string, string[]> = {};
    for (const p of livePods()) (out[p.spec.nodeName ?? ''] ??= []).push(p.metadata.name);
    return out;
  };
  const ds = (name = 'logs') => store.get('DaemonSet', 'default', name) as DaemonSet;
  const pod = (name: string) => store.get('Pod', 'default', name) as Pod;
  return { store, clock, controller, settle, sync, livePods, byNode, ds, pod };
}

const hashOf = (ds: DaemonSet) => podTemplateHash(ds.spec.template, 0, CONTROLLER_REVISION_HASH_LABEL);

async function setImage(store: Store, image: string): Promise<void> {
  const current = store.get('DaemonSet', 'default', 'logs') as DaemonSet;
  await update<DaemonSet>(store, current, (d) => ({
    ...d,
    metadata: { ...d.metadata, generation: (d.metadata.generation ?? 1) + 1 },
    spec: { ...d.spec, template: { ...d.spec.template, spec: { ...d.spec.template.spec, containers: [{ name: 'main', image }] } } },
  }));
}

async function setTaints(store: Store, node: string, taints: Taint[]): Promise<void> {
  await update<NodeObject>(store, nodeNamed(store, node), (n) => ({ ...n, spec: { ...n.spec, taints } }));
}

describe('DaemonSet controller', () => {
  test('every matching node gets one Pod, bound to it, labelled with the revision hash, owned by the DaemonSet and tolerating node trouble', async (t) => {
    const { store, sync, livePods, byNode } = await setup(t);
    const logs = makeDaemonSet('logs');
    await seed(store, makeNode('pi-1'), makeNode('pi-2'), makeNode('pi-3', { unschedulable: true, ready: false }), logs);
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'], 'pi-2': ['logs-00002'], 'pi-3': ['logs-00003'] }, 'a cordoned, not-ready node still runs its daemon');
    for (const p of livePods()) {
      assert.equal(p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], hashOf(logs));
      assert.equal(p.metadata.labels?.app, 'logs');
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs', uid: 'uid-ds-logs', controller: true, blockOwnerDeletion: true }]);
      assert.deepEqual(p.spec.tolerations, [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
      ]);
    }
    await sync();
    assert.equal(livePods().length, 3, 'a second pass creates nothing more');
  });

  test('a nodeSelector keeps the DaemonSet off a node whose labels do not match, and a node that stops matching loses its Pod', async (t) => {
    const { store, sync, byNode } = await setup(t);
    await seed(store, makeNode('pi-1', { labels: { disk: 'ssd' } }), makeNode('pi-2'), makeDaemonSet('logs', { nodeSelector: { disk: 'ssd' } }));
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'] });
    await update<NodeObject>(store, nodeNamed(store, 'pi-1'), (n) => ({ ...n, metadata: { ...n.metadata, labels: { disk: 'sd' } } }));
    await sync();
    assert.deepEqual(byNode(), {});
  });

  test('a NoSchedule taint keeps the DaemonSet off a node unless the template tolerates it; PreferNoSchedule does not', async (t) => {
    const { store, sync, byNode } = await setup(t);
    const gpu: Taint = { key: 'gpu', value: 'yes', effect: 'NoSchedule' };
    await seed(store,
      makeNode('pi-1', { taints: [gpu] }), makeNode('pi-2', { taints: [{ key: 'slow', effect: 'PreferNoSchedule' }] }),
      makeDaemonSet('logs'), makeDaemonSet('gpu-agent', { tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }] }),
    );
    await sync();
    await sync('default/gpu-agent');
    assert.deepEqual(byNode(), { 'pi-1': ['gpu-agent-00002'], 'pi-2': ['gpu-agent-00003', 'logs-00001'] });
  });

  test('a NoExecute taint added later deletes the Pod; a NoSchedule taint added later leaves it running but counts it misscheduled', async (t) => {
    const { store, sync, byNode, ds } = await setup(t);
    await seed(store, makeNode('pi-1'), makeNode('pi-2'), makeDaemonSet('logs'));
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'], 'pi-2': ['logs-00002'] });
    await setTaints(store, 'pi-1', [{ key: 'maintenance', effect: 'NoExecute' }]);
    await setTaints(store, 'pi-2', [{ key: 'maintenance', effect: 'NoSchedule' }]);
    await sync();
    assert.deepEqual(byNode(), { 'pi-2': ['logs-00002'] });
    // Status is counted from what the pass began with; the Pod's delete event brings the next pass.
    await sync();
    assert.equal(ds().status?.numberMisscheduled, 1);
    assert.equal(ds().status?.desiredNumberScheduled, 0);
  });

  test('a node that joins later gets its Pod', async (t) => {
    const { store, sync, byNode } = await setup(t);
    await seed(store, makeNode('pi-1'), makeDaemonSet('logs'));
    await sync();
    await seed(store, makeNode('pi-2'));
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'], 'pi-2': ['logs-00002'] });
  });

  test('a deleted node has its Pod deleted', async (t) => {
    const { store, sync, byNode, ds } = await setup(t);
    await seed(store, makeNode('pi-1'), makeNode('pi-2'), makeDaemonSet('logs'));
    await sync();
    const gone = nodeNamed(store, 'pi-2');
    await store.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'pi-2', precondition: { resourceVersion: gone.metadata.resourceVersion! } }] });
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'] });
    assert.equal(store.get('Pod', 'default', 'logs-00002'), undefined, 'no agent is left to finish a graceful delete, so it is removed outright');
    assert.equal(ds().status?.desiredNumberScheduled, 1);
  });

  test('an extra Pod on one node is deleted, and the Ready one stays', async (t) => {
    const { store, clock, sync, byNode } = await setup(t);
    const logs = makeDaemonSet('logs');
    const owned = (name: string, ready: boolean) => ({
      ...makeRsPod(name, { labels: { app: 'logs', [CONTROLLER_REVISION_HASH_LABEL]: hashOf(logs) }, nodeName: 'pi-1', phase: 'Running', ready, readySince: new Date(clock.now()).toISOString() }),
      metadata: { ...makeRsPod(name).metadata, labels: { app: 'logs', [CONTROLLER_REVISION_HASH_LABEL]: hashOf(logs) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs', uid: 'uid-ds-logs', controller: true }] },
    });
    await seed(store, makeNode('pi-1'), logs, owned('a-not-ready', false), owned('b-ready', true));
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['b-ready'] });
  });

  test('a matching orphan on a node is adopted instead of a new Pod being made', async (t) => {
    const { store, sync, byNode, pod } = await setup(t);
    const logs = makeDaemonSet('logs');
    // As a DaemonSet deleted with its Pods orphaned and made again leaves them: same template, same hash.
    const labels = { app: 'logs', [CONTROLLER_REVISION_HASH_LABEL]: hashOf(logs) };
    await seed(store, makeNode('pi-1'), makeRsPod('orphan', { labels, nodeName: 'pi-1', phase: 'Running', ready: true }), logs);
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['orphan'] });
    assert.equal(pod('orphan').metadata.ownerReferences?.[0]?.uid, 'uid-ds-logs');
  });

  test('a rolling update never has more than maxUnavailable nodes without an available Pod', async (t) => {
    const { store, clock, sync, livePods, ds } = await setup(t);
    const nodes = ['pi-1', 'pi-2', 'pi-3', 'pi-4', 'pi-5'];
    await seed(store, ...nodes.map((n) => makeNode(n)), makeDaemonSet('logs', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '40%' } } }));
    await sync();
    const readyAll = async () => {
      for (const p of livePods()) if (p.status?.phase !== 'Running') await markReady(store, p, clock.now());
    };
    await readyAll();
    await sync();
    assert.equal(ds().status?.numberAvailable, 5);
    await setImage(store, 'fluent-bit:2');
    const newHash = hashOf(ds());
    const withoutAvailable = () => nodes.filter((n) => !livePods().some((p) => p.spec.nodeName === n && p.status?.phase === 'Running')).length;
    let most = 0;
    const updated = () => livePods().filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === newHash && p.status?.phase === 'Running').length;
    for (let step = 0; step < 20 && updated() < 5; step++) {
      await sync();
      most = Math.max(most, withoutAvailable());
      assert.ok(withoutAvailable() <= 2, `step ${step}: ${withoutAvailable()} nodes without an available Pod`);
      // The agents stop the deleted Pods, then start and report the new ones.
      await finishDeletions(store);
      await sync();
      assert.ok(withoutAvailable() <= 2);
      await readyAll();
    }
    await sync();
    assert.equal(most, 2, 'the update used its whole budget');
    assert.deepEqual(livePods().map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]), nodes.map(() => newHash));
    assert.deepEqual(new Set(livePods().map((p) => p.spec.nodeName)), new Set(nodes));
    assert.equal(ds().status?.updatedNumberScheduled, 5);
    assert.equal(ds().status?.numberAvailable, 5);
  });

  test('a surging rolling update keeps the old Pod until the new one beside it is available', async (t) => {
    const { store, clock, sync, byNode, livePods, pod } = await setup(t);
    const strategy: DaemonSetSpec['updateStrategy'] = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    await seed(store, makeNode('pi-1'), makeNode('pi-2'), makeDaemonSet('logs', { updateStrategy: strategy }));
    await sync();
    for (const p of livePods()) await markReady(store, p, clock.now());
    await setImage(store, 'fluent-bit:2');
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001', 'logs-00003'], 'pi-2': ['logs-00002'] }, 'the new Pod starts beside the old one');
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001', 'logs-00003'], 'pi-2': ['logs-00002'] }, 'one surge at a time, and the old Pod stays while the new is not available');
    await markReady(store, pod('logs-00003'), clock.now());
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00003'], 'pi-2': ['logs-00002', 'logs-00004'] }, 'the old Pod goes once the new one is available, and the surge moves on');
    await markReady(store, pod('logs-00004'), clock.now());
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00003'], 'pi-2': ['logs-00004'] });
  });

  test('OnDelete leaves old Pods running and makes a Pod of the new template only where one is missing', async (t) => {
    const { store, sync, byNode, pod, ds } = await setup(t);
    await seed(store, makeNode('pi-1'), makeNode('pi-2'), makeDaemonSet('logs', { updateStrategy: { type: 'OnDelete' } }));
    await sync();
    const oldHash = hashOf(ds());
    await setImage(store, 'fluent-bit:2');
    await sync();
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'], 'pi-2': ['logs-00002'] });
    const first = pod('logs-00001');
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'logs-00001', precondition: { resourceVersion: first.metadata.resourceVersion! } }] });
    await sync();
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00003'], 'pi-2': ['logs-00002'] });
    assert.equal(pod('logs-00003').metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], hashOf(ds()));
    assert.equal(pod('logs-00002').metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], oldHash);
    await sync();
    assert.equal(ds().status?.updatedNumberScheduled, 1);
  });

  test('status counts desired, current, ready, updated, available and unavailable nodes, and is written only when it changes', async (t) => {
    const { store, clock, sync, ds, pod, controller } = await setup(t);
    await seed(store, makeNode('pi-1'), makeNode('pi-2'), makeNode('pi-3'), makeDaemonSet('logs', { minReadySeconds: 10, generation: 3 }));
    await sync();
    await markReady(store, pod('logs-00001'), clock.now() - 60_000);
    await markReady(store, pod('logs-00002'), clock.now() - 4_000);
    await sync();
    assert.deepEqual(ds().status, {
      desiredNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0, numberReady: 2,
      updatedNumberScheduled: 3, numberAvailable: 1, numberUnavailable: 2, observedGeneration: 3,
    });
    const revision = store.revision();
    await sync();
    assert.equal(store.revision(), revision, 'an unchanged status is not written again');
    await clock.advance(6_000);
    await controller.reconcile(KEY);
    assert.equal(ds().status?.numberAvailable, 2, 'logs-00002 became available 6 s later');
  });

  test('a failing create is retried with back-off', async (t) => {
    let fake!: FakePodControl;
    const { store, clock, controller, byNode } = await setup(t, {
      runWorkers: true,
      podControl: (s, c) => (fake = new FakePodControl({ passTo: new StorePodControl({ store: s, clock: c, generateName: sequentialNames() }) })),
    });
    fake.failCreates(new BrambleError('UNAVAILABLE', 'the store is briefly away'));
    await seed(store, makeNode('pi-1'), makeDaemonSet('logs'));
    await clock.advance(0);
    assert.deepEqual(byNode(), {});
    assert.equal(controller.failureCount(KEY), 1);
    await clock.advance(199);
    assert.deepEqual(byNode(), {}, 'not before the back-off');
    await clock.advance(1);
    await clock.advance(0);
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'] });
    assert.equal(fake.created[0]?.spec.nodeName, 'pi-1');
  });

  test('a workerful controller follows node changes on its own and ignores its own status writes', async (t) => {
    const { store, clock, byNode, ds } = await setup(t, { runWorkers: true });
    await seed(store, makeNode('pi-1'), makeDaemonSet('logs'));
    for (let i = 0; i < 3; i++) await clock.advance(0);
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'] });
    assert.equal(ds().status?.currentNumberScheduled, 1);
    await seed(store, makeNode('pi-2'));
    for (let i = 0; i < 3; i++) await clock.advance(0);
    assert.deepEqual(byNode(), { 'pi-1': ['logs-00001'], 'pi-2': ['logs-00002'] });
    const revision = store.revision();
    for (let i = 0; i < 3; i++) await clock.advance(0);
    assert.equal(store.revision(), revision, 'settled: nothing more is written');
  });
});
