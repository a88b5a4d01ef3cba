import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../../proto/util/errors.js';
import { clusterDnsAddress } from '../../proto/ipv4.js';
import type { Service, ServiceSpec } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Op, Store } from '../store/store.js';
import { ALLOCATION_LOCK_KIND, SERVICE_ALLOCATION_LOCK, lockOp } from './allocation-lock.js';
import { ServiceAllocator, staticBand } from './service-allocation.js';

const CIDR = '10.43.0.0/16';

function svc(name: string, spec: Partial<ServiceSpec> = {}, namespace = 'default'): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 80 }], ...spec } };
}

/** Allocates and stores each Service in turn, as one apply per Service would; returns what was stored. */
async function applyEach(store: Store, services: Service[], cidr = CIDR): Promise<Service[]> {
  const out: Service[] = [];
  for (const s of services) {
    const a = new ServiceAllocator(store, { serviceCidr: cidr });
    const stored = store.get('Service', s.metadata.namespace, s.metadata.name) as Service | undefined;
    const { service, problems } = a.allocate(0, s, stored);
    assert.deepEqual(problems, []);
    const ops: Op[] = [{ type: 'put', object: service, precondition: stored ? { resourceVersion: stored.metadata.resourceVersion! } : { absent: true } }];
    if (a.took) ops.push(lockOp(store, SERVICE_ALLOCATION_LOCK));
    const commit = await store.propose({ ops });
    out.push(commit.objects[0] as Service);
  }
  return out;
}

function allocate(store: Store, s: Service, cidr = CIDR) {
  const stored = store.get('Service', s.metadata.namespace, s.metadata.name) as Service | undefined;
  return new ServiceAllocator(store, { serviceCidr: cidr }).allocate(3, s, stored);
}

describe('ServiceAllocator: cluster IPs', () => {
  test('the first address is the DNS Service\'s, so others get the lowest free address after it', async () => {
    const store = createMemoryStore();
    assert.equal(clusterDnsAddress(CIDR), '10.43.0.1');
    const [a, b] = await applyEach(store, [svc('a'), svc('b')]);
    assert.equal(a!.spec.clusterIP, '10.43.0.2');
    assert.deepEqual(a!.spec.clusterIPs, ['10.43.0.2']);
    assert.equal(b!.spec.clusterIP, '10.43.0.3');
  });

  test('a requested address is given when it is free and inside the range', async () => {
    const store = createMemoryStore();
    const [a] = await applyEach(store, [svc('a', { clusterIP: '10.43.7.7' })]);
    assert.equal(a!.spec.clusterIP, '10.43.7.7');
    const taken = allocate(store, svc('b', { clusterIP: '10.43.7.7' }));
    assert.deepEqual(taken.problems, [{ path: 'spec.clusterIP', message: 'is already allocated to service "default/a": current value is "10.43.7.7"', document: 3 }]);
  });

  test('an address outside the service CIDR, its network or broadcast address, or the DNS address is refused by field', () => {
    const store = createMemoryStore();
    for (const ip of ['10.44.0.5', '10.43.0.0', '10.43.255.255']) {
      const { problems } = allocate(store, svc('a', { clusterIP: ip }));
      assert.equal(problems.length, 1, ip);
      assert.equal(problems[0]!.path, 'spec.clusterIP');
      assert.equal(problems[0]!.message, `must be inside the service CIDR 10.43.0.0/16 (10.43.0.1 to 10.43.255.254): current value is "${ip}"`);
    }
    const dns = allocate(store, svc('mine', { clusterIP: '10.43.0.1' }));
    assert.match(dns.problems[0]!.message, /^is reserved for the cluster DNS Service kube-system\/kube-dns: current value is "10.43.0.1"$/);
    assert.deepEqual(allocate(store, svc('kube-dns', { clusterIP: '10.43.0.1' }, 'kube-system')).problems, []);
  });

  test('a headless Service gets no address', () => {
    const { service, problems } = allocate(createMemoryStore(), svc('db', { clusterIP: 'None' }));
    assert.deepEqual(problems, []);
    assert.equal(service.spec.clusterIP, 'None');
  });

  test('a stored Service keeps its address when the manifest leaves it out, and cannot change it', async () => {
    const store = createMemoryStore();
    await applyEach(store, [svc('a')]);
    const again = allocate(store, svc('a'));
    assert.deepEqual(again.problems, []);
    assert.equal(again.service.spec.clusterIP, '10.43.0.2');
    const moved = allocate(store, svc('a', { clusterIP: '10.43.0.9' }));
    assert.equal(moved.problems[0]!.path, 'spec.clusterIP');
    assert.match(moved.problems[0]!.message, /^field is immutable: the stored service has "10.43.0.2": current value is "10.43.0.9"/);
    const headless = allocate(store, svc('a', { clusterIP: 'None' }));
    assert.match(headless.problems[0]!.message, /^field is immutable/);
  });

  test('a deleted Service\'s address is free again, as the store no longer holds it', async () => {
    const store = createMemoryStore();
    await applyEach(store, [svc('a'), svc('b')]);
    await store.propose({ ops: [{ type: 'delete', kind: 'Service', namespace: 'default', name: 'a' }] });
    const [c] = await applyEach(store, [svc('c')]);
    assert.equal(c!.spec.clusterIP, '10.43.0.2');
  });

  test('a full service CIDR is a LIMIT_EXCEEDED error saying what to do', async () => {
    const store = createMemoryStore();
    // A /30 has two usable addresses: the DNS Service's and one more.
    await applyEach(store, [svc('a')], '10.43.0.0/30');
    assert.throws(() => allocate(store, svc('b'), '10.43.0.0/30'), (e) =>
      isBrambleError(e, 'LIMIT_EXCEEDED') && /service CIDR 10.43.0.0\/30 has no free cluster IP left.*--service-cidr/.test(e.message));
  });

  test('two Services of one plan never get the same address', () => {
    const a = new ServiceAllocator(createMemoryStore(), { serviceCidr: CIDR });
    const x = a.allocate(0, svc('x'), undefined);
    const y = a.allocate(1, svc('y'), undefined);
    assert.notEqual(x.service.spec.clusterIP, y.service.spec.clusterIP);
    const z = a.allocate(2, svc('z', { clusterIP: y.service.spec.clusterIP }), undefined);
    assert.equal(z.problems[0]!.document, 2);
  });
});

describe('ServiceAllocator: node ports', () => {
  const nodePort = (name: string, ports: ServiceSpec['ports'], type: ServiceSpec['type'] = 'NodePort') => svc(name, { type, ports });

  test('a NodePort or LoadBalancer Service gets a port above the static band for each port it does not name', async () => {
    const store = createMemoryStore();
    const start = 30000 + staticBand({ min: 30000, max: 32767 });
    assert.equal(start, 30086);
    const [a, b] = await applyEach(store, [nodePort('a', [{ name: 'http', port: 80 }, { name: 'https', port: 443 }]), nodePort('b', [{ port: 80 }], 'LoadBalancer')]);
    assert.deepEqual(a!.spec.ports.map((p) => p.nodePort), [30086, 30087]);
    assert.deepEqual(b!.spec.ports.map((p) => p.nodePort), [30088]);
  });

  test('a requested node port is given when free; one another Service holds is refused naming the field and the holder', async () => {
    const store = createMemoryStore();
    await applyEach(store, [nodePort('a', [{ port: 80, nodePort: 30080 }])]);
    const { problems } = allocate(store, nodePort('b', [{ name: 'x', port: 81 }, { name: 'y', port: 82, nodePort: 30080 }]));
    assert.deepEqual(problems, [{ path: 'spec.ports[1].nodePort', message: 'is already allocated to service "default/a": current value is 30080', document: 3 }]);
  });

  test('an omitted node port keeps the stored one, matched by protocol and port, else by name', async () => {
    const store = createMemoryStore();
    const [a] = await applyEach(store, [nodePort('a', [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }])]);
    const held = a!.spec.ports.map((p) => p.nodePort);
    const again = allocate(store, nodePort('a', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'http', port: 8080 }]));
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.service.spec.ports.map((p) => p.nodePort), [held[1], held[0]]);
  });

  test('changing a NodePort Service to ClusterIP gives its node ports back', async () => {
    const store = createMemoryStore();
    await applyEach(store, [nodePort('a', [{ port: 80, nodePort: 30080 }])]);
    const [a] = await applyEach(store, [svc('a')]);
    assert.equal(a!.spec.ports[0]!.nodePort, undefined);
    assert.deepEqual(allocate(store, nodePort('b', [{ port: 80, nodePort: 30080 }])).problems, []);
  });

  test('a full node port range is a LIMIT_EXCEEDED error', async () => {
    const store = createMemoryStore();
    const a = new ServiceAllocator(store, { serviceCidr: CIDR, nodePorts: { min: 30000, max: 30001 } });
    a.allocate(0, nodePort('a', [{ name: 'a', port: 1 }, { name: 'b', port: 2 }]), undefined);
    assert.throws(() => a.allocate(1, nodePort('b', [{ port: 1 }]), undefined), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && /node port range 30000-30001 has no free port left/.test(e.message));
  });
});

describe('allocation lock', () => {
  test('of two writes decided on the same read, only the first commits: the second conflicts and is planned again', async () => {
    const store = createMemoryStore();
    const plan = () => {
      const a = new ServiceAllocator(store, { serviceCidr: CIDR });
      return a;
    };
    const one = plan();
    const two = plan();
    const x = one.allocate(0, svc('x'), undefined).service;
    const y = two.allocate(0, svc('y'), undefined).service;
    assert.equal(x.spec.clusterIP, y.spec.clusterIP, 'both read the same free address');
    const opsX: Op[] = [{ type: 'put', object: x, precondition: { absent: true } }, lockOp(store, SERVICE_ALLOCATION_LOCK)];
    const opsY: Op[] = [{ type: 'put', object: y, precondition: { absent: true } }, lockOp(store, SERVICE_ALLOCATION_LOCK)];
    const results = await Promise.allSettled([store.propose({ ops: opsX }), store.propose({ ops: opsY })]);
    assert.equal(results[0]!.status, 'fulfilled');
    // The lock's first write is a create, so the loser sees ALREADY_EXISTS; later ones see CONFLICT. The API plans again on both.
    assert.ok(results[1]!.status === 'rejected' && isBrambleError(results[1].reason, 'ALREADY_EXISTS'));
    assert.equal(store.get('Service', 'default', 'y'), undefined);
    const [again] = await applyEach(store, [svc('y')]);
    assert.equal(again!.spec.clusterIP, '10.43.0.3');
    assert.equal(store.get(ALLOCATION_LOCK_KIND, undefined, SERVICE_ALLOCATION_LOCK)!['allocations'], 2);
  });
});
