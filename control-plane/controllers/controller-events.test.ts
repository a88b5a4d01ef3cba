// The events the workload controllers and the scheduler record, through a FakeRecorder.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import type { Deployment, ReplicaSet } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import { makeNamespace, makeReplicaSet, seed } from '../testing/replicaset-fixtures.js';
import { makeDeployment } from '../testing/deployment-fixtures.js';
import { makeNode, makePod } from '../testing/scheduler-fixtures.js';
import { ReplicaSetController } from './controller-replicaset.js';
import { DeploymentController } from './controller-deployment.js';
import { SchedulerController } from './controller-scheduler.js';
import { FakeRecorder } from './event-recorder.js';
import { StorePodControl } from './pod-control.js';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !check(); i++) await new Promise<void>((r) => setImmediate(r));
  assert.ok(check(), 'timed out');
}

describe('controller events', () => {
  test('the ReplicaSet controller records SuccessfulCreate and SuccessfulDelete with the Pod names', async (t) => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    await seed(store, makeNamespace(), makeReplicaSet('web', { replicas: 2 }));
    let n = 0;
    const recorder = new FakeRecorder();
    const podControl = new StorePodControl({ store, clock, generateName: (base) => `${base}${String(++n).padStart(5, '0')}` });
    const rsc = new ReplicaSetController({ store, clock, podControl, recorder });
    rsc.start(undefined, { runWorkers: false });
    t.after(() => rsc.stop());
    await rsc.whenSynced();
    await rsc.reconcile('default/web');
    assert.deepEqual(recorder.events.map((e) => [e.kind, e.name, e.type, e.reason, e.message]), [
      ['ReplicaSet', 'web', 'Normal', 'SuccessfulCreate', 'Created pod: web-00001'],
      ['ReplicaSet', 'web', 'Normal', 'SuccessfulCreate', 'Created pod: web-00002'],
    ]);
    const rs = store.get('ReplicaSet', 'default', 'web') as ReplicaSet;
    await store.propose({ ops: [{ type: 'put', object: { ...rs, spec: { ...rs.spec, replicas: 1 } }, precondition: { resourceVersion: rs.metadata.resourceVersion! } }] });
    await clock.advance(0);
    await rsc.reconcile('default/web');
    assert.match(recorder.events.at(-1)!.message, /^Deleted pod: web-0000[12]$/);
    assert.equal(recorder.events.at(-1)!.reason, 'SuccessfulDelete');
  });

  test('the Deployment controller records ScalingReplicaSet when it makes a new ReplicaSet', async (t) => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    await seed(store, makeNamespace(), makeDeployment('web', { replicas: 3 }));
    const recorder = new FakeRecorder();
    const dc = new DeploymentController({ store, clock, recorder });
    dc.start(undefined, { runWorkers: false });
    t.after(() => dc.stop());
    await dc.whenSynced();
    await dc.reconcile('default/web');
    const rs = store.list('ReplicaSet', 'default').items[0] as ReplicaSet;
    assert.deepEqual(recorder.events.map((e) => [e.kind, e.reason, e.message]), [['Deployment', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} to 3`]]);
    const d = store.get('Deployment', 'default', 'web') as Deployment;
    await store.propose({ ops: [{ type: 'put', object: { ...d, metadata: { ...d.metadata, generation: 2 }, spec: { ...d.spec, replicas: 1 } }, precondition: { resourceVersion: d.metadata.resourceVersion! } }] });
    await clock.advance(0);
    await dc.reconcile('default/web');
    assert.equal(recorder.events.at(-1)!.message, `Scaled down replica set ${rs.metadata.name} from 3 to 1`);
  });

  test('the scheduler records FailedScheduling while no node fits, then Scheduled', async (t) => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    const recorder = new FakeRecorder();
    const sched = new SchedulerController({ store, clock, recorder, unschedulableBackoff: { baseMs: 1_000, maxMs: 1_000 } });
    t.after(() => sched.stop());
    sched.start();
    await store.propose({ ops: [{ type: 'put', object: makePod('web') }] });
    await until(() => recorder.events.length > 0);
    assert.deepEqual(recorder.events[0], { kind: 'Pod', namespace: 'default', name: 'web', type: 'Warning', reason: 'FailedScheduling', message: '0/0 nodes are available: no nodes have joined the cluster.' });
    await store.propose({ ops: [{ type: 'put', object: makeNode('pi-1') }] });
    await clock.advance(1_000);
    await until(() => recorder.reasons().includes('Scheduled'));
    assert.equal(recorder.events.at(-1)!.message, 'Successfully assigned default/web to pi-1');
  });
});
