import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import type { Service } from '../proto/model.js';
import { ensureClusterDnsService, ensureServiceAllocations, ensureSystemNamespaces } from './server.js';
import { planApply } from './api/api-apply.js';
import { createMemoryStore } from './store/store-memory.js';

describe('ensureSystemNamespaces', () => {
  test('a new cluster gets the default and kube-system namespaces', async () => {
    const store = createMemoryStore();
    assert.deepEqual(await ensureSystemNamespaces(store, new FakeClock()), ['default', 'kube-system']);
    assert.deepEqual(store.list('Namespace').items.map((n) => n.metadata.name).sort(), ['default', 'kube-system']);
  });

  test('a second start writes nothing', async () => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    await ensureSystemNamespaces(store, clock);
    const revision = store.revision();
    assert.deepEqual(await ensureSystemNamespaces(store, clock), []);
    assert.equal(store.revision(), revision);
  });

  test('a cluster made before kube-system existed gets it and keeps its default namespace as it was', async () => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    await store.propose(planApply(store, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { mine: 'yes' } } }], { clock }).command);
    const before = store.get('Namespace', undefined, 'default');
    assert.deepEqual(await ensureSystemNamespaces(store, clock), ['kube-system']);
    assert.deepEqual(store.get('Namespace', undefined, 'default'), before);
  });
});

describe('ensureClusterDnsService and ensureServiceAllocations', () => {
  test('the cluster DNS Service is made once, on the service CIDR\'s first address', async () => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    await ensureSystemNamespaces(store, clock);
    assert.equal(await ensureClusterDnsService(store, clock, '10.96.0.0/12'), true);
    const dns = store.get('Service', 'kube-system', 'kube-dns') as Service;
    assert.equal(dns.spec.clusterIP, '10.96.0.1');
    const revision = store.revision();
    assert.equal(await ensureClusterDnsService(store, clock, '10.96.0.0/12'), false);
    assert.equal(store.revision(), revision);
  });

  test('Services stored without a cluster IP or node port get them at start; the rest are left alone', async () => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    await ensureSystemNamespaces(store, clock);
    const old = (name: string, spec: Partial<Service['spec']>): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `u-${name}` }, spec: { ports: [{ port: 80 }], ...spec } });
    await store.propose({ ops: [{ type: 'put', object: old('a', {}) }, { type: 'put', object: old('b', { type: 'NodePort', clusterIP: '10.43.0.9' }) }, { type: 'put', object: old('c', { clusterIP: '10.43.0.10' }) }] });
    const c = store.get('Service', 'default', 'c');
    assert.equal(await ensureServiceAllocations(store, clock, '10.43.0.0/16'), 2);
    assert.equal((store.get('Service', 'default', 'a') as Service).spec.clusterIP, '10.43.0.2');
    assert.equal((store.get('Service', 'default', 'b') as Service).spec.ports[0]!.nodePort, 30086);
    assert.equal(store.get('Service', 'default', 'c'), c);
    assert.equal(await ensureServiceAllocations(store, clock, '10.43.0.0/16'), 0);
  });
});
