// The store-backed EventRecorder (client-go's record package with its
// events_cache.go, small). Three things stand between a record() call and the
// disk, because a crash-looping Pod must not wear out an SD card:
// - aggregation: the same event (source, object, type, reason, message) seen
//   again updates one Event's count and lastTimestamp instead of adding an Event;
// - a spam filter: a token bucket per source and object (burst 25, one more
//   every 5 minutes, as Kubernetes) bounds how many *distinct* Events one object
//   gets. Repeats of an Event already counted are not filtered: they cost no new
//   object, only a count that is written coalesced (below), and the count stays true;
// - coalesced writes: an Event is written when it is new (after a short batch
//   delay) and then at most once per `writeIntervalMs` however often it repeats;
//   everything due goes to the store in one propose.
// Memory is bounded by LRUs of recent Events and spam buckets. record() never
// throws and never waits; a failed write is retried at the next interval.
import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../../proto/util/clock.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { DEFAULT_NAMESPACE, kindInfo, type EventInvolvedObject, type EventObject, type KObject } from '../../proto/model.js';
import type { Op, Store } from '../store/store.js';
import type { EventRecorder, EventType } from './event-recorder.js';
import { LruMap } from './lru-map.js';

/** One event as reported, before aggregation. */
export interface EventReport {
  involved: EventInvolvedObject;
  type: EventType;
  reason: string;
  message: string;
  /** Who saw it: "default-scheduler", "kubelet"; host for node components. */
  source: { component: string; host?: string };
  /** Occurrences folded into this report by the reporter (an agent); default 1. */
  count?: number;
}

export interface EventSinkOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  /** An Event is written at most once per this many ms however often it repeats (default 60 s). */
  writeIntervalMs?: number;
  /** A new Event waits this long so a burst of them goes to the store in one propose (default 1 s). */
  batchDelayMs?: number;
  /** A repeat later than this after the last one starts a new Event (default 1 h, the Event TTL). */
  aggregateWindowMs?: number;
  /** How many recent Events are remembered for aggregation (default 4096, client-go's LRU size). */
  cacheSize?: number;
  /** Spam filter: distinct Events one source may start about one object at once (default 25). */
  spamBurst?: number;
  /** Spam filter: ms for one more token (default 5 min). */
  spamRefillMs?: number;
  /** Most Events in one propose (default 100); more wait for the next flush, moments later. */
  maxBatch?: number;
  newUid?: () => string;
}

interface Entry {
  event: EventObject;
  /** Clock time the Event was first seen. */
  createdAt: number;
  /** Clock time of the last store write; undefined while never written. */
  writtenAt: number | undefined;
  dirty: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

export const DEFAULT_EVENT_WRITE_INTERVAL_MS = 60_000;
const DEFAULT_BATCH_DELAY_MS = 1_000;
const DEFAULT_AGGREGATE_WINDOW_MS = 60 * 60_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** What makes two reports the same Event (client-go's getEventKey, minus timestamps). */
function occurrences(r: EventReport): number {
  return r.count !== undefined && Number.isSafeInteger(r.count) && r.count > 0 ? r.count : 1;
}

function aggregateKey(r: EventReport): string {
  const o = r.involved;
  return JSON.stringify([r.source.component, r.source.host ?? '', o.kind, o.namespace ?? '', o.name, o.uid ?? '', o.apiVersion ?? '', o.fieldPath ?? '', r.type, r.reason, r.message]);
}

function spamKey(r: EventReport): string {
  const o = r.involved;
  return JSON.stringify([r.source.component, r.source.host ?? '', o.kind, o.namespace ?? '', o.name, o.uid ?? '']);
}

/** Where an object's Events live: its namespace, or "default" for cluster-scoped objects (as Kubernetes). */
export function eventNamespace(involved: EventInvolvedObject): string {
  return involved.namespace && involved.namespace !== '' ? involved.namespace : DEFAULT_NAMESPACE;
}

export function involvedObjectOf(obj: KObject): EventInvolvedObject {
  const info = kindInfo(obj.kind);
  return {
    kind: obj.kind,
    ...(obj.metadata.namespace !== undefined && info?.namespaced !== false ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
    ...(obj.metadata.uid !== undefined ? { uid: obj.metadata.uid } : {}),
    apiVersion: obj.apiVersion,
  };
}

/**
 * The recorder shared by every component of one control plane: `recorder(component)`
 * gives each controller its EventRecorder, `report()` takes agents' events.
 */
export class EventSink {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly writeIntervalMs: number;
  private readonly batchDelayMs: number;
  private readonly aggregateWindowMs: number;
  private readonly spamBurst: number;
  private readonly spamRefillMs: number;
  private readonly maxBatch: number;
  private readonly newUid: () => string;
  private readonly entries: LruMap<string, Entry>;
  private readonly buckets: LruMap<string, Bucket>;
  /** Dirty Events pushed out of the LRU before their write; bounded like the LRU. */
  private readonly evicted: Entry[] = [];
  private readonly cacheSize: number;
  private timer: { at: number; timer: Timer } | undefined;
  private flushing: Promise<void> | undefined;
  private seq = 0;
  private closed = false;
  /** Counters for tests and metrics. */
  readonly stats = { writes: 0, failedWrites: 0, dropped: 0 };

  constructor(opts: EventSinkOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.writeIntervalMs = opts.writeIntervalMs ?? DEFAULT_EVENT_WRITE_INTERVAL_MS;
    this.batchDelayMs = opts.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
    this.aggregateWindowMs = opts.aggregateWindowMs ?? DEFAULT_AGGREGATE_WINDOW_MS;
    this.spamBurst = opts.spamBurst ?? 25;
    this.spamRefillMs = opts.spamRefillMs ?? 5 * 60_000;
    this.maxBatch = opts.maxBatch ?? 100;
    this.newUid = opts.newUid ?? randomUUID;
    this.cacheSize = opts.cacheSize ?? 4096;
    this.entries = new LruMap(this.cacheSize, (_key, entry) => {
      if (!entry.dirty) return;
      if (this.evicted.length < this.cacheSize) this.evicted.push(entry);
      else this.stats.dropped++;
    });
    this.buckets = new LruMap(this.cacheSize);
  }

  /** The EventRecorder of one component ("replicaset-controller"), as client-go's NewRecorder. */
  recorder(component: string, host?: string): EventRecorder {
    return {
      event: (involved: KObject, type: EventType, reason: string, message: string): void => {
        this.report({ involved: involvedObjectOf(involved), type, reason, message, source: { component, ...(host ? { host } : {}) } });
      },
    };
  }

  /** Takes one event; returns whether it was kept (false: spam-filtered, or the sink is closed). Never throws. */
  report(r: EventReport): boolean {
    try {
      return this.observe(r);
    } catch (err) {
      this.logger.warn({ err, reason: r.reason }, 'could not record an event');
      return false;
    }
  }

  /** Events waiting for their write (for tests). */
  pendingCount(): number {
    let n = this.evicted.length;
    for (const [, e] of this.entries) if (e.dirty) n++;
    return n;
  }

  /** Writes whatever is pending now, whatever the interval, and takes no more events. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.timer.cancel();
    this.timer = undefined;
    await this.flushing;
    await this.flush(true);
  }

  private observe(r: EventReport): boolean {
    if (this.closed) return false;
    const now = this.clock.now();
    const key = aggregateKey(r);
    const known = this.entries.get(key);
    if (known && now - Date.parse(known.event.lastTimestamp) < this.aggregateWindowMs) {
      known.event = { ...known.event, count: known.event.count + occurrences(r), lastTimestamp: iso(now) };
      this.markDirty(known, now);
      return true;
    }
    if (!this.takeToken(spamKey(r), now)) {
      this.stats.dropped++;
      this.logger.debug({ reason: r.reason, object: `${r.involved.kind}/${r.involved.name}` }, 'event dropped by the spam filter');
      return false;
    }
    const entry: Entry = { event: this.newEvent(r, now), createdAt: now, writtenAt: undefined, dirty: false };
    this.entries.set(key, entry);
    this.markDirty(entry, now);
    return true;
  }

  private newEvent(r: EventReport, now: number): EventObject {
    const namespace = eventNamespace(r.involved);
    // client-go names an Event "<object>.<unix nanoseconds in hex>"; the sequence keeps two in one ms apart.
    const suffix = (BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16);
    const name = `${r.involved.name.slice(0, 253 - suffix.length - 1)}.${suffix}`;
    const stamp = iso(now);
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace, uid: this.newUid(), creationTimestamp: stamp },
      involvedObject: { ...r.involved },
      reason: r.reason,
      message: r.message,
      type: r.type,
      count: occurrences(r),
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      source: { ...r.source },
      reportingComponent: r.source.component,
      ...(r.source.host ? { reportingInstance: r.source.host } : {}),
    };
  }

  private takeToken(key: string, now: number): boolean {
    const b = this.buckets.get(key) ?? { tokens: this.spamBurst, at: now };
    const refilled = Math.min(this.spamBurst, b.tokens + (now - b.at) / this.spamRefillMs);
    const ok = refilled >= 1;
    this.buckets.set(key, { tokens: ok ? refilled - 1 : refilled, at: now });
    return ok;
  }

  private dueAt(e: Entry): number {
    return e.writtenAt === undefined ? e.createdAt + this.batchDelayMs : e.writtenAt + this.writeIntervalMs;
  }

  private markDirty(e: Entry, now: number): void {
    e.dirty = true;
    this.schedule(Math.max(now, this.dueAt(e)));
  }

  private schedule(at: number): void {
    if (this.closed) return;
    if (this.timer && this.timer.at <= at) return;
    this.timer?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush(false).finally(() => (this.flushing = undefined));
    }, Math.max(0, at - this.clock.now()));
    this.timer = { at, timer };
  }

  private async flush(all: boolean): Promise<void> {
    const now = this.clock.now();
    const due: Entry[] = this.evicted.splice(0, this.maxBatch);
    let next: number | undefined;
    for (const [, e] of this.entries) {
      if (!e.dirty) continue;
      const at = this.dueAt(e);
      if ((all || at <= now) && due.length < this.maxBatch) due.push(e);
      else next = Math.min(next ?? Infinity, Math.max(at, now));
    }
    if (this.evicted.length > 0) next = now;
    if (due.length > 0) {
      const written = due.map((e) => e.event);
      for (const e of due) e.dirty = false;
      // No precondition: the recorder alone writes its Events (their names are its own), and one put
      // that finds its Event deleted by the TTL brings it back, which is right for an event that repeats.
      const ops: Op[] = written.map((object) => ({ type: 'put', object }));
      try {
        await this.store.propose({ ops });
        this.stats.writes++;
        for (const e of due) e.writtenAt = now;
      } catch (err) {
        this.stats.failedWrites++;
        this.logger.warn({ err, events: due.length }, 'could not write events; retrying later');
        for (const e of due) {
          // A later repeat already made it dirty again with a newer count; otherwise retry this one.
          e.dirty = true;
          e.writtenAt = now;
        }
        next = Math.min(next ?? Infinity, now + this.writeIntervalMs);
      }
    }
    if (next !== undefined && !all) this.schedule(next);
  }
}
