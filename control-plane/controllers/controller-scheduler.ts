// The scheduler controller: follows Pods and Nodes through the shared informers,
// queues the keys of Pods that need a node, and binds each to the node schedule()
// picks. Besides the informers' caches it keeps its own view of nodes and of bound
// Pods per node, and counts a bind in that view the moment it decides (Kubernetes'
// "assume"), so decisions made before the watch catches up never overcommit a
// node; that is why its handlers do more than enqueue. Binds from concurrent
// workers that are ready in the same turn go to the store as one command.
import type { Clock } from '../../proto/util/clock.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { findCondition, setCondition } from '../../proto/util/conditions.js';
import type { KObject, NodeObject, Pod } from '../../proto/model.js';
import { backoffDelay, runWorkers, WorkQueue, type BackoffPolicy } from '../../proto/util/work-queue.js';
import { isTerminated, type NodePods } from './scheduler-filters.js';
import { newNodePods } from './scheduler-score.js';
import { schedule } from './scheduler.js';
import type { Op, Store } from '../store/store.js';
import { NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import type { Controller, ControllerContext } from './manager.js';
import { ControllerTerm, logRetry } from './controller-term.js';

export interface SchedulerControllerOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  /** Concurrent reconciles; binds of concurrent reconciles share one propose. */
  workers?: number;
  /** Back-off between attempts to place a Pod that fits nowhere. */
  unschedulableBackoff?: BackoffPolicy;
  /** Events about Pods: Scheduled, FailedScheduling. */
  recorder?: EventRecorder;
}

export const DEFAULT_UNSCHEDULABLE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };

export function podKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function splitPodKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function revisionOf(o: KObject): number {
  return Number(o.metadata.resourceVersion ?? 0);
}

interface PendingPut {
  op: Op;
  resolve: (o: KObject) => void;
  reject: (e: unknown) => void;
}

/** Collects puts made in one turn of the event loop into one command. */
class PutBatcher {
  private pending: PendingPut[] = [];
  private scheduled = false;

  constructor(private readonly store: Store) {}

  put(object: KObject, resourceVersion: string): Promise<KObject> {
    return new Promise((resolve, reject) => {
      this.pending.push({ op: { type: 'put', object, precondition: { resourceVersion } }, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // Not a timer: only a turn boundary, so every worker ready now joins this batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      const res = await this.store.propose({ ops: batch.map((p) => p.op) });
      batch.forEach((p, i) => p.resolve(res.objects[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // One stale Pod fails the whole command: retry each alone so the others still land.
      await Promise.all(batch.map(async (p) => {
        try {
          const res = await this.store.propose({ ops: [p.op] });
          p.resolve(res.objects[0]!);
        } catch (e) {
          p.reject(e);
        }
      }));
    }
  }
}

export class SchedulerController implements Controller {
  readonly name = 'scheduler';
  /** A fresh queue each start: a queue once shut down takes nothing more. */
  private queue: WorkQueue;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly backoff: BackoffPolicy;
  private readonly batcher: PutBatcher;
  private readonly recorder: EventRecorder;

  private readonly nodes = new Map<string, NodeObject>();
  private sortedNodes: NodeObject[] | undefined;
  /** Bound, live-or-finished Pods by key, and the same Pods grouped by node. */
  private readonly bound = new Map<string, Pod>();
  private readonly byNode = new Map<string, NodePods>();
  /** Pods last found to fit nowhere, with how many times in a row. */
  private readonly unschedulable = new Map<string, number>();
  /** This leadership term's informers, handlers and workers; undefined while stopped. */
  private term: ControllerTerm | undefined;
  /** Informers made by start() without a manager (tests, the benchmark); stopped by stop(). */

  constructor(opts: SchedulerControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 64;
    this.backoff = opts.unschedulableBackoff ?? DEFAULT_UNSCHEDULABLE_BACKOFF;
    this.queue = new WorkQueue(this.clock);
    this.batcher = new PutBatcher(this.store);
    this.recorder = opts.recorder ?? NOOP_RECORDER;
  }

  /**
   * Follows Nodes and Pods through ctx.informers (the manager's, shared with other
   * controllers). Without a context it makes and starts informers of its own.
   */
  start(ctx?: ControllerContext): void {
    if (this.term) return;
    // A new term starts from nothing: its informers' lists rebuild every cache.
    this.nodes.clear();
    this.sortedNodes = undefined;
    this.bound.clear();
    this.byNode.clear();
    this.unschedulable.clear();
    this.queue = new WorkQueue(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const informers = term.informers;
    // Nodes first: a factory starts informers in the order asked for, so bound Pods
    // from the initial list find their node already known.
    const nodes = informers.informer<NodeObject>('Node');
    const pods = informers.informer<Pod>('Pod');
    term.handle(nodes.addEventHandler({
      onAdd: (n) => this.onNode(n),
      onUpdate: (_old, n) => this.onNode(n),
      onDelete: (n) => this.onNodeDeleted(n),
    }));
    term.handle(pods.addEventHandler({
      onAdd: (p) => this.onPod(p, revisionOf(p), true),
      onUpdate: (_old, p) => this.onPod(p, revisionOf(p), true),
      onDelete: (p) => this.onPodDeleted(p),
    }));
    const queue = this.queue;
    term.run(async () => {
      this.logger.info({ nodes: nodes.list().length, pods: pods.list().length }, 'scheduler started');
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'pod', 'scheduling a pod failed'));
    });
  }

  /** Stops taking events and resolves once the reconciles in flight have finished. */
  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  /** Pod keys currently known to fit nowhere (for tests and metrics). */
  unschedulableKeys(): string[] {
    return [...this.unschedulable.keys()].sort();
  }

  // ---------------------------------------------------------------- events

  private onNode(node: NodeObject): void {
    this.nodes.set(node.metadata.name, node);
    this.sortedNodes = undefined;
    this.requeueUnschedulable();
  }

  private onNodeDeleted(node: NodeObject): void {
    this.nodes.delete(node.metadata.name);
    this.sortedNodes = undefined;
    this.requeueUnschedulable();
  }

  /** A deleted Pod's resourceVersion is the delete's revision (store.ts: DELETED). */
  private onPodDeleted(pod: Pod): void {
    const key = podKey(pod.metadata.namespace, pod.metadata.name);
    const had = this.bound.get(key);
    if (had && revisionOf(had) > revisionOf(pod)) return;
    this.untrack(key);
    this.unschedulable.delete(key);
    if (had && !isTerminated(had)) this.requeueUnschedulable();
  }

  private onPod(pod: Pod, revision: number, live: boolean): void {
    const key = podKey(pod.metadata.namespace, pod.metadata.name);
    const had = this.bound.get(key);
    // An event older than what a bind already put in the cache must not undo it.
    if (had && revisionOf(had) > revision) return;
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      this.track(key, pod);
      if (live && had && !isTerminated(had) && isTerminated(pod)) this.requeueUnschedulable();
      // A Pod bound by hand to a node that is not there gets a message saying so.
      if (!this.nodes.has(nodeName) && !pod.metadata.deletionTimestamp) this.queue.add(key);
      return;
    }
    this.untrack(key);
    if (!pod.metadata.deletionTimestamp) this.queue.add(key);
  }

  private requeueUnschedulable(): void {
    for (const key of this.unschedulable.keys()) this.queue.add(key);
  }

  private track(key: string, pod: Pod): void {
    this.untrack(key);
    this.bound.set(key, pod);
    const nodeName = pod.spec.nodeName!;
    let set = this.byNode.get(nodeName);
    if (!set) this.byNode.set(nodeName, (set = newNodePods()));
    set.add(pod);
  }

  private untrack(key: string): void {
    const had = this.bound.get(key);
    if (!had) return;
    this.bound.delete(key);
    const set = this.byNode.get(had.spec.nodeName!);
    set?.delete(had);
    if (set?.size === 0) this.byNode.delete(had.spec.nodeName!);
  }

  private nodeList(): NodeObject[] {
    this.sortedNodes ??= [...this.nodes.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    return this.sortedNodes;
  }

  // ------------------------------------------------------------- reconcile

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = splitPodKey(key);
    const pod = this.store.get('Pod', namespace || undefined, name) as Pod | undefined;
    if (!pod || pod.metadata.deletionTimestamp || isTerminated(pod)) {
      this.unschedulable.delete(key);
      return;
    }
    const bound = pod.spec.nodeName;
    if (bound && this.nodes.has(bound)) {
      this.unschedulable.delete(key);
      this.track(key, pod);
      const cond = findCondition(pod.status?.conditions, 'PodScheduled');
      // Only a "node missing" verdict of ours is corrected; otherwise a bound Pod is none of our business.
      if (cond?.status === 'False') await this.writeScheduled(pod, bound);
      return;
    }
    const result = schedule(pod, this.nodeList(), this.byNode);
    if ('nodeName' in result) await this.bind(key, pod, result.nodeName);
    else await this.markUnschedulable(key, pod, result.unschedulable);
  }

  private scheduledPod(pod: Pod, nodeName: string): Pod {
    const nowIso = new Date(this.clock.now()).toISOString();
    const conditions = setCondition(pod.status?.conditions, { type: 'PodScheduled', status: 'True' }, nowIso);
    return {
      ...pod,
      spec: { ...pod.spec, nodeName },
      status: { ...pod.status, phase: pod.status?.phase ?? 'Pending', conditions },
    };
  }

  private async writeScheduled(pod: Pod, nodeName: string): Promise<void> {
    await this.batcher.put(this.scheduledPod(pod, nodeName), pod.metadata.resourceVersion!);
  }

  private async bind(key: string, pod: Pod, nodeName: string): Promise<void> {
    const next = this.scheduledPod(pod, nodeName);
    // Frozen like stored objects, so the filters' per-object caches apply to it too.
    Object.freeze(next.spec);
    Object.freeze(next);
    this.track(key, next);
    try {
      const stored = (await this.batcher.put(next, pod.metadata.resourceVersion!)) as Pod;
      if (this.bound.get(key) === next) this.track(key, stored);
    } catch (err) {
      if (this.bound.get(key) === next) this.untrack(key);
      throw err;
    }
    this.unschedulable.delete(key);
    this.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
    this.logger.debug({ pod: key, node: nodeName }, 'pod bound');
  }

  private async markUnschedulable(key: string, pod: Pod, message: string): Promise<void> {
    const attempts = (this.unschedulable.get(key) ?? 0) + 1;
    this.unschedulable.set(key, attempts);
    // Every attempt, as kube-scheduler: the recorder counts repeats on one Event.
    this.recorder.event(pod, 'Warning', 'FailedScheduling', message);
    const cond = findCondition(pod.status?.conditions, 'PodScheduled');
    const same = cond?.status === 'False' && cond.reason === 'Unschedulable' && cond.message === message;
    if (!same) {
      const nowIso = new Date(this.clock.now()).toISOString();
      const conditions = setCondition(pod.status?.conditions,
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }, nowIso);
      const next: Pod = { ...pod, status: { ...pod.status, phase: pod.status?.phase ?? 'Pending', conditions } };
      await this.batcher.put(next, pod.metadata.resourceVersion!);
      this.logger.info({ pod: key, message }, 'pod is unschedulable');
    }
    this.queue.addAfter(key, backoffDelay(attempts, this.backoff));
  }
}
