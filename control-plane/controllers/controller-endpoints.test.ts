import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import type { Endpoints, KObject, Pod, Service, ServicePort } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import { makeNamespace, seed } from '../testing/replicaset-fixtures.js';
import { waitFor } from '../../test/support/store-contract.js';
import { EndpointsController } from './controller-endpoints.js';
import { endpointSubsets } from './endpoints-subsets.js';

interface PodOpts {
  ip?: string;
  ready?: boolean;
  labels?: Record<string, string>;
  node?: string;
  ports?: { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' }[];
  deleting?: boolean;
  phase?: 'Running' | 'Succeeded';
  hostname?: string;
  subdomain?: string;
}

function pod(name: string, o: PodOpts = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00.000Z' } : {}) },
    spec: {
      containers: [{ name: 'main', image: 'busybox', ports: o.ports }], nodeName: o.node ?? 'pi-1',
      ...(o.hostname ? { hostname: o.hostname } : {}), ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    } as Pod['spec'],
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip === undefined ? {} : { podIP: o.ip }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

function service(name: string, spec: Partial<Service['spec']> = {}): Service {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `uid-svc-${name}`, labels: { tier: 'front' } },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }], clusterIP: '10.43.0.5', ...spec },
  };
}

const addr = (name: string, ip: string, node = 'pi-1') => ({ ip, targetRef: { kind: 'Pod' as const, namespace: 'default', name, uid: `uid-${name}` }, nodeName: node });

describe('endpointSubsets', () => {
  test('ready Pods are addresses and not-ready ones notReadyAddresses, sorted by IP; Pods without an IP or finished are left out', () => {
    const subsets = endpointSubsets(service('web'), [
      pod('b', { ip: '10.42.1.10' }), pod('a', { ip: '10.42.0.9' }), pod('c', { ip: '10.42.0.20', ready: false }),
      pod('pending'), pod('done', { ip: '10.42.0.30', phase: 'Succeeded' }),
    ]);
    assert.deepEqual(subsets, [{
      addresses: [addr('a', '10.42.0.9'), addr('b', '10.42.1.10')],
      notReadyAddresses: [addr('c', '10.42.0.20')],
      ports: [{ port: 8080, protocol: 'TCP' }],
    }]);
  });

  test('a terminating Pod is left out, unless the Service publishes not-ready addresses, which lists every Pod as an address', () => {
    const pods = [pod('a', { ip: '10.42.0.9', deleting: true }), pod('b', { ip: '10.42.0.10', ready: false })];
    assert.deepEqual(endpointSubsets(service('web'), pods), [{ notReadyAddresses: [addr('b', '10.42.0.10')], ports: [{ port: 8080, protocol: 'TCP' }] }]);
    assert.deepEqual(endpointSubsets(service('web', { publishNotReadyAddresses: true }), pods), [
      { addresses: [addr('a', '10.42.0.9'), addr('b', '10.42.0.10')], ports: [{ port: 8080, protocol: 'TCP' }] },
    ]);
  });

  test('a named targetPort is resolved per Pod, Pods without it are left out for that port, and addresses group by identical port sets', () => {
    const ports: ServicePort[] = [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'metrics', port: 9100, targetPort: 9100 }];
    const subsets = endpointSubsets(service('web', { ports }), [
      pod('old', { ip: '10.42.0.5', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('new', { ip: '10.42.0.6', ports: [{ name: 'web', containerPort: 8081 }] }),
      pod('bare', { ip: '10.42.0.7' }),
      pod('udp', { ip: '10.42.0.8', ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }] }),
    ]);
    const metrics = { name: 'metrics', port: 9100, protocol: 'TCP' };
    assert.deepEqual(subsets, [
      { addresses: [addr('old', '10.42.0.5')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, metrics] },
      { addresses: [addr('new', '10.42.0.6')], ports: [{ name: 'http', port: 8081, protocol: 'TCP' }, metrics] },
      { addresses: [addr('bare', '10.42.0.7'), addr('udp', '10.42.0.8')], ports: [metrics] },
    ]);
  });

  test('a Pod\'s hostname is published only for the Service its subdomain names', () => {
    const p = pod('db-0', { ip: '10.42.0.5', hostname: 'db-0', subdomain: 'db' });
    assert.equal(endpointSubsets(service('db'), [p])[0]!.addresses![0]!.hostname, 'db-0');
    assert.equal(endpointSubsets(service('web'), [p])[0]!.addresses![0]!.hostname, undefined);
  });

  test('the port defaults to the Service port and keeps its protocol', () => {
    const subsets = endpointSubsets(service('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }), [pod('a', { ip: '10.42.0.5' })]);
    assert.deepEqual(subsets[0]!.ports, [{ name: 'dns', port: 53, protocol: 'UDP' }]);
  });
});

async function setup(t: TestContext, opts: { runWorkers?: boolean } = {}) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await seed(store, makeNamespace());
  let uid = 0;
  const controller = new EndpointsController({ store, clock, newUid: () => `uid-ep-${++uid}` });
  controller.start(undefined, { runWorkers: opts.runWorkers ?? false });
  await controller.whenSynced();
  t.after(async () => {
    await controller.stop();
    await store.close();
  });
  const settle = () => clock.advance(0);
  const sync = async (key = 'default/web') => {
    await settle();
    await controller.reconcile(key);
    await settle();
  };
  const ep = (name = 'web') => store.get('Endpoints', 'default', name) as Endpoints | undefined;
  const put = async (obj: KObject) => {
    const cur = store.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
    await store.propose({ ops: [{ type: 'put', object: obj, precondition: cur ? { resourceVersion: cur.metadata.resourceVersion! } : { absent: true } }] });
  };
  return { store, clock, controller, sync, ep, put, settle };
}

describe('Endpoints controller', () => {
  test('a selector Service gets an Endpoints object of its name with its labels, rewritten only when the Pods change', async (t) => {
    const { store, sync, ep, put } = await setup(t);
    await seed(store, service('web'), pod('a', { ip: '10.42.0.5' }), pod('other', { ip: '10.42.0.6', labels: { app: 'db' } }));
    await sync();
    const first = ep()!;
    assert.deepEqual(first.metadata.labels, { tier: 'front' });
    assert.equal(first.metadata.uid, 'uid-ep-1');
    assert.deepEqual(first.subsets, [{ addresses: [addr('a', '10.42.0.5')], ports: [{ port: 8080, protocol: 'TCP' }] }]);
    await sync();
    assert.equal(ep()!.metadata.resourceVersion, first.metadata.resourceVersion, 'nothing changed, nothing written');
    await put(pod('a', { ip: '10.42.0.5', ready: false }));
    await sync();
    assert.deepEqual(ep()!.subsets, [{ notReadyAddresses: [addr('a', '10.42.0.5')], ports: [{ port: 8080, protocol: 'TCP' }] }]);
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'a' }] });
    await sync();
    assert.equal(ep()!.subsets, undefined, 'no Pods: an Endpoints object without subsets');
  });

  test('with its workers running, Pod changes reach the Endpoints through the Services selecting the Pod by its old and new labels', async (t) => {
    const { store, put, ep } = await setup(t, { runWorkers: true });
    await seed(store, service('web'));
    await put(pod('a', { ip: '10.42.0.5' }));
    await waitFor(() => ep()?.subsets?.[0]?.addresses?.[0]?.ip === '10.42.0.5', 'the Pod in the Endpoints');
    await put(pod('a', { ip: '10.42.0.5', labels: { app: 'other' } }));
    await waitFor(() => ep() !== undefined && ep()!.subsets === undefined, 'the Pod that stopped matching to be gone');
  });

  test('a Service without a selector keeps the Endpoints a person wrote', async (t) => {
    const { store, sync, ep } = await setup(t);
    const manual: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '192.168.1.20' }], ports: [{ port: 5000 }] }] };
    await seed(store, service('web', { selector: undefined }), manual);
    await sync();
    assert.deepEqual(ep()!.subsets, manual.subsets);
  });

  test('deleting the Service deletes its Endpoints', async (t) => {
    const { store, sync, ep } = await setup(t);
    await seed(store, service('web'), pod('a', { ip: '10.42.0.5' }));
    await sync();
    assert.ok(ep());
    await store.propose({ ops: [{ type: 'delete', kind: 'Service', namespace: 'default', name: 'web' }] });
    await sync();
    assert.equal(ep(), undefined);
  });

  test('a hand edit of a selector Service\'s Endpoints is put back', async (t) => {
    const { sync, ep, put, store } = await setup(t);
    await seed(store, service('web'), pod('a', { ip: '10.42.0.5' }));
    await sync();
    const good = ep()!.subsets;
    await put({ ...ep()!, subsets: [{ addresses: [{ ip: '1.2.3.4' }], ports: [{ port: 1 }] }] });
    await sync();
    assert.deepEqual(ep()!.subsets, good);
  });

  test('Endpoints left from a Service deleted while no controller ran are deleted when it starts', async (t) => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    await seed(store, makeNamespace(), { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'gone', namespace: 'default' } });
    const controller = new EndpointsController({ store, clock });
    controller.start();
    t.after(() => controller.stop());
    await waitFor(() => store.get('Endpoints', 'default', 'gone') === undefined, 'the leftover Endpoints to go');
  });
});
