// A CronJob on a real cluster across a control-plane restart: "*/1 * * * *"
// makes a Job for its first minute; the server is then stopped across the next
// scheduled minute and started again, and that minute's Job appears exactly
// once (its name is the scheduled minute, so a doubled run is impossible to
// hide and a missed one shows as a gap). Where the Job controller runs too,
// each Job's Pod leaves a file in a hostPath directory, and the files count
// the runs the boards really made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, type CronJob, type KObject } from '../proto/model.js';
import { startCluster, TEST_IMAGE, waitFor, type TestCluster } from './support/cluster.js';
import { waitForBoardReady } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');
const MIN = 60_000;

function cronJob(outDir: string): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'default' },
    spec: {
      schedule: '*/1 * * * *',
      jobTemplate: {
        metadata: { labels: { app: 'tick' } },
        spec: {
          template: {
            metadata: { labels: { app: 'tick' } },
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 1,
              containers: [{
                name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never',
                command: ['sh', '-c', 'mktemp /out/run.XXXXXX'],
                volumeMounts: [{ name: 'out', mountPath: '/out' }],
              }],
              volumes: [{ name: 'out', hostPath: { path: outDir, type: 'Directory' } }],
            },
          },
        },
      },
    },
  };
}

describe('CronJobs on real boards', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let outDir: string;

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'bramble-cron-out-'));
    cluster = await startCluster({ boards: [{ name: 'cron' }] });
    await waitForBoardReady(cluster, cluster.boards[0]!.nodeName);
  });

  after(async () => {
    await cluster?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** The CronJob's Jobs by name, with the scheduled time each carries. */
  async function jobs(): Promise<Map<string, string | undefined>> {
    const r = await cluster.bramble(['get', 'jobs', '-l', 'app=tick', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const items = (JSON.parse(r.stdout) as { items?: KObject[] }).items ?? [];
    return new Map(items.map((j) => [j.metadata.name, j.metadata.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]]));
  }
  const nameFor = (minuteStart: number) => `tick-${Math.floor(minuteStart / MIN)}`;

  test('a control-plane restart across a scheduled minute neither misses nor doubles its run', { timeout: 200_000 }, async () => {
    await cluster.apply([cronJob(outDir)]);
    const created = Math.floor(Date.now() / MIN) * MIN;
    const first = created + MIN;
    await waitFor(`the Job for ${new Date(first).toISOString()}`, async () => ((await jobs()).has(nameFor(first)) ? true : undefined), { timeoutMs: 2 * MIN });
    // A first Job may come later than `first` if the apply landed right on a minute; count from what is there.
    const made = [...(await jobs()).keys()].sort();
    const last = Math.max(...made.map((n) => Number(n.slice('tick-'.length)) * MIN));

    const stopped = await cluster.server.stop();
    assert.equal(stopped.code, 0, `the server stops cleanly on SIGTERM:\n${cluster.diagnostics()}`);
    const missed = last + MIN;
    await sleep(Math.max(0, missed + 5_000 - Date.now()));
    assert.ok(Date.now() < missed + MIN - 15_000, 'the restart lands well before the following minute');
    await cluster.server.restart();

    await waitFor(`the Job for ${new Date(missed).toISOString()}, missed while the server was down`,
      async () => ((await jobs()).has(nameFor(missed)) ? true : undefined), { timeoutMs: 30_000 });
    const after = await jobs();
    assert.deepEqual([...after.keys()].sort(), [...made, nameFor(missed)].sort(), 'one Job per scheduled minute, none doubled');
    assert.equal(after.get(nameFor(missed)), new Date(missed).toISOString().replace('.000Z', 'Z'));
    const cj = await cluster.get<CronJob>('cronjob', 'tick');
    assert.equal(cj?.status?.lastScheduleTime, new Date(missed).toISOString().replace('.000Z', 'Z'));

    // No more runs from here: a minute ticking over while the files are counted would add one.
    const suspended = cronJob(outDir);
    await cluster.apply([{ ...suspended, spec: { ...(suspended as { spec: object }).spec, suspend: true } }]);
    const final = await jobs();
    assert.ok(final.size <= after.size + 1, `at most the one run that may have fired before the suspend: ${[...final.keys()].join(', ')}`);
    // The Job controller turns each Job into a Pod: one file on the board per scheduled run.
    await waitFor(`${final.size} files written by the Jobs' Pods`, async () => {
      const files = (await readdir(outDir)).filter((f) => f.startsWith('run.'));
      return files.length >= final.size ? files : undefined;
    }, { timeoutMs: 60_000 });
    const files = (await readdir(outDir)).filter((f) => f.startsWith('run.'));
    assert.equal(files.length, final.size, `one file per run: ${files.join(', ')} for Jobs ${[...final.keys()].join(', ')}`);
  });
});
