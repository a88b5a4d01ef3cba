import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import type { Container, Pod, PodSpec, PodStatus } from '../proto/model.js';
import { settleReconciler } from '../test/support/reconciler.js';
import { FakeNetwork } from './network-fake.js';
import { initProgress } from './pod-init-containers.js';
import { attemptsByName, planPod } from './pod-plan.js';
import { PodReconciler } from './pod-reconciler.js';
import { FakeRuntime } from './runtime-fake.js';
import { LABEL_CONTAINER_NAME, LABEL_RESTART_COUNT, type ContainerInfo, type ContainerSpec } from './runtime.js';

const UID = '0123456789ab-init';

function makePod(spec: Partial<PodSpec>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: UID },
    spec: { nodeName: 'pi-1', containers: [{ name: 'app', image: 'busybox:1.36' }], ...spec },
  };
}

const box = (name: string, extra: Partial<Container> = {}): Container => ({ name, image: 'busybox:1.36', ...extra });
const idOf = (name: string, restart = 0): string => `${UID.slice(0, 12)}-${name}-${restart}`;

async function harness(t: TestContext) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-init-'));
  const rec = new PodReconciler({ runtime, network: new FakeNetwork('10.42.1.0/24'), clock, dataDir, hostIP: '192.168.7.10', reportStatus: () => {} });
  rec.start();
  t.after(async () => {
    await rec.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const settle = (): Promise<void> => settleReconciler(rec);
  return {
    clock, runtime, rec, settle,
    async advance(ms: number, stepMs = 1000): Promise<void> {
      for (let done = 0; done < ms; done += stepMs) {
        await clock.advance(Math.min(stepMs, ms - done));
        await settle();
      }
    },
    status(): PodStatus {
      const s = rec.lastStatus(UID);
      assert.ok(s, 'no status reported');
      return s;
    },
    started(): string[] {
      return runtime.callsOf('start').map((a) => (a[0] as ContainerSpec).id);
    },
  };
}

const condition = (s: PodStatus, type: string) => s.conditions?.find((c) => c.type === type);
const initState = (s: PodStatus, name: string) => s.initContainerStatuses?.find((c) => c.name === name);

describe('init containers', () => {
  test('init containers run one after the other to completion before the app container starts', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('fetch', { exitCode: 0, afterMs: 3000 });
    h.runtime.scriptStart('migrate', { exitCode: 0, afterMs: 3000 });
    h.rec.setDesired([makePod({ initContainers: [box('fetch'), box('migrate')] })], [], [], { synced: true });
    await h.settle();
    assert.deepEqual(h.started(), [idOf('fetch')]);
    let s = h.status();
    assert.equal(s.phase, 'Pending');
    assert.deepEqual(condition(s, 'Initialized'), { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [fetch migrate]', lastTransitionTime: condition(s, 'Initialized')?.lastTransitionTime });
    assert.ok(initState(s, 'fetch')?.state.running);
    assert.equal(initState(s, 'migrate')?.state.waiting?.reason, 'PodInitializing');
    assert.equal(s.containerStatuses?.[0]?.state.waiting?.reason, 'PodInitializing');

    await h.advance(5000);
    assert.deepEqual(h.started(), [idOf('fetch'), idOf('migrate')]);
    s = h.status();
    assert.equal(initState(s, 'fetch')?.state.terminated?.reason, 'Completed');
    assert.equal(s.phase, 'Pending');

    await h.advance(5000);
    assert.deepEqual(h.started(), [idOf('fetch'), idOf('migrate'), idOf('app')]);
    s = h.status();
    assert.equal(s.phase, 'Running');
    assert.equal(condition(s, 'Initialized')?.status, 'True');
    assert.equal(condition(s, 'Ready')?.status, 'True');
    assert.deepEqual(s.initContainerStatuses?.map((c) => [c.name, c.state.terminated?.exitCode, c.ready]), [['fetch', 0, true], ['migrate', 0, true]]);

    await h.advance(30_000, 5000);
    assert.equal(h.started().length, 3, 'a completed init container is not run again');
  });

  test('a failing init container is retried with back-off under restartPolicy Always, the app waiting meanwhile', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('setup', { exitCode: 1 });
    h.rec.setDesired([makePod({ initContainers: [box('setup')] })], [], [], { synced: true });
    await h.settle();
    await h.advance(5000);
    const s = h.status();
    assert.equal(s.phase, 'Pending');
    assert.equal(initState(s, 'setup')?.state.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(initState(s, 'setup')?.lastState?.terminated?.exitCode, 1);
    assert.ok(!h.started().includes(idOf('app')));
    await h.advance(15_000);
    assert.ok(h.started().includes(idOf('setup', 1)), 'retried after the back-off');
    h.runtime.scriptStart('setup', { exitCode: 0 });
    await h.advance(60_000, 5000);
    assert.ok(h.started().includes(idOf('app')), 'the app starts once setup succeeded');
    assert.equal(h.status().phase, 'Running');
  });

  test('a failing init container fails the pod under restartPolicy Never, and the app never starts', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('setup', { exitCode: 3 });
    h.rec.setDesired([makePod({ restartPolicy: 'Never', initContainers: [box('setup')] })], [], [], { synced: true });
    await h.settle();
    await h.advance(30_000, 5000);
    const s = h.status();
    assert.equal(s.phase, 'Failed');
    assert.equal(initState(s, 'setup')?.state.terminated?.exitCode, 3);
    assert.equal(condition(s, 'Initialized')?.status, 'False');
    assert.deepEqual(h.started(), [idOf('setup')]);
  });

  test('an agent restarted after init completed does not run init again', async (t) => {
    const pod = makePod({ initContainers: [box('setup')] });
    const containers: ContainerInfo[] = [
      { id: idOf('setup'), image: 'b', state: 'stopped', exitCode: 0, labels: { [LABEL_CONTAINER_NAME]: 'setup', [LABEL_RESTART_COUNT]: '0' } },
      { id: idOf('app'), image: 'b', state: 'running', labels: { [LABEL_CONTAINER_NAME]: 'app', [LABEL_RESTART_COUNT]: '0' } },
    ];
    assert.equal(initProgress(pod, attemptsByName(containers)).initialized, true);
    // The init attempt may be gone (removed by hand): a started app container still means initialized.
    assert.equal(initProgress(pod, attemptsByName(containers.slice(1))).initialized, true);
    const actions = planPod({ pod, containers, backoff: () => ({ remainingMs: 0, delayMs: 0 }), livenessFailed: () => false });
    assert.deepEqual(actions, []);
    void t;
  });
});

describe('native sidecars', () => {
  test('a sidecar starts in its turn, keeps running beside the app and is restarted when it exits', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('setup', { exitCode: 0, afterMs: 2000 });
    const pod = makePod({ initContainers: [box('proxy', { restartPolicy: 'Always' }), box('setup')] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    // The next init container starts once the sidecar is running, without waiting for it to end.
    assert.deepEqual(h.started(), [idOf('proxy'), idOf('setup')]);
    assert.equal(initState(h.status(), 'proxy')?.started, true);
    await h.advance(5000);
    assert.deepEqual(h.started(), [idOf('proxy'), idOf('setup'), idOf('app')]);
    assert.equal(h.status().phase, 'Running');
    assert.ok(initState(h.status(), 'proxy')?.state.running);

    h.runtime.exit(idOf('proxy'), 0);
    await h.advance(20_000);
    assert.ok(h.started().includes(idOf('proxy', 1)), 'a sidecar that exits (even with 0) is started again');
    assert.equal(initState(h.status(), 'proxy')?.restartCount, 1);
    assert.equal(h.started().filter((id) => id.includes('-setup-')).length, 1, 'regular init containers are not run again');
  });

  test('a sidecar with a startup probe holds back the next container until the probe succeeds', async (t) => {
    const h = await harness(t);
    let up = false;
    h.runtime.setExec(['up?'], () => ({ exitCode: up ? 0 : 1, stdout: '', stderr: '' }), 'proxy');
    const pod = makePod({ initContainers: [box('proxy', { restartPolicy: 'Always', startupProbe: { exec: { command: ['up?'] }, periodSeconds: 1, failureThreshold: 30 } })] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    await h.advance(3000);
    assert.deepEqual(h.started(), [idOf('proxy')]);
    assert.equal(initState(h.status(), 'proxy')?.started, false);
    assert.equal(h.status().phase, 'Pending');
    up = true;
    await h.advance(2000);
    assert.deepEqual(h.started(), [idOf('proxy'), idOf('app')]);
    assert.equal(initState(h.status(), 'proxy')?.started, true);
    assert.equal(h.status().phase, 'Running');
  });

  test('in a Job-like pod the sidecar is stopped once the app containers finished, and the pod succeeds', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('app', { exitCode: 0, afterMs: 4000 });
    const pod = makePod({ restartPolicy: 'Never', initContainers: [box('logship', { restartPolicy: 'Always' })] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.equal(h.status().phase, 'Running');
    await h.advance(10_000);
    const s = h.status();
    assert.equal(s.phase, 'Succeeded', 'the sidecar does not hold the pod back');
    assert.deepEqual(h.runtime.callsOf('stop').map((a) => a[0]), [idOf('logship')]);
    assert.ok(initState(s, 'logship')?.state.terminated);
    await h.advance(30_000, 5000);
    assert.equal(h.started().filter((id) => id.includes('-logship-')).length, 1, 'the stopped sidecar is not restarted');
  });

  test('on deletion the app containers are stopped before the sidecars', async (t) => {
    const h = await harness(t);
    const pod = makePod({ initContainers: [box('proxy', { restartPolicy: 'Always' })] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.equal(h.started().length, 2);
    const order: string[] = [];
    const stop = h.runtime.stop.bind(h.runtime);
    h.runtime.stop = async (id, grace) => {
      order.push(`begin ${id}`);
      // A turn of the event loop: a stop running side by side with another would begin meanwhile.
      await new Promise((r) => setImmediate(r));
      order.push(`end ${id}`);
      return stop(id, grace);
    };
    h.rec.setDesired([{ ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } }], [], [], { synced: true });
    await h.settle();
    assert.deepEqual(order, [`begin ${idOf('app')}`, `end ${idOf('app')}`, `begin ${idOf('proxy')}`, `end ${idOf('proxy')}`]);
  });
});
