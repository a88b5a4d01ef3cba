import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, type CronJob } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { makeNamespace, seed } from '../testing/replicaset-fixtures.js';
import { finishJob, makeCronJob, makeOwnedJob, T0 } from '../testing/cronjob-fixtures.js';
import { CronJobController } from './controller-cronjob.js';
import type { CronJobJob } from './cronjob-jobs.js';
import { FakeRecorder } from './event-recorder.js';

const MIN = 60_000;
const minuteName = (cj: string, at: number) => `${cj}-${Math.floor(at / MIN)}`;

async function setup(t: TestContext, opts: { start?: number; runWorkers?: boolean } = {}) {
  const store = createMemoryStore();
  const clock = new FakeClock(opts.start ?? T0);
  await seed(store, makeNamespace());
  const recorder = new FakeRecorder();
  const controllers: CronJobController[] = [];
  let uid = 0;
  const startController = async (runWorkers = opts.runWorkers ?? true) => {
    const c = new CronJobController({ store, clock, recorder, newUid: () => `uid-made-${++uid}` });
    controllers.push(c);
    c.start(undefined, { runWorkers });
    await c.whenSynced();
    return c;
  };
  const controller = await startController();
  t.after(async () => {
    for (const c of controllers) await c.stop();
    await store.close();
  });
  const settle = async () => {
    for (let i = 0; i < 3; i++) await clock.advance(0);
  };
  const jobs = () => (store.list('Job', 'default').items as CronJobJob[]).map((j) => j.metadata.name).sort();
  const job = (name: string) => store.get('Job', 'default', name) as CronJobJob;
  const cj = (name = 'backup') => store.get('CronJob', 'default', name) as CronJob;
  /** Moves the clock to `at` (epoch ms), letting every wake-up on the way fire. */
  const advanceTo = async (at: number) => {
    await clock.advance(at - clock.now());
    await settle();
  };
  const sync = async (c: CronJobController = controller, key = 'default/backup') => {
    await settle();
    await c.reconcile(key);
    await settle();
  };
  return { store, clock, recorder, controller, startController, settle, jobs, job, cj, advanceTo, sync };
}

async function update(store: Store, name: string, change: (cj: CronJob) => CronJob): Promise<void> {
  const current = store.get('CronJob', 'default', name) as CronJob;
  await store.propose({ ops: [{ type: 'put', object: change(structuredClone(current)), precondition: { resourceVersion: current.metadata.resourceVersion! } }] });
}

describe('CronJob controller', () => {
  test('each scheduled minute makes one Job named after it, owned by the CronJob, annotated and labelled from the template', async (t) => {
    const { store, recorder, jobs, job, cj, advanceTo, settle } = await setup(t);
    await seed(store, makeCronJob('backup'));
    await settle();
    assert.deepEqual(jobs(), [], 'nothing is due at creation');
    await advanceTo(T0 + MIN + 200);
    const first = minuteName('backup', T0 + MIN);
    assert.deepEqual(jobs(), [first]);
    const made = job(first);
    assert.deepEqual(made.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', uid: 'uid-cj-backup', controller: true, blockOwnerDeletion: true }]);
    assert.equal(made.metadata.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], '2026-01-01T00:01:00Z');
    assert.deepEqual(made.metadata.labels, { app: 'backup' });
    assert.equal(cj().status?.lastScheduleTime, '2026-01-01T00:01:00Z');
    assert.deepEqual(cj().status?.active?.map((r) => r.name), [first]);
    await advanceTo(T0 + 2 * MIN + 200);
    assert.deepEqual(jobs(), [first, minuteName('backup', T0 + 2 * MIN)], 'the wake-up for the next minute came from the queue');
    assert.deepEqual(recorder.reasons(), ['SuccessfulCreate', 'SuccessfulCreate']);
  });

  test('a second reconcile in the same minute creates nothing more', async (t) => {
    const { store, jobs, sync, clock } = await setup(t, { runWorkers: false });
    await seed(store, makeCronJob('backup'));
    await clock.advance(MIN + 5_000);
    await sync();
    await sync();
    assert.deepEqual(jobs(), [minuteName('backup', T0 + MIN)]);
  });

  test('Allow runs a new Job while the previous one is still active', async (t) => {
    const { store, jobs, cj, advanceTo } = await setup(t);
    await seed(store, makeCronJob('backup', { concurrencyPolicy: 'Allow' }));
    await advanceTo(T0 + 2 * MIN + 200);
    assert.equal(jobs().length, 2);
    assert.equal(cj().status?.active?.length, 2);
  });

  test('Forbid skips a run while a Job is active, and starts it once that Job ends (no deadline: as Kubernetes)', async (t) => {
    const { store, recorder, jobs, cj, advanceTo, clock, settle } = await setup(t);
    await seed(store, makeCronJob('backup', { concurrencyPolicy: 'Forbid' }));
    await advanceTo(T0 + MIN + 200);
    const first = minuteName('backup', T0 + MIN);
    await advanceTo(T0 + 2 * MIN + 200);
    assert.deepEqual(jobs(), [first]);
    assert.ok(recorder.reasons().includes('JobAlreadyActive'));
    assert.equal(cj().status?.lastScheduleTime, '2026-01-01T00:01:00Z', 'the skipped run is still owed');
    await clock.advance(10_000);
    await finishJob(store, first, 'Complete', new Date(clock.now()).toISOString());
    await settle();
    assert.deepEqual(jobs(), [first, minuteName('backup', T0 + 2 * MIN)]);
    assert.ok(recorder.reasons().includes('SawCompletedJob'));
    assert.equal(cj().status?.lastSuccessfulTime, new Date(T0 + 2 * MIN + 10_200).toISOString());
    assert.deepEqual(cj().status?.active?.map((r) => r.name), [minuteName('backup', T0 + 2 * MIN)]);
  });

  test('Replace deletes the active Job before starting the next', async (t) => {
    const { store, recorder, jobs, cj, advanceTo } = await setup(t);
    await seed(store, makeCronJob('backup', { concurrencyPolicy: 'Replace' }));
    await advanceTo(T0 + MIN + 200);
    await advanceTo(T0 + 2 * MIN + 200);
    const second = minuteName('backup', T0 + 2 * MIN);
    assert.deepEqual(jobs(), [second]);
    assert.deepEqual(cj().status?.active?.map((r) => r.name), [second]);
    assert.deepEqual(recorder.reasons(), ['SuccessfulCreate', 'SuccessfulDelete', 'SuccessfulCreate']);
  });

  test('after an outage, only the most recent missed run starts, if within startingDeadlineSeconds', async (t) => {
    const { store, jobs, sync, clock } = await setup(t, { runWorkers: false });
    await seed(store, makeCronJob('backup', { startingDeadlineSeconds: 120 }, { lastScheduleTime: '2026-01-01T00:00:00Z' }));
    await clock.advance(5 * MIN + 30_000);
    await sync();
    assert.deepEqual(jobs(), [minuteName('backup', T0 + 5 * MIN)]);
  });

  test('a run older than startingDeadlineSeconds is not started; the next one is', async (t) => {
    const { store, jobs, sync, clock, advanceTo } = await setup(t, { runWorkers: false });
    await seed(store, makeCronJob('backup', { schedule: '0 * * * *', startingDeadlineSeconds: 60 }));
    await clock.advance(60 * MIN + 5 * MIN);
    await sync();
    assert.deepEqual(jobs(), [], '01:00 is five minutes late, beyond the 60 s deadline');
    await advanceTo(T0 + 120 * MIN + 30_000);
    await sync();
    assert.deepEqual(jobs(), [minuteName('backup', T0 + 120 * MIN)]);
  });

  test('without a deadline, more than 100 missed runs start only the latest, with a warning', async (t) => {
    const { store, recorder, jobs, sync, clock } = await setup(t, { runWorkers: false });
    await seed(store, makeCronJob('backup'));
    await clock.advance(150 * MIN + 30_000);
    await sync();
    assert.deepEqual(jobs(), [minuteName('backup', T0 + 150 * MIN)]);
    const warning = recorder.events.find((e) => e.reason === 'TooManyMissedTimes');
    assert.equal(warning?.type, 'Warning');
    assert.match(warning!.message, /more than 100/);
  });

  test('the schedule is read in spec.timeZone: "0 2 * * *" in Europe/Berlin runs at 01:00 UTC in winter', async (t) => {
    const { store, jobs, cj, advanceTo } = await setup(t);
    await seed(store, makeCronJob('backup', { schedule: '0 2 * * *', timeZone: 'Europe/Berlin' }));
    await advanceTo(T0 + 59 * MIN);
    assert.deepEqual(jobs(), []);
    await advanceTo(T0 + 61 * MIN);
    assert.deepEqual(jobs(), [minuteName('backup', T0 + 60 * MIN)]);
    assert.equal(cj().status?.lastScheduleTime, '2026-01-01T01:00:00Z');
  });

  test('02:30 in Berlin does not exist on 2026-03-29 (clocks spring forward): that day has no run, as with robfig/cron', async (t) => {
    const start = Date.parse('2026-03-28T12:00:00Z');
    const { store, jobs, advanceTo } = await setup(t, { start });
    await seed(store, makeCronJob('backup', { schedule: '30 2 * * *', timeZone: 'Europe/Berlin' }, undefined, new Date(start).toISOString()));
    await advanceTo(Date.parse('2026-03-30T12:00:00Z'));
    assert.deepEqual(jobs(), [minuteName('backup', Date.parse('2026-03-30T00:30:00Z'))]);
  });

  test('history limits keep the newest 3 successful and 1 failed Job by default', async (t) => {
    const { store, recorder, jobs, sync, cj } = await setup(t, { runWorkers: false });
    const backup = makeCronJob('backup', { schedule: '0 0 1 1 *' });
    const at = (m: number) => new Date(T0 - m * MIN).toISOString();
    await seed(store, backup,
      ...[5, 4, 3, 2, 1].map((m) => makeOwnedJob(backup, `ok-${m}`, 'Complete', at(m))),
      ...[3, 2].map((m) => makeOwnedJob(backup, `bad-${m}`, 'Failed', at(m))),
      makeOwnedJob(backup, 'running', 'running', at(10)));
    await sync();
    assert.deepEqual(jobs(), ['bad-2', 'ok-1', 'ok-2', 'ok-3', 'running']);
    assert.deepEqual(recorder.events.filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message), ['Deleted job ok-5', 'Deleted job ok-4', 'Deleted job bad-3']);
    assert.equal(cj().status?.lastSuccessfulTime, at(1));
    assert.deepEqual(cj().status?.active?.map((r) => r.name), ['running']);
  });

  test('history limits of 0 keep no finished Job', async (t) => {
    const { store, jobs, sync } = await setup(t, { runWorkers: false });
    const backup = makeCronJob('backup', { schedule: '0 0 1 1 *', successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 });
    await seed(store, backup, makeOwnedJob(backup, 'ok', 'Complete', new Date(T0).toISOString()), makeOwnedJob(backup, 'bad', 'Failed', new Date(T0).toISOString()));
    await sync();
    assert.deepEqual(jobs(), []);
  });

  test('a controller restarted across a scheduled minute makes exactly one Job for it', async (t) => {
    const { store, jobs, startController, controller, clock, settle } = await setup(t);
    await seed(store, makeCronJob('backup'));
    await clock.advance(30_000);
    await settle();
    await controller.stop();
    await clock.advance(MIN);
    await settle();
    assert.deepEqual(jobs(), [], 'nobody runs while stopped');
    await startController();
    await settle();
    assert.deepEqual(jobs(), [minuteName('backup', T0 + MIN)]);
    await startController();
    await settle();
    assert.deepEqual(jobs(), [minuteName('backup', T0 + MIN)], 'a third start finds the run done');
  });

  test('a controller stopped after creating the Job but before writing lastScheduleTime does not run it twice', async (t) => {
    const { store, jobs, sync, cj, clock } = await setup(t, { runWorkers: false });
    const backup = makeCronJob('backup');
    const name = minuteName('backup', T0 + MIN);
    await seed(store, backup, makeOwnedJob(backup, name, 'Complete', new Date(T0 + MIN).toISOString()));
    await clock.advance(MIN + 10_000);
    await sync();
    assert.deepEqual(jobs(), [name]);
    assert.equal(cj().status?.lastScheduleTime, '2026-01-01T00:01:00Z');
  });

  test('two controllers racing on the same minute make exactly one Job', async (t) => {
    const { store, jobs, startController, advanceTo, recorder } = await setup(t);
    await startController();
    await seed(store, makeCronJob('backup'));
    await advanceTo(T0 + MIN + 200);
    await advanceTo(T0 + 2 * MIN + 200);
    assert.deepEqual(jobs(), [minuteName('backup', T0 + MIN), minuteName('backup', T0 + 2 * MIN)]);
    assert.ok(!recorder.reasons().includes('FailedCreate'));
  });

  test('two reconciles started together on a stale CronJob make one Job', async (t) => {
    const { store, jobs, startController, clock, settle } = await setup(t, { runWorkers: false });
    const other = await startController(false);
    await seed(store, makeCronJob('backup'));
    await clock.advance(MIN + 1_000);
    await settle();
    const [a, b] = await Promise.allSettled([other.reconcile('default/backup'), (await startController(false)).reconcile('default/backup')]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'fulfilled');
    assert.deepEqual(jobs(), [minuteName('backup', T0 + MIN)]);
  });

  test('a suspended CronJob makes no Job; resumed, it starts the latest missed run', async (t) => {
    const { store, jobs, advanceTo, settle } = await setup(t);
    await seed(store, makeCronJob('backup', { suspend: true }));
    await advanceTo(T0 + 5 * MIN + 200);
    assert.deepEqual(jobs(), []);
    await update(store, 'backup', (cj) => ({ ...cj, spec: { ...cj.spec, suspend: false } }));
    await settle();
    assert.deepEqual(jobs(), [minuteName('backup', T0 + 5 * MIN)]);
  });

  test('a Job name taken by someone else is a FailedCreate warning, not a retry loop', async (t) => {
    const { store, recorder, jobs, sync, clock, cj } = await setup(t, { runWorkers: false });
    await seed(store, makeCronJob('backup'));
    const name = minuteName('backup', T0 + MIN);
    await seed(store, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'default', uid: 'uid-stranger' }, spec: {} });
    await clock.advance(MIN + 1_000);
    await sync();
    assert.deepEqual(jobs(), [name]);
    assert.match(recorder.events.find((e) => e.reason === 'FailedCreate')!.message, /not owned by cronjob "backup"/);
    assert.equal(cj().status?.lastScheduleTime, undefined);
  });
});
