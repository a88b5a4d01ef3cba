import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { failureBackoffMs, formatIndexes, jobPodTemplate, parseIndexes } from './job-pods.js';
import { makeJob } from '../testing/job-fixtures.js';

describe('Job Pod helpers', () => {
  test('completed indexes read and write as Kubernetes writes them: ranges and single indexes', () => {
    assert.equal(formatIndexes([4, 0, 2, 1]), '0-2,4');
    assert.equal(formatIndexes([]), '');
    assert.equal(formatIndexes([3, 3, 5, 6]), '3,5-6');
    assert.deepEqual([...parseIndexes('0-2,4', 10)].sort(), [0, 1, 2, 4]);
    assert.deepEqual([...parseIndexes('1-7', 3)].sort(), [1, 2], 'indexes at or above completions are dropped');
    assert.deepEqual([...parseIndexes('', 3)], []);
  });

  test('the failure back-off starts at 10 s and doubles up to 6 minutes', () => {
    assert.deepEqual([0, 1, 2, 3, 6, 7, 50].map(failureBackoffMs), [0, 10_000, 20_000, 40_000, 320_000, 360_000, 360_000]);
  });

  test('an indexed template carries the index as annotation, label and JOB_COMPLETION_INDEX in every container', () => {
    const job = makeJob('work', { completionMode: 'Indexed', completions: 3 });
    job.spec.template.spec.containers.push({ name: 'side', image: 'busybox', env: [{ name: 'JOB_COMPLETION_INDEX', value: 'stale' }, { name: 'A', value: 'b' }] });
    const t = jobPodTemplate(job, 2);
    assert.equal(t.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'], '2');
    assert.equal(t.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], '2');
    assert.equal(t.metadata?.labels?.['job-name'], 'work');
    assert.equal(t.metadata?.labels?.['controller-uid'], 'uid-job-work');
    assert.equal(t.metadata?.labels?.['batch.kubernetes.io/job-name'], 'work');
    for (const c of t.spec.containers) assert.deepEqual(c.env?.filter((e) => e.name === 'JOB_COMPLETION_INDEX'), [{ name: 'JOB_COMPLETION_INDEX', value: '2' }]);
    assert.deepEqual(t.spec.containers[1]!.env?.find((e) => e.name === 'A'), { name: 'A', value: 'b' });
    assert.equal(job.spec.template.spec.containers[0]!.env, undefined, 'the Job itself is not changed');
  });
});
