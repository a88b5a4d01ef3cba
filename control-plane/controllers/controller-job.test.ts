import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition } from '../../proto/util/conditions.js';
import type { Job } from '../../proto/model.js';
import { jobCluster, makeJob } from '../testing/job-fixtures.js';
import { seed } from '../testing/replicaset-fixtures.js';

const condition = (job: Job | undefined, type: string) => findCondition(job?.status?.conditions, type);

describe('Job controller', () => {
  test('completions 3 with parallelism 2 runs at most 2 Pods at once and completes with 3 succeeded, the Pods kept', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { completions: 3, parallelism: 2 }));
    await c.sync();
    assert.equal(c.active().length, 2);
    const pod = c.pods()[0]!;
    assert.deepEqual(pod.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['Job', 'work', 'uid-job-work', true]]);
    assert.equal(pod.metadata.labels?.['job-name'], 'work');
    assert.equal(pod.metadata.labels?.['batch.kubernetes.io/job-name'], 'work');
    assert.equal(pod.metadata.labels?.['controller-uid'], 'uid-job-work');
    assert.equal(c.job()!.status?.startTime, new Date(c.clock.now()).toISOString());
    for (let i = 0; i < 6 && !condition(c.job(), 'Complete'); i++) {
      for (const p of c.active()) await c.run(p);
      await c.sync();
      assert.equal(c.job()!.status?.ready, c.active().length);
      await c.clock.advance(5000);
      for (const p of c.active()) await c.finish(p, 'Succeeded');
      await c.sync();
    }
    const s = c.job()!.status!;
    assert.equal(condition(c.job(), 'Complete')?.status, 'True');
    assert.deepEqual([s.succeeded, s.failed, s.active], [3, 0, 0]);
    assert.ok(s.completionTime);
    assert.ok(c.maxActive <= 2, `never more than parallelism active: ${c.maxActive}`);
    assert.equal(c.pods().length, 3, 'exactly 3 Pods were made, and finished ones are kept');
    assert.ok(c.pods().every((p) => p.status?.phase === 'Succeeded'));
    assert.deepEqual(c.recorder.reasons().filter((r) => r !== 'SuccessfulCreate'), ['Completed']);
    assert.equal(c.recorder.reasons().filter((r) => r === 'SuccessfulCreate').length, 3);
    const revision = c.store.revision();
    await c.sync();
    assert.equal(c.store.revision(), revision, 'a finished Job is not written again');
  });

  test('without completions the Job is a work queue: done once a Pod succeeded and none is active', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { parallelism: 3 }));
    await c.sync();
    const [a, b, d] = c.active();
    await c.finish(a!, 'Succeeded');
    await c.sync();
    assert.equal(c.active().length, 2, 'no new Pod after a success');
    assert.equal(condition(c.job(), 'Complete'), undefined, 'not done while Pods still run');
    await c.finish(b!, 'Succeeded');
    await c.finish(d!, 'Succeeded');
    await c.sync();
    assert.equal(condition(c.job(), 'Complete')?.status, 'True');
    assert.equal(c.job()!.status?.succeeded, 3);
  });

  test('a failed Pod is replaced after a back-off of 10 s doubling, and the Job fails once failures pass backoffLimit', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { backoffLimit: 2 }));
    await c.sync();
    await c.finish(c.active()[0]!, 'Failed');
    await c.sync();
    assert.equal(c.active().length, 0, 'no replacement during the back-off');
    assert.equal(c.job()!.status?.failed, 1);
    await c.clock.advance(9_999);
    await c.sync();
    assert.equal(c.active().length, 0);
    await c.clock.advance(1);
    await c.sync();
    assert.equal(c.active().length, 1, 'replaced after 10 s');
    await c.finish(c.active()[0]!, 'Failed');
    await c.sync();
    await c.clock.advance(19_999);
    await c.sync();
    assert.equal(c.active().length, 0, 'the second back-off is 20 s');
    await c.clock.advance(1);
    await c.sync();
    assert.equal(c.active().length, 1);
    await c.finish(c.active()[0]!, 'Failed');
    await c.sync();
    const job = c.job()!;
    assert.equal(job.status?.failed, 3);
    assert.equal(condition(job, 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(job.status?.completionTime, undefined, 'completionTime is for Jobs that succeeded');
    assert.ok(c.recorder.reasons().includes('BackoffLimitExceeded'));
    assert.equal(c.pods().length, 3, 'the failed Pods are kept for their logs');
    await c.clock.advance(600_000);
    await c.sync();
    assert.equal(c.active().length, 0, 'a failed Job makes no more Pods');
  });

  test('with restartPolicy OnFailure container restarts count against backoffLimit', async (t) => {
    const c = await jobCluster(t);
    const job = makeJob('work', { backoffLimit: 3 });
    job.spec.template.spec.restartPolicy = 'OnFailure';
    await seed(c.store, job);
    await c.sync();
    const pod = c.active()[0]!;
    await c.run(pod, { restarts: 2 });
    await c.sync();
    assert.equal(condition(c.job(), 'Failed'), undefined);
    await c.run(pod, { restarts: 3 });
    await c.sync();
    assert.equal(condition(c.job(), 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(c.active().length, 0, 'the running Pod is deleted');
  });

  test('activeDeadlineSeconds counts from startTime: then active Pods are deleted and the Job fails with DeadlineExceeded', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { activeDeadlineSeconds: 30, parallelism: 2, completions: 4 }));
    await c.sync();
    for (const p of c.active()) await c.run(p);
    await c.clock.advance(29_000);
    await c.sync();
    assert.equal(c.active().length, 2);
    await c.clock.advance(1_000);
    await c.sync();
    assert.equal(condition(c.job(), 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(c.active().length, 0);
    assert.equal(c.job()!.status?.failed, 0, 'Pods the controller removed are not failures');
    assert.ok(c.recorder.reasons().includes('DeadlineExceeded'));
    assert.equal(c.recorder.reasons().filter((r) => r === 'SuccessfulDelete').length, 2);
  });

  test('an Indexed Job runs one Pod per index with its env and name, retries a failed index and reports completedIndexes', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimit: 5 }));
    await c.sync();
    const byIndex = () => new Map(c.active().map((p) => [p.metadata.annotations!['batch.kubernetes.io/job-completion-index']!, p]));
    const pods = byIndex();
    assert.deepEqual([...pods.keys()].sort(), ['0', '1', '2']);
    for (const [i, p] of pods) {
      assert.match(p.metadata.name, new RegExp(`^work-${i}-`));
      assert.equal(p.metadata.labels?.['batch.kubernetes.io/job-completion-index'], i);
      assert.deepEqual(p.spec.containers[0]!.env, [{ name: 'JOB_COMPLETION_INDEX', value: i }]);
    }
    await c.finish(pods.get('0')!, 'Succeeded');
    await c.finish(pods.get('2')!, 'Succeeded');
    await c.finish(pods.get('1')!, 'Failed');
    await c.sync();
    assert.equal(c.job()!.status?.completedIndexes, '0,2');
    assert.equal(c.job()!.status?.succeeded, 2);
    await c.clock.advance(10_000);
    await c.sync();
    assert.deepEqual([...byIndex().keys()], ['1'], 'only the failed index runs again');
    await c.finish(byIndex().get('1')!, 'Succeeded');
    await c.sync();
    const s = c.job()!.status!;
    assert.equal(s.completedIndexes, '0-2');
    assert.deepEqual([s.succeeded, s.failed], [3, 1]);
    assert.equal(condition(c.job(), 'Complete')?.status, 'True');
  });

  test('suspend deletes the active Pods and sets Suspended; resume runs them again with a fresh startTime', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { completions: 2, parallelism: 2 }));
    await c.sync();
    const firstStart = c.job()!.status?.startTime;
    await c.update((s) => ({ ...s, suspend: true }));
    await c.sync();
    assert.equal(c.active().length, 0);
    assert.equal(condition(c.job(), 'Suspended')?.status, 'True');
    assert.equal(condition(c.job(), 'Suspended')?.reason, 'JobSuspended');
    await c.clock.advance(60_000);
    await c.sync();
    assert.equal(c.active().length, 0, 'nothing runs while suspended');
    await c.update((s) => ({ ...s, suspend: false }));
    await c.sync();
    assert.equal(c.active().length, 2);
    assert.equal(condition(c.job(), 'Suspended')?.status, 'False');
    assert.equal(condition(c.job(), 'Suspended')?.reason, 'JobResumed');
    assert.notEqual(c.job()!.status?.startTime, firstStart);
    assert.equal(c.job()!.status?.failed, 0);
  });

  test('ttlSecondsAfterFinished deletes the Job that long after it finished', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { ttlSecondsAfterFinished: 100 }));
    await c.sync();
    await c.finish(c.active()[0]!, 'Succeeded');
    await c.sync();
    assert.equal(condition(c.job(), 'Complete')?.status, 'True');
    await c.clock.advance(99_000);
    await c.sync();
    assert.ok(c.job(), 'still there before the TTL');
    await c.clock.advance(1_000);
    await c.sync();
    assert.equal(c.job(), undefined, 'deleted once the TTL ran out');
  });

  test('a restarted controller does not make the same Pods again', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { completions: 5, parallelism: 3 }));
    await c.sync();
    assert.equal(c.pods().length, 3);
    await c.restartController();
    await c.sync();
    await c.sync();
    assert.equal(c.pods().length, 3);
  });

  test('a counted Pod removed later keeps its count, and a restart does not count a Pod twice', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { completions: 3, parallelism: 1 }));
    await c.sync();
    await c.finish(c.active()[0]!, 'Succeeded');
    await c.sync();
    assert.equal(c.job()!.status?.succeeded, 1);
    await c.restartController();
    await c.sync();
    assert.equal(c.job()!.status?.succeeded, 1, 'counted once across controllers');
    const first = c.pods().find((p) => p.status?.phase === 'Succeeded')!;
    await c.removePod(first);
    await c.sync();
    assert.equal(c.job()!.status?.succeeded, 1, 'a removed Pod keeps its success');
    assert.deepEqual(c.job()!.status?.countedPods ?? [], [], 'and its uid is forgotten');
    assert.equal(c.active().length, 1);
  });

  test('a Pod created before the informer saw it is awaited, not made twice', async (t) => {
    const c = await jobCluster(t);
    await seed(c.store, makeJob('work', { completions: 2, parallelism: 2 }));
    await c.settle();
    await c.jc.reconcile('default/work');
    // No settle: the informer has not delivered the creates yet.
    await c.jc.reconcile('default/work');
    await c.settle();
    assert.equal(c.pods().length, 2);
  });
});
