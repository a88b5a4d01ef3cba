// The ReplicaSet controller (Kubernetes' pkg/controller/replicaset, small): keeps
// spec.replicas active Pods matching each ReplicaSet's selector. Event handlers
// only enqueue keys (and count observed creates/deletes against expectations);
// reconcile(key) reads the ReplicaSet and its namespace's Pods from the informer
// caches, claims Pods (adopts matching orphans, releases owned Pods that stopped
// matching), creates or deletes toward the desired count through a PodControl
// and writes status when it changed. An error goes back to the queue, which
// retries with back-off.
import type { Clock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { Pod, ReplicaSet } from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import { errorMessage, NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { ControllerExpectations } from './controller-expectations.js';
import { INDEX_NAMESPACE, keyOf, splitKey, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import type { PodControl } from './pod-control.js';
import { becomesAvailableAt, isPodActive, podsToDelete } from './pod-ranking.js';
import { replicaSetStatus, sameStatus } from './replicaset-status.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { claimPods } from './claim-pods.js';
import { slowStartBatch } from './slow-start-batch.js';
import { DependentEvents } from './dependent-events.js';
import { ownKindHandlers } from './object-changes.js';

/** Kept here too: callers (and tests) found it here first. */
export { slowStartBatch };

/** At most this many creates or deletes per reconcile (Kubernetes' burstReplicas is 500; Pis are smaller). */
export const DEFAULT_BURST_REPLICAS = 100;

export interface ReplicaSetControllerOptions {
  store: Store;
  clock: Clock;
  podControl: PodControl;
  logger?: Logger;
  workers?: number;
  burstReplicas?: number;
  /** Events about the ReplicaSet: SuccessfulCreate, SuccessfulDelete, FailedCreate, FailedDelete. */
  recorder?: EventRecorder;
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly podControl: PodControl;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly burst: number;
  private readonly recorder: EventRecorder;
  private queue: WorkQueue;
  /** Kept per term: a new term's informers list everything, so nothing is awaited from the old one. */
  private expectations: ControllerExpectations;
  private replicaSets: Informer<ReplicaSet> | undefined;
  private pods: Informer<Pod> | undefined;
  /** This leadership term's informers, handlers and workers; undefined while stopped. */
  private term: ControllerTerm | undefined;

  constructor(opts: ReplicaSetControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.podControl = opts.podControl;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 4;
    this.burst = opts.burstReplicas ?? DEFAULT_BURST_REPLICAS;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.queue = new WorkQueue(this.clock);
    this.expectations = new ControllerExpectations(this.clock);
  }

  /**
   * Follows ReplicaSets and Pods through ctx.informers; without a context it makes
   * informers of its own (tests). `runWorkers: false` only wires the handlers, for
   * tests that call reconcile themselves.
   */
  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    this.expectations = new ControllerExpectations(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const replicaSets = (this.replicaSets = term.informers.informer<ReplicaSet>('ReplicaSet'));
    const pods = (this.pods = term.informers.informer<Pod>('Pod'));
    term.handle(replicaSets.addEventHandler(ownKindHandlers<ReplicaSet>((key) => this.queue.add(key), (key) => this.expectations.delete(key))));
    term.handle(pods.addEventHandler({
      ...new DependentEvents<ReplicaSet, Pod>({
        ownerKind: 'ReplicaSet',
        owners: () => this.replicaSets,
        enqueue: (key) => this.queue.add(key),
        observed: {
          creation: (key) => this.expectations.creationObserved(key),
          deletion: (key, pod) => this.expectations.deletionObserved(key, pod),
        },
      }).handlers(),
    }));
    const queue = this.queue;
    term.run(async () => {
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'replicaSet', 'syncing a replicaset failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  /** Resolves once the informers have synced (for tests that drive reconcile themselves). */
  whenSynced(): Promise<boolean> {
    return Promise.all([this.replicaSets!.whenSynced(), this.pods!.whenSynced()]).then((s) => s.every(Boolean));
  }

  /** What the controller still awaits for a ReplicaSet key (tests). */
  pendingExpectations(key: string): { adds: number; deletes: string[] } | undefined {
    return this.expectations.pending(key);
  }

  /** The failures in a row for a key (tests). */
  failureCount(key: string): number {
    return this.queue.failureCount(key);
  }

  // ---------------------------------------------------------------- events

  // ------------------------------------------------------------- reconcile

  async reconcile(key: string): Promise<void> {
    const rs = this.replicaSets?.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const { namespace } = splitKey(key);
    // Asked before reading Pods: an event that lands in between then only makes this pass more careful.
    const needsSync = this.expectations.satisfied(key);
    const active = this.pods!.byIndex(INDEX_NAMESPACE, namespace!).filter(isPodActive);
    const owned = await claimPods({ store: this.store, podControl: this.podControl }, rs, active, isPodActive);
    let manageError: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, owned);
      } catch (err) {
        manageError = err;
      }
    }
    await this.writeStatus(rs, owned, manageError);
    if (manageError !== undefined) throw manageError;
    this.requeueForAvailability(key, rs, owned);
  }

  private async manageReplicas(key: string, rs: ReplicaSet, pods: Pod[]): Promise<void> {
    const want = rs.spec.replicas ?? 1;
    const diff = pods.length - want;
    if (diff < 0) {
      const count = Math.min(-diff, this.burst);
      // Set before the first create: its watch event may arrive before createPod resolves.
      this.expectations.expectCreations(key, count);
      const namespace = rs.metadata.namespace!;
      const { attempted, error } = await slowStartBatch(count, async () => {
        try {
          const pod = await this.podControl.createPod(namespace, rs.spec.template, rs);
          this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (err) {
          // A failed create will never be observed.
          this.expectations.creationObserved(key);
          this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          throw err;
        }
      });
      // Creates never sent will never be observed either.
      for (let i = attempted; i < count; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
      this.logger.debug({ replicaSet: key, created: count }, 'created pods');
    } else if (diff > 0) {
      const victims = podsToDelete(pods, Math.min(diff, this.burst));
      this.expectations.expectDeletions(key, victims.map(keyOf));
      const errors: unknown[] = [];
      await Promise.all(victims.map(async (pod) => {
        try {
          await this.podControl.deletePod(pod.metadata.namespace!, pod.metadata.name);
          this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (err) {
          this.expectations.deletionObserved(key, keyOf(pod));
          this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
          errors.push(err);
        }
      }));
      if (errors.length > 0) throw errors[0];
      this.logger.debug({ replicaSet: key, deleted: victims.map((p) => p.metadata.name) }, 'deleted pods');
    }
  }

  /** Writes status only when it changed, on the stored ReplicaSet (the cache may lag). */
  private async writeStatus(rs: ReplicaSet, pods: Pod[], manageError: unknown): Promise<void> {
    const nowIso = new Date(this.clock.now()).toISOString();
    const next = replicaSetStatus(rs, pods, this.clock.now(), nowIso, manageError);
    if (sameStatus(rs.status, next)) return;
    try {
      await retryOnConflict<ReplicaSet>(this.store, { kind: 'ReplicaSet', namespace: rs.metadata.namespace, name: rs.metadata.name }, (current) => {
        if (current.metadata.uid !== rs.metadata.uid) return undefined;
        const fresh = { ...next, observedGeneration: current.metadata.generation ?? next.observedGeneration };
        return sameStatus(current.status, fresh) ? undefined : { ...current, status: fresh };
      });
    } catch (err) {
      if (!isBrambleError(err, 'NOT_FOUND')) throw err;
    }
  }

  /** A Ready Pod turns available minReadySeconds later without any event: come back then. */
  private requeueForAvailability(key: string, rs: ReplicaSet, pods: Pod[]): void {
    const minReady = rs.spec.minReadySeconds ?? 0;
    if (minReady <= 0) return;
    const now = this.clock.now();
    const next = Math.min(...pods.map((p) => becomesAvailableAt(p, minReady, now) ?? Infinity));
    if (Number.isFinite(next)) this.queue.addAfter(key, next - now);
  }
}
