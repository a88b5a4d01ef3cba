import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { LB_NODE_LABEL, type NodeObject, type Service } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { KObject } from '../../proto/model.js';
import { seed } from '../testing/replicaset-fixtures.js';
import { waitFor } from '../../test/support/store-contract.js';
import { ServiceLbController, loadBalancerIngress } from './controller-service-lb.js';

function node(name: string, ip: string, o: { ready?: boolean; lb?: string } = {}): NodeObject {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: o.lb ? { [LB_NODE_LABEL]: o.lb } : {} }, spec: {},
    status: { addresses: [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

function service(name: string, type: Service['spec']['type']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type, ports: [{ port: 80, nodePort: 30080 }], clusterIP: '10.43.0.5' } };
}

describe('loadBalancerIngress', () => {
  test('every Ready node answers when none is labelled, sorted by address', () => {
    assert.deepEqual(loadBalancerIngress([node('b', '192.168.1.10'), node('a', '192.168.1.9'), node('c', '192.168.1.11', { ready: false })]), [{ ip: '192.168.1.9' }, { ip: '192.168.1.10' }]);
  });

  test('when any node is labelled for load balancing, only the labelled Ready ones answer', () => {
    const nodes = [node('a', '192.168.1.9'), node('b', '192.168.1.10', { lb: 'true' }), node('c', '192.168.1.11', { lb: 'true', ready: false }), node('d', '192.168.1.12', { lb: 'false' })];
    assert.deepEqual(loadBalancerIngress(nodes), [{ ip: '192.168.1.10' }]);
  });
});

async function setup(t: TestContext) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  const controller = new ServiceLbController({ store, clock });
  controller.start();
  t.after(async () => {
    await controller.stop();
    await store.close();
  });
  const svc = (name = 'web') => store.get('Service', 'default', name) as Service;
  const put = async (obj: KObject) => {
    const cur = store.get(obj.kind, obj.metadata.namespace, obj.metadata.name);
    await store.propose({ ops: [{ type: 'put', object: obj, precondition: cur ? { resourceVersion: cur.metadata.resourceVersion! } : { absent: true } }] });
  };
  const ingress = (name = 'web') => (svc(name).status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',');
  return { store, controller, svc, put, ingress };
}

describe('ServiceLb controller', () => {
  test('a LoadBalancer Service shows the boards\' addresses, following nodes as they come, turn not ready and go', async (t) => {
    const { store, put, ingress } = await setup(t);
    await seed(store, node('a', '192.168.1.9'), service('web', 'LoadBalancer'), service('plain', 'ClusterIP'));
    await waitFor(() => ingress() === '192.168.1.9', 'the first board');
    await put(node('b', '192.168.1.10'));
    await waitFor(() => ingress() === '192.168.1.9,192.168.1.10', 'the second board');
    await put({ ...store.get('Node', undefined, 'a')!, status: node('a', '192.168.1.9', { ready: false }).status });
    await waitFor(() => ingress() === '192.168.1.10', 'the not-ready board to leave');
    await store.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'b' }] });
    await waitFor(() => ingress() === '', 'no board left');
    assert.equal(ingress('plain'), '');
  });

  test('labelling a node narrows the ingress to it; a Service that stops being a LoadBalancer loses its ingress', async (t) => {
    const { store, put, ingress, svc } = await setup(t);
    await seed(store, node('a', '192.168.1.9'), node('b', '192.168.1.10'), service('web', 'LoadBalancer'));
    await waitFor(() => ingress() === '192.168.1.9,192.168.1.10', 'both boards');
    await put({ ...store.get('Node', undefined, 'b')!, metadata: { ...store.get('Node', undefined, 'b')!.metadata, labels: { [LB_NODE_LABEL]: 'true' } } });
    await waitFor(() => ingress() === '192.168.1.10', 'the labelled board only');
    await put({ ...svc(), spec: { ...svc().spec, type: 'NodePort' } });
    await waitFor(() => svc().status === undefined, 'the ingress to go');
  });
});
