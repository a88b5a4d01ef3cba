import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, Pod } from '../proto/model.js';
import { createMemoryStore } from './store-memory.js';
import { AssignmentFeed, type AssignmentMessage } from './node-assignments.js';

function pod(name: string, nodeName: string | undefined, cm?: string, secret?: string): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: {
      nodeName,
      containers: [{ name: 'c', image: 'busybox', env: secret ? [{ name: 'S', valueFrom: { secretKeyRef: { name: secret, key: 'k' } } }] : [] }],
      volumes: cm ? [{ name: 'v', configMap: { name: cm } }] : [],
    },
  };
}
const cm = (name: string): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: '1' } });
const secret = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, data: { k: 'eA==' } });

function summary(msgs: AssignmentMessage[]): string[] {
  return msgs.map((m) => `${m.type}${m.object ? ` ${m.object.kind}/${m.object.metadata.name}` : ''}`);
}

describe('AssignmentFeed', () => {
  test('a node sees its own pods and what they use, and nothing of other nodes', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [cm('mine'), cm('theirs'), secret('s1'), secret('other'), pod('a', 'n1', 'mine', 's1'), pod('b', 'n2', 'theirs', 'other')].map((object) => ({ type: 'put' as const, object })) });
    const got: AssignmentMessage[] = [];
    const feed = new AssignmentFeed(store, 'n1', (m) => got.push(m));
    feed.start();
    assert.deepEqual(summary(got), ['SYNC ConfigMap/mine', 'SYNC Secret/s1', 'SYNC Pod/a', 'SYNCED']);
    feed.cancel();
  });

  test('a pod bound later arrives after the config it reads, and changes to unrelated config are not sent', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [{ type: 'put', object: cm('cfg') }, { type: 'put', object: cm('unrelated') }] });
    const got: AssignmentMessage[] = [];
    const feed = new AssignmentFeed(store, 'n1', (m) => got.push(m));
    feed.start();
    await store.propose({ ops: [{ type: 'put', object: pod('a', undefined, 'cfg') }] });
    await store.propose({ ops: [{ type: 'put', object: pod('a', 'n1', 'cfg') }] });
    await store.propose({ ops: [{ type: 'put', object: { ...cm('unrelated'), data: { b: '2' } } }] });
    await store.propose({ ops: [{ type: 'put', object: { ...cm('cfg'), data: { a: '2' } } }] });
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'a' }] });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(summary(got), ['SYNCED', 'ADDED ConfigMap/cfg', 'ADDED Pod/a', 'MODIFIED ConfigMap/cfg', 'DELETED Pod/a']);
    feed.cancel();
  });

  test('a pod moved to another node is deleted from this node\'s view', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [{ type: 'put', object: pod('a', 'n1') }] });
    const got: AssignmentMessage[] = [];
    const feed = new AssignmentFeed(store, 'n1', (m) => got.push(m));
    feed.start();
    await store.propose({ ops: [{ type: 'put', object: pod('a', 'n2') }] });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(summary(got), ['SYNC Pod/a', 'SYNCED', 'DELETED Pod/a']);
    feed.cancel();
  });
});
