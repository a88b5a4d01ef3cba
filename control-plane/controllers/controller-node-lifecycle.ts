// Node lifecycle: a node whose agent has gone quiet for longer than the grace
// period is marked Ready=Unknown, so the scheduler stops choosing it, and tainted
// node.kubernetes.io/unreachable:NoExecute (not-ready for Ready=False), so the
// taint eviction controller moves its Pods away; the taint goes once it is Ready. Heartbeats
// live in memory (node-heartbeats.ts); the store is written only when a node's
// readiness actually changes. The agent's next heartbeat sets Ready=True again
// (node-status.ts). A control plane that just started (or a new leader) has heard
// nobody yet, so every node gets the full grace period counted from that start.
// It is a timed sweep, not a queue of keys: silence makes no event, so only the
// clock can tell that a node has gone quiet. It reads the Nodes from the term's
// shared Node informer, the one list and watch every controller shares. A cached
// copy a turn behind is safe: the write carries the copy's resourceVersion, so a
// node changed meanwhile is refused (CONFLICT) and judged again on the next pass.
import type { Clock, Timer } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { NodeObject } from '../../proto/model.js';
import type { NodeHeartbeats } from '../nodes/node-heartbeats.js';
import { withReady } from '../nodes/node-status.js';
import { findCondition } from '../../proto/util/conditions.js';
import type { Store } from '../store/store.js';
import { ControllerTerm } from './controller-term.js';
import type { Informer } from './informer.js';
import { NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { taintsForReadiness, withTaints } from './node-taints.js';
import type { Controller, ControllerContext } from './manager.js';

export const NODE_GRACE_PERIOD_MS = 40_000;
export const NODE_CHECK_PERIOD_MS = 5_000;
export const NODE_UNKNOWN_REASON = 'NodeStatusUnknown';
export const NODE_UNKNOWN_MESSAGE = 'Bramble agent stopped posting node status';

export interface NodeLifecycleOptions {
  store: Store;
  clock: Clock;
  heartbeats: NodeHeartbeats;
  logger?: Logger;
  gracePeriodMs?: number;
  checkEveryMs?: number;
  recorder?: EventRecorder;
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly heartbeats: NodeHeartbeats;
  private readonly logger: Logger;
  private readonly graceMs: number;
  private readonly everyMs: number;
  private readonly recorder: EventRecorder;
  private startedAt: number | undefined;
  /** This leadership term's informers and handlers; undefined while stopped. */
  private term: ControllerTerm | undefined;
  private nodes: Informer<NodeObject> | undefined;
  private timer: Timer | undefined;
  private ticking: Promise<number> | undefined;

  constructor(opts: NodeLifecycleOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.heartbeats = opts.heartbeats;
    this.logger = opts.logger ?? silentLogger();
    this.graceMs = opts.gracePeriodMs ?? NODE_GRACE_PERIOD_MS;
    this.everyMs = opts.checkEveryMs ?? NODE_CHECK_PERIOD_MS;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
  }

  /** Each start (each term of leadership) counts the grace period afresh. Run alone (no ctx), it makes its own informer. */
  start(ctx?: ControllerContext): void {
    if (this.term) return;
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx));
    const nodes = (this.nodes = term.informers.informer<NodeObject>('Node'));
    // A removed node's figures go at once rather than at the next pass; the pass
    // still forgets any heartbeat whose node the cache does not hold.
    term.handle(nodes.addEventHandler({ onDelete: (node) => this.heartbeats.forget(node.metadata.name) }));
    this.startedAt = this.clock.now();
    this.timer = this.clock.setInterval(() => void this.tick(), this.everyMs);
    // No workers: run() only starts informers of its own; each pass checks the sync itself.
    term.run(async () => {});
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const term = this.term;
    this.term = undefined;
    this.nodes = undefined;
    await term?.stop();
    await this.ticking;
  }

  /**
   * One pass over all nodes; resolves with how many were marked Unknown (none while
   * stopped or before the Node cache has synced). Overlapping calls share a pass.
   */
  tick(): Promise<number> {
    this.ticking ??= this.check().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async check(): Promise<number> {
    const now = this.clock.now();
    const startedAt = this.startedAt ?? now;
    // Before its first list the cache is empty, which would read as every node removed.
    if (!this.nodes?.hasSynced()) return 0;
    const nodes = this.nodes.list();
    const names = new Set(nodes.map((n) => n.metadata.name));
    for (const name of this.heartbeats.all().keys()) if (!names.has(name)) this.heartbeats.forget(name);

    let marked = 0;
    const nowIso = new Date(now).toISOString();
    for (const node of nodes) {
      const name = node.metadata.name;
      const created = Date.parse(node.metadata.creationTimestamp ?? '');
      const since = Math.max(this.heartbeats.lastHeartbeat(name) ?? -Infinity, startedAt, Number.isNaN(created) ? -Infinity : created);
      const silent = now - since > this.graceMs;
      const ready = findCondition(node.status?.conditions, 'Ready')?.status;
      let next = node;
      const markUnknown = silent && ready !== 'Unknown';
      if (markUnknown) {
        next = { ...node, status: { ...node.status, conditions: withReady(node, 'Unknown', NODE_UNKNOWN_REASON, NODE_UNKNOWN_MESSAGE, nowIso) } };
      } else if (!silent && ready !== 'True' && this.heartbeats.lastHeartbeat(name) === undefined) {
        // Not heard from yet, within its grace period (a new term gives every node one): an
        // Unknown or False left by an earlier leader is not judged again, its taints stay as
        // they are until a heartbeat or the end of the grace period decides.
        continue;
      }
      const taints = taintsForReadiness(next, nowIso);
      if (taints) next = withTaints(next, taints);
      if (next === node) continue;
      try {
        await this.store.propose({ ops: [{ type: 'put', object: next, precondition: { resourceVersion: node.metadata.resourceVersion! } }] });
        if (markUnknown) {
          marked++;
          this.logger.warn({ node: name, silentForMs: now - since }, 'node stopped posting status: marked Ready=Unknown');
          this.recorder.event(next, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
        }
        if (taints) this.logger.info({ node: name, taints: taints.map((t) => t.key) }, 'node readiness taints updated');
      } catch (err) {
        // A heartbeat or a person changed the node meanwhile; the next pass judges it afresh.
        if (isBrambleError(err, 'CONFLICT') || isBrambleError(err, 'NOT_FOUND')) continue;
        this.logger.error({ node: name, err }, 'updating a node\'s readiness failed');
      }
    }
    return marked;
  }
}
