import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError, type BrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import { planApply, planDelete } from './api-apply.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';

function uids(): () => string {
  let n = 0;
  return () => `uid-${++n}`;
}

function ns(name: string): KObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

function deploy(replicas: number, extra: Partial<KObject['metadata']> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, ...extra },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  };
}

async function storeWithDefault(): Promise<{ store: Store; clock: FakeClock }> {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await store.propose(planApply(store, [ns('default')], { clock, newUid: uids() }).command);
  return { store, clock };
}

/** Plans and commits, as the API does. */
async function applyAll(store: Store, clock: FakeClock, objects: KObject[]): Promise<ReturnType<typeof planApply>> {
  const plan = planApply(store, objects, { clock, newUid: uids() });
  if (plan.command.ops.length > 0) await store.propose(plan.command);
  return plan;
}

describe('planApply', () => {
  test('a new object is created with a uid, a creation time, generation 1 and no status', async () => {
    const { store, clock } = await storeWithDefault();
    const plan = planApply(store, [{ ...deploy(1), status: { replicas: 9 } }], { clock, newUid: () => 'the-uid' });
    assert.equal(plan.results[0]!.action, 'created');
    const obj = plan.results[0]!.object;
    assert.equal(obj.metadata.uid, 'the-uid');
    assert.equal(obj.metadata.creationTimestamp, new Date(clock.now()).toISOString());
    assert.equal(obj.metadata.generation, 1);
    assert.equal(obj.status, undefined);
    assert.deepEqual(plan.command.ops[0]!.type === 'put' && plan.command.ops[0]!.precondition, { absent: true });
  });

  test('applying the same object again is unchanged and plans no write', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    const before = store.get('Deployment', 'default', 'web')!;
    const plan = planApply(store, [deploy(1)], { clock });
    assert.equal(plan.results[0]!.action, 'unchanged');
    assert.equal(plan.command.ops.length, 0);
    assert.equal(plan.results[0]!.object.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test('a spec change is configured, keeps uid, creation time and status, and bumps generation', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    const stored = store.get('Deployment', 'default', 'web')!;
    await store.propose({ ops: [{ type: 'put', object: { ...stored, status: { replicas: 1 } } }] });
    await clock.advance(60_000);
    const plan = planApply(store, [deploy(3)], { clock, newUid: () => 'other' });
    const r = plan.results[0]!;
    assert.equal(r.action, 'configured');
    assert.equal(r.object.metadata.uid, stored.metadata.uid);
    assert.equal(r.object.metadata.creationTimestamp, stored.metadata.creationTimestamp);
    assert.equal(r.object.metadata.generation, 2);
    assert.deepEqual(r.object.status, { replicas: 1 });
    const op = plan.command.ops[0]!;
    assert.ok(op.type === 'put');
    assert.deepEqual(op.precondition, { resourceVersion: store.get('Deployment', 'default', 'web')!.metadata.resourceVersion });
  });

  test('a label-only change is configured without a generation bump', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    const plan = planApply(store, [deploy(1, { labels: { app: 'web', tier: 'front' } })], { clock });
    assert.equal(plan.results[0]!.action, 'configured');
    assert.equal(plan.results[0]!.object.metadata.generation, 1);
  });

  test('a stale resourceVersion is a conflict naming both versions', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    const rv1 = store.get('Deployment', 'default', 'web')!.metadata.resourceVersion!;
    await applyAll(store, clock, [deploy(2)]);
    const rv2 = store.get('Deployment', 'default', 'web')!.metadata.resourceVersion!;
    assert.throws(
      () => planApply(store, [deploy(3, { resourceVersion: rv1 })], { clock }),
      (e: unknown) => isBrambleError(e, 'CONFLICT') && e.message.includes(`"${rv1}"`) && e.message.includes(`"${rv2}"`),
    );
  });

  test('the current resourceVersion is accepted as the precondition', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    const rv = store.get('Deployment', 'default', 'web')!.metadata.resourceVersion!;
    const plan = planApply(store, [deploy(2, { resourceVersion: rv })], { clock });
    assert.equal(plan.results[0]!.action, 'configured');
    assert.equal(plan.results[0]!.object.metadata.resourceVersion, undefined);
  });

  test('a namespaced object needs its namespace to exist', async () => {
    const { store, clock } = await storeWithDefault();
    assert.throws(
      () => planApply(store, [{ ...deploy(1), metadata: { name: 'web', namespace: 'shop' } }], { clock }),
      (e: unknown) => isBrambleError(e, 'NOT_FOUND') && e.message.includes('namespace "shop" not found'),
    );
  });

  test('a namespace created earlier in the same request is enough', async () => {
    const { store, clock } = await storeWithDefault();
    const plan = planApply(store, [ns('shop'), { ...deploy(1), metadata: { name: 'web', namespace: 'shop' } }], { clock, newUid: uids() });
    assert.deepEqual(plan.results.map((r) => r.action), ['created', 'created']);
    assert.equal(plan.command.ops.length, 2);
  });

  test('a namespace later in the same request is enough too, so a directory applies whatever its files are called', async () => {
    const { store, clock } = await storeWithDefault();
    const plan = planApply(store, [{ ...deploy(1), metadata: { name: 'web', namespace: 'shop' } }, ns('shop')], { clock, newUid: uids() });
    assert.deepEqual(plan.results.map((r) => r.action), ['created', 'created']);
  });

  test('Secret stringData is merged into data as base64 and dropped', async () => {
    const { store, clock } = await storeWithDefault();
    const secret: KObject = {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' },
      type: 'Opaque', data: { a: Buffer.from('old').toString('base64') }, stringData: { b: 'pässword', a: 'new' },
    };
    const plan = await applyAll(store, clock, [secret]);
    const obj = plan.results[0]!.object;
    assert.equal(obj.stringData, undefined);
    assert.deepEqual(obj.data, { a: Buffer.from('new').toString('base64'), b: Buffer.from('pässword').toString('base64') });
    assert.equal(planApply(store, [secret], { clock }).results[0]!.action, 'unchanged');
  });

  test('a ConfigMap data change is configured without a generation bump', async () => {
    const { store, clock } = await storeWithDefault();
    const cm = (v: string): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { k: v } });
    await applyAll(store, clock, [cm('1')]);
    const plan = planApply(store, [cm('2')], { clock });
    assert.equal(plan.results[0]!.action, 'configured');
    assert.equal(plan.results[0]!.object.metadata.generation, 1);
    assert.deepEqual(plan.results[0]!.object.data, { k: '2' });
  });

  test('a Pod manifest without nodeName keeps the node the scheduler chose', async () => {
    const { store, clock } = await storeWithDefault();
    const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    await applyAll(store, clock, [pod]);
    const stored = store.get('Pod', 'default', 'p')!;
    await store.propose({ ops: [{ type: 'put', object: { ...stored, spec: { ...(stored.spec as object), nodeName: 'pi-1' } } }] });
    assert.equal(planApply(store, [pod], { clock }).results[0]!.action, 'unchanged');
  });

  test('the same object twice in one request is refused', async () => {
    const { store, clock } = await storeWithDefault();
    assert.throws(() => planApply(store, [deploy(1), deploy(2)], { clock }), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && e.message.includes('document 1'));
  });

  test('a resourceVersion on an object that does not exist is a conflict', async () => {
    const { store, clock } = await storeWithDefault();
    assert.throws(() => planApply(store, [deploy(1, { resourceVersion: '7' })], { clock }), (e: unknown) => isBrambleError(e, 'CONFLICT'));
  });
});

describe('planApply: immutable selectors', () => {
  type Selector = Record<string, unknown>;

  function workload(kind: 'Deployment' | 'DaemonSet', name: string, selector: Selector | undefined, labels: Record<string, string>): KObject {
    const template = { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    return { apiVersion: 'apps/v1', kind, metadata: { name, namespace: 'default' }, spec: { ...(selector ? { selector } : {}), template } };
  }

  const configMap = (name: string): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { k: 'v' } });

  function refusal(fn: () => unknown): BrambleError {
    try {
      fn();
    } catch (e) {
      if (isBrambleError(e)) return e;
      throw e;
    }
    assert.fail('expected the apply to be refused');
  }

  for (const kind of ['Deployment', 'DaemonSet'] as const) {
    test(`changing a ${kind}'s selector is VALIDATION_FAILED at spec.selector with its document index, and nothing is written`, async () => {
      const { store, clock } = await storeWithDefault();
      await applyAll(store, clock, [workload(kind, 'web', { matchLabels: { app: 'web' } }, { app: 'web' })]);
      const before = store.revision();
      const changed = workload(kind, 'web', { matchLabels: { app: 'web', tier: 'front' } }, { app: 'web', tier: 'front' });
      const err = refusal(() => planApply(store, [configMap('new-cfg'), changed], { clock }));
      assert.equal(err.code, 'VALIDATION_FAILED');
      const what = kind.toLowerCase();
      assert.deepEqual(err.details, [{
        path: 'spec.selector',
        message: `field is immutable: the stored ${what} selects app=web: current value is app=web,tier=front; delete the ${what} and apply it again to change its selector`,
        document: 1,
      }]);
      assert.match(err.message, new RegExp(`^documents\\[1\\]: ${what} "web" is invalid: spec\\.selector: field is immutable`));
      assert.equal(store.revision(), before);
      assert.equal(store.get('ConfigMap', 'default', 'new-cfg'), undefined);
    });
  }

  test('matchExpressions are part of the selector: adding one is a change', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [workload('Deployment', 'web', { matchLabels: { app: 'web' } }, { app: 'web' })]);
    const withExpression = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] };
    const err = refusal(() => planApply(store, [workload('Deployment', 'web', withExpression, { app: 'web' })], { clock }));
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.match(err.details[0]!.message, /current value is app=web,tier!=db;/);
  });

  test('every document that changes a selector is listed in one error', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [
      workload('Deployment', 'a', { matchLabels: { app: 'a' } }, { app: 'a' }),
      workload('DaemonSet', 'b', { matchLabels: { app: 'b' } }, { app: 'b' }),
    ]);
    const err = refusal(() => planApply(store, [
      workload('Deployment', 'a', { matchLabels: { app: 'a2' } }, { app: 'a2' }),
      workload('DaemonSet', 'b', { matchLabels: { app: 'b2' } }, { app: 'b2' }),
    ], { clock }));
    assert.deepEqual(err.details.map((p) => [p.document, p.path]), [[0, 'spec.selector'], [1, 'spec.selector']]);
    assert.match(err.message, /^2 of 2 documents are invalid: documents\[0\]: deployment "a" .* \| documents\[1\]: daemonset "b" /);
  });

  test('the same selector written differently is no change, and the rest of the spec may change', async () => {
    const { store, clock } = await storeWithDefault();
    const selector = { matchLabels: { app: 'web', tier: 'front' } };
    await applyAll(store, clock, [workload('Deployment', 'web', selector, { app: 'web', tier: 'front' })]);
    const reordered = { matchExpressions: [], matchLabels: { tier: 'front', app: 'web' } };
    const plan = planApply(store, [workload('Deployment', 'web', reordered, { app: 'web', tier: 'front', extra: 'yes' })], { clock });
    assert.equal(plan.results[0]!.action, 'configured');
  });

  test('a stored workload without a selector (from before selectors were required) accepts one', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [workload('Deployment', 'old', undefined, { app: 'old' })]);
    const plan = planApply(store, [workload('Deployment', 'old', { matchLabels: { app: 'old' } }, { app: 'old' })], { clock });
    assert.equal(plan.results[0]!.action, 'configured');
  });

  test('a Deployment and a DaemonSet may each be created with any selector', async () => {
    const { store, clock } = await storeWithDefault();
    const plan = planApply(store, [
      workload('Deployment', 'web', { matchLabels: { app: 'web' } }, { app: 'web' }),
      workload('DaemonSet', 'web', { matchLabels: { app: 'agent' } }, { app: 'agent' }),
    ], { clock, newUid: uids() });
    assert.deepEqual(plan.results.map((r) => r.action), ['created', 'created']);
  });
});

describe('planDelete', () => {
  test('deleting a missing object is NOT_FOUND naming kind, name and namespace', async () => {
    const { store } = await storeWithDefault();
    assert.throws(
      () => planDelete(store, { kind: 'Deployment', namespace: 'default', name: 'web' }),
      (e: unknown) => isBrambleError(e, 'NOT_FOUND') && e.message === 'deployment "web" not found in namespace "default"',
    );
  });

  test('the default namespace cannot be deleted', async () => {
    const { store } = await storeWithDefault();
    assert.throws(() => planDelete(store, { kind: 'Namespace', name: 'default' }), (e: unknown) => isBrambleError(e, 'FORBIDDEN'));
  });

  test('a stale resourceVersion is a conflict', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    assert.throws(() => planDelete(store, { kind: 'Deployment', name: 'web', resourceVersion: '1' }), (e: unknown) => isBrambleError(e, 'CONFLICT'));
  });

  test('deleting a namespace deletes everything in it in one command', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [ns('shop'), { ...deploy(1), metadata: { name: 'web', namespace: 'shop' } }, deploy(1)]);
    const plan = planDelete(store, { kind: 'Namespace', name: 'shop' });
    const commit = await store.propose(plan.command);
    assert.equal(commit.objects[plan.opIndex]!.kind, 'Namespace');
    assert.equal(store.get('Deployment', 'shop', 'web'), undefined);
    assert.equal(store.get('Namespace', undefined, 'shop'), undefined);
    assert.ok(store.get('Deployment', 'default', 'web'), 'objects of other namespaces stay');
  });
});

describe('graceful pod deletion', () => {
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1', resourceVersion: '1' }, spec: {} };
  const pod = (nodeName?: string, deletionTimestamp?: string) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', resourceVersion: '2', ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
  });
  const view = (objs: KObject[]) => ({
    get: (kind: string, ns: string | undefined, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? undefined) === ns),
    list: () => ({ items: [], revision: 2 }),
  });

  test('a pod bound to a node is marked with deletionTimestamp rather than removed', () => {
    const plan = planDelete(view([node, pod('pi-1')] as KObject[]), { kind: 'Pod', namespace: 'default', name: 'p', now: '2026-01-01T00:00:00.000Z' });
    assert.equal(plan.command.ops.length, 1);
    const op = plan.command.ops[0]!;
    assert.equal(op.type, 'put');
    assert.equal(op.type === 'put' && op.object.metadata.deletionTimestamp, '2026-01-01T00:00:00.000Z');
  });

  test('force, an unscheduled pod, or a pod whose node is gone is removed at once', () => {
    for (const [objs, force] of [[[node, pod('pi-1')], true], [[pod(undefined)], false], [[pod('gone')], false]] as const) {
      const plan = planDelete(view(objs as unknown as KObject[]), { kind: 'Pod', namespace: 'default', name: 'p', force });
      assert.equal(plan.command.ops[0]!.type, 'delete');
    }
  });

  test('a grace period asked for with the delete is stored on the marked pod for its agent', () => {
    const plan = planDelete(view([node, pod('pi-1')] as KObject[]), { kind: 'Pod', namespace: 'default', name: 'p', gracePeriodSeconds: 5 });
    const op = plan.command.ops[0]!;
    assert.equal(op.type === 'put' && op.object.metadata.deletionGracePeriodSeconds, 5);
    const plain = planDelete(view([node, pod('pi-1')] as KObject[]), { kind: 'Pod', namespace: 'default', name: 'p' }).command.ops[0]!;
    assert.equal(plain.type === 'put' && plain.object.metadata.deletionGracePeriodSeconds, undefined);
  });

  test('deleting a pod that is already terminating writes nothing', () => {
    const plan = planDelete(view([node, pod('pi-1', '2026-01-01T00:00:00.000Z')] as KObject[]), { kind: 'Pod', namespace: 'default', name: 'p' });
    assert.equal(plan.command.ops.length, 0);
  });
});

describe('delete propagation policies', () => {
  const owned = (name: string, ownerUid: string): KObject => ({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: ownerUid }] },
    data: { k: 'v' },
  });

  test('an orphan delete removes the owner and strips the reference from every dependent in the same command', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    const uid = store.get('Deployment', 'default', 'web')!.metadata.uid!;
    await applyAll(store, clock, [owned('dep', uid), owned('stranger', 'someone-else')]);
    const plan = planDelete(store, { kind: 'Deployment', name: 'web', propagationPolicy: 'Orphan' });
    assert.equal(plan.command.ops.length, 2);
    const commit = await store.propose(plan.command);
    assert.equal(commit.objects[plan.opIndex]!.kind, 'Deployment');
    assert.equal(store.get('Deployment', 'default', 'web'), undefined);
    assert.equal(store.get('ConfigMap', 'default', 'dep')!.metadata.ownerReferences, undefined);
    assert.equal(store.get('ConfigMap', 'default', 'stranger')!.metadata.ownerReferences?.length, 1);
  });

  test('a foreground delete only marks the owner, and asking again changes nothing', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    const now = new Date(clock.now()).toISOString();
    await store.propose(planDelete(store, { kind: 'Deployment', name: 'web', propagationPolicy: 'Foreground', now }).command);
    const marked = store.get('Deployment', 'default', 'web')!;
    assert.equal(marked.metadata.deletionTimestamp, now);
    assert.deepEqual(marked.metadata.finalizers, ['foregroundDeletion']);
    assert.equal(planDelete(store, { kind: 'Deployment', name: 'web', propagationPolicy: 'Foreground' }).command.ops.length, 0);
  });

  test('re-applying a manifest during a foreground delete keeps the finalizer', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    await store.propose(planDelete(store, { kind: 'Deployment', name: 'web', propagationPolicy: 'Foreground' }).command);
    await applyAll(store, clock, [deploy(2)]);
    assert.deepEqual(store.get('Deployment', 'default', 'web')!.metadata.finalizers, ['foregroundDeletion']);
  });

  test('a background delete of an owner in a foreground delete removes it at once', async () => {
    const { store, clock } = await storeWithDefault();
    await applyAll(store, clock, [deploy(1)]);
    await store.propose(planDelete(store, { kind: 'Deployment', name: 'web', propagationPolicy: 'Foreground' }).command);
    await store.propose(planDelete(store, { kind: 'Deployment', name: 'web' }).command);
    assert.equal(store.get('Deployment', 'default', 'web'), undefined);
  });
});
