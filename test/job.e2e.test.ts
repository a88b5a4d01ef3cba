// A Job on real boards: completions 3 with parallelism 2 runs `echo done` to
// completion with exactly 3 succeeded Pods, never more than 2 active at once
// (sampled from a Pod watch, so every state the store went through), its
// finished Pods kept, and `bramble logs job/NAME` prints the first Pod's log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Job, KObject, Pod } from '../proto/model.js';
import { startCluster, TEST_IMAGE, waitFor, type TestCluster } from './support/cluster.js';
import { waitForBoardReady } from './support/e2e-objects.js';
import { ReadySampler } from './support/ready-sampler.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

function job(): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'echo', namespace: 'default' },
    spec: {
      completions: 3,
      parallelism: 2,
      template: {
        metadata: { labels: { app: 'echo' } },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'echo', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', 'echo done'] }],
        },
      },
    },
  };
}

/** A Pod the Job is running: not finished and not being deleted. */
const isActive = (p: Pod): boolean => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

describe('Jobs on real boards', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'ja' }, { name: 'jb' }] });
    for (const b of cluster.boards) {
      await waitForBoardReady(cluster, b.nodeName);
      await waitFor('the busybox image on the board', async () => ((await b.ctr(['images', 'ls', '-q'])).stdout.includes(TEST_IMAGE) ? true : undefined), { timeoutMs: 60_000 });
    }
  });

  after(async () => {
    await cluster?.close();
  });

  test('completions 3 with parallelism 2 completes with 3 succeeded Pods, never more than 2 active, and logs job/NAME prints "done"', async () => {
    const sampler = await ReadySampler.start(cluster.server.configPath, 'default', 'job-name=echo', isActive);
    await cluster.apply([job()]);
    const done = await waitFor('the Job to complete', async () => {
      const j = await cluster.get<Job>('job', 'echo');
      return j?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    }, { timeoutMs: 90_000, describe: () => cluster.diagnostics() });
    const samples = sampler.stop();
    assert.equal(done.status?.succeeded, 3);
    assert.equal(done.status?.failed ?? 0, 0);
    assert.ok(samples.length > 3, 'the Pods were sampled');
    assert.ok(Math.max(...samples) <= 2, `never more than parallelism active: ${samples.join(',')}`);

    const r = await cluster.bramble(['get', 'pods', '-l', 'job-name=echo', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const pods = (JSON.parse(r.stdout) as { items: Pod[] }).items;
    assert.equal(pods.length, 3, 'exactly 3 Pods, kept after they finished');
    assert.ok(pods.every((p) => p.status?.phase === 'Succeeded'), pods.map((p) => `${p.metadata.name}:${p.status?.phase}`).join(' '));

    const table = await cluster.bramble(['get', 'job', 'echo']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^echo\s+Complete\s+3\/3\s/m);

    const logs = await cluster.bramble(['logs', 'job/echo']);
    assert.equal(logs.code, 0, `${logs.stdout}\n${logs.stderr}`);
    assert.equal(logs.stdout, 'done\n');
  });
});
