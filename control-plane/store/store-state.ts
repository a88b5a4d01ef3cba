// The deterministic state machine behind every Store: objects by key, the
// cluster revision, and the window of retained events. Applying a command is
// split in two so the LevelDB store can group-commit: `propose` checks
// preconditions against committed state plus the effects of earlier proposals
// still waiting for disk, and `commit` makes a proposal visible once durable.
// Stored objects are deeply frozen, so handing them out is safe and cheap.
import { BrambleError } from '../../proto/util/errors.js';
import { stableJson } from '../../proto/util/json.js';
import { objectKey, type KObject } from '../../proto/model.js';
import type { Command, CommitResult, ListResult, Op, Precondition, StoreEvent } from './store.js';

export const DEFAULT_RETAIN_EVENTS = 10_000;

export interface Applied {
  revision: number;
  result: CommitResult;
  events: StoreEvent[];
  /** The final value of every key the command touched; undefined means deleted. */
  writes: Map<string, KObject | undefined>;
}

export interface StoreSnapshot {
  revision: number;
  /** Events with revision <= this one are no longer retained. */
  compactedRevision: number;
  objects: KObject[];
  /** Retained events in revision order. */
  events: StoreEvent[];
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** JSON round trip: what is kept in memory is exactly what LevelDB gives back on reopen. */
function normalize<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function describeKey(kind: string, namespace: string | undefined, name: string): string {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

export function validateRetainEvents(n: number | undefined): number {
  if (n === undefined) return DEFAULT_RETAIN_EVENTS;
  if (!Number.isInteger(n) || n < 0) {
    throw new BrambleError('INVALID_ARGUMENT', `retainEvents must be a non-negative integer: current value is ${n}`);
  }
  return n;
}

function checkPrecondition(
  p: Precondition | undefined, existing: KObject | undefined, kind: string, namespace: string | undefined, name: string,
): void {
  if (!p) return;
  const what = describeKey(kind, namespace, name);
  if ('absent' in p) {
    if (existing) {
      throw new BrambleError('ALREADY_EXISTS', `${what} already exists (at resourceVersion ${existing.metadata.resourceVersion})`);
    }
  } else if ('resourceVersion' in p) {
    if (!existing) {
      throw new BrambleError('NOT_FOUND', `${what} not found: the request carried resourceVersion ${p.resourceVersion}`);
    }
    if (existing.metadata.resourceVersion !== p.resourceVersion) {
      throw new BrambleError('CONFLICT',
        `${what} is at resourceVersion ${existing.metadata.resourceVersion}, the request carried ${p.resourceVersion}`);
    }
  } else if ('exists' in p) {
    if (!existing) throw new BrambleError('NOT_FOUND', `${what} not found`);
  }
}

function checkPut(op: Extract<Op, { type: 'put' }>): void {
  const o = op.object as Partial<KObject> | undefined;
  if (!o || typeof o.kind !== 'string' || o.kind === '' || !o.metadata || typeof o.metadata.name !== 'string' || o.metadata.name === '') {
    throw new BrambleError('INVALID_ARGUMENT', 'a put must carry an object with kind and metadata.name');
  }
}

/** Key order does not count, and no labels is the same as an empty map. */
function labelsChanged(before: KObject, after: KObject): boolean {
  return stableJson(before.metadata.labels ?? {}) !== stableJson(after.metadata.labels ?? {});
}

const EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isRevision(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/**
 * Why a value read back from disk cannot be a stored object at or before `revision`,
 * or undefined when it can. Only what the state machine relies on is checked: a
 * kind and name to key it by, and a resourceVersion no newer than the store.
 */
export function storedObjectProblem(v: unknown, revision: number): string | undefined {
  if (!isRecord(v)) return 'is not an object';
  if (typeof v.kind !== 'string' || v.kind === '') return 'has no kind';
  const m = v.metadata;
  if (!isRecord(m) || typeof m.name !== 'string' || m.name === '') return 'has no metadata.name';
  if (m.namespace !== undefined && typeof m.namespace !== 'string') return 'has a metadata.namespace that is not a string';
  const rv = Number(m.resourceVersion);
  if (typeof m.resourceVersion !== 'string' || !isRevision(rv) || rv > revision) {
    return `has metadata.resourceVersion ${JSON.stringify(m.resourceVersion)}, which is not a revision up to the store's ${revision}`;
  }
  return undefined;
}

/** Why a value read back cannot be a retained event at or before `revision`, or undefined. */
export function eventProblem(e: unknown, revision: number): string | undefined {
  if (!isRecord(e)) return 'is not an object';
  if (typeof e.type !== 'string' || !EVENT_TYPES.has(e.type)) return `has type ${JSON.stringify(e.type)}`;
  if (!isRevision(e.revision) || e.revision > revision) return `has revision ${JSON.stringify(e.revision)}, after the store's ${revision}`;
  const labels = e.previousLabels;
  if (labels !== undefined && (!isRecord(labels) || Object.values(labels).some((x) => typeof x !== 'string'))) {
    return 'has previousLabels that are not a map of strings';
  }
  const objectProblem = storedObjectProblem(e.object, revision);
  return objectProblem && `carries an object that ${objectProblem}`;
}

/**
 * snapshotProblem one record at a time, for readers that stream a snapshot
 * (store-snapshot.ts) and never hold all of it: `revisions` first, then every
 * object, every event in order, and `end`. Each returns the problem or undefined.
 */
export class SnapshotChecker {
  private last = 0;
  private events = 0;
  private revision = 0;
  private compacted = 0;

  revisions(revision: unknown, compactedRevision: unknown): string | undefined {
    if (!isRevision(revision)) return `the revision record holds ${JSON.stringify(revision)}, not a revision`;
    if (!isRevision(compactedRevision) || compactedRevision > revision) {
      return `the compacted revision record holds ${JSON.stringify(compactedRevision)}, not a revision up to ${revision}`;
    }
    this.revision = revision;
    this.last = this.compacted = compactedRevision;
    return undefined;
  }

  object(o: unknown): string | undefined {
    const problem = storedObjectProblem(o, this.revision);
    return problem && `a stored object ${problem}`;
  }

  event(e: unknown): string | undefined {
    const problem = eventProblem(e, this.revision);
    if (problem) return `a stored event ${problem}`;
    this.events++;
    const r = (e as StoreEvent).revision;
    // Already compacted (restore drops it), or another event of the same commit.
    if (r <= this.compacted || (r === this.last && this.last > this.compacted)) return undefined;
    if (r !== this.last + 1) return `the events of revision ${this.last + 1} are missing (the next one kept is of revision ${r})`;
    this.last = r;
    return undefined;
  }

  end(): string | undefined {
    if (this.events > 0 && this.last !== this.revision) return `the events of revision ${this.last + 1} are missing (the store is at revision ${this.revision})`;
    return undefined;
  }
}

/**
 * Why a snapshot read back from disk cannot be restored, or undefined. Besides the
 * shapes, the retained events must cover every revision after the compacted one:
 * each commit writes at least one event in the same atomic batch as its objects,
 * so a missing revision means LevelDB lost part of its files.
 */
export function snapshotProblem(s: StoreSnapshot): string | undefined {
  const check = new SnapshotChecker();
  const problem = check.revisions(s.revision, s.compactedRevision);
  if (problem) return problem;
  for (const o of s.objects) {
    const p = check.object(o);
    if (p) return p;
  }
  for (const e of s.events) {
    const p = check.event(e);
    if (p) return p;
  }
  return check.end();
}

export class StoreState {
  private readonly objects = new Map<string, KObject>();
  private readonly byKind = new Map<string, Map<string, KObject>>();
  /** Effects of proposals not yet committed, by key, with the proposing revision. */
  private readonly pending = new Map<string, { object: KObject | undefined; revision: number }>();
  private events: StoreEvent[] = [];
  private eventStart = 0;
  private committed = 0;
  private proposed = 0;
  private compacted = 0;

  constructor(readonly retainEvents: number = DEFAULT_RETAIN_EVENTS) {
    validateRetainEvents(retainEvents);
  }

  /** Throws STORE_FAILED naming the problem when the snapshot is not one this machine wrote. */
  static restore(snapshot: StoreSnapshot, retainEvents?: number): StoreState {
    const s = new StoreState(validateRetainEvents(retainEvents));
    const problem = snapshotProblem(snapshot);
    if (problem) throw new BrambleError('STORE_FAILED', problem);
    for (const o of snapshot.objects) s.setObject(objectKey(o.kind, o.metadata.namespace, o.metadata.name), deepFreeze(o));
    s.committed = s.proposed = snapshot.revision;
    // With no events left every revision so far is compacted, whatever the meta says.
    s.compacted = snapshot.events.length === 0 ? snapshot.revision : snapshot.compactedRevision;
    s.events = snapshot.events.filter((e) => e.revision > s.compacted).map((e) => deepFreeze(e));
    s.prune();
    return s;
  }

  /**
   * The committed state at the current revision: what a backup or a lagging replica
   * needs. Taken synchronously between commits, so it is consistent at one revision;
   * its objects and events are the frozen ones this state holds, so it costs two
   * arrays and stays valid while later commits replace them.
   */
  snapshot(): StoreSnapshot {
    const keys = [...this.objects.keys()].sort();
    return {
      revision: this.committed,
      compactedRevision: this.compacted,
      objects: keys.map((k) => this.objects.get(k)!),
      events: this.events.slice(this.eventStart),
    };
  }

  revision(): number { return this.committed; }
  proposedRevision(): number { return this.proposed; }
  oldestResumableRevision(): number { return this.compacted; }
  objectCount(): number { return this.objects.size; }
  retainedEventCount(): number { return this.events.length - this.eventStart; }

  get(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.objects.get(objectKey(kind, namespace, name));
  }

  /** The committed object under a store key (objectKey), ignoring proposals not yet committed. */
  committedByKey(key: string): KObject | undefined {
    return this.objects.get(key);
  }

  list(kind: string, namespace?: string): ListResult {
    const all = this.byKind.get(kind);
    const items: KObject[] = [];
    if (all) {
      const keys = [...all.keys()].sort();
      for (const k of keys) {
        const o = all.get(k)!;
        if (namespace === undefined || (o.metadata.namespace ?? '') === namespace) items.push(o);
      }
    }
    return { items, revision: this.committed };
  }

  /** Retained events with revision > from, in order. */
  eventsAfter(from: number): StoreEvent[] {
    return this.events.slice(this.firstAfter(from));
  }

  /** Retained events with from < revision <= upTo, in order. */
  eventsBetween(from: number, upTo: number): StoreEvent[] {
    return this.events.slice(this.firstAfter(from), this.firstAfter(upTo));
  }

  private firstAfter(revision: number): number {
    let lo = this.eventStart;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The compacted revision once `incoming` events (in order, after all retained ones) are
   * committed: enough leading events go to keep at most retainEvents, rounded up to a whole
   * revision so a resumed watch never sees half a command.
   */
  compactionAfter(incoming: readonly StoreEvent[]): number {
    const retained = this.events.length - this.eventStart;
    const drop = retained + incoming.length - this.retainEvents;
    if (drop <= 0) return this.compacted;
    const last = drop <= retained ? this.events[this.eventStart + drop - 1]! : incoming[drop - retained - 1]!;
    return Math.max(this.compacted, last.revision);
  }

  /** Checks and prepares a command at the next revision. Throws (changing nothing) when an op fails. */
  propose(command: Command): Applied {
    if (!command || !Array.isArray(command.ops) || command.ops.length === 0) {
      throw new BrambleError('INVALID_ARGUMENT', 'a command must carry at least one op');
    }
    const revision = this.proposed + 1;
    const rv = String(revision);
    const writes = new Map<string, KObject | undefined>();
    const look = (k: string): KObject | undefined => (writes.has(k) ? writes.get(k) : this.current(k));
    const objects: KObject[] = [];
    const events: StoreEvent[] = [];
    for (const op of command.ops) {
      if (op.type === 'put') {
        checkPut(op);
        const { kind, metadata: { namespace, name } } = op.object;
        const key = objectKey(kind, namespace, name);
        const existing = look(key);
        checkPrecondition(op.precondition, existing, kind, namespace, name);
        const stored = normalize(op.object);
        stored.metadata.resourceVersion = rv;
        deepFreeze(stored);
        writes.set(key, stored);
        objects.push(stored);
        const event: StoreEvent = { type: existing ? 'MODIFIED' : 'ADDED', object: stored, revision };
        if (existing && labelsChanged(existing, stored)) event.previousLabels = deepFreeze(normalize(existing.metadata.labels ?? {}));
        events.push(deepFreeze(event));
      } else if (op.type === 'delete') {
        const key = objectKey(op.kind, op.namespace, op.name);
        const existing = look(key);
        checkPrecondition(op.precondition, existing, op.kind, op.namespace, op.name);
        if (!existing) throw new BrambleError('NOT_FOUND', `${describeKey(op.kind, op.namespace, op.name)} not found`);
        const last = normalize(existing);
        last.metadata.resourceVersion = rv;
        writes.set(key, undefined);
        objects.push(existing);
        events.push(deepFreeze({ type: 'DELETED', object: last, revision }));
      } else {
        throw new BrambleError('INVALID_ARGUMENT', `op type must be put or delete: current value is ${(op as { type: unknown }).type}`);
      }
    }
    this.proposed = revision;
    for (const [k, v] of writes) this.pending.set(k, { object: v, revision });
    return { revision, result: { revision, objects }, events, writes };
  }

  /** Makes a proposal visible. Proposals must be committed in revision order. Returns its events. */
  commit(applied: Applied): StoreEvent[] {
    if (applied.revision !== this.committed + 1) {
      throw new BrambleError('INTERNAL', `commit out of order: revision ${applied.revision} after ${this.committed}`);
    }
    for (const [k, v] of applied.writes) {
      if (v) this.setObject(k, v);
      else this.deleteObject(k);
      if (this.pending.get(k)?.revision === applied.revision) this.pending.delete(k);
    }
    this.committed = applied.revision;
    this.events.push(...applied.events);
    this.prune();
    return applied.events;
  }

  /** Forgets every proposal not yet committed (their write to disk failed). */
  abortPending(): void {
    this.pending.clear();
    this.proposed = this.committed;
  }

  private current(key: string): KObject | undefined {
    const p = this.pending.get(key);
    return p ? p.object : this.objects.get(key);
  }

  private setObject(key: string, o: KObject): void {
    this.objects.set(key, o);
    let m = this.byKind.get(o.kind);
    if (!m) this.byKind.set(o.kind, (m = new Map()));
    m.set(key, o);
  }

  private deleteObject(key: string): void {
    const o = this.objects.get(key);
    if (!o) return;
    this.objects.delete(key);
    const m = this.byKind.get(o.kind);
    m?.delete(key);
    if (m?.size === 0) this.byKind.delete(o.kind);
  }

  /** Drops every retained event up to the committed revision; returns how many. */
  compactAll(): number {
    const before = this.retainedEventCount();
    this.compacted = this.committed;
    this.prune();
    return before - this.retainedEventCount();
  }

  private prune(): void {
    this.compacted = this.compactionAfter([]);
    while (this.eventStart < this.events.length && this.events[this.eventStart]!.revision <= this.compacted) this.eventStart++;
    // Copy out only now and then so pruning stays O(1) amortized.
    if (this.eventStart > 1024 && this.eventStart * 2 > this.events.length) {
      this.events = this.events.slice(this.eventStart);
      this.eventStart = 0;
    }
  }
}
