import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import type { Container, KObject, Pod, PodSpec, PodStatus } from '../proto/model.js';
import { FakeNetwork } from './network-fake.js';
import { settleReconciler } from '../test/support/reconciler.js';
import { PodReconciler } from './pod-reconciler.js';
import type { HttpProbeRequest, ProbeTransport } from './pod-probes.js';
import { FakeRuntime } from './runtime-fake.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, LABEL_RESTART_COUNT, type ContainerSpec } from './runtime.js';

function makePod(name: string, spec: Partial<PodSpec> & { containers: Container[] }): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `0123456789ab-${name}` },
    spec: { nodeName: 'pi-1', ...spec },
  };
}

const app = (extra: Partial<Container> = {}): Container => ({ name: 'app', image: 'busybox:1.36', ...extra });

class FakeTransport implements ProbeTransport {
  statusCode = 500;
  readonly requests: HttpProbeRequest[] = [];
  async httpGet(req: HttpProbeRequest): Promise<{ statusCode: number }> {
    this.requests.push(req);
    return { statusCode: this.statusCode };
  }
  async tcpConnect(): Promise<void> {}
}

interface Harness {
  clock: FakeClock;
  runtime: FakeRuntime;
  network: FakeNetwork;
  transport: FakeTransport;
  dataDir: string;
  reports: { uid: string; status: PodStatus }[];
  finalized: Pod[];
  rec: PodReconciler;
  settle(): Promise<void>;
  advance(ms: number, stepMs?: number): Promise<void>;
  status(pod: Pod): PodStatus;
  restart(): Promise<PodReconciler>;
}

async function harness(t: TestContext, dataDir?: string, shared?: Pick<Harness, 'clock' | 'runtime' | 'network'>): Promise<Harness> {
  const clock = shared?.clock ?? new FakeClock();
  const runtime = shared?.runtime ?? new FakeRuntime(clock);
  const network = shared?.network ?? new FakeNetwork('10.42.1.0/24');
  const transport = new FakeTransport();
  const dir = dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-reconciler-')));
  const reports: Harness['reports'] = [];
  const finalized: Pod[] = [];
  const make = (): PodReconciler =>
    new PodReconciler({
      runtime, network, clock, dataDir: dir, hostIP: '192.168.7.10', probeTransport: transport,
      reportStatus: (pod, status) => void reports.push({ uid: pod.metadata.uid!, status }),
      onFinalized: (pod) => void finalized.push(pod),
    });
  const h: Harness = {
    clock, runtime, network, transport, dataDir: dir, reports, finalized, rec: make(),
    settle: () => settleReconciler(h.rec),
    async advance(ms, stepMs = 1000) {
      for (let done = 0; done < ms; done += stepMs) {
        await clock.advance(Math.min(stepMs, ms - done));
        await h.settle();
      }
    },
    status(pod) {
      const s = h.rec.lastStatus(pod.metadata.uid!);
      assert.ok(s, `no status reported for ${pod.metadata.name}`);
      return s;
    },
    async restart() {
      await h.rec.stop();
      h.rec = make();
      h.rec.start();
      return h.rec;
    },
  };
  h.rec.start();
  t.after(async () => {
    await h.rec.stop();
    if (!dataDir) await fs.rm(dir, { recursive: true, force: true });
  });
  return h;
}

const startedIds = (h: Harness): string[] => h.runtime.callsOf('start').map((a) => (a[0] as ContainerSpec).id);

describe('PodReconciler', () => {
  test('a pod starts and reports Running with its IP', async (t) => {
    const h = await harness(t);
    const pod = makePod('web', { containers: [app({ resources: { limits: { memory: '64Mi', cpu: '250m' } } })] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    const s = h.status(pod);
    assert.equal(s.phase, 'Running');
    assert.equal(s.podIP, '10.42.1.2');
    assert.equal(s.hostIP, '192.168.7.10');
    assert.equal(s.containerStatuses?.[0]?.ready, true);
    assert.equal(s.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const spec = h.runtime.spec('0123456789ab-app-0')!;
    assert.equal(spec.netnsPath, `/var/run/netns/bramble-${pod.metadata.uid}`);
    assert.equal(spec.memoryLimitBytes, 64 * 1024 * 1024);
    assert.equal(spec.cpuLimitMillis, 250);
    assert.equal(spec.logPath, path.join(h.dataDir, 'logs', `default_web_${pod.metadata.uid}`, 'app', '0.log'));
    assert.deepEqual(spec.labels, {
      [LABEL_POD_UID]: pod.metadata.uid, [LABEL_POD_NAME]: 'web', [LABEL_POD_NAMESPACE]: 'default',
      [LABEL_CONTAINER_NAME]: 'app', [LABEL_RESTART_COUNT]: '0',
    });
    const reportsBefore = h.reports.length;
    await h.advance(20_000, 5000);
    assert.equal(h.reports.length, reportsBefore, 'an unchanged pod is not reported again');
  });

  test('env from a ConfigMap and a Secret is resolved, a missing key waits with CreateContainerConfigError', async (t) => {
    const h = await harness(t);
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { MODE: 'fast' } };
    const secret: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, data: { PASS: Buffer.from('hunter2').toString('base64') } };
    const pod = makePod('env', {
      containers: [app({ env: [
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASS' } } },
        { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ] })],
    });
    h.rec.setDesired([pod], [cm], [secret], { synced: true });
    await h.settle();
    const waiting = h.status(pod).containerStatuses?.[0]?.state.waiting;
    assert.equal(waiting?.reason, 'CreateContainerConfigError');
    assert.match(waiting?.message ?? '', /couldn't find key LEVEL in ConfigMap default\/cfg/);
    assert.equal(h.status(pod).phase, 'Pending');
    assert.equal(h.runtime.callsOf('start').length, 0);

    h.rec.setDesired([pod], [{ ...cm, data: { MODE: 'fast', LEVEL: '3' } }], [secret], { synced: true });
    await h.settle();
    assert.deepEqual(h.runtime.spec('0123456789ab-app-0')?.env, { MODE: 'fast', PASS: 'hunter2', LEVEL: '3', IP: '10.42.1.2' });
    assert.equal(h.status(pod).phase, 'Running');
  });

  test('volumes are written and mounted into the container', async (t) => {
    const h = await harness(t);
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'site', namespace: 'default' }, data: { 'index.html': '<h1>hi</h1>' } };
    const pod = makePod('vol', {
      volumes: [{ name: 'site', configMap: { name: 'site' } }, { name: 'scratch', emptyDir: {} }],
      containers: [app({ volumeMounts: [{ name: 'site', mountPath: '/www' }, { name: 'scratch', mountPath: '/tmp/x' }] })],
    });
    h.rec.setDesired([pod], [cm], [], { synced: true });
    await h.settle();
    const volDir = path.join(h.dataDir, 'pods', pod.metadata.uid!, 'volumes');
    assert.equal(await fs.readFile(path.join(volDir, 'site', 'index.html'), 'utf8'), '<h1>hi</h1>');
    const etcDir = path.join(h.dataDir, 'pods', pod.metadata.uid!, 'etc');
    assert.deepEqual(h.runtime.spec('0123456789ab-app-0')?.mounts, [
      { source: path.join(etcDir, 'hosts'), destination: '/etc/hosts', readOnly: true },
      { source: path.join(etcDir, 'hostname'), destination: '/etc/hostname', readOnly: true },
      { source: path.join(volDir, 'site'), destination: '/www', readOnly: true },
      { source: path.join(volDir, 'scratch'), destination: '/tmp/x', readOnly: false },
    ]);
  });

  test('a crashing container is restarted after 10 s, then 20 s, then 40 s', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('app', { exitCode: 1 });
    const pod = makePod('crash', { containers: [app()] });
    const t0 = h.clock.now();
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    await h.advance(25_000);
    const s = h.status(pod).containerStatuses![0]!;
    assert.equal(s.state.waiting?.reason, 'CrashLoopBackOff');
    assert.match(s.state.waiting?.message ?? '', /back-off 20s restarting failed container=app/);
    assert.equal(s.lastState?.terminated?.exitCode, 1);
    assert.equal(s.restartCount, 1);
    assert.equal(h.status(pod).phase, 'Running');
    await h.advance(60_000);
    const starts = h.runtime.calls.filter((c) => c.method === 'start').map((c) => c.at - t0);
    assert.deepEqual(starts, [0, 10_000, 30_000, 70_000]);
    assert.deepEqual(startedIds(h), ['0123456789ab-app-0', '0123456789ab-app-1', '0123456789ab-app-2', '0123456789ab-app-3']);
    assert.equal(h.status(pod).containerStatuses![0]!.restartCount, 3);
  });

  test('OnFailure does not restart an exit 0 and the pod reaches Succeeded', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('app', { exitCode: 0, afterMs: 2000 });
    const pod = makePod('job', { restartPolicy: 'OnFailure', containers: [app()] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    await h.advance(60_000);
    assert.equal(h.runtime.callsOf('start').length, 1);
    assert.equal(h.status(pod).phase, 'Succeeded');
    assert.equal(h.status(pod).containerStatuses![0]!.state.terminated?.reason, 'Completed');
  });

  test('Never does not restart a failure and the pod reaches Failed', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('app', { exitCode: 3, afterMs: 2000 });
    const pod = makePod('once', { restartPolicy: 'Never', containers: [app()] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    await h.advance(60_000);
    assert.equal(h.runtime.callsOf('start').length, 1);
    assert.equal(h.status(pod).phase, 'Failed');
    assert.equal(h.status(pod).containerStatuses![0]!.state.terminated?.exitCode, 3);
  });

  test('a liveness probe failing 3 times kills the container with the grace period and restarts it', async (t) => {
    const h = await harness(t);
    h.runtime.setExec(['check'], { exitCode: 1, stdout: '', stderr: 'sick' });
    const pod = makePod('live', {
      terminationGracePeriodSeconds: 12,
      containers: [app({ livenessProbe: { exec: { command: ['check'] }, periodSeconds: 10, failureThreshold: 3 } })],
    });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    await h.advance(15_000);
    assert.equal(h.runtime.callsOf('stop').length, 0, 'two failures are not enough');
    await h.advance(10_000);
    assert.deepEqual(h.runtime.callsOf('stop'), [['0123456789ab-app-0', 12]]);
    await h.advance(15_000);
    assert.deepEqual(startedIds(h), ['0123456789ab-app-0', '0123456789ab-app-1']);
    const s = h.status(pod).containerStatuses![0]!;
    assert.equal(s.restartCount, 1);
    assert.ok(s.state.running);
  });

  test('readiness flips the Ready condition', async (t) => {
    const h = await harness(t);
    const pod = makePod('ready', {
      containers: [app({ ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 } })],
    });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.advance(6000);
    assert.equal(h.status(pod).conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    assert.equal(h.status(pod).containerStatuses![0]!.ready, false);
    assert.deepEqual(h.transport.requests[0], { host: '10.42.1.2', port: 8080, path: '/healthz', scheme: 'HTTP', timeoutMs: 1000 });
    h.transport.statusCode = 200;
    await h.advance(5000);
    assert.equal(h.status(pod).conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(h.status(pod).conditions?.find((c) => c.type === 'ContainersReady')?.status, 'True');
    assert.equal(h.status(pod).containerStatuses![0]!.ready, true);
  });

  test('an image that cannot be pulled waits with ErrImagePull, then ImagePullBackOff, and starts once it can', async (t) => {
    const h = await harness(t);
    h.runtime.failPull('busybox:1.36', 'registry unreachable');
    const pod = makePod('pull', { containers: [app()] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    await h.advance(5000);
    const reasons = h.reports.map((r) => r.status.containerStatuses![0]!.state.waiting?.reason);
    assert.deepEqual(reasons, ['ErrImagePull', 'ImagePullBackOff']);
    assert.match(h.status(pod).containerStatuses![0]!.state.waiting?.message ?? '', /registry unreachable/);
    assert.equal(h.runtime.callsOf('ensureImage').length, 1, 'no pull is tried during the back-off');
    h.runtime.failPull('busybox:1.36', undefined);
    await h.advance(6000);
    assert.equal(h.status(pod).phase, 'Running');
  });

  test('a graceful delete stops with the pod grace period, cleans up, then finalizes', async (t) => {
    const h = await harness(t);
    const pod = makePod('gone', { terminationGracePeriodSeconds: 7, volumes: [{ name: 'v', emptyDir: {} }], containers: [app()] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.equal(h.status(pod).phase, 'Running');
    const deleting = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date(h.clock.now()).toISOString() } };
    h.rec.setDesired([deleting], [], [], { synced: true });
    await h.settle();
    assert.deepEqual(h.runtime.callsOf('stop'), [['0123456789ab-app-0', 7]]);
    assert.deepEqual(await h.runtime.list(), []);
    assert.deepEqual(await h.network.listPods(), []);
    await assert.rejects(fs.stat(path.join(h.dataDir, 'pods', pod.metadata.uid!)));
    assert.deepEqual(h.finalized.map((p) => p.metadata.name), ['gone']);
    const stopAt = h.runtime.calls.findIndex((c) => c.method === 'stop');
    const removeAt = h.runtime.calls.findIndex((c) => c.method === 'remove');
    assert.ok(stopAt < removeAt, 'stopped before removed');
    assert.equal(h.status(pod).containerStatuses![0]!.state.terminated?.exitCode, 143);
    h.rec.setDesired([deleting], [], [], { synced: true });
    await h.advance(70_000, 5000);
    assert.equal(h.finalized.length, 1, 'finalized once');
  });

  test('after an agent restart the running containers are adopted and nothing is restarted', async (t) => {
    const h = await harness(t);
    const pod = makePod('keep', { containers: [app(), { name: 'side', image: 'busybox:1.36' }] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    const lastStatus = h.status(pod);
    // A container that had restarted 3 times before the agent went down.
    h.runtime.seed({ id: '0123456789ab-side-3', image: 'busybox:1.36', env: {}, mounts: [], logPath: '/dev/null', labels: {
      [LABEL_POD_UID]: pod.metadata.uid!, [LABEL_POD_NAME]: 'keep', [LABEL_POD_NAMESPACE]: 'default', [LABEL_CONTAINER_NAME]: 'side', [LABEL_RESTART_COUNT]: '3',
    } });
    await h.runtime.remove('0123456789ab-side-0');
    const before = h.runtime.calls.length;
    const rec = await h.restart();
    rec.setDesired([{ ...pod, status: lastStatus }], [], [], { synced: false });
    await h.settle();
    await h.advance(70_000, 5000);
    const acted = h.runtime.calls.slice(before).filter((c) => ['start', 'stop', 'remove'].includes(c.method));
    assert.deepEqual(acted, []);
    const s = rec.lastStatus(pod.metadata.uid!);
    assert.equal(s?.containerStatuses?.find((c) => c.name === 'side')?.restartCount, 3);
    assert.equal(s?.phase, 'Running');
  });

  test('an unsynced desired set leaves unknown containers alone, a synced one removes them', async (t) => {
    const h = await harness(t);
    const orphanUid = 'feedfacecafe-orphan';
    h.runtime.seed({ id: 'feedfacecafe-app-0', image: 'busybox:1.36', env: {}, mounts: [], logPath: '/dev/null', labels: {
      [LABEL_POD_UID]: orphanUid, [LABEL_POD_NAME]: 'orphan', [LABEL_POD_NAMESPACE]: 'default', [LABEL_CONTAINER_NAME]: 'app', [LABEL_RESTART_COUNT]: '0',
    } });
    h.runtime.seed({ id: 'not-ours', image: 'busybox:1.36', env: {}, mounts: [], logPath: '/dev/null', labels: {} });
    await h.network.ensurePod(orphanUid, 'orphan', 'default');
    await fs.mkdir(path.join(h.dataDir, 'pods', orphanUid, 'volumes', 'v'), { recursive: true });
    const pod = makePod('known', { containers: [app()] });
    h.rec.setDesired([pod], [], [], { synced: false });
    await h.advance(70_000, 5000);
    assert.equal(h.runtime.callsOf('stop').length, 0);
    assert.deepEqual((await h.runtime.list()).map((c) => c.id).sort(), ['0123456789ab-app-0', 'feedfacecafe-app-0', 'not-ours']);

    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.deepEqual(h.runtime.callsOf('stop'), [['feedfacecafe-app-0', 30]]);
    assert.deepEqual((await h.runtime.list()).map((c) => c.id).sort(), ['0123456789ab-app-0', 'not-ours']);
    assert.deepEqual((await h.network.listPods()).map((s) => s.podUid), [pod.metadata.uid]);
    await assert.rejects(fs.stat(path.join(h.dataDir, 'pods', orphanUid)));

    h.rec.setDesired([], [], [], { synced: true });
    await h.settle();
    assert.deepEqual((await h.runtime.list()).map((c) => c.id), ['not-ours']);
    assert.equal(h.finalized.length, 0, 'a pod that vanished is not finalized');
  });
});
