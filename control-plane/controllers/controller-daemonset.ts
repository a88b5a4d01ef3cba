// The DaemonSet controller (Kubernetes' pkg/controller/daemon, small): one Pod of
// each DaemonSet on every node that should run it, created already bound to the
// node. Event handlers only enqueue keys (every DaemonSet on a node change: there
// are few of them; the controlling one on a Pod change); reconcile(key) reads the
// DaemonSet, the Nodes and its namespace's Pods from the informer caches, claims
// Pods, plans creates and deletes (placement first, then a rolling-update step
// once placement has nothing to do) and writes status when it changed. An error
// goes back to the queue, which retries with back-off.
import type { Clock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import {
  CONTROLLER_REVISION_HASH_LABEL,
  type DaemonSet, type NodeObject, type Pod,
} from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import { errorMessage, NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { claimPods } from './claim-pods.js';
import { ControllerExpectations } from './controller-expectations.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { daemonNode, daemonPodFacts, daemonPodTemplate, type DaemonNode } from './daemonset-nodes.js';
import { groupDaemonPods, planPlacement, type DaemonPods, type PodPlan } from './daemonset-placement.js';
import { planRollout } from './daemonset-rollout.js';
import { daemonSetStatus, sameDaemonSetStatus } from './daemonset-status.js';
import { INDEX_NAMESPACE, keyOf, splitKey, type Informer } from './informer.js';
import { resolveFenceposts } from './int-or-percent.js';
import type { Controller, ControllerContext } from './manager.js';
import { controllerOf, type PodControl } from './pod-control.js';
import { becomesAvailableAt } from './pod-ranking.js';
import { podTemplateHash } from './pod-template-hash.js';
import { slowStartBatch } from './slow-start-batch.js';
import { DependentEvents } from './dependent-events.js';
import { ownKindHandlers } from './object-changes.js';

/** At most this many creates, and as many deletes, per reconcile (Kubernetes' burstReplicas). */
export const DEFAULT_DAEMONSET_BURST = 100;

/** A DaemonSet's defaults (apps/v1): replace one node at a time, never surge. */
const DAEMONSET_FENCEPOSTS = { maxSurge: 0, maxUnavailable: 1 };

export interface DaemonSetControllerOptions {
  store: Store;
  clock: Clock;
  podControl: PodControl;
  logger?: Logger;
  workers?: number;
  burst?: number;
  /** Events about the DaemonSet: SuccessfulCreate, SuccessfulDelete, FailedCreate, FailedDelete. */
  recorder?: EventRecorder;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly podControl: PodControl;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly burst: number;
  private readonly recorder: EventRecorder;
  private queue: WorkQueue;
  /** Kept per term, as the ReplicaSet controller's: a new term lists everything afresh. */
  private expectations: ControllerExpectations;
  private daemonSets: Informer<DaemonSet> | undefined;
  private pods: Informer<Pod> | undefined;
  private nodes: Informer<NodeObject> | undefined;
  private term: ControllerTerm | undefined;

  constructor(opts: DaemonSetControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.podControl = opts.podControl;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 2;
    this.burst = opts.burst ?? DEFAULT_DAEMONSET_BURST;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.queue = new WorkQueue(this.clock);
    this.expectations = new ControllerExpectations(this.clock);
  }

  /** As ReplicaSetController.start: without a context it makes informers of its own (tests). */
  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    this.expectations = new ControllerExpectations(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const daemonSets = (this.daemonSets = term.informers.informer<DaemonSet>('DaemonSet'));
    const pods = (this.pods = term.informers.informer<Pod>('Pod'));
    const nodes = (this.nodes = term.informers.informer<NodeObject>('Node'));
    term.handle(daemonSets.addEventHandler(ownKindHandlers<DaemonSet>((key) => this.queue.add(key), (key) => this.expectations.delete(key))));
    term.handle(pods.addEventHandler({
      ...new DependentEvents<DaemonSet, Pod>({
        ownerKind: 'DaemonSet',
        owners: () => this.daemonSets,
        enqueue: (key) => this.queue.add(key),
        observed: {
          creation: (key) => this.expectations.creationObserved(key),
          deletion: (key, pod) => this.expectations.deletionObserved(key, pod),
        },
      }).handlers(),
    }));
    term.handle(nodes.addEventHandler({
      onAdd: () => this.enqueueAll(),
      onUpdate: (old, node) => {
        // Heartbeats rewrite status; only labels and spec (taints, cordon) change where daemons go.
        if (old === node || nodePlacementChanged(old, node)) this.enqueueAll();
      },
      onDelete: () => this.enqueueAll(),
    }));
    const queue = this.queue;
    term.run(async () => {
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'daemonSet', 'syncing a daemonset failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  /** Resolves once the informers have synced (for tests that drive reconcile themselves). */
  whenSynced(): Promise<boolean> {
    return Promise.all([this.daemonSets!.whenSynced(), this.pods!.whenSynced(), this.nodes!.whenSynced()]).then((s) => s.every(Boolean));
  }

  /** The failures in a row for a key (tests). */
  failureCount(key: string): number {
    return this.queue.failureCount(key);
  }

  // ---------------------------------------------------------------- events

  private enqueueAll(): void {
    for (const ds of this.daemonSets?.list() ?? []) this.queue.add(keyOf(ds));
  }

  // ------------------------------------------------------------- reconcile

  async reconcile(key: string): Promise<void> {
    const ds = this.daemonSets?.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    const { namespace } = splitKey(key);
    const hash = podTemplateHash(ds.spec.template, 0, CONTROLLER_REVISION_HASH_LABEL);
    const template = daemonPodTemplate(ds.spec.template, hash);
    const facts = daemonPodFacts(template);
    const nodes = this.nodes!.list()
      .map((n) => daemonNode(facts, n))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Asked before reading Pods: an event that lands in between then only makes this pass more careful.
    const needsSync = this.expectations.satisfied(key);
    const inNamespace = this.pods!.byIndex(INDEX_NAMESPACE, namespace!);
    const claimed = await claimPods(
      { store: this.store, podControl: this.podControl }, ds,
      inNamespace.filter((p) => !p.metadata.deletionTimestamp),
      // Finished orphans are adopted too, so that they get deleted and replaced.
      (p) => !p.metadata.deletionTimestamp,
    );
    const terminating = inNamespace.filter((p) => p.metadata.deletionTimestamp && controllerOf(p)?.uid === ds.metadata.uid);
    const pods = groupDaemonPods(claimed, terminating);
    let manageError: unknown;
    if (needsSync && !ds.metadata.deletionTimestamp) {
      try {
        await this.carryOut(key, ds, template, this.plan(ds, nodes, pods, hash));
      } catch (err) {
        manageError = err;
      }
    }
    await this.writeStatus(ds, nodes, pods, hash);
    if (manageError !== undefined) throw manageError;
    this.requeueForAvailability(key, ds, claimed);
  }

  /** Placement first; a rolling-update step only once every node has what it should (Kubernetes' order). */
  private plan(ds: DaemonSet, nodes: DaemonNode[], pods: DaemonPods, hash: string): PodPlan {
    const strategy = ds.spec.updateStrategy;
    const rolling = (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const desired = nodes.filter((n) => n.shouldRun).length;
    const { surge, unavailable } = resolveFenceposts(strategy?.rollingUpdate?.maxSurge, strategy?.rollingUpdate?.maxUnavailable, desired, DAEMONSET_FENCEPOSTS);
    const placement = planPlacement(nodes, pods, hash, rolling && surge > 0);
    if (!rolling || placement.createOn.length > 0 || placement.deletes.length > 0) return placement;
    return planRollout({
      nodes, pods, hash, maxSurge: surge, maxUnavailable: unavailable, minReadySeconds: ds.spec.minReadySeconds ?? 0, now: this.clock.now(),
    });
  }

  private async carryOut(key: string, ds: DaemonSet, template: DaemonSet['spec']['template'], plan: PodPlan): Promise<void> {
    const createOn = plan.createOn.slice(0, this.burst);
    const deletes = plan.deletes.slice(0, this.burst);
    if (createOn.length === 0 && deletes.length === 0) return;
    // Set before the first write: its watch event may arrive before the call resolves.
    this.expectations.expect(key, createOn.length, deletes.map(keyOf));
    const namespace = ds.metadata.namespace!;
    const errors: unknown[] = [];
    const { attempted, error } = await slowStartBatch(createOn.length, async (i) => {
      try {
        const pod = await this.podControl.createPod(namespace, template, ds, createOn[i]!);
        this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        // A failed create will never be observed.
        this.expectations.creationObserved(key);
        this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
        throw err;
      }
    });
    // Creates never sent will never be observed either.
    for (let i = attempted; i < createOn.length; i++) this.expectations.creationObserved(key);
    if (error !== undefined) errors.push(error);
    await Promise.all(deletes.map(async (pod) => {
      try {
        await this.podControl.deletePod(pod.metadata.namespace!, pod.metadata.name);
        this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (err) {
        this.expectations.deletionObserved(key, keyOf(pod));
        this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
        errors.push(err);
      }
    }));
    if (errors.length > 0) throw errors[0];
    this.logger.debug({ daemonSet: key, createdOn: createOn.slice(0, attempted), deleted: deletes.map((p) => p.metadata.name) }, 'synced daemon pods');
  }

  /** Writes status only when it changed, on the stored DaemonSet (the cache may lag). */
  private async writeStatus(ds: DaemonSet, nodes: DaemonNode[], pods: DaemonPods, hash: string): Promise<void> {
    const next = daemonSetStatus(ds, nodes, pods, hash, this.clock.now());
    if (sameDaemonSetStatus(ds.status, next)) return;
    try {
      await retryOnConflict<DaemonSet>(this.store, { kind: 'DaemonSet', namespace: ds.metadata.namespace, name: ds.metadata.name }, (current) => {
        if (current.metadata.uid !== ds.metadata.uid) return undefined;
        const fresh = { ...next, observedGeneration: current.metadata.generation ?? next.observedGeneration };
        return sameDaemonSetStatus(current.status, fresh) ? undefined : { ...current, status: fresh };
      });
    } catch (err) {
      if (!isBrambleError(err, 'NOT_FOUND')) throw err;
    }
  }

  /** A Ready Pod turns available minReadySeconds later without any event: come back then. */
  private requeueForAvailability(key: string, ds: DaemonSet, pods: Pod[]): void {
    const minReady = ds.spec.minReadySeconds ?? 0;
    if (minReady <= 0) return;
    const now = this.clock.now();
    const next = Math.min(...pods.map((p) => becomesAvailableAt(p, minReady, now) ?? Infinity));
    if (Number.isFinite(next)) this.queue.addAfter(key, next - now);
  }
}

/** Whether a node update may change which DaemonSets belong there: its labels or its spec. */
function nodePlacementChanged(old: NodeObject, node: NodeObject): boolean {
  return JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(node.metadata.labels ?? {})
    || JSON.stringify(old.spec ?? {}) !== JSON.stringify(node.spec ?? {});
}
