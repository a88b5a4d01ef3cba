import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { LB_NODE_LABEL, type NodeObject, type Service } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { KObject } from '../../proto/model.js';
import { seed } from '../testing/replicaset-fixtures.js';
import { waitFor } from '../../test/support/store-contract.js';
import { LB_PORTS_CONDITION, ServiceLbController, loadBalancerIngress } from './controller-service-lb.js';
import { NodeHeartbeats } from '../nodes/node-heartbeats.js';
import { FakeRecorder } from './event-recorder.js';
import { findCondition } from '../../proto/util/conditions.js';

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
  const heartbeats = new NodeHeartbeats(clock);
  const recorder = new FakeRecorder();
  const controller = new ServiceLbController({ store, clock, portConflicts: heartbeats, recorder });
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
  const condition = (name = 'web') => findCondition(svc(name).status?.conditions, LB_PORTS_CONDITION);
  return { store, controller, svc, put, ingress, heartbeats, recorder, condition, clock };
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

describe('ServiceLb controller and ports taken on a board', () => {
  const taken = (service = 'web', port = 80, protocol = 'TCP') => [{ namespace: 'default', service, protocol, port }];

  test('a board reporting a taken port leaves the ingress, the condition says PortInUse naming it, and one Warning event is recorded however many beats repeat it', async (t) => {
    const { store, ingress, heartbeats, recorder, condition } = await setup(t);
    await seed(store, node('a', '192.168.1.9'), node('b', '192.168.1.10'), service('web', 'LoadBalancer'), service('other', 'LoadBalancer'));
    await waitFor(() => ingress() === '192.168.1.9,192.168.1.10' && condition()?.status === 'True', 'both boards, ports available');
    assert.equal(condition()?.reason, 'Available');
    heartbeats.observe('a', null, [], taken());
    await waitFor(() => ingress() === '192.168.1.10', 'board a to leave the ingress');
    const c = condition()!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'PortInUse');
    assert.match(c.message!, /port TCP\/80 is in use on node a\b/);
    assert.equal(ingress('other'), '192.168.1.9,192.168.1.10', 'another Service on the same boards is not concerned');
    assert.equal(findCondition((store.get('Service', 'default', 'other') as Service).status?.conditions, LB_PORTS_CONDITION)?.status, 'True');
    await waitFor(() => recorder.reasons().includes('PortInUse'), 'the event');
    const rv = store.get('Service', 'default', 'web')!.metadata.resourceVersion;
    for (let i = 0; i < 5; i++) heartbeats.observe('a', null, [], taken());
    heartbeats.observe('b', null, [], []);
    await new Promise((r) => setImmediate(r));
    assert.equal(store.get('Service', 'default', 'web')!.metadata.resourceVersion, rv, 'repeated beats write nothing');
    assert.deepEqual(recorder.events.filter((e) => e.reason === 'PortInUse').map((e) => `${e.type} ${e.kind} ${e.namespace}/${e.name}`), ['Warning Service default/web']);
  });

  test('a port taken on both boards names both; freed, the boards come back and the condition turns True', async (t) => {
    const { store, ingress, heartbeats, condition, recorder } = await setup(t);
    await seed(store, node('a', '192.168.1.9'), node('b', '192.168.1.10'), service('web', 'LoadBalancer'));
    await waitFor(() => condition()?.status === 'True', 'ports available');
    heartbeats.observe('a', null, [], taken());
    heartbeats.observe('b', null, [], taken());
    await waitFor(() => ingress() === '' && /nodes a, b/.test(condition()?.message ?? ''), 'both boards out, both named');
    heartbeats.observe('a', null, [], []);
    await waitFor(() => ingress() === '192.168.1.9' && /on node b\b/.test(condition()?.message ?? ''), 'board a back');
    assert.equal(recorder.reasons().filter((r) => r === 'PortInUse').length, 2, 'a changed conflict is a new event');
    heartbeats.forget('b');
    await waitFor(() => ingress() === '192.168.1.9,192.168.1.10' && condition()?.status === 'True' && condition()?.reason === 'Available', 'everything available again');
  });

  test('a conflict on a node the cluster does not have, or for another Service, changes nothing', async (t) => {
    const { store, ingress, heartbeats, condition } = await setup(t);
    await seed(store, node('a', '192.168.1.9'), service('web', 'LoadBalancer'));
    heartbeats.observe('ghost', null, [], taken());
    heartbeats.observe('a', null, [], taken('elsewhere'));
    await waitFor(() => ingress() === '192.168.1.9' && condition()?.status === 'True', 'the board in the ingress');
  });

  test('a Service that stops being a LoadBalancer loses the condition with its ingress', async (t) => {
    const { store, put, svc, heartbeats, condition } = await setup(t);
    await seed(store, node('a', '192.168.1.9'), node('b', '192.168.1.10'), service('web', 'LoadBalancer'));
    heartbeats.observe('a', null, [], taken());
    await waitFor(() => condition()?.status === 'False', 'the conflict shown');
    await put({ ...svc(), spec: { ...svc().spec, type: 'NodePort' } });
    await waitFor(() => svc().status === undefined, 'the status to go');
  });
});
