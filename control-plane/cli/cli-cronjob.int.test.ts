// `get cronjob` and `create job --from=cronjob/NAME` against a real `bramble
// server` and the compiled CLI. Only the scheduler runs, so no CronJob
// controller adds Jobs of its own and every Job is the CLI's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import type { KObject } from '../../proto/model.js';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../../test/support/server-process.js';

const CRONJOB = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: "0 2 * * *"
  timeZone: Europe/Berlin
  jobTemplate:
    metadata:
      labels: {app: backup}
      annotations: {team: blue}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - {name: main, image: "busybox:1", command: [sh, -c, "echo hi"]}
`;

describe('cronjob commands against a running server', () => {
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    server = await startServerProcess({ extraArgs: ['--controllers', 'scheduler'] });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-cronjob-cli-'));
    await fs.writeFile(path.join(dir, 'cj.yaml'), CRONJOB);
    const r = await runBramble(['--config', server.configPath, 'apply', '-f', path.join(dir, 'cj.yaml')]);
    assert.equal(r.code, 0, explain(r));
  });
  after(async () => {
    await server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });
  const bramble = (...args: string[]) => runBramble(['--config', server.configPath, ...args]);

  test('get cj lists NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE', async () => {
    const r = await bramble('get', 'cj');
    assert.equal(r.code, 0, explain(r));
    const [header, row] = r.stdout.trim().split('\n');
    assert.deepEqual(header!.split(/\s{2,}/), ['NAME', 'SCHEDULE', 'TIMEZONE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'AGE']);
    assert.deepEqual(row!.split(/\s{2,}/).slice(0, 6), ['backup', '0 2 * * *', 'Europe/Berlin', 'False', '0', '<none>']);
  });

  test('create job --from=cronjob/NAME makes a Job from the jobTemplate, owned by the CronJob and marked manual', async () => {
    const r = await bramble('create', 'job', 'backup-now', '--from=cronjob/backup');
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout, 'job.batch/backup-now created\n');
    const cj = JSON.parse((await bramble('get', 'cj', 'backup', '-o', 'json')).stdout) as KObject;
    const job = JSON.parse((await bramble('get', 'job', 'backup-now', '-o', 'json')).stdout) as KObject;
    assert.deepEqual(job.metadata.labels, { app: 'backup' });
    assert.deepEqual(job.metadata.annotations, { team: 'blue', 'cronjob.kubernetes.io/instantiate': 'manual' });
    assert.deepEqual(job.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', uid: cj.metadata.uid, controller: true }]);
    assert.deepEqual((job.spec as { template: unknown }).template, (cj.spec as { jobTemplate: { spec: { template: unknown } } }).jobTemplate.spec.template);
  });

  test('an unknown CronJob, a taken name or a --from that is no CronJob is refused and writes nothing', async () => {
    const missing = await bramble('create', 'job', 'x1', '--from=cronjob/nope');
    assert.equal(missing.code, 1, explain(missing));
    assert.match(missing.stderr, /cronjobs.batch "nope" not found in namespace "default"/);
    const first = await bramble('create', 'job', 'taken', '--from=cj/backup');
    assert.equal(first.code, 0, explain(first));
    const again = await bramble('create', 'job', 'taken', '--from=cj/backup');
    assert.equal(again.code, 1, explain(again));
    assert.match(again.stderr, /jobs.batch "taken" already exists in namespace "default"/);
    const wrongKind = await bramble('create', 'job', 'x2', '--from=deploy/backup');
    assert.equal(wrongKind.code, 2, explain(wrongKind));
    assert.match(wrongKind.stderr, /--from must name a cronjob/);
    const noFrom = await bramble('create', 'job', 'x3');
    assert.equal(noFrom.code, 2, explain(noFrom));
    assert.match(noFrom.stderr, /needs --from=cronjob\/NAME/);
    const jobs = await bramble('get', 'jobs', '-o', 'name');
    assert.doesNotMatch(jobs.stdout, /x1|x2|x3/);
  });
});
