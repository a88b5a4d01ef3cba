// Taint eviction (Kubernetes' NoExecuteTaintManager): a Pod bound to a node with
// a NoExecute taint is deleted once its tolerations stop covering it (the rule is
// in taint-tolerations.ts). The delete is graceful, through removalOp, as the
// API's is: the Pod stays Terminating until its agent confirms the containers
// stopped, and the ReplicaSet controller, which does not count terminating Pods,
// makes replacements at once, which the scheduler puts on a ready node. A board
// that comes back sees its Pods marked and stops them.
// Keys are Pods. A node's taints changing enqueues the Pods bound to it; a Pod
// that may go later is requeued on the injected clock for that moment.
import type { Clock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { NodeObject, Pod } from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { stableJson } from '../../proto/util/json.js';
import type { Store } from '../store/store.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { removalOp } from './garbage-collector/deletion.js';
import { INDEX_NODE, keyOf, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import { DEFAULT_TOLERATIONS, evictionTime, noExecuteTaints, type DefaultTolerations } from './taint-tolerations.js';

export const TAINT_EVICTION_REASON = 'TaintManagerEviction';

export interface TaintEvictionOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  recorder?: EventRecorder;
  /** The tolerations every Pod has for not-ready and unreachable unless it says otherwise. */
  defaults?: DefaultTolerations;
  workers?: number;
}

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly recorder: EventRecorder;
  private readonly defaults: DefaultTolerations;
  private readonly workers: number;
  private queue: WorkQueue;
  private term: ControllerTerm | undefined;
  private nodes: Informer<NodeObject> | undefined;
  private pods: Informer<Pod> | undefined;
  /** When this term began: no toleration runs out sooner than its full length after it. */
  private startedAt = 0;

  constructor(opts: TaintEvictionOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.defaults = opts.defaults ?? DEFAULT_TOLERATIONS;
    this.workers = opts.workers ?? 2;
    this.queue = new WorkQueue(this.clock);
  }

  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    this.startedAt = this.clock.now();
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const nodes = (this.nodes = term.informers.informer<NodeObject>('Node'));
    const pods = (this.pods = term.informers.informer<Pod>('Pod'));
    const podsOf = (node: NodeObject): void => {
      for (const pod of pods.byIndex(INDEX_NODE, node.metadata.name)) this.queue.add(keyOf(pod));
    };
    term.handle(nodes.addEventHandler({
      onAdd: (node) => {
        if (noExecuteTaints(node).length > 0) podsOf(node);
      },
      // Heartbeats rewrite status; only a change of NoExecute taints moves anything.
      onUpdate: (old, node) => {
        if (stableJson(noExecuteTaints(old)) !== stableJson(noExecuteTaints(node))) podsOf(node);
      },
    }));
    const podChanged = (pod: Pod): void => {
      if (pod.spec?.nodeName && !pod.metadata.deletionTimestamp) this.queue.add(keyOf(pod));
    };
    term.handle(pods.addEventHandler({ onAdd: podChanged, onUpdate: (_old, pod) => podChanged(pod) }));
    const queue = this.queue;
    term.run(async () => {
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'pod', 'taint eviction failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  async reconcile(key: string): Promise<void> {
    const pod = this.pods?.get(key);
    if (!pod || !pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
    const taints = noExecuteTaints(this.nodes?.get(pod.spec.nodeName));
    if (taints.length === 0) return;
    const now = this.clock.now();
    const decision = evictionTime(pod, taints, this.defaults, this.startedAt);
    if (decision.at === Infinity) return;
    if (decision.at > now) {
      // Taints changing in between enqueue the Pod again; a stale wake-up just decides afresh.
      this.queue.addAfter(key, decision.at - now);
      return;
    }
    // The store's copy, not the cache's: the precondition then refuses a Pod changed since.
    const stored = this.store.get('Pod', pod.metadata.namespace, pod.metadata.name) as Pod | undefined;
    if (!stored || stored.metadata.uid !== pod.metadata.uid || stored.metadata.deletionTimestamp) return;
    const op = removalOp(this.store, stored, new Date(now).toISOString());
    if (!op) return;
    try {
      await this.store.propose({ ops: [op] });
    } catch (err) {
      if (isBrambleError(err, 'NOT_FOUND')) return;
      throw err;
    }
    const taint = decision.taint!;
    this.logger.info({ pod: key, node: pod.spec.nodeName, taint: taint.key }, 'evicted a pod from a tainted node');
    this.recorder.event(stored, 'Normal', TAINT_EVICTION_REASON, `Marking for deletion Pod ${key} (node ${pod.spec.nodeName} has taint ${taint.key}:${taint.effect})`);
  }
}
