import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import type { Container, KObject, Pod } from '../proto/model.js';
import { FakeNetwork } from './network-fake.js';
import { settleReconciler } from '../test/support/reconciler.js';
import { PodReconciler } from './pod-reconciler.js';
import { FakeRuntime } from './runtime-fake.js';

const ID = '0123456789ab-app-0';

function makePod(container: Partial<Container>, securityContext?: Pod['spec']['securityContext']): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: '0123456789ab-web' },
    spec: { nodeName: 'pi-1', securityContext, containers: [{ name: 'app', image: 'busybox:1.36', ...container }] },
  };
}

async function harness(t: TestContext) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-reconciler-env-'));
  const events: string[] = [];
  const rec = new PodReconciler({
    runtime, network: new FakeNetwork('10.42.1.0/24'), clock, dataDir, hostIP: '192.168.7.10',
    allocatable: { cpuMillis: 4000, memoryBytes: 4 * 1024 ** 3 }, reportStatus: () => undefined,
    recordEvent: (_pod, type, reason, message, container) => events.push(`${type} ${reason} ${container ?? ''}: ${message}`),
  });
  rec.start();
  t.after(async () => {
    await rec.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const waiting = (pod: Pod) => rec.lastStatus(pod.metadata.uid!)?.containerStatuses?.[0]?.state.waiting;
  return { runtime, rec, events, settle: () => settleReconciler(rec), waiting };
}

describe('PodReconciler env and security', () => {
  test('a missing envFrom ConfigMap holds the container in CreateContainerConfigError; once it exists the container starts with it', async (t) => {
    const h = await harness(t);
    const pod = makePod({
      command: ['sh', '-c'], args: ['echo $(CFG_MODE) $$(CFG_MODE) $(MEM_MI)'],
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
      env: [{ name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } }, { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
    });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.deepEqual(h.waiting(pod), { reason: 'CreateContainerConfigError', message: 'configmap "cfg" not found (envFrom)' });
    assert.equal(h.rec.lastStatus(pod.metadata.uid!)?.phase, 'Pending', 'the pod waits, it is not failed');
    assert.equal(h.runtime.callsOf('start').length, 0);
    assert.ok(h.events.includes('Warning Failed app: Error: configmap "cfg" not found (envFrom)'), `a Failed event must tell the user: got ${JSON.stringify(h.events)}`);

    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { MODE: 'fast' } };
    h.rec.setDesired([pod], [cm], [], { synced: true });
    await h.settle();
    const spec = h.runtime.spec(ID)!;
    assert.deepEqual(spec.env, { CFG_MODE: 'fast', MEM_MI: '4096', NODE: 'pi-1' });
    assert.deepEqual(spec.args, ['echo fast $(CFG_MODE) 4096']);
    assert.equal(h.rec.lastStatus(pod.metadata.uid!)?.phase, 'Running');
  });

  test('envFrom keys that are not valid variable names are skipped, and an InvalidEnvironmentVariableNames event says which', async (t) => {
    const h = await harness(t);
    const pod = makePod({ envFrom: [{ configMapRef: { name: 'cfg' } }] });
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { GOOD: '1', '1BAD': '2' } };
    h.rec.setDesired([pod], [cm], [], { synced: true });
    await h.settle();
    assert.deepEqual(h.runtime.spec(ID)?.env, { GOOD: '1' });
    assert.deepEqual(h.events.filter((e) => e.includes('InvalidEnvironmentVariableNames')), [
      'Warning InvalidEnvironmentVariableNames app: Keys [1BAD] from the EnvFrom configmap default/cfg were skipped since they are considered invalid environment variable names.',
    ]);
  });

  test('an image whose policy is Always starts from the board\'s copy when the registry cannot be reached, with a Failed event', async (t) => {
    const h = await harness(t);
    h.runtime.images.add('perl');
    h.runtime.failPull('perl', 'registry-1.docker.io: no such host');
    const pod = makePod({ image: 'perl', imagePullPolicy: 'Always' });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.equal(h.rec.lastStatus(pod.metadata.uid!)?.phase, 'Running');
    assert.ok(h.events.some((e) => e.startsWith('Warning Failed app: Failed to pull image "perl"') && e.endsWith('starting the copy present on the board')), `got ${JSON.stringify(h.events)}`);
  });

  test('an image that cannot be pulled and is not on the board waits in ErrImagePull and ImagePullBackOff, with Failed and BackOff events', async (t) => {
    const h = await harness(t);
    h.runtime.failPull('perl', 'registry-1.docker.io: no such host');
    const pod = makePod({ image: 'perl', imagePullPolicy: 'Always' });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.ok(['ErrImagePull', 'ImagePullBackOff'].includes(h.waiting(pod)?.reason ?? ''), `got ${JSON.stringify(h.waiting(pod))}`);
    assert.equal(h.runtime.callsOf('start').length, 0);
    assert.ok(h.events.some((e) => e.startsWith('Warning Failed app: Failed to pull image "perl": ')), `got ${JSON.stringify(h.events)}`);
    assert.ok(h.events.some((e) => e === 'Normal BackOff app: Back-off pulling image "perl"'), `got ${JSON.stringify(h.events)}`);
  });

  test('the security context reaches the runtime, container fields over pod ones', async (t) => {
    const h = await harness(t);
    const pod = makePod({ securityContext: { runAsUser: 1000, readOnlyRootFilesystem: true, capabilities: { drop: ['NET_RAW'] } } }, { runAsUser: 5, runAsGroup: 50 });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.deepEqual(h.runtime.spec(ID)?.security, {
      user: { uid: 1000, gid: 50 }, readOnlyRootFilesystem: true, privileged: false, capAdd: [], capDrop: ['CAP_NET_RAW'], allowPrivilegeEscalation: true,
    });
  });

  test('runAsNonRoot refuses an image that runs as root, and allows one whose USER is a non-zero uid', async (t) => {
    const h = await harness(t);
    const pod = makePod({ securityContext: { runAsNonRoot: true } });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    assert.equal(h.waiting(pod)?.reason, 'CreateContainerConfigError');
    assert.match(h.waiting(pod)?.message ?? '', /image will run as root/);
    assert.ok(h.events.some((e) => e.startsWith('Warning Failed app: Error: ') && /run as root/.test(e)), `got ${JSON.stringify(h.events)}`);
    assert.equal(h.runtime.callsOf('start').length, 0);

    const other = { ...makePod({ image: 'app:1', securityContext: { runAsNonRoot: true } }), metadata: { name: 'app', namespace: 'default', uid: 'aaaaaaaaaaaa-app' } };
    h.runtime.images.add('app:1');
    h.runtime.imageUsers.set('app:1', '1000');
    h.rec.setDesired([pod, other], [], [], { synced: true });
    await h.settle();
    assert.ok(h.runtime.spec('aaaaaaaaaaaa-app-0'), 'the non-root image starts');
  });
});
