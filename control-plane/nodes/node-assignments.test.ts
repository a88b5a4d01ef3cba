import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, Pod } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import { AssignmentFeed, podReferences, type AssignmentMessage } from './node-assignments.js';

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

describe('podReferences', () => {
  test('envFrom ConfigMaps and Secrets of every container count as references', () => {
    const p = pod('p', 'n1');
    p.spec.initContainers = [{ name: 'i', image: 'busybox', envFrom: [{ secretRef: { name: 'init-secret' } }] }];
    p.spec.containers[0]!.envFrom = [{ configMapRef: { name: 'app-cfg' }, prefix: 'A_' }, { secretRef: { name: 'app-secret', optional: true } }];
    const refs = podReferences(p);
    assert.deepEqual([...refs.configMaps], ['app-cfg']);
    assert.deepEqual([...refs.secrets].sort(), ['app-secret', 'init-secret']);
  });
});

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
    assert.deepEqual(summary(got), ['SYNCED', 'ADDED ConfigMap/cfg', 'ADDED Pod/a', 'MODIFIED ConfigMap/cfg', 'DELETED Pod/a', 'DELETED ConfigMap/cfg']);
    feed.cancel();
  });

  test('config that no pod of the node uses any more is deleted from its view, and a pod naming it again gets the current copy', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [cm('cfg'), secret('s1'), pod('a', 'n1', 'cfg', 's1'), pod('b', 'n1', 'cfg')].map((object) => ({ type: 'put' as const, object })) });
    const got: AssignmentMessage[] = [];
    const feed = new AssignmentFeed(store, 'n1', (m) => got.push(m));
    feed.start();
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'a' }] });
    await store.propose({ ops: [{ type: 'put', object: pod('b', 'n2', 'cfg') }] });
    await store.propose({ ops: [{ type: 'put', object: { ...cm('cfg'), data: { a: '2' } } }] });
    await store.propose({ ops: [{ type: 'put', object: pod('c', 'n1', 'cfg') }] });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(summary(got), [
      'SYNC ConfigMap/cfg', 'SYNC Secret/s1', 'SYNC Pod/a', 'SYNC Pod/b', 'SYNCED',
      // b still reads cfg; only the secret goes with a.
      'DELETED Pod/a', 'DELETED Secret/s1',
      'DELETED Pod/b', 'DELETED ConfigMap/cfg',
      'ADDED ConfigMap/cfg', 'ADDED Pod/c',
    ]);
    assert.deepEqual(got.at(-2)?.object?.data, { a: '2' });
    feed.cancel();
  });

  test('a pod that stops naming a config map takes it out of the node\'s view', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [cm('old'), cm('new'), pod('a', 'n1', 'old')].map((object) => ({ type: 'put' as const, object })) });
    const got: AssignmentMessage[] = [];
    const feed = new AssignmentFeed(store, 'n1', (m) => got.push(m));
    feed.start();
    await store.propose({ ops: [{ type: 'put', object: pod('a', 'n1', 'new') }] });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(summary(got), ['SYNC ConfigMap/old', 'SYNC Pod/a', 'SYNCED', 'ADDED ConfigMap/new', 'MODIFIED Pod/a', 'DELETED ConfigMap/old']);
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
