import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../proto/model.js';
import { planDrain, type DrainFlags } from './cli-drain-plan.js';

function pod(name: string, opts: { node?: string; owner?: string; emptyDir?: boolean; phase?: 'Succeeded' | 'Running'; namespace?: string } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: opts.namespace ?? 'default',
      uid: `uid-${name}`,
      ...(opts.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: opts.owner, name: 'o', uid: 'u', controller: true }] } : {}),
    },
    spec: {
      nodeName: opts.node ?? 'pi-2',
      containers: [{ name: 'c', image: 'busybox' }],
      ...(opts.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
    },
    status: { phase: opts.phase ?? 'Running' },
  };
}

const NONE: DrainFlags = { force: false, ignoreDaemonSets: false, deleteEmptyDirData: false };
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);

describe('drain plan', () => {
  test('Pods of ReplicaSets on the node are evicted; Pods on other nodes are not touched', () => {
    const plan = planDrain('pi-2', [pod('web-b', { owner: 'ReplicaSet' }), pod('web-a', { owner: 'ReplicaSet' }), pod('other', { owner: 'ReplicaSet', node: 'pi-1' })], NONE);
    assert.deepEqual({ evict: names(plan.evict), refusals: plan.refusals, warnings: plan.warnings }, { evict: ['web-a', 'web-b'], refusals: [], warnings: [] });
  });

  test('a bare Pod is refused without --force, in kubectl\'s words naming it, and nothing is evicted', () => {
    const plan = planDrain('pi-2', [pod('web', { owner: 'ReplicaSet' }), pod('x')], NONE);
    assert.deepEqual(plan.refusals, ['cannot delete Pods declare no controller (use --force to override): default/x']);
    assert.deepEqual(plan.evict, []);
  });

  test('with --force a bare Pod is evicted, with a warning', () => {
    const plan = planDrain('pi-2', [pod('x')], { ...NONE, force: true });
    assert.deepEqual({ evict: names(plan.evict), warnings: plan.warnings }, { evict: ['x'], warnings: ['deleting Pods that declare no controller: default/x'] });
  });

  test('DaemonSet Pods are refused without --ignore-daemonsets and left running with it', () => {
    const pods = [pod('agent', { owner: 'DaemonSet', namespace: 'kube-system' }), pod('web', { owner: 'ReplicaSet' })];
    assert.deepEqual(planDrain('pi-2', pods, NONE).refusals, ['cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/agent']);
    const plan = planDrain('pi-2', pods, { ...NONE, ignoreDaemonSets: true });
    assert.deepEqual({ evict: names(plan.evict), ignored: names(plan.ignored), warnings: plan.warnings }, {
      evict: ['web'], ignored: ['agent'], warnings: ['ignoring DaemonSet-managed Pods: kube-system/agent'],
    });
  });

  test('Pods with emptyDir volumes need --delete-emptydir-data', () => {
    const pods = [pod('cache', { owner: 'ReplicaSet', emptyDir: true })];
    assert.deepEqual(planDrain('pi-2', pods, NONE).refusals, ['cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache']);
    const plan = planDrain('pi-2', pods, { ...NONE, deleteEmptyDirData: true });
    assert.deepEqual({ evict: names(plan.evict), warnings: plan.warnings }, { evict: ['cache'], warnings: ['deleting Pods with local storage: default/cache'] });
  });

  test('every refusal is listed at once, a bare Pod with an emptyDir under both', () => {
    const plan = planDrain('pi-2', [pod('x', { emptyDir: true }), pod('d', { owner: 'DaemonSet' })], NONE);
    assert.deepEqual(plan.refusals, [
      'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/d',
      'cannot delete Pods with local storage (use --delete-emptydir-data to override): default/x',
      'cannot delete Pods declare no controller (use --force to override): default/x',
    ]);
  });

  test('finished Pods are deleted whatever they are: they hold no data and nothing runs', () => {
    const plan = planDrain('pi-2', [pod('done', { phase: 'Succeeded', emptyDir: true })], NONE);
    assert.deepEqual({ evict: names(plan.evict), refusals: plan.refusals }, { evict: ['done'], refusals: [] });
  });
});
