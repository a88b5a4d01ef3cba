// The Deployment controller (Kubernetes' pkg/controller/deployment, small): a
// ReplicaSet per Pod template, named by the template's hash; a rolling update
// grows the new ReplicaSet and shrinks the old ones within maxSurge and
// maxUnavailable, Recreate shrinks the old ones to nothing first. Handlers only
// enqueue keys; reconcile(key) re-reads the caches, makes one step through a
// ReplicaSetControl (each write checked against the resourceVersion it decided
// on) and recomputes status. The ReplicaSet controller makes and deletes the
// Pods; its status updates are what move a rollout on.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { findCondition } from '../../proto/util/conditions.js';
import {
  REVISION_ANNOTATION,
  type Deployment, type DeploymentStatus, type Pod, type ReplicaSet,
} from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import { NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { INDEX_CONTROLLER, INDEX_NAMESPACE, keyOf, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import { DependentEvents, selects } from './dependent-events.js';
import { ownKindHandlers } from './object-changes.js';
import { controllerOf } from './pod-control.js';
import { StoreReplicaSetControl, type ReplicaSetControl } from './replicaset-control.js';
import { deadlineAt, isComplete, pausedConditions, PROGRESSING, REASONS, rolloutStatus, calculateStatus, sameDeploymentStatus, setDeploymentCondition } from './deployment-status.js';
import {
  desiredReplicas, fenceposts, findNewReplicaSet, isRecreate, isSaturated, isScalingEvent, newReplicaSetReplicas,
  oldReplicaSetScaleDown, proportionalScale, replicaSetsToCleanUp, specReplicas, sumActual,
} from './deployment-util.js';
import { newReplicaSetFor, syncedAnnotations, withReplicaAnnotations } from './deployment-replicasets.js';

export interface DeploymentControllerOptions {
  store: Store;
  clock: Clock;
  /** Defaults to writes on `store`. */
  replicaSets?: ReplicaSetControl;
  logger?: Logger;
  workers?: number;
  /** Events about the Deployment: ScalingReplicaSet ("Scaled up replica set web-abc to 3"). */
  recorder?: EventRecorder;
}

/** A ReplicaSet and its Deployment's view of the rest: what one step works on. */
interface Split {
  newRS: ReplicaSet | undefined;
  oldRSs: ReplicaSet[];
}

/** A Split, and the Deployment as it is after any status the split itself wrote. */
interface Synced extends Split {
  d: Deployment;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly rsControl: ReplicaSetControl;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly recorder: EventRecorder;
  private queue: WorkQueue;
  private deployments: Informer<Deployment> | undefined;
  private replicaSets: Informer<ReplicaSet> | undefined;
  private pods: Informer<Pod> | undefined;
  private term: ControllerTerm | undefined;
  private rsEvents: DependentEvents<Deployment, ReplicaSet> | undefined;

  constructor(opts: DeploymentControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.rsControl = opts.replicaSets ?? new StoreReplicaSetControl({ store: opts.store, clock: opts.clock, newUid: randomUUID });
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 2;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.queue = new WorkQueue(this.clock);
  }

  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const deployments = (this.deployments = term.informers.informer<Deployment>('Deployment'));
    const replicaSets = (this.replicaSets = term.informers.informer<ReplicaSet>('ReplicaSet'));
    const pods = (this.pods = term.informers.informer<Pod>('Pod'));
    term.handle(deployments.addEventHandler(ownKindHandlers<Deployment>((key) => this.queue.add(key))));
    const rsEvents = (this.rsEvents = new DependentEvents<Deployment, ReplicaSet>({
      ownerKind: 'Deployment', owners: () => this.deployments, enqueue: (key) => this.queue.add(key),
    }));
    // A ReplicaSet's status (its Pods getting ready) is what moves a rollout on, so every change counts.
    term.handle(replicaSets.addEventHandler(rsEvents.handlers()));
    // Recreate waits for the old Pods to be gone, which no ReplicaSet event tells.
    term.handle(pods.addEventHandler({ onDelete: (p) => this.onPodDeleted(p) }));
    const queue = this.queue;
    term.run(async () => {
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'deployment', 'syncing a deployment failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  whenSynced(): Promise<boolean> {
    return Promise.all([this.deployments!.whenSynced(), this.replicaSets!.whenSynced(), this.pods!.whenSynced()]).then((s) => s.every(Boolean));
  }

  failureCount(key: string): number {
    return this.queue.failureCount(key);
  }

  /** Keys queued now, due or waiting (tests of requeues). */
  get queued(): number {
    return this.queue.length;
  }

  // ---------------------------------------------------------------- events

  private onPodDeleted(pod: Pod): void {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets?.get(`${pod.metadata.namespace}/${ref.name}`);
    const d = rs && rs.metadata.uid === ref.uid ? this.rsEvents?.resolve(rs) : undefined;
    if (d && isRecreate(d)) this.queue.add(keyOf(d));
  }

  // ------------------------------------------------------------- reconcile

  async reconcile(key: string): Promise<void> {
    let d = this.deployments?.get(key);
    if (!d) return;
    const rsList = await this.claimReplicaSets(d);
    if (d.metadata.deletionTimestamp) {
      // Being deleted in the foreground: the collector takes the ReplicaSets; only say how things stand.
      const { newRS, oldRSs } = split(d, rsList);
      await this.writeStatus(d, calculateStatus(d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS, this.nowIso()));
      return;
    }
    const paused = pausedConditions(d, this.nowIso());
    if (paused) d = await this.writeStatus(d, { ...(d.status ?? {}), conditions: paused });
    if (d.spec.paused || isScalingEvent(d, rsList)) return this.sync(d, rsList);
    if (isRecreate(d)) return this.rolloutRecreate(d, rsList);
    return this.rolloutRolling(d, rsList);
  }

  /**
   * The ReplicaSets this Deployment controls once claimed: its own that still
   * match, and matching orphans it adopts; its own that stopped matching are released.
   */
  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const uid = d.metadata.uid;
    const claimed: ReplicaSet[] = [];
    for (const rs of this.replicaSets!.byIndex(INDEX_NAMESPACE, d.metadata.namespace!)) {
      const ref = controllerOf(rs);
      const matches = selects(d, rs);
      if (ref?.uid === uid) {
        if (matches) claimed.push(rs);
        else if (!d.metadata.deletionTimestamp) await this.rsControl.release(rs, d);
        continue;
      }
      if (ref || !matches || d.metadata.deletionTimestamp || rs.metadata.deletionTimestamp) continue;
      const fresh = this.store.get('Deployment', d.metadata.namespace, d.metadata.name);
      if (!fresh || fresh.metadata.uid !== uid || fresh.metadata.deletionTimestamp) continue;
      try {
        await this.rsControl.adopt(rs, d, (r) => selects(d, r) && !r.metadata.deletionTimestamp);
        // Decide on the adopted object: the cached one's resourceVersion is stale now.
        const adopted = this.store.get('ReplicaSet', rs.metadata.namespace, rs.metadata.name) as ReplicaSet | undefined;
        if (adopted && controllerOf(adopted)?.uid === uid) claimed.push(adopted);
      } catch (err) {
        if (!isBrambleError(err, 'CONFLICT') && !isBrambleError(err, 'NOT_FOUND')) throw err;
      }
    }
    return claimed;
  }

  /** A change of replicas alone, or a paused Deployment: scale, keep history, status (Kubernetes' sync). */
  private async sync(given: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const synced = await this.syncRevision(given, rsList, false);
    const d = synced.d;
    let { newRS, oldRSs } = synced;
    ({ newRS, oldRSs } = await this.scale(d, newRS, oldRSs));
    if (d.spec.paused) oldRSs = await this.cleanUp(d, oldRSs);
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    await this.writeStatus(d, calculateStatus(d, all, newRS, this.nowIso()));
  }

  private async rolloutRolling(given: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const synced = await this.syncRevision(given, rsList, true);
    const d = synced.d;
    let { newRS, oldRSs } = synced;
    const want = desiredReplicas(d);
    if (newRS) {
      const all = [...oldRSs, newRS];
      const target = specReplicas(newRS) > want ? want : newReplicaSetReplicas(d, all, newRS);
      if (target !== specReplicas(newRS)) {
        newRS = await this.scaleTo(d, newRS, target);
        return this.syncRolloutStatus(d, oldRSs, newRS);
      }
    }
    const downs = oldReplicaSetScaleDown(d, oldRSs, newRS);
    if (downs.size > 0) {
      oldRSs = await Promise.all(oldRSs.map((rs) => (downs.has(rs.metadata.name) ? this.scaleTo(d, rs, downs.get(rs.metadata.name)!) : rs)));
      return this.syncRolloutStatus(d, oldRSs, newRS);
    }
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (isComplete(d, calculateStatus(d, all, newRS, this.nowIso()))) oldRSs = await this.cleanUp(d, oldRSs);
    return this.syncRolloutStatus(d, oldRSs, newRS);
  }

  private async rolloutRecreate(given: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const synced = await this.syncRevision(given, rsList, false);
    let d = synced.d;
    let { newRS, oldRSs } = synced;
    if (oldRSs.some((rs) => specReplicas(rs) > 0)) {
      oldRSs = await Promise.all(oldRSs.map((rs) => (specReplicas(rs) > 0 ? this.scaleTo(d, rs, 0) : rs)));
      return this.syncRolloutStatus(d, oldRSs, newRS);
    }
    // Nothing of the old template may run beside the new one: wait until its Pods are gone.
    if (this.oldPodsRunning(oldRSs)) return this.syncRolloutStatus(d, oldRSs, newRS);
    if (!newRS) ({ newRS, oldRSs, d } = await this.syncRevision(d, rsList, true));
    if (newRS && specReplicas(newRS) !== desiredReplicas(d)) newRS = await this.scaleTo(d, newRS, desiredReplicas(d));
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (isComplete(d, calculateStatus(d, all, newRS, this.nowIso()))) oldRSs = await this.cleanUp(d, oldRSs);
    return this.syncRolloutStatus(d, oldRSs, newRS);
  }

  private oldPodsRunning(oldRSs: ReplicaSet[]): boolean {
    if (sumActual(oldRSs) > 0) return true;
    return oldRSs.some((rs) => this.pods!.byIndex(INDEX_CONTROLLER, rs.metadata.uid!)
      .some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded'));
  }

  /**
   * Splits the ReplicaSets into the one running the current template and the
   * rest, bringing the new one's revision, annotations and minReadySeconds up to
   * date, and (when `create`) making it if there is none.
   */
  private async syncRevision(d: Deployment, rsList: ReplicaSet[], create: boolean): Promise<Synced> {
    const { newRS, oldRSs } = split(d, rsList);
    if (newRS) {
      const next = syncedAnnotations(d, newRS, oldRSs);
      const updated = next ? await this.rsControl.update(newRS, next) : newRS;
      const found = findCondition(d.status?.conditions, PROGRESSING)
        ? d
        : await this.writeStatus(d, withProgressing(d, REASONS.foundNewRS, `Found new replica set "${updated.metadata.name}"`, this.nowIso()));
      return { newRS: updated, oldRSs, d: found };
    }
    if (!create) return { newRS: undefined, oldRSs, d };
    const wanted = newReplicaSetFor(d, oldRSs);
    try {
      const created = await this.rsControl.create(wanted);
      if (specReplicas(created) > 0) this.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} to ${specReplicas(created)}`);
      this.logger.info({ deployment: keyOf(d), replicaSet: created.metadata.name, revision: created.metadata.annotations?.[REVISION_ANNOTATION] }, 'created a replicaset for a new template');
      const written = await this.writeStatus(d, withProgressing(d, REASONS.newRSCreated, `Created new replica set "${created.metadata.name}"`, this.nowIso()));
      return { newRS: created, oldRSs, d: written };
    } catch (err) {
      if (!isBrambleError(err, 'ALREADY_EXISTS')) throw err;
      const taken = this.store.get('ReplicaSet', wanted.metadata.namespace, wanted.metadata.name) as ReplicaSet | undefined;
      // Ours already, and the cache has not caught up: the next pass finds it.
      if (taken && controllerOf(taken)?.uid === d.metadata.uid && findNewReplicaSet(d, [taken])) throw err;
      // Another template has the name: the next hash must differ (Kubernetes' collisionCount).
      const collisionCount = (d.status?.collisionCount ?? 0) + 1;
      await this.writeStatus(d, { ...(d.status ?? {}), collisionCount });
      throw new BrambleError('CONFLICT', `replicaset "${wanted.metadata.name}" exists with another pod template: retrying with collision count ${collisionCount}`);
    }
  }

  /** Kubernetes' scale(): a replicas change outside a template change, proportional while rolling. */
  private async scale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<Split> {
    const want = desiredReplicas(d);
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    const active = all.filter((rs) => specReplicas(rs) > 0);
    const replace = async (targets: Map<string, number>): Promise<Split> => {
      const fix = (rs: ReplicaSet) => (targets.has(rs.metadata.name) ? this.scaleTo(d, rs, targets.get(rs.metadata.name)!) : Promise.resolve(rs));
      return { newRS: newRS ? await fix(newRS) : undefined, oldRSs: await Promise.all(oldRSs.map(fix)) };
    };
    if (active.length <= 1) {
      const only = active[0] ?? newRS ?? [...oldRSs].sort((a, b) => Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? '')).at(-1);
      if (!only) return { newRS, oldRSs };
      return replace(new Map([[only.metadata.name, want]]));
    }
    if (isSaturated(d, newRS)) return replace(new Map(oldRSs.filter((rs) => specReplicas(rs) > 0).map((rs) => [rs.metadata.name, 0])));
    if (isRecreate(d)) return { newRS, oldRSs };
    return replace(proportionalScale(d, active));
  }

  /** Scales one ReplicaSet, recording the Deployment's replicas it was scaled for; resolves with it as stored. */
  private async scaleTo(d: Deployment, rs: ReplicaSet, replicas: number): Promise<ReplicaSet> {
    const next = withReplicaAnnotations(rs, replicas, desiredReplicas(d), desiredReplicas(d) + fenceposts(d).surge);
    if (!next) return rs;
    this.logger.debug({ deployment: keyOf(d), replicaSet: rs.metadata.name, from: specReplicas(rs), to: replicas }, 'scaling a replicaset');
    const from = specReplicas(rs);
    const stored = await this.rsControl.update(rs, next);
    if (from !== replicas) {
      this.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${replicas}`);
    }
    return stored;
  }

  /** Deletes old ReplicaSets past revisionHistoryLimit; resolves with those kept. */
  private async cleanUp(d: Deployment, oldRSs: ReplicaSet[]): Promise<ReplicaSet[]> {
    const doomed = replicaSetsToCleanUp(d, oldRSs);
    if (doomed.length === 0) return oldRSs;
    await Promise.all(doomed.map((rs) => this.rsControl.delete(rs)));
    this.logger.debug({ deployment: keyOf(d), deleted: doomed.map((rs) => rs.metadata.name) }, 'deleted old replicasets past the revision history limit');
    const gone = new Set(doomed.map((rs) => rs.metadata.uid));
    return oldRSs.filter((rs) => !gone.has(rs.metadata.uid));
  }

  private async syncRolloutStatus(d: Deployment, oldRSs: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    const now = this.clock.now();
    const next = rolloutStatus(d, all, newRS, now, this.nowIso());
    await this.writeStatus(d, next);
    // No event marks a deadline passing: come back when it would.
    const at = deadlineAt(d, next);
    if (at !== undefined && !isComplete(d, next)) this.queue.addAfter(keyOf(d), Math.max(0, at - now) + 1000);
  }

  /** Writes status when it changed, on the stored Deployment; resolves with the Deployment as it now is. */
  private async writeStatus(d: Deployment, next: DeploymentStatus): Promise<Deployment> {
    if (sameDeploymentStatus(d.status, next)) return d;
    try {
      const written = await retryOnConflict<Deployment>(this.store, { kind: 'Deployment', namespace: d.metadata.namespace, name: d.metadata.name }, (current) => {
        if (current.metadata.uid !== d.metadata.uid) return undefined;
        return sameDeploymentStatus(current.status, next) ? undefined : { ...current, status: next };
      });
      return written ?? d;
    } catch (err) {
      if (!isBrambleError(err, 'NOT_FOUND')) throw err;
      return d;
    }
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function split(d: Deployment, rsList: ReplicaSet[]): Split {
  const newRS = findNewReplicaSet(d, rsList);
  return { newRS, oldRSs: rsList.filter((rs) => rs !== newRS) };
}

function withProgressing(d: Deployment, reason: string, message: string, nowIso: string): DeploymentStatus {
  return {
    ...(d.status ?? {}),
    conditions: setDeploymentCondition(d.status?.conditions ?? [], { type: PROGRESSING, status: 'True', reason, message }, nowIso),
  };
}
