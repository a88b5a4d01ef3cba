import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import { ensureSystemNamespaces } from './server.js';
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
