import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import type { Container, Pod, PodSpec } from '../proto/model.js';
import { FakeNetwork } from './network-fake.js';
import { settleReconciler } from '../test/support/reconciler.js';
import { PodReconciler } from './pod-reconciler.js';
import { FakeRuntime } from './runtime-fake.js';

const ID = '0123456789ab-app-0';

function makePod(spec: Partial<PodSpec>, container: Partial<Container> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop', uid: '0123456789ab-web' },
    spec: { nodeName: 'pi-1', ...spec, containers: [{ name: 'app', image: 'busybox:1.36', ...container }] },
  };
}

async function harness(t: TestContext, resolvConf?: (pod: Pod) => string | undefined) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock);
  const network = new FakeNetwork('10.42.1.0/24');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-reconciler-net-'));
  const rec = new PodReconciler({ runtime, network, clock, dataDir, hostIP: '192.168.7.10', reportStatus: () => undefined, resolvConf });
  rec.start();
  t.after(async () => {
    await rec.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const etc = (name: string) => fs.readFile(path.join(dataDir, 'pods', '0123456789ab-web', 'etc', name), 'utf8');
  return { runtime, network, rec, dataDir, etc, settle: () => settleReconciler(rec) };
}

describe('PodReconciler and the Pod network', () => {
  test('the hostname is the Pod name, and /etc/hosts maps the Pod IP to it', async (t) => {
    const h = await harness(t);
    h.rec.setDesired([makePod({})], [], [], { synced: true });
    await h.settle();
    const spec = h.runtime.spec(ID)!;
    assert.equal(spec.hostname, 'web-0');
    assert.equal(spec.hostNetwork, undefined);
    assert.match(await h.etc('hosts'), /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(await h.etc('hosts'), /^10\.42\.1\.2\tweb-0$/m);
    assert.equal(await h.etc('hostname'), 'web-0\n');
    assert.deepEqual(spec.mounts.map((m) => [m.destination, m.readOnly]), [['/etc/hosts', true], ['/etc/hostname', true]]);
  });

  test('spec.hostname and spec.subdomain give the FQDN hostname.subdomain.NS.svc.cluster.local', async (t) => {
    const h = await harness(t);
    h.rec.setDesired([makePod({ hostname: 'db', subdomain: 'backend' })], [], [], { synced: true });
    await h.settle();
    assert.equal(h.runtime.spec(ID)!.hostname, 'db');
    assert.match(await h.etc('hosts'), /^10\.42\.1\.2\tdb\.backend\.shop\.svc\.cluster\.local\tdb$/m);
  });

  test('resolv.conf comes from the injected function; without content none is mounted', async (t) => {
    const h = await harness(t, (pod) => (pod.spec.hostname === 'none' ? undefined : `nameserver 10.43.0.10\nsearch ${pod.metadata.namespace}.svc.cluster.local\n`));
    h.rec.setDesired([makePod({})], [], [], { synced: true });
    await h.settle();
    assert.equal(await h.etc('resolv.conf'), 'nameserver 10.43.0.10\nsearch shop.svc.cluster.local\n');
    assert.ok(h.runtime.spec(ID)!.mounts.some((m) => m.destination === '/etc/resolv.conf' && m.readOnly));
  });

  test('a container that mounts a volume on /etc/hosts keeps its own', async (t) => {
    const h = await harness(t);
    const pod = makePod({ volumes: [{ name: 'h', emptyDir: {} }] }, { volumeMounts: [{ name: 'h', mountPath: '/etc/hosts' }] });
    h.rec.setDesired([pod], [], [], { synced: true });
    await h.settle();
    const hosts = h.runtime.spec(ID)!.mounts.filter((m) => m.destination === '/etc/hosts');
    assert.equal(hosts.length, 1);
    assert.match(hosts[0]!.source, /volumes\/h$/);
  });

  test('hostPorts reach the sandbox as port mappings', async (t) => {
    const h = await harness(t);
    h.rec.setDesired([makePod({}, { ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP' }, { containerPort: 9090 }] })], [], [], { synced: true });
    await h.settle();
    assert.deepEqual(h.network.portMappings.get('0123456789ab-web'), [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ]);
  });

  test('a hostNetwork Pod gets no sandbox, runs in the board\'s network with its address and hostname', async (t) => {
    const h = await harness(t);
    h.rec.setDesired([makePod({ hostNetwork: true })], [], [], { synced: true });
    await h.settle();
    const spec = h.runtime.spec(ID)!;
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.netnsPath, undefined);
    assert.equal(spec.hostname, undefined);
    assert.deepEqual(spec.mounts, []);
    assert.equal(h.network.calls.length, 0);
    assert.equal(h.rec.lastStatus('0123456789ab-web')?.podIP, '192.168.7.10');
  });
});
