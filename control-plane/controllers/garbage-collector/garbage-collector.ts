// The garbage collector (Kubernetes' pkg/controller/garbagecollector, made small):
// deletes objects whose owners are all gone, and finishes the deletes that wait for
// it (the foregroundDeletion and orphan finalizers). It watches every kind through
// the shared informers; the informers' owner index (owner uid → dependents) stands
// in for Kubernetes' dependency graph.
//
// Level-triggered: handlers only enqueue object keys; reconcile(key) reads the
// object and its owners from the store (the authoritative copy, in memory) and makes
// one step. A cache a turn behind could otherwise miss an owner created a moment
// ago and delete its dependents. Owners are judged by uid, never by name: an owner
// deleted and created again under the same name is another owner. Every write
// carries the resourceVersion read, so a dependent adopted or changed meanwhile is
// left for the next reconcile to judge again. A restarted collector (a new leader)
// lists everything, enqueues every object with owners or our finalizers, and so
// finishes whatever the previous one left half-done.
import type { Clock } from '../../../proto/util/clock.js';
import { isBrambleError } from '../../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../../proto/util/log.js';
import {
  FOREGROUND_FINALIZER, KINDS, ORPHAN_FINALIZER, hasFinalizer, keyOf, type KObject, type OwnerReference,
} from '../../../proto/model.js';
import { runWorkers, WorkQueue } from '../../../proto/util/work-queue.js';
import type { Op, Store } from '../../store/store.js';
import { INDEX_OWNER, type Informer } from '../informer.js';
import type { Controller, ControllerContext } from '../manager.js';
import { ControllerTerm, logRetry } from '../controller-term.js';
import { dropOwnersOp, liveOwner, ownerLocation, removalOp } from './deletion.js';

export interface GarbageCollectorOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  workers?: number;
  /** Kinds to watch; every kind of the model by default (any of them may own or be owned). */
  kinds?: readonly string[];
}

/** Store keys are `Kind/namespace/name` (model.ts objectKey); names hold no slash. */
function splitStoreKey(key: string): { kind: string; namespace: string | undefined; name: string } {
  const [kind, namespace, ...rest] = key.split('/');
  return { kind: kind!, namespace: namespace === '' ? undefined : namespace, name: rest.join('/') };
}

function refsOf(o: KObject): readonly OwnerReference[] {
  return o.metadata.ownerReferences ?? [];
}

function sameRefs(a: KObject, b: KObject): boolean {
  return JSON.stringify(refsOf(a)) === JSON.stringify(refsOf(b));
}

/** An owner whose delete waits for the collector. */
function isDeletingOwner(o: KObject): boolean {
  return o.metadata.deletionTimestamp !== undefined && (hasFinalizer(o, FOREGROUND_FINALIZER) || hasFinalizer(o, ORPHAN_FINALIZER));
}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly kinds: readonly string[];
  /** A fresh queue each start: a queue once shut down takes nothing more. */
  private queue: WorkQueue;
  private informers: Informer[] = [];
  /** This leadership term's informers, handlers and workers; undefined while stopped. */
  private term: ControllerTerm | undefined;

  constructor(opts: GarbageCollectorOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 4;
    this.kinds = opts.kinds ?? KINDS.map((k) => k.kind);
    this.queue = new WorkQueue(this.clock);
  }

  /** Follows every kind through ctx.informers; without a context it makes and starts informers of its own. */
  start(ctx?: ControllerContext): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    this.informers = this.kinds.map((kind) => term.informers.informer(kind));
    for (const inf of this.informers) {
      term.handle(inf.addEventHandler({
        onAdd: (o) => this.onChange(undefined, o),
        onUpdate: (old, o) => this.onChange(old, o),
        onDelete: (o) => this.onDeleted(o),
      }));
    }
    const queue = this.queue;
    term.run(() => runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'object', 'garbage collection step failed')));
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  // ---------------------------------------------------------------- events

  private onChange(old: KObject | undefined, o: KObject): void {
    // A status write (most updates) changes neither: no need to judge the object again.
    const refsMoved = refsOf(o).length > 0 && (!old || !sameRefs(old, o) || old.metadata.deletionTimestamp !== o.metadata.deletionTimestamp);
    if (refsMoved || isDeletingOwner(o)) this.queue.add(keyOf(o));
  }

  private onDeleted(o: KObject): void {
    // Its dependents may now have no owner left.
    const uid = o.metadata.uid;
    if (uid) for (const d of this.cachedDependents(uid)) this.queue.add(keyOf(d));
    // An owner in a foreground delete may have been waiting for this one.
    for (const ref of refsOf(o)) {
      const where = ownerLocation(o, ref);
      if (typeof where === 'object') this.queue.add(`${where.kind}/${where.namespace ?? ''}/${ref.name}`);
    }
  }

  private cachedDependents(uid: string): KObject[] {
    return this.informers.flatMap((inf) => inf.byIndex(INDEX_OWNER, uid));
  }

  // ------------------------------------------------------------- reconcile

  /** One step for one object: as an owner whose delete waits for us, or as a dependent. */
  async reconcile(key: string): Promise<void> {
    const { kind, namespace, name } = splitStoreKey(key);
    const obj = this.store.get(kind, namespace, name);
    if (!obj) return;
    if (obj.metadata.deletionTimestamp) {
      if (hasFinalizer(obj, ORPHAN_FINALIZER)) return this.orphanDependents(obj);
      if (hasFinalizer(obj, FOREGROUND_FINALIZER)) return this.deleteDependentsFirst(obj);
      // Already going (a Pod its agent is stopping): its owners no longer matter.
      return;
    }
    if (refsOf(obj).length > 0) await this.collect(obj);
  }

  /**
   * A dependent: deleted when none of its owners is left (or the rest are being
   * deleted in the foreground), otherwise stripped of the references to owners
   * that are gone or waiting for their dependents to go.
   */
  private async collect(obj: KObject): Promise<void> {
    const gone = new Set<string>();
    const waiting = new Set<string>();
    let solid = 0;
    for (const ref of refsOf(obj)) {
      const owner = liveOwner(this.store, obj, ref);
      if (owner === 'unknown') solid++;
      else if (owner === undefined) gone.add(ref.uid);
      else if (owner.metadata.deletionTimestamp && hasFinalizer(owner, FOREGROUND_FINALIZER)) waiting.add(ref.uid);
      else solid++;
    }
    if (gone.size === 0 && waiting.size === 0) return;
    const what = { object: keyOf(obj), uid: obj.metadata.uid };
    if (solid > 0) {
      await this.write([dropOwnersOp(obj, new Set([...gone, ...waiting]))]);
      this.logger.info({ ...what, droppedOwners: [...gone, ...waiting] }, 'dropped references to owners that are gone');
      return;
    }
    // An owner deleted in the foreground takes its dependents' own dependents along in
    // the foreground too, so a chain (Deployment → ReplicaSet → Pod) goes bottom up.
    if (waiting.size > 0 && obj.metadata.uid && this.cachedDependents(obj.metadata.uid).length > 0) {
      const finalizers = [...(obj.metadata.finalizers ?? []), FOREGROUND_FINALIZER];
      const marked = { ...obj, metadata: { ...obj.metadata, deletionTimestamp: this.nowIso(), finalizers } };
      await this.write([{ type: 'put', object: marked, precondition: { resourceVersion: obj.metadata.resourceVersion ?? '' } }]);
      this.logger.info(what, 'owner being deleted in the foreground: deleting this dependent in the foreground too');
      return;
    }
    const op = removalOp(this.store, obj, this.nowIso());
    if (op) await this.write([op]);
    this.logger.info(what, 'deleted: none of its owners is left');
  }

  /** Foreground: every dependent is deleted; the owner goes once none that blocks it is left. */
  private async deleteDependentsFirst(owner: KObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    const dependents = this.storedDependents(uid);
    for (const d of dependents) this.queue.add(keyOf(d));
    const blocking = dependents.filter((d) => refsOf(d).some((r) => r.uid === uid && r.blockOwnerDeletion === true));
    // Each blocking dependent's removal enqueues this owner again (onDeleted).
    if (blocking.length > 0) return;
    await this.finish(owner, FOREGROUND_FINALIZER);
  }

  /** Orphan (the finalizer form, for an owner whose delete did not strip the references itself). */
  private async orphanDependents(owner: KObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    const dependents = this.storedDependents(uid);
    if (dependents.length > 0) {
      // One command: either every dependent lets go or none does (a conflict retries them all).
      await this.write(dependents.map((d) => dropOwnersOp(d, new Set([uid]))));
      this.logger.info({ object: keyOf(owner), orphaned: dependents.length }, 'orphaned the dependents of a deleted owner');
    }
    await this.finish(owner, ORPHAN_FINALIZER);
  }

  /** Removes our finalizer; with none left the object itself goes (a bound Pod through its agent). */
  private async finish(owner: KObject, finalizer: string): Promise<void> {
    const rest = (owner.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (rest.length > 0) {
      // Both of ours (an orphan delete asked for during a foreground one): the next reconcile handles the other.
      const next = { ...owner, metadata: { ...owner.metadata, finalizers: rest } };
      await this.write([{ type: 'put', object: next, precondition: { resourceVersion: owner.metadata.resourceVersion ?? '' } }]);
      return;
    }
    const op = removalOp(this.store, owner, this.nowIso());
    if (op) await this.write([op]);
    this.logger.info({ object: keyOf(owner), finalizer }, 'dependents handled: owner deleted');
  }

  /** Dependents the caches know of, read again from the store (the reference still there). */
  private storedDependents(uid: string): KObject[] {
    const out: KObject[] = [];
    for (const cached of this.cachedDependents(uid)) {
      const d = this.store.get(cached.kind, cached.metadata.namespace, cached.metadata.name);
      if (d && refsOf(d).some((r) => r.uid === uid)) out.push(d);
    }
    return out;
  }

  private async write(ops: Op[]): Promise<void> {
    try {
      await this.store.propose({ ops });
    } catch (err) {
      // One object removed meanwhile (by a person, an agent, a namespace delete):
      // nothing left to do. Of several, the others still need the write: retry.
      if (ops.length === 1 && isBrambleError(err, 'NOT_FOUND')) return;
      throw err;
    }
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
