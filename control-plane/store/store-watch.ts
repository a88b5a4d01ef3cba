// Fan-out of committed events to watchers. Each watcher has its own queue drained
// on a later turn of the event loop, so a writer never waits for a watcher and a
// watcher that throws or lags cannot hold up the others.
import { BrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { StoreEvent, Watch, WatchOptions } from './store.js';

export interface WatchSource {
  revision(): number;
  oldestResumableRevision(): number;
  eventsAfter(revision: number): StoreEvent[];
}

interface Watcher {
  kind?: string;
  namespace?: string;
  /** Only events after this revision are delivered. */
  after: number;
  queue: StoreEvent[];
  scheduled: boolean;
  cancelled: boolean;
  onEvent: (e: StoreEvent) => void;
}

/** Events handed to one watcher per turn, so a long backlog does not starve the loop. */
const DRAIN_CHUNK = 500;

export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly source: WatchSource, private readonly logger?: Logger) {}

  get size(): number {
    return this.watchers.size;
  }

  watch(options: WatchOptions, onEvent: (e: StoreEvent) => void): Watch {
    const from = options.fromRevision;
    if (!Number.isInteger(from) || from < 0) {
      throw new BrambleError('INVALID_ARGUMENT', `fromRevision must be a non-negative integer: current value is ${from}`);
    }
    const oldest = this.source.oldestResumableRevision();
    if (from !== 0 && from < oldest) {
      throw new BrambleError('STORE_REVISION_TOO_OLD',
        `revision ${from} is older than the oldest retained revision ${oldest}: list again`);
    }
    const w: Watcher = {
      kind: options.kind,
      namespace: options.namespace,
      after: from === 0 ? this.source.revision() : from,
      queue: [],
      scheduled: false,
      cancelled: false,
      onEvent,
    };
    // Backlog and registration happen in one synchronous step, so nothing falls in between.
    if (from !== 0) for (const e of this.source.eventsAfter(from)) if (matches(w, e)) w.queue.push(e);
    this.watchers.add(w);
    this.schedule(w);
    return {
      cancel: () => {
        w.cancelled = true;
        w.queue = [];
        this.watchers.delete(w);
      },
    };
  }

  /** Queues committed events (in revision order) for every matching watcher. */
  publish(events: readonly StoreEvent[]): void {
    for (const w of this.watchers) {
      let added = false;
      for (const e of events) {
        if (e.revision > w.after && matches(w, e)) {
          w.queue.push(e);
          added = true;
        }
      }
      if (added) this.schedule(w);
    }
  }

  cancelAll(): void {
    for (const w of this.watchers) {
      w.cancelled = true;
      w.queue = [];
    }
    this.watchers.clear();
  }

  private schedule(w: Watcher): void {
    if (w.scheduled || w.queue.length === 0) return;
    w.scheduled = true;
    setImmediate(() => this.drain(w));
  }

  private drain(w: Watcher): void {
    w.scheduled = false;
    const chunk = w.queue.splice(0, DRAIN_CHUNK);
    for (const e of chunk) {
      if (w.cancelled) return;
      try {
        w.onEvent(e);
      } catch (err) {
        this.logger?.error({ err, revision: e.revision }, 'store watcher threw while handling an event');
      }
    }
    this.schedule(w);
  }
}

function matches(w: Watcher, e: StoreEvent): boolean {
  if (w.kind !== undefined && e.object.kind !== w.kind) return false;
  if (w.namespace !== undefined && (e.object.metadata.namespace ?? '') !== w.namespace) return false;
  return true;
}
