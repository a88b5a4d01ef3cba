// The CronJob controller (Kubernetes' pkg/controller/cronjob, v2): makes a Job
// for each scheduled time of a CronJob. Schedules are computed, never kept as
// timers: reconcile reads the CronJob from the store (lastScheduleTime must not
// lag, as a cache could), asks the schedule for the latest time owed since then
// and starts at most that one. The Job is named after its scheduled minute, so
// a restart, a new leader or a second controller that tries again meets
// ALREADY_EXISTS instead of running it twice. The queue's addAfter for the next
// scheduled time is only a wake-up: a lost one costs nothing but latency, since
// any later reconcile recomputes the same answer.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../proto/util/clock.js';
import { parseCronSchedule, type CronSchedule } from '../../proto/util/cron-schedule.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { CronJob, CronJobActiveRef, CronJobStatus } from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import { INDEX_CONTROLLER, splitKey, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { ownKindHandlers } from './object-changes.js';
import { controllerOf } from './owner-claims.js';
import { activeRef, completedAt, jobFromCronJob, jobOutcome, type CronJobJob } from './cronjob-jobs.js';
import { StoreJobControl, type JobControl } from './cronjob-job-control.js';
import { earliestTime, jobNameFor, planSchedule, TOO_MANY_MISSED } from './cronjob-schedule-plan.js';
import { pruneHistory } from './cronjob-history.js';

/** Woken this long after a scheduled time, so the clock has surely passed it (Kubernetes adds 100ms too). */
const WAKE_SLACK_MS = 100;

export interface CronJobControllerOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  workers?: number;
  recorder?: EventRecorder;
  jobControl?: JobControl;
  newUid?: () => string;
}

/** RFC 3339 to the second, as Kubernetes writes times. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class CronJobController implements Controller {
  readonly name = 'cronjob';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly recorder: EventRecorder;
  private readonly jobControl: JobControl;
  private readonly newUid: () => string;
  private queue: WorkQueue;
  private cronJobs: Informer<CronJob> | undefined;
  private jobs: Informer<CronJobJob> | undefined;
  private term: ControllerTerm | undefined;
  /** Parsed schedules by schedule and zone: parsing is the costly part of a reconcile. */
  private readonly schedules = new Map<string, CronSchedule>();

  constructor(opts: CronJobControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 2;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.jobControl = opts.jobControl ?? new StoreJobControl(opts.store, opts.clock);
    this.newUid = opts.newUid ?? randomUUID;
    this.queue = new WorkQueue(this.clock);
  }

  /** As the other controllers: shared informers from ctx, or its own (tests); `runWorkers: false` for tests that reconcile by hand. */
  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const cronJobs = (this.cronJobs = term.informers.informer<CronJob>('CronJob'));
    const jobs = (this.jobs = term.informers.informer<CronJobJob>('Job'));
    term.handle(cronJobs.addEventHandler(ownKindHandlers<CronJob>((key) => this.queue.add(key))));
    const enqueueOwner = (job: CronJobJob): void => {
      const ref = controllerOf(job);
      if (ref?.kind === 'CronJob' && job.metadata.namespace) this.queue.add(`${job.metadata.namespace}/${ref.name}`);
    };
    term.handle(jobs.addEventHandler({ onAdd: enqueueOwner, onUpdate: (_old, job) => enqueueOwner(job), onDelete: enqueueOwner }));
    const queue = this.queue;
    term.run(async () => {
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'cronJob', 'syncing a cronjob failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  whenSynced(): Promise<boolean> {
    return Promise.all([this.cronJobs!.whenSynced(), this.jobs!.whenSynced()]).then((s) => s.every(Boolean));
  }

  // ------------------------------------------------------------- reconcile

  async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cj = this.store.get('CronJob', namespace, name) as CronJob | undefined;
    if (!cj || cj.metadata.deletionTimestamp) return;
    const now = this.clock.now();
    const owned = this.ownedJobs(cj);
    const status = this.observedStatus(cj, owned);

    let wakeAt: number | undefined;
    if (!cj.spec.suspend) {
      const schedule = this.schedule(cj);
      if (!schedule) {
        await this.writeStatus(cj, status);
        return;
      }
      const plan = planSchedule(schedule, earliestTime(cj, now), now);
      wakeAt = plan.next;
      if (plan.missed > TOO_MANY_MISSED) {
        this.recorder.event(cj, 'Warning', 'TooManyMissedTimes',
          `too many missed start times: more than ${TOO_MANY_MISSED}; only the most recent, ${rfc3339(plan.mostRecent!)}, is started. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
      }
      if (plan.mostRecent !== undefined) await this.startRun(cj, plan.mostRecent, now, owned, status);
    }

    await this.writeStatus(cj, status);
    await this.deleteOldJobs(cj, owned);
    if (wakeAt !== undefined) this.queue.addAfter(key, wakeAt - now + WAKE_SLACK_MS);
  }

  /** The Jobs this CronJob controls, from the cache. */
  private ownedJobs(cj: CronJob): CronJobJob[] {
    return this.jobs!.byIndex(INDEX_CONTROLLER, cj.metadata.uid!).filter((j) => j.metadata.namespace === cj.metadata.namespace);
  }

  /** status.active and lastSuccessfulTime as the Jobs say; SawCompletedJob for each Job that left status.active finished. */
  private observedStatus(cj: CronJob, owned: CronJobJob[]): CronJobStatus {
    const byName = new Map(owned.map((j) => [j.metadata.name, j]));
    const active: CronJobActiveRef[] = owned.filter((j) => !jobOutcome(j) && !j.metadata.deletionTimestamp).map(activeRef);
    for (const ref of cj.status?.active ?? []) {
      const cached = byName.get(ref.name);
      if (cached) {
        const outcome = jobOutcome(cached);
        if (outcome) this.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${ref.name}, condition: ${outcome}`);
        continue;
      }
      // Listed but not cached yet (just created; the cache lags the store): the store says whether it still runs.
      const stored = this.store.get('Job', ref.namespace ?? cj.metadata.namespace, ref.name) as CronJobJob | undefined;
      if (stored && stored.metadata.uid === ref.uid && !jobOutcome(stored)) active.push(activeRef(stored));
    }
    let lastSuccessfulTime = cj.status?.lastSuccessfulTime;
    for (const j of owned) {
      const at = jobOutcome(j) === 'Complete' ? completedAt(j) : undefined;
      if (at && (!lastSuccessfulTime || Date.parse(at) > Date.parse(lastSuccessfulTime))) lastSuccessfulTime = at;
    }
    active.sort((a, b) => a.name.localeCompare(b.name));
    return {
      ...(active.length > 0 ? { active } : {}),
      ...(cj.status?.lastScheduleTime ? { lastScheduleTime: cj.status.lastScheduleTime } : {}),
      ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}),
    };
  }

  private schedule(cj: CronJob): CronSchedule | undefined {
    const cacheKey = `${cj.spec.timeZone ?? ''}\u0000${cj.spec.schedule}`;
    let parsed = this.schedules.get(cacheKey);
    if (!parsed) {
      try {
        parsed = parseCronSchedule(cj.spec.schedule, cj.spec.timeZone);
      } catch (e) {
        // The schema refuses these; a CronJob stored before a rule tightened is left alone, loudly.
        this.recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule "${cj.spec.schedule}": ${(e as Error).message}`);
        return undefined;
      }
      if (this.schedules.size > 1000) this.schedules.clear();
      this.schedules.set(cacheKey, parsed);
    }
    return parsed;
  }

  /** Starts the Job for `scheduled` unless it is too late, forbidden, or already made; changes `status` to match. */
  private async startRun(cj: CronJob, scheduled: number, now: number, owned: CronJobJob[], status: CronJobStatus): Promise<void> {
    const namespace = cj.metadata.namespace!;
    const name = jobNameFor(cj.metadata.name, scheduled);
    const made = owned.find((j) => j.metadata.name === name) ?? this.ownJob(cj, namespace, name);
    if (made) {
      // Made before a restart, or by a controller that raced this one: the run happened.
      status.lastScheduleTime = laterTime(status.lastScheduleTime, rfc3339(scheduled));
      return;
    }
    const deadline = cj.spec.startingDeadlineSeconds;
    if (deadline !== undefined && scheduled + deadline * 1000 < now) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc3339(scheduled)}`);
      return;
    }
    const policy = cj.spec.concurrencyPolicy ?? 'Allow';
    const active = status.active ?? [];
    if (policy === 'Forbid' && active.length > 0) {
      // lastScheduleTime stays: once the active Job ends, this run starts if still within its deadline (as Kubernetes).
      this.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return;
    }
    if (policy === 'Replace') {
      for (const ref of active) {
        if (await this.jobControl.deleteJob(ref.namespace ?? namespace, ref.name, ref.uid)) {
          this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${ref.name}`);
        }
      }
      delete status.active;
    }
    const job = jobFromCronJob(cj, { name, uid: this.newUid(), nowIso: new Date(now).toISOString(), scheduled });
    try {
      const created = await this.jobControl.createJob(job);
      this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`);
      status.active = [...(status.active ?? []), activeRef(created)];
    } catch (e) {
      if (!isBrambleError(e, 'ALREADY_EXISTS')) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        throw e;
      }
      if (!this.ownJob(cj, namespace, name)) {
        // Someone else's Job has the name: retrying cannot help until the next scheduled time.
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: job "${name}" already exists and is not owned by cronjob "${cj.metadata.name}"`);
        return;
      }
    }
    status.lastScheduleTime = laterTime(status.lastScheduleTime, rfc3339(scheduled));
  }

  /** The stored Job of that name if this CronJob controls it. */
  private ownJob(cj: CronJob, namespace: string, name: string): CronJobJob | undefined {
    const job = this.store.get('Job', namespace, name) as CronJobJob | undefined;
    return job && controllerOf(job)?.uid === cj.metadata.uid ? job : undefined;
  }

  /** Writes status when it changed, on the stored CronJob; never moves lastScheduleTime back (another writer may be ahead). */
  private async writeStatus(cj: CronJob, next: CronJobStatus): Promise<void> {
    if (sameStatus(cj.status, next)) return;
    try {
      await retryOnConflict<CronJob>(this.store, { kind: 'CronJob', namespace: cj.metadata.namespace, name: cj.metadata.name }, (current) => {
        if (current.metadata.uid !== cj.metadata.uid) return undefined;
        const fresh: CronJobStatus = { ...next };
        const last = laterTime(current.status?.lastScheduleTime, next.lastScheduleTime);
        if (last) fresh.lastScheduleTime = last;
        return sameStatus(current.status, fresh) ? undefined : { ...current, status: fresh };
      });
    } catch (err) {
      if (!isBrambleError(err, 'NOT_FOUND')) throw err;
    }
  }

  private async deleteOldJobs(cj: CronJob, owned: CronJobJob[]): Promise<void> {
    for (const job of pruneHistory(owned, cj.spec.successfulJobsHistoryLimit ?? 3, cj.spec.failedJobsHistoryLimit ?? 1)) {
      if (await this.jobControl.deleteJob(job.metadata.namespace!, job.metadata.name, job.metadata.uid)) {
        this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`);
      }
    }
  }
}

function laterTime(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

function sameStatus(a: CronJobStatus | undefined, b: CronJobStatus): boolean {
  const norm = (s: CronJobStatus | undefined) => JSON.stringify({ active: s?.active ?? [], last: s?.lastScheduleTime, ok: s?.lastSuccessfulTime });
  return norm(a) === norm(b);
}
