import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, NodeObject } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import { NetworkFeed, type NetworkMessage } from './node-network-feed.js';

function node(name: string, cidr: string, extra: Partial<NodeObject['status']> = {}): NodeObject {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { podCIDR: cidr, unschedulable: false },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.1.2' }], capacity: { cpu: '4' }, ...extra },
  };
}
const svc = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
const cm = (name: string): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: {} });

function summary(msgs: NetworkMessage[]): string[] {
  return msgs.map((m) => `${m.type}${m.object ? ` ${m.object.kind}/${m.object.metadata.name}` : ''}`);
}

describe('NetworkFeed', () => {
  test('a board gets every Node, Service and Endpoints, and no other kind', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [node('n1', '10.42.0.0/24'), svc('web'), cm('cfg'), { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets: [] }].map((object) => ({ type: 'put' as const, object })) });
    const got: NetworkMessage[] = [];
    const feed = new NetworkFeed(store, (m) => got.push(m));
    feed.start();
    assert.deepEqual(summary(got), ['SYNC Node/n1', 'SYNC Service/web', 'SYNC Endpoints/web', 'SYNCED']);
    feed.cancel();
  });

  test('a Node is sent trimmed to name, labels, pod CIDR and addresses', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [{ type: 'put', object: node('n1', '10.42.3.0/24') }] });
    const got: NetworkMessage[] = [];
    const feed = new NetworkFeed(store, (m) => got.push(m));
    feed.start();
    const sent = got[0]!.object as NodeObject;
    assert.deepEqual(sent.spec, { podCIDR: '10.42.3.0/24' });
    assert.deepEqual(sent.status, { addresses: [{ type: 'InternalIP', address: '192.168.1.2' }] });
    assert.deepEqual(sent.metadata.labels, { 'kubernetes.io/hostname': 'n1' });
    feed.cancel();
  });

  test('a Node change boards do not need (capacity, conditions) is not sent, an address change is', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [{ type: 'put', object: node('n1', '10.42.3.0/24') }] });
    const got: NetworkMessage[] = [];
    const feed = new NetworkFeed(store, (m) => got.push(m));
    feed.start();
    await store.propose({ ops: [{ type: 'put', object: node('n1', '10.42.3.0/24', { capacity: { cpu: '2' } }) }] });
    await store.propose({ ops: [{ type: 'put', object: node('n1', '10.42.3.0/24', { addresses: [{ type: 'InternalIP', address: '192.168.1.9' }] }) }] });
    await store.propose({ ops: [{ type: 'put', object: svc('web') }] });
    await store.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'n1' }] });
    await store.propose({ ops: [{ type: 'put', object: cm('x') }] });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(summary(got), ['SYNC Node/n1', 'SYNCED', 'MODIFIED Node/n1', 'ADDED Service/web', 'DELETED Node/n1']);
    feed.cancel();
  });
});
