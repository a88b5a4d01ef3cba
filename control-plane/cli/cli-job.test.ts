import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveKind, type KObject } from '../../proto/model.js';
import { printObjects } from './cli-print.js';
import { describeJob } from './cli-describe-workloads.js';
import { pickLogPod, resolveLogPod } from './cli-logs-target.js';
import type { ClusterConnection } from './cli-client.js';
import { UsageError } from './cli-errors.js';

const NOW = Date.parse('2026-01-10T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function job(name: string, spec: Record<string, unknown>, status: Record<string, unknown>, extra: Partial<KObject['metadata']> = {}): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: ago(600_000), ...extra },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } }, ...spec },
    status,
  };
}

function table(objects: KObject[]): string {
  return printObjects({ kind: resolveKind('job')!, objects, output: 'table', allNamespaces: false, namespace: 'default', single: false, now: NOW }).stdout;
}

describe('bramble get jobs', () => {
  test('shows NAME STATUS COMPLETIONS DURATION AGE as kubectl 1.28+ does', () => {
    const out = table([
      job('done', { completions: 3 }, { succeeded: 3, startTime: ago(300_000), completionTime: ago(255_000), conditions: [{ type: 'Complete', status: 'True' }] }),
      job('running', { completions: 3, parallelism: 2 }, { succeeded: 1, active: 2, startTime: ago(30_000) }),
      job('broken', {}, { failed: 7, startTime: ago(120_000), conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }),
      job('paused', { suspend: true }, { conditions: [{ type: 'Suspended', status: 'True' }] }),
      job('queue', { parallelism: 3 }, {}),
    ]);
    const lines = out.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(lines[0], ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    assert.deepEqual(lines[1], ['done', 'Complete', '3/3', '45s', '10m']);
    assert.deepEqual(lines[2], ['running', 'Running', '1/3', '30s', '10m']);
    assert.deepEqual(lines[3]!.slice(0, 4), ['broken', 'Failed', '0/1', '2m']);
    assert.deepEqual(lines[4]!.slice(0, 3), ['paused', 'Suspended', '0/1']);
    assert.deepEqual(lines[5]!.slice(0, 3), ['queue', 'Running', '0/1 of 3']);
  });
});

describe('bramble describe job', () => {
  test('shows the counts, limits, Pods Statuses, completed indexes and Pods', () => {
    const j = job('work', { completions: 3, parallelism: 2, completionMode: 'Indexed', backoffLimit: 4, activeDeadlineSeconds: 100 }, {
      startTime: ago(60_000), active: 1, ready: 1, succeeded: 2, failed: 1, completedIndexes: '0,2',
    });
    const pod: KObject = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'work-0-abcde', namespace: 'default', creationTimestamp: ago(60_000) },
      spec: { containers: [{ name: 'work', image: 'busybox' }] }, status: { phase: 'Succeeded' },
    };
    const text = describeJob(j, { pods: [pod], now: NOW });
    assert.match(text, /^Name:\s+work$/m);
    assert.match(text, /^Selector:\s+batch\.kubernetes\.io\/controller-uid=uid-work$/m);
    assert.match(text, /^Parallelism:\s+2$/m);
    assert.match(text, /^Completions:\s+3$/m);
    assert.match(text, /^Completion Mode:\s+Indexed$/m);
    assert.match(text, /^Backoff Limit:\s+4$/m);
    assert.match(text, /^Duration:\s+60s$/m);
    assert.match(text, /^Active Deadline Seconds:\s+100s$/m);
    assert.match(text, /^Pods Statuses:\s+1 Active \(1 Ready\) \/ 2 Succeeded \/ 1 Failed$/m);
    assert.match(text, /^Completed Indexes:\s+0,2$/m);
    assert.match(text, /^Pods:\n  NAME .*\n  work-0-abcde /m);
  });
});

describe('bramble logs job/NAME', () => {
  const pod = (name: string, phase: string, msAgo: number, nodeName?: string): KObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, creationTimestamp: ago(msAgo) },
    spec: { containers: [], ...(nodeName ? { nodeName } : {}) }, status: { phase },
  });

  test('reads the first Pod: bound before unbound, Running before finished, older first', () => {
    assert.equal(pickLogPod([pod('b', 'Succeeded', 10, 'n1'), pod('a', 'Succeeded', 20, 'n1'), pod('c', 'Pending', 30)])?.metadata.name, 'a');
    assert.equal(pickLogPod([pod('a', 'Succeeded', 20, 'n1'), pod('b', 'Running', 10, 'n1')])?.metadata.name, 'b');
    assert.equal(pickLogPod([]), undefined);
  });

  test('a Pod name, pod/NAME and a kind that has no Pods are told apart before anything is asked of the cluster', async () => {
    const conn = {} as ClusterConnection;
    assert.equal(await resolveLogPod(conn, 'web-x7k2q', 'default'), 'web-x7k2q');
    assert.equal(await resolveLogPod(conn, 'pod/web-x7k2q', 'default'), 'web-x7k2q');
    await assert.rejects(resolveLogPod(conn, 'svc/web', 'default'), (e) => e instanceof UsageError && /current value is "svc\/web"/.test(e.message));
    await assert.rejects(resolveLogPod(conn, 'job/', 'default'), UsageError);
  });
});
