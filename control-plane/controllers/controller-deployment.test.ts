import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition } from '../../proto/util/conditions.js';
import { BrambleError } from '../../proto/util/errors.js';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, type Deployment, type IntOrPercent, type ReplicaSet } from '../../proto/model.js';
import { deploymentCluster, makeDeployment } from '../testing/deployment-fixtures.js';
import { seed } from '../testing/replicaset-fixtures.js';
import { DeploymentController } from './controller-deployment.js';
import { StoreReplicaSetControl } from './replicaset-control.js';

const withImage = (image: string) => (d: Deployment): Deployment => ({
  ...d,
  spec: { ...d.spec, template: { ...d.spec.template, spec: { ...d.spec.template.spec, containers: [{ name: 'app', image }] } } },
});

const revisions = (rss: ReplicaSet[]) => Object.fromEntries(rss.map((rs) => [rs.spec.template.spec.containers[0]!.image, rs.metadata.annotations?.[REVISION_ANNOTATION]]));

describe('Deployment controller', () => {
  test('a new Deployment gets one ReplicaSet named by its template hash, at revision 1, and becomes available', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web'));
    await c.rollOut();
    const [rs, ...more] = c.replicaSets();
    assert.equal(more.length, 0);
    const hash = rs!.metadata.labels![POD_TEMPLATE_HASH_LABEL]!;
    assert.equal(rs!.metadata.name, `web-${hash}`);
    assert.equal(rs!.metadata.annotations?.[REVISION_ANNOTATION], '1');
    assert.deepEqual(rs!.spec.selector.matchLabels, { app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    assert.deepEqual(rs!.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]), [['Deployment', 'uid-deploy-web', true]]);
    assert.equal(c.pods().length, 4);
    assert.ok(c.pods().every((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash));
    const s = c.deployment().status!;
    assert.deepEqual([s.replicas, s.updatedReplicas, s.readyReplicas, s.availableReplicas, s.unavailableReplicas, s.observedGeneration], [4, 4, 4, 4, 0, 1]);
    assert.equal(findCondition(s.conditions, 'Available')?.status, 'True');
    assert.equal(findCondition(s.conditions, 'Progressing')?.reason, 'NewReplicaSetAvailable');
    const revision = c.store.revision();
    await c.step();
    assert.equal(c.store.revision(), revision, 'a resync of a finished rollout writes nothing');
  });

  const pairs: [IntOrPercent, IntOrPercent][] = [[1, 1], ['25%', '25%'], [0, 1], [2, 0], ['50%', '0%'], [1, '100%']];
  for (const [maxSurge, maxUnavailable] of pairs) {
    test(`a rolling update with maxSurge ${maxSurge} and maxUnavailable ${maxUnavailable} never leaves the bounds and ends on the new template`, async (t) => {
      const c = await deploymentCluster(t);
      await seed(c.store, makeDeployment('web', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } } }));
      await c.rollOut();
      const d = c.deployment();
      const surge = typeof maxSurge === 'number' ? maxSurge : Math.ceil((parseInt(maxSurge, 10) * 4) / 100);
      const unavailable = Math.max(surge === 0 ? 1 : 0, typeof maxUnavailable === 'number' ? maxUnavailable : Math.floor((parseInt(maxUnavailable, 10) * 4) / 100));
      c.samples.length = 0;
      await c.update(withImage('web:v2'));
      await c.rollOut();
      assert.ok(c.samples.length > 3, 'the update was sampled');
      for (const s of c.samples) {
        assert.ok(s.active <= 4 + surge, `never more than replicas + maxSurge Pods: ${JSON.stringify(s)}`);
        assert.ok(s.available >= 4 - unavailable, `never fewer than replicas - maxUnavailable available: ${JSON.stringify(s)}`);
      }
      assert.deepEqual(revisions(c.replicaSets()), { 'web:v1': '1', 'web:v2': '2' });
      assert.deepEqual(c.replicaSets().map((rs) => [rs.spec.template.spec.containers[0]!.image, rs.spec.replicas]).sort(), [['web:v1', 0], ['web:v2', 4]]);
      assert.ok(c.pods().every((p) => p.spec.containers[0]!.image === 'web:v2'));
      assert.equal(c.deployment().status?.observedGeneration, d.metadata.generation! + 1);
    });
  }

  test('Recreate removes every old Pod before the new ReplicaSet is made', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web', { replicas: 3, strategy: { type: 'Recreate' } }));
    await c.rollOut();
    await c.update(withImage('web:v2'));
    await c.step();
    assert.equal(c.replicaSets().length, 1, 'no new ReplicaSet while the old one still has Pods');
    assert.equal(c.replicaSets()[0]!.spec.replicas, 0);
    let sawBoth = false;
    for (let i = 0; i < 10; i++) {
      const images = new Set(c.pods().map((p) => p.spec.containers[0]!.image));
      if (images.size > 1) sawBoth = true;
      await c.step();
      await c.makeReady();
    }
    assert.equal(sawBoth, false, 'old and new Pods never ran together');
    assert.deepEqual(c.pods().map((p) => p.spec.containers[0]!.image), ['web:v2', 'web:v2', 'web:v2']);
  });

  test('going back to an old template reuses its ReplicaSet under the next revision', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web'));
    await c.rollOut();
    await c.update(withImage('web:v2'));
    await c.rollOut();
    await c.update(withImage('web:v1'));
    await c.rollOut();
    assert.equal(c.replicaSets().length, 2, 'no third ReplicaSet');
    assert.deepEqual(revisions(c.replicaSets()), { 'web:v1': '3', 'web:v2': '2' });
    assert.ok(c.pods().every((p) => p.spec.containers[0]!.image === 'web:v1'));
  });

  test('a rollout that makes no progress for progressDeadlineSeconds turns Progressing False, and the old Pods keep serving', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web', { progressDeadlineSeconds: 60 }));
    await c.rollOut();
    await c.update(withImage('web:missing'));
    for (let i = 0; i < 3; i++) {
      await c.step();
      await c.makeReady('web:v1');
    }
    assert.equal(findCondition(c.deployment().status?.conditions, 'Progressing')?.status, 'True');
    await c.clock.advance(61_000);
    await c.step();
    const cond = findCondition(c.deployment().status?.conditions, 'Progressing');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'ProgressDeadlineExceeded');
    assert.ok(c.pods().filter((p) => p.spec.containers[0]!.image === 'web:v1').length >= 3, 'replicas - maxUnavailable old Pods are kept');
    // Going back to the working template recovers the rollout.
    await c.update(withImage('web:v1'));
    await c.rollOut('web:v1');
    assert.equal(findCondition(c.deployment().status?.conditions, 'Progressing')?.reason, 'NewReplicaSetAvailable');
  });

  test('the deadline is not missed without events: the controller comes back when it passes', async (t) => {
    const c = await deploymentCluster(t);
    // With workers of its own and no ReplicaSet controller at work, nothing but the clock can move it on.
    await c.dc.stop();
    const dc = new DeploymentController({ store: c.store, clock: c.clock, replicaSets: new StoreReplicaSetControl({ store: c.store, clock: c.clock, newUid: () => 'uid-rs-x' }) });
    dc.start();
    t.after(() => dc.stop());
    await seed(c.store, makeDeployment('web', { replicas: 1, progressDeadlineSeconds: 30 }));
    await c.clock.advance(0);
    assert.equal(findCondition(c.deployment().status?.conditions, 'Progressing')?.status, 'True');
    await c.clock.advance(29_000);
    assert.equal(findCondition(c.deployment().status?.conditions, 'Progressing')?.status, 'True', 'not before the deadline');
    await c.clock.advance(3_000);
    assert.equal(findCondition(c.deployment().status?.conditions, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
  });

  test('a paused Deployment makes no new ReplicaSet for a new template but still scales; resuming rolls it out', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web'));
    await c.rollOut();
    await c.update((d) => ({ ...withImage('web:v2')(d), spec: { ...withImage('web:v2')(d).spec, paused: true, replicas: 5 } }));
    await c.step();
    await c.step();
    assert.equal(c.replicaSets().length, 1);
    assert.equal(c.replicaSets()[0]!.spec.replicas, 5);
    assert.equal(findCondition(c.deployment().status?.conditions, 'Progressing')?.reason, 'DeploymentPaused');
    await c.update((d) => ({ ...d, spec: { ...d.spec, paused: false } }));
    await c.rollOut();
    assert.ok(c.pods().every((p) => p.spec.containers[0]!.image === 'web:v2'));
    assert.equal(c.pods().length, 5);
  });

  test('scaling alone resizes the current ReplicaSet and makes no new one', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web', { replicas: 2 }));
    await c.rollOut();
    await c.update((d) => ({ ...d, spec: { ...d.spec, replicas: 6 } }));
    await c.rollOut();
    assert.equal(c.replicaSets().length, 1);
    assert.equal(c.pods().length, 6);
    await c.update((d) => ({ ...d, spec: { ...d.spec, replicas: 1 } }));
    await c.rollOut();
    assert.equal(c.pods().length, 1);
  });

  test('scaling in the middle of a rollout shares the change between the old and new ReplicaSets', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web', { replicas: 4, strategy: { rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } }));
    await c.rollOut();
    await c.update(withImage('web:v2'));
    await c.step();
    const before = Object.fromEntries(c.replicaSets().map((rs) => [rs.spec.template.spec.containers[0]!.image, rs.spec.replicas]));
    assert.deepEqual(before, { 'web:v1': 4, 'web:v2': 2 });
    await c.update((d) => ({ ...d, spec: { ...d.spec, replicas: 8 } }));
    await c.step();
    const after = Object.fromEntries(c.replicaSets().map((rs) => [rs.spec.template.spec.containers[0]!.image, rs.spec.replicas]));
    assert.equal(after['web:v1']! + after['web:v2']!, 10, 'all together ask for replicas + maxSurge');
    assert.ok(after['web:v1']! > 4 && after['web:v2']! > 2, `both grew: ${JSON.stringify(after)}`);
    await c.rollOut();
    assert.equal(c.pods().length, 8);
  });

  test('old ReplicaSets beyond revisionHistoryLimit are deleted, oldest revision first', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web', { replicas: 1, revisionHistoryLimit: 1 }));
    for (const image of ['web:v1', 'web:v2', 'web:v3', 'web:v4']) {
      if (image !== 'web:v1') await c.update(withImage(image));
      await c.rollOut();
      await c.step();
    }
    assert.deepEqual(revisions(c.replicaSets()), { 'web:v3': '3', 'web:v4': '4' });
  });

  test('a controller restarted in the middle of a rollout finishes it within the bounds', async (t) => {
    const c = await deploymentCluster(t);
    await seed(c.store, makeDeployment('web', { strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await c.rollOut();
    c.samples.length = 0;
    await c.update(withImage('web:v2'));
    await c.step();
    await c.makeReady();
    await c.restartController();
    await c.rollOut();
    assert.equal(c.replicaSets().length, 2);
    for (const s of c.samples) assert.ok(s.active <= 5 && s.available >= 3, JSON.stringify(s));
    assert.ok(c.pods().every((p) => p.spec.containers[0]!.image === 'web:v2'));
  });

  test('a matching orphan ReplicaSet with the current template is adopted instead of a new one being made', async (t) => {
    const c = await deploymentCluster(t);
    const d = makeDeployment('web', { replicas: 2 });
    const orphan: ReplicaSet = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: { name: 'web-handmade', namespace: 'default', uid: 'uid-orphan', labels: { app: 'web' }, creationTimestamp: '2026-01-01T00:00:00.000Z', generation: 1 },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: d.spec.template },
    };
    await seed(c.store, orphan);
    await seed(c.store, d);
    await c.rollOut();
    assert.deepEqual(c.replicaSets().map((rs) => rs.metadata.name), ['web-handmade']);
    assert.equal(c.replicaSets()[0]!.metadata.ownerReferences?.[0]?.uid, 'uid-deploy-web');
  });

  test('a failing ReplicaSet create is retried with back-off until it succeeds', async (t) => {
    const c = await deploymentCluster(t);
    // This one runs its own workers, with a control whose first two creates fail.
    await c.dc.stop();
    const real = new StoreReplicaSetControl({ store: c.store, clock: c.clock, newUid: () => 'uid-rs-x' });
    let failures = 2;
    const dc = new DeploymentController({
      store: c.store, clock: c.clock,
      replicaSets: {
        create: (rs) => (failures-- > 0 ? Promise.reject(new BrambleError('STORE_FAILED', 'disk full')) : real.create(rs)),
        update: (seen, next) => real.update(seen, next), delete: (rs) => real.delete(rs),
        adopt: (rs, o, w) => real.adopt(rs, o, w), release: (rs, o) => real.release(rs, o),
      },
    });
    dc.start();
    t.after(() => dc.stop());
    await seed(c.store, makeDeployment('web'));
    await c.clock.advance(0);
    assert.equal(dc.failureCount('default/web'), 1);
    assert.equal(c.replicaSets().length, 0);
    await c.clock.advance(60_000);
    assert.equal(c.replicaSets().length, 1, 'the create succeeded on a later try');
    assert.equal(dc.failureCount('default/web'), 0);
  });
});
