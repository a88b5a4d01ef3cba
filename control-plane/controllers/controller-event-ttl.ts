// Event TTL (the apiserver's --event-ttl, 1 h by default): Events older than the
// TTL, counted from their last occurrence, are deleted. Kubernetes leaves this to
// etcd leases; Bramble's store has none, so a leader-only sweep on the injected
// clock does it, in batches of one propose each so a busy hour's Events go in a
// few writes, not one per Event. It reads the store's list directly (the store
// already holds every object in memory), so it keeps no cache of its own.
import type { Clock, Timer } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { EventObject } from '../../proto/model.js';
import type { Op, Store } from '../store/store.js';
import type { Controller } from './manager.js';

export const DEFAULT_EVENT_TTL_MS = 60 * 60_000;

export interface EventTtlOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  ttlMs?: number;
  /** How often to sweep (default: a tenth of the TTL, at most once a minute). */
  checkEveryMs?: number;
  /** Deletes per propose (default 100). */
  batchSize?: number;
}

/** The last time the Event happened: lastTimestamp, else when it was made. */
export function lastSeen(e: EventObject): number {
  for (const t of [e.lastTimestamp, e.eventTime as string | undefined, e.firstTimestamp, e.metadata.creationTimestamp]) {
    const ms = typeof t === 'string' ? Date.parse(t) : NaN;
    if (!Number.isNaN(ms)) return ms;
  }
  return NaN;
}

export class EventTtlController implements Controller {
  readonly name = 'event-ttl';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  readonly ttlMs: number;
  private readonly everyMs: number;
  private readonly batchSize: number;
  private timer: Timer | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(opts: EventTtlOptions) {
    const ttl = opts.ttlMs ?? DEFAULT_EVENT_TTL_MS;
    if (!Number.isFinite(ttl) || ttl <= 0) throw new RangeError(`the event TTL must be a positive duration: current value is ${ttl} ms`);
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.ttlMs = ttl;
    this.everyMs = opts.checkEveryMs ?? Math.max(1_000, Math.min(60_000, Math.floor(ttl / 10)));
    this.batchSize = opts.batchSize ?? 100;
  }

  start(): void {
    if (this.timer) return;
    this.timer = this.clock.setInterval(() => void this.sweep(), this.everyMs);
    void this.sweep();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.sweeping;
  }

  /** One pass; resolves with how many Events were deleted. Overlapping calls share a pass. */
  sweep(): Promise<number> {
    this.sweeping ??= this.deleteExpired().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async deleteExpired(): Promise<number> {
    const now = this.clock.now();
    const expired = (this.store.list('Event').items as EventObject[]).filter((e) => {
      const seen = lastSeen(e);
      return Number.isNaN(seen) || now - seen >= this.ttlMs;
    });
    let deleted = 0;
    for (let i = 0; i < expired.length; i += this.batchSize) {
      const ops: Op[] = expired.slice(i, i + this.batchSize).map((e) => ({
        type: 'delete', kind: 'Event', namespace: e.metadata.namespace, name: e.metadata.name,
        precondition: { resourceVersion: e.metadata.resourceVersion! },
      }));
      try {
        await this.store.propose({ ops });
        deleted += ops.length;
      } catch (err) {
        // An Event of the batch repeated (or went) meanwhile: the next pass judges the rest again.
        const level = isBrambleError(err, 'CONFLICT') || isBrambleError(err, 'NOT_FOUND') ? 'debug' : 'warn';
        this.logger[level]({ err, events: ops.length }, 'could not delete expired events; trying again at the next pass');
      }
    }
    if (deleted > 0) this.logger.debug({ deleted }, 'deleted expired events');
    return deleted;
  }
}
