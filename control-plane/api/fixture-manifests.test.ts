// The Kubernetes-documentation manifests in test/fixtures/manifests are what
// people will try first: each must apply to a new cluster as it is, with no
// namespace or other object made beforehand (the DaemonSet lives in kube-system).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { silentLogger } from '../../proto/util/log.js';
import { ClusterApi } from './api-cluster.js';
import { readManifests } from '../schema/manifest.js';
import { validateObjects } from '../schema/schema.js';
import { ensureSystemNamespaces } from '../server.js';
import { createMemoryStore } from '../store/store-memory.js';
import { createTokenRegistry } from '../pki/token-registry.js';
import { fixturesDir } from '../testing/manifest-fuzz-fixtures.js';

/** A cluster as `bramble server` leaves it on its first start: an empty store plus the system namespaces. */
async function freshCluster(): Promise<ClusterApi> {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await ensureSystemNamespaces(store, clock);
  return new ClusterApi({
    store, clock, logger: silentLogger(), validate: validateObjects,
    tokens: createTokenRegistry({ store, caHash: 'a'.repeat(64), clock }),
    version: '0.0.0', nodeName: 'cp-1',
  });
}

/** What `bramble apply -f` sends: every object of the files, as JSON. */
async function manifestObjects(...files: string[]): Promise<string[]> {
  const objects = await Promise.all(files.map((f) => readManifests(f)));
  return objects.flat().map((o) => JSON.stringify(o));
}

const dir = fixturesDir();
const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

describe('fixture manifests on a new cluster', () => {
  test('there are fixtures to apply, the kube-system DaemonSet among them', () => {
    assert.ok(files.length >= 9, `found ${files.join(', ')}`);
    assert.ok(files.includes('daemonset.yaml'));
  });

  for (const file of files) {
    test(`${file} is accepted, and applying it again changes nothing`, async () => {
      const api = await freshCluster();
      const objects = await manifestObjects(path.join(dir, file));
      const first = await api.apply({ objects, dryRun: false });
      assert.deepEqual(first.results!.map((r) => r.action), objects.map(() => 'created'));
      const again = await api.apply({ objects, dryRun: false });
      assert.deepEqual(again.results!.map((r) => r.action), objects.map(() => 'unchanged'));
      assert.equal(again.revision, first.revision);
    });
  }

  test('all of them together are accepted in one apply', async () => {
    const api = await freshCluster();
    const objects = await manifestObjects(...files.map((f) => path.join(dir, f)));
    const res = await api.apply({ objects, dryRun: false });
    assert.equal(res.results!.length, objects.length);
    assert.ok(res.results!.every((r) => r.action === 'created'));
    const daemonSet = res.results!.find((r) => r.kind === 'DaemonSet')!;
    assert.equal(daemonSet.namespace, 'kube-system');
  });

  test('the README\'s docs/examples directory applies in one go, though its namespace file sorts after the objects in it', async () => {
    const api = await freshCluster();
    const examples = path.join(dir, '..', '..', '..', 'docs', 'examples');
    const objects = await manifestObjects(examples);
    const res = await api.apply({ objects, dryRun: false });
    assert.ok(res.results!.every((r) => r.action === 'created'), JSON.stringify(res.results!.map((r) => r.action)));
    assert.ok(res.results!.some((r) => r.kind === 'Namespace' && r.name === 'shop'));
  });
});
