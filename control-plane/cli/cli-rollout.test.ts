import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import type { KObject, PodTemplateSpec } from '../../proto/model.js';
import { parseRevision, parseWatch, planUndo, renderHistory, renderRevision, revisions, rfc3339 } from './cli-rollout.js';

const DEPLOY_UID = 'uid-web';

function template(image: string, hash?: string): PodTemplateSpec {
  return {
    metadata: { labels: { app: 'web', ...(hash && { 'pod-template-hash': hash }) } },
    spec: { containers: [{ name: 'app', image }] },
  };
}

function replicaSet(hash: string, revision: string | undefined, image: string, cause?: string): KObject {
  const annotations: Record<string, string> = {};
  if (revision !== undefined) annotations['deployment.kubernetes.io/revision'] = revision;
  if (cause !== undefined) annotations['kubernetes.io/change-cause'] = cause;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`, namespace: 'default', annotations,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: DEPLOY_UID, controller: true }],
    },
    spec: { replicas: 0, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } }, template: template(image, hash) },
  };
}

function deployment(image: string, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: DEPLOY_UID, annotations: { team: 'blue', 'kubernetes.io/change-cause': 'now' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template(image), ...extra },
  };
}

// Listed out of order, with a ReplicaSet that carries no revision (not made by a rollout).
const HISTORY = [
  replicaSet('ccc', '10', 'web:3', 'bramble set image deploy/web app=web:3'),
  replicaSet('aaa', '2', 'web:1'),
  replicaSet('zzz', undefined, 'web:0'),
  replicaSet('bbb', '9', 'web:2', 'scale up'),
];

describe('rollout history', () => {
  test('lists revisions numerically sorted with their change-cause, <none> when unrecorded', () => {
    assert.equal(
      renderHistory('deployment.apps/web', revisions(HISTORY)),
      ['deployment.apps/web', 'REVISION   CHANGE-CAUSE', '2          <none>', '9          scale up', '10         bramble set image deploy/web app=web:3', ''].join('\n'),
    );
  });

  test('says so when a Deployment has no revisions yet', () => {
    assert.equal(renderHistory('deployment.apps/web', []), 'No rollout history found for deployment.apps/web.\n');
  });

  test('--revision shows that revision\'s Pod template as YAML', () => {
    const r = revisions(HISTORY).find((x) => x.revision === 9)!;
    const out = renderRevision('deployment.apps/web', r);
    const [head, sub, ...body] = out.split('\n');
    assert.equal(head, 'deployment.apps/web with revision #9');
    assert.equal(sub, 'Pod Template:');
    assert.deepEqual(parseYaml(body.map((l) => l.slice(2)).join('\n')), template('web:2', 'bbb'));
  });

  test('revision flags take whole numbers only, naming the flag', () => {
    assert.equal(parseRevision(undefined, '--revision'), 0);
    assert.equal(parseRevision('3', '--revision'), 3);
    assert.throws(() => parseRevision('-1', '--to-revision'), /--to-revision must be a revision number .*"-1"/);
  });
});

describe('rollout undo', () => {
  test('goes back to the second highest revision, without pod-template-hash, keeping the Deployment\'s annotations', () => {
    const plan = planUndo(deployment('web:3'), HISTORY, 0, 'deployment.apps/web');
    assert.ok('deployment' in plan);
    assert.equal(plan.revision, 9);
    assert.deepEqual((plan.deployment.spec as { template: PodTemplateSpec }).template, template('web:2'));
    // The change-cause comes back with the revision (kubectl copies the ReplicaSet's annotations).
    assert.deepEqual(plan.deployment.metadata.annotations, { team: 'blue', 'kubernetes.io/change-cause': 'scale up' });
  });

  test('--to-revision picks that revision', () => {
    const plan = planUndo(deployment('web:3'), HISTORY, 2, 'deployment.apps/web');
    assert.ok('deployment' in plan);
    assert.equal((plan.deployment.spec as { template: PodTemplateSpec }).template.spec.containers[0]!.image, 'web:1');
    assert.equal(plan.deployment.metadata.annotations?.['kubernetes.io/change-cause'], 'now', 'no change-cause recorded: the current one stays');
  });

  test('skips, with kubectl\'s message, when the template already matches the revision', () => {
    assert.deepEqual(planUndo(deployment('web:2'), HISTORY, 9, 'deployment.apps/web'), {
      skip: 'deployment.apps/web skipped rollback (current template already matches revision 9)',
    });
  });

  test('fails naming the revision and the ones there are when it is not in the history', () => {
    assert.throws(() => planUndo(deployment('web:3'), HISTORY, 4, 'deployment.apps/web'), /deployment.apps\/web has no revision 4 in its history: its revisions are 2, 9, 10/);
  });

  test('fails when there is no previous revision', () => {
    assert.throws(() => planUndo(deployment('web:1'), [], 0, 'deployment.apps/web'), /no rollout history found for deployment.apps\/web/);
    assert.throws(() => planUndo(deployment('web:1'), [HISTORY[1]!], 0, 'deployment.apps/web'), /no previous revision .*its revisions are 2/);
  });

  test('refuses a paused Deployment, as kubectl does', () => {
    assert.throws(() => planUndo(deployment('web:3', { paused: true }), HISTORY, 0, 'deployment.apps/web'), /cannot roll back a paused deployment; resume it first/);
  });
});

describe('rollout flags', () => {
  test('restartedAt is RFC 3339 to the second', () => {
    assert.equal(rfc3339(Date.UTC(2026, 11, 1, 23, 5, 16, 789)), '2026-12-01T23:05:16Z');
  });

  test('--watch reads kubectl\'s boolean forms and rejects anything else', () => {
    assert.equal(parseWatch(undefined), true);
    assert.equal(parseWatch(true), true);
    assert.equal(parseWatch('false'), false);
    assert.throws(() => parseWatch('deploy/web'), /--watch must be true or false .*"deploy\/web"/);
  });
});
