import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import type { KObject, Service } from '../../proto/model.js';
import { ALLOCATION_LOCK_KIND } from '../ipam/allocation-lock.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { planApply } from './api-apply.js';

const clock = new FakeClock();

function svc(name: string, spec: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

async function cluster(): Promise<Store> {
  const store = createMemoryStore();
  await store.propose(planApply(store, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }], { clock }).command);
  return store;
}

async function apply(store: Store, objects: KObject[], serviceCidr?: string): Promise<KObject[]> {
  const plan = planApply(store, objects, { clock, serviceCidr });
  if (plan.command.ops.length === 0) return plan.results.map((r) => r.object);
  const commit = await store.propose(plan.command);
  return plan.results.map((r) => (r.opIndex === undefined ? r.object : commit.objects[r.opIndex]!));
}

function rejected(fn: () => unknown): { code: string; details: { path: string; message: string; document?: number }[]; message: string } {
  try {
    fn();
  } catch (e) {
    if (isBrambleError(e)) return e;
    throw e;
  }
  assert.fail('expected the plan to be refused');
}

describe('planApply of Services', () => {
  test('a new Service is stored with its allocated cluster IP and the write carries the allocation lock', async () => {
    const store = await cluster();
    const plan = planApply(store, [svc('web')], { clock, serviceCidr: '10.96.0.0/12' });
    const [obj] = plan.results.map((r) => r.object as Service);
    assert.equal(obj!.spec.clusterIP, '10.96.0.2');
    assert.deepEqual(plan.command.ops.map((o) => (o.type === 'put' ? o.object.kind : o.kind)), ['Service', ALLOCATION_LOCK_KIND]);
  });

  test('re-applying the manifest that left clusterIP and nodePort out is unchanged and writes nothing', async () => {
    const store = await cluster();
    const [first] = await apply(store, [svc('web', { type: 'NodePort' })]);
    const plan = planApply(store, [svc('web', { type: 'NodePort' })], { clock });
    assert.equal(plan.results[0]!.action, 'unchanged');
    assert.equal(plan.command.ops.length, 0);
    assert.equal((first as Service).spec.ports[0]!.nodePort, 30086);
  });

  test('a change elsewhere keeps the allocations and does not take the lock', async () => {
    const store = await cluster();
    const [first] = await apply(store, [svc('web', { type: 'NodePort' })]);
    const plan = planApply(store, [svc('web', { type: 'NodePort', sessionAffinity: 'ClientIP' })], { clock });
    assert.equal(plan.results[0]!.action, 'configured');
    assert.deepEqual(plan.command.ops.map((o) => (o.type === 'put' ? o.object.kind : o.kind)), ['Service']);
    const stored = plan.results[0]!.object as Service;
    assert.equal(stored.spec.clusterIP, (first as Service).spec.clusterIP);
    assert.equal(stored.spec.ports[0]!.nodePort, (first as Service).spec.ports[0]!.nodePort);
  });

  test('changing clusterIP is refused as immutable with the field path, and nothing is planned', async () => {
    const store = await cluster();
    await apply(store, [svc('web')]);
    const rev = store.revision();
    const err = rejected(() => planApply(store, [svc('other'), svc('web', { clusterIP: '10.43.9.9' })], { clock }));
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.equal(err.details[0]!.path, 'spec.clusterIP');
    assert.equal(err.details[0]!.document, 1);
    assert.match(err.message, /^documents\[1\]: service "web" is invalid: spec\.clusterIP: field is immutable: the stored service has "10\.43\.0\.2": current value is "10\.43\.9\.9"/);
    assert.equal(store.revision(), rev);
  });

  test('a node port another Service holds is refused naming the field and that Service', async () => {
    const store = await cluster();
    await apply(store, [svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] })]);
    const err = rejected(() => planApply(store, [svc('b', { type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }] })], { clock }));
    assert.equal(err.message, 'documents[0]: service "b" is invalid: spec.ports[0].nodePort: is already allocated to service "default/a": current value is 30080');
  });

  test('a cluster IP outside the server\'s service CIDR is refused by field', async () => {
    const store = await cluster();
    const err = rejected(() => planApply(store, [svc('a', { clusterIP: '10.43.0.5' })], { clock, serviceCidr: '10.100.0.0/24' }));
    assert.match(err.message, /spec\.clusterIP: must be inside the service CIDR 10\.100\.0\.0\/24 \(10\.100\.0\.1 to 10\.100\.0\.254\): current value is "10\.43\.0\.5"/);
  });

  test('two Services in one apply get different addresses and one lock', async () => {
    const store = await cluster();
    const plan = planApply(store, [svc('a'), svc('b')], { clock });
    const ips = plan.results.map((r) => (r.object as Service).spec.clusterIP);
    assert.deepEqual(ips, ['10.43.0.2', '10.43.0.3']);
    assert.equal(plan.command.ops.filter((o) => o.type === 'put' && o.object.kind === ALLOCATION_LOCK_KIND).length, 1);
  });

  test('a Node applied with a pod CIDR another Node holds is refused, and a set pod CIDR cannot change', async () => {
    const store = await cluster();
    const node = (name: string, podCIDR: string): KObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { podCIDR } });
    const plan = planApply(store, [node('pi-1', '10.42.1.0/24')], { clock });
    assert.deepEqual(plan.command.ops.map((o) => (o.type === 'put' ? o.object.kind : o.kind)), ['Node', ALLOCATION_LOCK_KIND]);
    await store.propose(plan.command);
    assert.match(rejected(() => planApply(store, [node('pi-2', '10.42.1.0/24')], { clock })).message, /spec\.podCIDR: is already allocated to node "pi-1": current value is "10\.42\.1\.0\/24"/);
    assert.match(rejected(() => planApply(store, [node('pi-1', '10.42.2.0/24')], { clock })).message, /spec\.podCIDR: field is immutable: the stored node has "10\.42\.1\.0\/24"/);
    assert.match(rejected(() => planApply(store, [node('a', '10.42.3.0/24'), node('b', '10.42.3.0/24')], { clock })).message, /documents\[1\].*is also given to node "a" in this apply/);
    assert.equal(planApply(store, [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1' } }], { clock }).results[0]!.action, 'unchanged');
  });
});
