import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import type { KObject, Service } from '../../proto/model.js';
import { openLevelStore } from '../store/store-level.js';
import type { Store } from '../store/store.js';
import { planApply } from './api-apply.js';

const clock = new FakeClock();

function svc(name: string, spec: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }], ...spec } };
}

async function apply(store: Store, objects: KObject[]): Promise<Service[]> {
  const plan = planApply(store, objects, { clock });
  const commit = await store.propose(plan.command);
  return plan.results.map((r) => commit.objects[r.opIndex!] as Service);
}

test('after a restart the allocator reads what the stored Services hold and never hands an address or a port out twice', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bramble-ipam-'));
  try {
    let store = await openLevelStore({ dataDir });
    await apply(store, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }]);
    const [a, b] = await apply(store, [svc('a'), svc('b', { type: 'NodePort' })]);
    await store.close();

    store = await openLevelStore({ dataDir });
    try {
      const [c] = await apply(store, [svc('c', { type: 'NodePort' })]);
      assert.deepEqual([a!.spec.clusterIP, b!.spec.clusterIP, c!.spec.clusterIP], ['10.43.0.2', '10.43.0.3', '10.43.0.4']);
      assert.notEqual(c!.spec.ports[0]!.nodePort, b!.spec.ports[0]!.nodePort);
      // Re-applying b's manifest after the restart keeps what it was given.
      const again = planApply(store, [svc('b', { type: 'NodePort' })], { clock });
      assert.equal(again.results[0]!.action, 'unchanged');
    } finally {
      await store.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
