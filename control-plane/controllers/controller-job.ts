// The Job controller (Kubernetes' pkg/controller/job, small): runs a Job's Pods
// to completion. Handlers only enqueue Job keys (and count observed creates and
// deletes against expectations, as the ReplicaSet controller does). reconcile
// reads the Job as stored (its counts must be current: a finished Pod is counted
// once, against the stored status) and its Pods from the cache, lets planJob
// decide, makes and deletes Pods through a PodControl, writes status when it
// changed (at the version read: a conflict is retried from a fresh read), and
// comes back on the injected clock when a back-off, deadline or TTL runs out.
// Finished Pods are never deleted, so their logs stay readable.
import type { Clock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { Job, Pod } from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import type { Store } from '../store/store.js';
import { ControllerExpectations } from './controller-expectations.js';
import { INDEX_CONTROLLER, keyOf, splitKey, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import type { PodControl } from './pod-control.js';
import { controllerOf } from './owner-claims.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { slowStartBatch } from './slow-start-batch.js';
import { ownKindHandlers } from './object-changes.js';
import { NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { removalOp } from './garbage-collector/deletion.js';
import { jobPodTemplate } from './job-pods.js';
import { planJob, sameJobStatus } from './job-sync.js';

/** At most this many Pod creates per pass, as the ReplicaSet controller's burst. */
export const DEFAULT_JOB_BURST = 100;

export interface JobControllerOptions {
  store: Store;
  clock: Clock;
  podControl: PodControl;
  logger?: Logger;
  workers?: number;
  recorder?: EventRecorder;
  burst?: number;
}

export class JobController implements Controller {
  readonly name = 'job';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly podControl: PodControl;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly recorder: EventRecorder;
  private readonly burst: number;
  private queue: WorkQueue;
  private expectations: ControllerExpectations;
  private jobs: Informer<Job> | undefined;
  private pods: Informer<Pod> | undefined;
  private term: ControllerTerm | undefined;

  constructor(opts: JobControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.podControl = opts.podControl;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 4;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.burst = opts.burst ?? DEFAULT_JOB_BURST;
    this.queue = new WorkQueue(this.clock);
    this.expectations = new ControllerExpectations(this.clock);
  }

  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    this.expectations = new ControllerExpectations(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const jobs = (this.jobs = term.informers.informer<Job>('Job'));
    const pods = (this.pods = term.informers.informer<Pod>('Pod'));
    term.handle(jobs.addEventHandler(ownKindHandlers<Job>((key) => this.queue.add(key), (key) => this.expectations.delete(key))));
    term.handle(pods.addEventHandler({
      onAdd: (pod) => {
        const key = this.ownerKey(pod);
        if (!key) return;
        if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(key, keyOf(pod));
        else this.expectations.creationObserved(key);
        this.queue.add(key);
      },
      onUpdate: (_old, pod) => {
        const key = this.ownerKey(pod);
        if (!key) return;
        // A graceful delete is seen as the deletionTimestamp, long before the Pod is gone.
        if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(key, keyOf(pod));
        this.queue.add(key);
      },
      onDelete: (pod) => {
        const key = this.ownerKey(pod);
        if (!key) return;
        this.expectations.deletionObserved(key, keyOf(pod));
        this.queue.add(key);
      },
    }));
    const queue = this.queue;
    term.run(async () => {
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'job', 'syncing a job failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  whenSynced(): Promise<boolean> {
    return Promise.all([this.jobs!.whenSynced(), this.pods!.whenSynced()]).then((s) => s.every(Boolean));
  }

  pendingExpectations(key: string): { adds: number; deletes: string[] } | undefined {
    return this.expectations.pending(key);
  }

  /** The key of the cached Job that controls the Pod (same name and uid). */
  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== 'Job') return undefined;
    const key = `${pod.metadata.namespace}/${ref.name}`;
    return this.jobs?.get(key)?.metadata.uid === ref.uid ? key : undefined;
  }

  async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.jobs?.get(key);
    // The stored Job, not the cache: the counts must be the ones stored.
    const job = this.store.get('Job', namespace, name) as Job | undefined;
    if (!cached || !job || job.metadata.uid !== cached.metadata.uid) {
      if (!job) this.expectations.delete(key);
      return;
    }
    if (job.metadata.deletionTimestamp) return;
    // Asked before reading Pods, as the ReplicaSet controller does.
    const needsSync = this.expectations.satisfied(key);
    const pods = this.pods!.byIndex(INDEX_CONTROLLER, job.metadata.uid!).filter((p) => controllerOf(p)?.kind === 'Job');
    const now = this.clock.now();
    const plan = planJob(job, pods, now);

    if (plan.deleteJob) {
      await this.deleteJob(job);
      return;
    }
    let manageError: unknown;
    try {
      if (needsSync) {
        const creates = plan.create.slice(0, this.burst);
        // Both at once (Set before the first write: its watch event may arrive before the write resolves).
        if (creates.length > 0 || plan.delete.length > 0) this.expectations.expect(key, creates.length, plan.delete.map(keyOf));
        // Creates go ahead when a delete failed: they are expected, and a create not sent would be awaited in vain.
        const deleted = this.deletePods(key, job, plan.delete).then(() => undefined, (err: unknown) => err);
        await this.createPods(key, job, creates);
        const deleteError = await deleted;
        if (deleteError !== undefined) throw deleteError;
      }
    } catch (err) {
      manageError = err;
    }
    if (!sameJobStatus(job.status, plan.status)) {
      // At the version read: a Job changed meanwhile is planned again from a fresh read.
      await this.store.propose({ ops: [{ type: 'put', object: { ...job, status: plan.status }, precondition: { resourceVersion: job.metadata.resourceVersion ?? '' } }] });
    }
    for (const e of plan.events) this.recorder.event(job, e.type, e.reason, e.message);
    if (manageError !== undefined) throw manageError;
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
  }

  private async createPods(key: string, job: Job, indexes: (number | undefined)[]): Promise<void> {
    const count = indexes.length;
    if (count === 0) return;
    const namespace = job.metadata.namespace!;
    let next = 0;
    const { attempted, error } = await slowStartBatch(count, async () => {
      const index = indexes[next++];
      try {
        const pod = await this.podControl.createPod(
          namespace, jobPodTemplate(job, index), job, undefined,
          index === undefined ? {} : { generateName: `${job.metadata.name}-${index}-` },
        );
        this.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        this.expectations.creationObserved(key);
        this.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
        throw err;
      }
    });
    for (let i = attempted; i < count; i++) this.expectations.creationObserved(key);
    if (error !== undefined) throw error;
  }

  private async deletePods(key: string, job: Job, pods: Pod[]): Promise<void> {
    if (pods.length === 0) return;
    const errors: unknown[] = [];
    await Promise.all(pods.map(async (pod) => {
      try {
        await this.podControl.deletePod(pod.metadata.namespace!, pod.metadata.name);
        this.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (err) {
        this.expectations.deletionObserved(key, keyOf(pod));
        errors.push(err);
      }
    }));
    if (errors.length > 0) throw errors[0];
  }

  /** ttlSecondsAfterFinished: a background delete; the garbage collector removes the Pods. */
  private async deleteJob(job: Job): Promise<void> {
    const op = removalOp(this.store, job, new Date(this.clock.now()).toISOString());
    if (!op) return;
    try {
      await this.store.propose({ ops: [op] });
      this.logger.info({ job: `${job.metadata.namespace}/${job.metadata.name}` }, 'deleted a finished job after its ttlSecondsAfterFinished');
    } catch (err) {
      if (!isBrambleError(err, 'NOT_FOUND')) throw err;
    }
  }
}
