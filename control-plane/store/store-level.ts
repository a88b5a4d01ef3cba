// The durable Store: LevelDB in <dataDir>/store holds the objects, the retained
// events and the revision; a full copy of the state lives in memory for fast
// reads. Writes are group-committed: while one LevelDB batch is being written,
// new proposals queue (checked against the queued ones before them) and then go
// to disk together in the next single batch. On an SD card that means few, large,
// fsync'ed writes. Readers and watchers see a write only once it is on disk.
//
// Layout (values JSON): o:<kind>/<namespace>/<name> an object, e:<16-digit revision>
// the events of that revision (each carrying the object as written), m:revision,
// m:compacted (event rows up to it are gone) and m:format. An object is written once
// per write, in its event row: its o: row is written only when that event row is
// compacted away and the version is still current (stateMachineOps), and deleted when
// the object is. So an o: row may hold an older version than a retained event, and
// opening replays the retained events over the o: rows (readSnapshot). A store
// written when every put also rewrote o: reads the same way (its o: rows are current
// and the replay changes nothing). This halves what each write puts through LevelDB
// (its log, then its tables), which matters on an SD card. A replicated member keeps
// the o: rows at a checkpoint and no event rows at all (format 3, raft/raft-store-disk.ts).
//
// When the disk fails, the store stops rather than limping on. Files that cannot
// be read at start-up (LevelDB corruption, values that are not what this code
// wrote, revisions with their events missing) make openLevelStore fail with
// STORE_FAILED naming the directory and the reason; a lock held by another
// process is UNAVAILABLE, as it is not damage. A batch the disk refuses while
// running makes the store *failed*: that batch and everything queued behind it
// is rejected, every later propose fails fast with the same STORE_FAILED, and
// onFatal is told once, so the server can exit and a supervisor sees why —
// instead of a control plane that answers reads but silently drops writes.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level, type BatchOperation } from 'level';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { objectKey, type KObject } from '../../proto/model.js';
import type { Command, CommitResult, ListResult, Store, StoreEvent, Watch, WatchOptions } from './store.js';
import { describeKey, eventProblem, StoreState, snapshotProblem, storedObjectProblem, validateRetainEvents, type Applied, type StoreSnapshot } from './store-state.js';
import { WatchHub } from './store-watch.js';

export interface LevelStoreOptions {
  dataDir: string;
  clock?: Clock;
  logger?: Logger;
  /** How many events to keep for resuming watches (default 10000). */
  retainEvents?: number;
  /** fsync every batch (default true): survives power loss, not only a crash. */
  sync?: boolean;
  /**
   * Called once when the store fails for good (a batch the disk refused), with the
   * STORE_FAILED error every later propose gets. Without it the store logs the error.
   */
  onFatal?: (err: BrambleError) => void;
  /** Opens the LevelDB database; tests wrap the real one to inject disk failures. */
  openDb?: (dir: string) => Db;
}

/** How well group commit is batching, for benchmarks and metrics. */
export interface LevelStoreStats {
  batchesWritten: number;
  commandsCommitted: number;
  largestBatch: number;
  lastBatchMs: number;
}

export interface LevelStore extends Store {
  readonly stats: Readonly<LevelStoreStats>;
  /** Set once a write to disk has failed: the store accepts no more writes. */
  readonly failure: BrambleError | undefined;
  /** The committed state at the current revision (StoreState.snapshot): what a backup writes out. */
  snapshot(): StoreSnapshot;
}

export type Db = Level<string, unknown>;

export const META_REVISION = 'm:revision';
export const META_COMPACTED = 'm:compacted';
/**
 * Written when the directory is created, so an existing store with none of our
 * records is recognised as damaged (LevelDB drops a garbled .log without an error).
 */
export const META_FORMAT = 'm:format';
// 2: a put's object may be only in its event row (see the layout above); a binary that
// knows only 1 would read stale o: rows, so a newer format than this one is refused.
export const FORMAT_VERSION = 2;
/** A replicated member's store (raft/raft-store-disk.ts): its state is o: rows at a checkpoint plus the Raft log. */
export const REPLICATED_FORMAT_VERSION = 3;
export const OBJECT_PREFIX = 'o:';
export const EVENT_PREFIX = 'e:';

export function eventKey(revision: number): string {
  return EVENT_PREFIX + String(revision).padStart(16, '0');
}

/** Keys starting with `prefix`: ';' sorts right after ':'. */
export function range(prefix: string): { gte: string; lt: string } {
  return { gte: prefix, lt: prefix.slice(0, -1) + ';' };
}

interface Entry {
  applied: Applied;
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

/** Our own finding that the files do not hold what this code writes. */
export class CorruptStore extends Error {}

interface LevelErrorLike { code?: unknown; message?: unknown; cause?: unknown }

/** LevelDB's own reason: classic-level wraps open failures ("Database failed to open") around the real one. */
export function levelReason(err: unknown): { code: string | undefined; message: string } {
  const e = (err ?? {}) as LevelErrorLike;
  const cause = e.cause as LevelErrorLike | undefined;
  const inner = cause && typeof cause.message === 'string' ? cause : e;
  return {
    code: typeof inner.code === 'string' ? inner.code : typeof e.code === 'string' ? e.code : undefined,
    message: typeof inner.message === 'string' ? inner.message : String(err),
  };
}

/** One error people can act on for a store that could not be opened or read back. */
export function storeOpenError(dir: string, err: unknown): BrambleError {
  if (err instanceof CorruptStore || isBrambleError(err, 'STORE_FAILED')) {
    return new BrambleError('STORE_FAILED', `the store in ${dir} is corrupt: ${err.message}; restore a backup or move it away`);
  }
  const { code, message } = levelReason(err);
  if (code === 'LEVEL_LOCKED') {
    return new BrambleError('UNAVAILABLE', `the store in ${dir} is locked by another process (is another bramble server using it?): ${message}`);
  }
  if (/permission denied/i.test(message)) {
    return new BrambleError('STORE_FAILED', `the store in ${dir} cannot be read: ${message}; run bramble as the user that owns it`);
  }
  if (/input\/output error/i.test(message)) {
    return new BrambleError('STORE_FAILED', `the store in ${dir} cannot be read, the disk may be failing: ${message}; restore a backup or move it away`);
  }
  // LEVEL_CORRUPTION, and LEVEL_IO_ERROR for a file that is missing or cut short (CURRENT naming no manifest, a truncated .ldb).
  return new BrambleError('STORE_FAILED', `the store in ${dir} is corrupt: ${message}; restore a backup or move it away`);
}

export function parseStored(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptStore(`the value of ${key} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** A meta record (JSON) or undefined when it is not there; a value that is not JSON is CorruptStore. */
export async function readMeta(db: Db, key: string): Promise<unknown> {
  const text = (await db.get(key, { valueEncoding: 'utf8' })) as string | undefined;
  return text === undefined ? undefined : parseStored(key, text);
}

/** The format a store's m:format names (undefined in a store older than the record). */
export async function readFormat(db: Db): Promise<unknown> {
  return readMeta(db, META_FORMAT);
}

/** Every o: row, each checked to be an object at or before revision `upTo` under its own key. */
export async function readObjectRows(db: Db, upTo: number): Promise<Map<string, KObject>> {
  const objects = new Map<string, KObject>();
  for await (const [key, text] of db.iterator({ ...range(OBJECT_PREFIX), valueEncoding: 'utf8' })) {
    const o = parseStored(key, text as string);
    const problem = storedObjectProblem(o, upTo);
    if (problem) throw new CorruptStore(`the object at ${key} ${problem}`);
    const k = o as KObject;
    if (key !== OBJECT_PREFIX + objectKey(k.kind, k.metadata.namespace, k.metadata.name)) {
      throw new CorruptStore(`the object at ${key} is ${k.kind} ${k.metadata.name}, which belongs under another key`);
    }
    objects.set(key.slice(OBJECT_PREFIX.length), k);
  }
  return objects;
}

/** Everything on disk, checked record by record; StoreState.restore checks the whole. */
export async function readSnapshot(db: Db, created: boolean): Promise<StoreSnapshot> {
  const utf8 = { valueEncoding: 'utf8' } as const;
  const revision = await readMeta(db, META_REVISION);
  const format = await readFormat(db);
  if (!created && revision === undefined && format === undefined) {
    throw new CorruptStore('its LevelDB files hold none of bramble\'s records (a damaged .log file?)');
  }
  if (format === REPLICATED_FORMAT_VERSION) {
    throw new CorruptStore(`it is a replicated control plane member's store (format ${format}), which a single server cannot read: start bramble server with the data dir's cluster membership (its raft-member record)`);
  }
  if (typeof format === 'number' && format > FORMAT_VERSION) {
    throw new CorruptStore(`its format is version ${format}; this bramble reads up to version ${REPLICATED_FORMAT_VERSION} (a newer bramble wrote it: run that one)`);
  }
  const known = (revision ?? 0) as number;
  const upTo = Number.isSafeInteger(known) ? known : Infinity;
  const objects = await readObjectRows(db, upTo);
  const events: StoreEvent[] = [];
  for await (const [key, text] of db.iterator({ ...range(EVENT_PREFIX), ...utf8 })) {
    const list = parseStored(key, text as string);
    const r = Number(key.slice(EVENT_PREFIX.length));
    if (!Array.isArray(list) || list.length === 0) throw new CorruptStore(`the events at ${key} are not a list of events`);
    if (list.some((e) => (e as StoreEvent | null)?.revision !== r)) throw new CorruptStore(`the events at ${key} are not all of revision ${r}`);
    for (const e of list as StoreEvent[]) {
      const problem = eventProblem(e, upTo);
      if (problem) throw new CorruptStore(`a stored event ${problem} (at ${key})`);
      // A put's object is in its event row until that row is compacted (see stateMachineOps), so
      // the retained events, in order, bring the o: rows up to date.
      const k = objectKey(e.object.kind, e.object.metadata.namespace, e.object.metadata.name);
      if (e.type === 'DELETED') objects.delete(k);
      else objects.set(k, e.object);
      events.push(e);
    }
  }
  const compactedRevision = (await readMeta(db, META_COMPACTED)) ?? 0;
  return { revision: known, compactedRevision: compactedRevision as number, objects: [...objects.values()], events };
}

/**
 * Opening with a smaller retainEvents than the store was written with compacts the
 * events in memory (StoreState.restore) whose rows are still on disk, and such a row
 * may hold the only copy of an object (stateMachineOps): this writes those objects
 * to their o: rows and drops the rows in one batch, before any write, so the rows on
 * disk match the state. Returns the compacted revision on disk from then on.
 */
export async function settleOpenedCompaction(db: Db, state: StoreState, diskCompacted: number, sync: boolean): Promise<number> {
  const compacted = state.oldestResumableRevision();
  if (compacted <= diskCompacted) return diskCompacted;
  const ops: DbOp[] = [];
  for (const o of state.snapshot().objects) {
    const rv = Number(o.metadata.resourceVersion);
    if (rv > diskCompacted && rv <= compacted) ops.push({ type: 'put', key: OBJECT_PREFIX + objectKey(o.kind, o.metadata.namespace, o.metadata.name), value: o });
  }
  for await (const key of db.keys({ gt: eventKey(diskCompacted), lte: eventKey(compacted) })) ops.push({ type: 'del', key });
  ops.push({ type: 'put', key: META_COMPACTED, value: compacted });
  await db.batch(ops, { sync });
  return compacted;
}

/**
 * Opens <dataDir>/store after checking that its files are LevelDB's (shared with the
 * replicated store, which keeps its Raft log in the same database). `created` says
 * whether this open made a new, empty store.
 */
export async function openStoreDb(
  opts: Pick<LevelStoreOptions, 'dataDir' | 'openDb' | 'sync'>,
): Promise<{ db: Db; dir: string; created: boolean }> {
  const dir = join(opts.dataDir, 'store');
  await mkdir(dir, { recursive: true });
  // LevelDB writes CURRENT when it creates a database: without it this open creates the store,
  // unless its other files are there, when LevelDB would quietly start an empty one over them.
  const created = !existsSync(join(dir, 'CURRENT'));
  if (created) {
    const leftover = (await readdir(dir)).find((f) => /^MANIFEST-|\.(ldb|sst|log)$/.test(f));
    if (leftover) throw storeOpenError(dir, new CorruptStore(`its CURRENT file is missing but ${leftover} is there`));
  } else {
    // LevelDB's own message for a garbled CURRENT names a file that does not exist, not CURRENT.
    const current = await readFile(join(dir, 'CURRENT'), 'latin1');
    const manifest = /^(MANIFEST-\d+)\n$/.exec(current)?.[1];
    if (!manifest || !existsSync(join(dir, manifest))) {
      throw storeOpenError(dir, new CorruptStore(`its CURRENT file holds ${JSON.stringify(current.slice(0, 40))}, which names no MANIFEST file there`));
    }
  }
  const db: Db = opts.openDb ? opts.openDb(dir) : new Level<string, unknown>(dir, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (err) {
    throw storeOpenError(dir, err);
  }
  try {
    if (created) await db.put(META_FORMAT, FORMAT_VERSION, { sync: opts.sync ?? true });
  } catch (err) {
    await db.close().catch(() => undefined);
    throw storeOpenError(dir, err);
  }
  return { db, dir, created };
}

/**
 * The m:format of the store in <dataDir>/store (undefined without one, or in a store
 * older than the record), read without opening it as a Store.
 */
export async function readStoreFormat(dataDir: string): Promise<unknown> {
  if (!existsSync(join(dataDir, 'store', 'CURRENT'))) return undefined;
  const { db, dir } = await openStoreDb({ dataDir, sync: false });
  try {
    return await readFormat(db);
  } catch (err) {
    throw storeOpenError(dir, err);
  } finally {
    await db.close().catch(() => undefined);
  }
}

export async function openLevelStore(opts: LevelStoreOptions): Promise<LevelStore> {
  const retainEvents = validateRetainEvents(opts.retainEvents);
  const { db, dir, created } = await openStoreDb(opts);
  try {
    const snapshot = await readSnapshot(db, created);
    const state = StoreState.restore(snapshot, retainEvents);
    const compacted = await settleOpenedCompaction(db, state, snapshot.compactedRevision, opts.sync ?? true);
    return new LevelStoreImpl(db, dir, state, compacted, opts);
  } catch (err) {
    await db.close().catch(() => undefined);
    // A bad retainEvents is the caller's mistake, not damage on disk.
    if (isBrambleError(err, 'INVALID_ARGUMENT')) throw err;
    throw storeOpenError(dir, err);
  }
}

/** Rows per LevelDB batch of an import: bounded memory and write size on a small board. */
const IMPORT_BATCH_ROWS = 1000;

export interface ImportLevelStoreOptions {
  /** The store goes in <dataDir>/store, which must not hold one yet. */
  dataDir: string;
  snapshot: StoreSnapshot;
  /** Opens the LevelDB database; tests wrap the real one to inject disk failures. */
  openDb?: (dir: string) => Db;
}

/**
 * Writes a fresh store holding exactly `snapshot` (a restore): every object, the
 * retained events, the revision and the compacted revision, so openLevelStore then
 * serves the same state and watches resume from the same revisions. Writes in
 * batches; the last one is fsynced and is the only one with the meta records, so an
 * import cut short leaves files openLevelStore refuses, never a store it takes for whole.
 */
export async function importLevelStore(opts: ImportLevelStoreOptions): Promise<{ objects: number; events: number }> {
  const { snapshot } = opts;
  const problem = snapshotProblem(snapshot);
  if (problem) throw new BrambleError('INVALID_ARGUMENT', `the snapshot cannot be imported: ${problem}`);
  const dir = join(opts.dataDir, 'store');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const present = await readdir(dir);
  if (present.length > 0) {
    throw new BrambleError('ALREADY_EXISTS', `${dir} is not empty (it holds ${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): a store is imported only into an empty directory`);
  }
  const db: Db = opts.openDb ? opts.openDb(dir) : new Level<string, unknown>(dir, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (err) {
    throw storeOpenError(dir, err);
  }
  try {
    let ops: BatchOperation<Db, string, unknown>[] = [];
    const flush = async (): Promise<void> => {
      if (ops.length === 0) return;
      await db.batch(ops, { sync: false });
      ops = [];
    };
    const seen = new Set<string>();
    for (const o of snapshot.objects) {
      const key = objectKey(o.kind, o.metadata.namespace, o.metadata.name);
      if (seen.has(key)) throw new BrambleError('INVALID_ARGUMENT', `the snapshot cannot be imported: it holds ${describeKey(o.kind, o.metadata.namespace, o.metadata.name)} twice`);
      seen.add(key);
      ops.push({ type: 'put', key: OBJECT_PREFIX + key, value: o });
      if (ops.length >= IMPORT_BATCH_ROWS) await flush();
    }
    // As writeBatch keeps them: one row per revision with all its events; compacted ones are gone.
    let events = 0;
    let group: StoreEvent[] = [];
    const endGroup = (): void => {
      if (group.length > 0) ops.push({ type: 'put', key: eventKey(group[0]!.revision), value: group });
      group = [];
    };
    for (const e of snapshot.events) {
      if (e.revision <= snapshot.compactedRevision) continue;
      if (group.length > 0 && group[0]!.revision !== e.revision) {
        endGroup();
        if (ops.length >= IMPORT_BATCH_ROWS) await flush();
      }
      group.push(e);
      events++;
    }
    endGroup();
    await flush();
    await db.batch([
      { type: 'put', key: META_FORMAT, value: FORMAT_VERSION },
      { type: 'put', key: META_COMPACTED, value: snapshot.compactedRevision },
      { type: 'put', key: META_REVISION, value: snapshot.revision },
    ], { sync: true });
    return { objects: seen.size, events };
  } catch (err) {
    if (err instanceof BrambleError) throw err;
    throw new BrambleError('STORE_FAILED', `the store could not be written to ${dir}: ${levelReason(err).message}`);
  } finally {
    await db.close().catch(() => undefined);
  }
}

class LevelStoreImpl implements LevelStore {
  readonly stats: LevelStoreStats = { batchesWritten: 0, commandsCommitted: 0, largestBatch: 0, lastBatchMs: 0 };
  private readonly hub: WatchHub;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sync: boolean;
  private readonly onFatal: ((err: BrambleError) => void) | undefined;
  private queue: Entry[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  failure: BrambleError | undefined;

  constructor(
    private readonly db: Db,
    private readonly dir: string,
    private readonly state: StoreState,
    /** Event keys at or below this revision are already deleted on disk. */
    private diskCompacted: number,
    opts: LevelStoreOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.sync = opts.sync ?? true;
    this.onFatal = opts.onFatal;
    this.hub = new WatchHub(state, this.logger);
  }

  propose(command: Command): Promise<CommitResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new BrambleError('UNAVAILABLE', 'the store is closed: no more writes are accepted'));
    let applied: Applied;
    try {
      applied = this.state.propose(command);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ applied, resolve, reject });
      this.kick();
    });
  }

  get(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.state.get(kind, namespace, name);
  }

  list(kind: string, namespace?: string): ListResult {
    return this.state.list(kind, namespace);
  }

  watch(options: WatchOptions, onEvent: (e: StoreEvent) => void): Watch {
    return this.hub.watch(options, onEvent);
  }

  revision(): number {
    return this.state.revision();
  }

  oldestResumableRevision(): number {
    return this.state.oldestResumableRevision();
  }

  objectCount(): number {
    return this.state.objectCount();
  }

  snapshot(): StoreSnapshot {
    return this.state.snapshot();
  }

  async diskBytes(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      try {
        total += (await stat(join(this.dir, name))).size;
      } catch {
        // LevelDB removes obsolete files while we count: they no longer take space.
      }
    }
    return total;
  }

  async forgetHistory(): Promise<number> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new BrambleError('UNAVAILABLE', 'the store is closed');
    // Between batches: no command is half on disk while the event rows go.
    while (this.writing) await this.writing;
    const run = (async (): Promise<number> => {
      const upTo = this.state.revision();
      const ops: DbOp[] = [];
      // Objects written since the last compaction are only in the event rows that go now.
      for (const o of this.state.snapshot().objects) {
        if (Number(o.metadata.resourceVersion) > this.diskCompacted) {
          ops.push({ type: 'put', key: OBJECT_PREFIX + objectKey(o.kind, o.metadata.namespace, o.metadata.name), value: o });
        }
      }
      for (let r = this.diskCompacted + 1; r <= upTo; r++) ops.push({ type: 'del', key: eventKey(r) });
      ops.push({ type: 'put', key: META_COMPACTED, value: upTo });
      await this.db.batch(ops, { sync: this.sync });
      this.diskCompacted = upTo;
      const dropped = this.state.compactAll();
      // Deleted rows stay in LevelDB's files until a compaction rewrites them: ask for one. It is best
      // effort (LevelDB leaves its deepest level as it is), and an SD card keeps freed blocks anyway.
      // `level`'s types cover the browser's store too, which has no compactRange; classic-level has it.
      await (this.db as unknown as { compactRange?(start: string, end: string): Promise<void> }).compactRange?.('\u0000', '\uffff');
      return dropped;
    })();
    this.writing = run.then(() => undefined, () => undefined).then(() => {
      this.writing = undefined;
      this.kick();
    });
    try {
      return await run;
    } catch (err) {
      throw new BrambleError('STORE_FAILED', `the store's history could not be compacted in ${this.dir}: ${levelReason(err).message}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing) await this.writing;
    this.hub.cancelAll();
    await this.db.close();
  }

  /** Starts a batch with everything queued, unless one is being written already. */
  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.writeBatch(batch).then(() => {
      this.writing = undefined;
      this.kick();
    });
  }

  private async writeBatch(batch: Entry[]): Promise<void> {
    const started = this.clock.now();
    const { ops, compacted } = stateMachineOps(this.state, batch.map((e) => e.applied), this.diskCompacted);
    try {
      await this.db.batch(ops, { sync: this.sync });
    } catch (err) {
      this.failBatch(batch, err);
      return;
    }
    this.diskCompacted = compacted;
    for (const entry of batch) {
      this.hub.publish(this.state.commit(entry.applied));
      entry.resolve(entry.applied.result);
    }
    this.stats.batchesWritten++;
    this.stats.commandsCommitted += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    this.stats.lastBatchMs = this.clock.now() - started;
  }

  /**
   * A LevelDB batch is atomic, so nothing of it reached the disk. Proposals queued
   * behind it were checked against its effects, so they fail too. The store is
   * failed from now on: a disk that refused one batch (full, read-only, dying) is
   * not trusted with the next, and writes accepted after a lost one could
   * contradict what clients were told.
   */
  private failBatch(batch: Entry[], err: unknown): void {
    const { message } = levelReason(err);
    this.state.abortPending();
    const failed = new BrambleError('STORE_FAILED', `the store could not write to ${this.dir}: ${message}; it accepts no more writes`);
    this.failure = failed;
    for (const entry of [...batch, ...this.queue.splice(0)]) entry.reject(failed);
    if (this.onFatal) this.onFatal(failed);
    else this.logger.error({ err, commands: batch.length }, failed.message);
  }
}

export type DbOp = BatchOperation<Db, string, unknown>;

/**
 * The LevelDB writes that make `applied` (proposed on `state`, in revision order,
 * not yet committed) durable: the events (which carry every object written), the
 * deletes of deleted objects, the event window's compaction (events at or below
 * `diskCompacted` are already deleted) and the revision. A put's object goes to its
 * o: row only when its event row is compacted and it is still the current version;
 * a newer version is in a retained event row, so nothing else is needed then.
 */
export function stateMachineOps(
  state: StoreState, applied: readonly Applied[], diskCompacted: number,
): { ops: DbOp[]; compacted: number } {
  const ops: DbOp[] = [];
  const incoming: StoreEvent[] = [];
  /** The final value of every key this batch writes (later proposals, still pending, do not count). */
  const written = new Map<string, KObject | undefined>();
  for (const a of applied) {
    for (const [key, object] of a.writes) {
      written.set(key, object);
      if (!object) ops.push({ type: 'del', key: OBJECT_PREFIX + key });
    }
    ops.push({ type: 'put', key: eventKey(a.revision), value: a.events });
    incoming.push(...a.events);
  }
  if (applied.length === 0) return { ops, compacted: diskCompacted };
  const compacted = state.compactionAfter(incoming);
  if (compacted > diskCompacted) {
    const current = (key: string): KObject | undefined => (written.has(key) ? written.get(key) : state.committedByKey(key));
    const seen = new Set<string>();
    for (const e of [...state.eventsBetween(diskCompacted, compacted), ...incoming]) {
      if (e.revision > compacted) break;
      const key = objectKey(e.object.kind, e.object.metadata.namespace, e.object.metadata.name);
      if (seen.has(key)) continue;
      seen.add(key);
      const o = current(key);
      if (o && Number(o.metadata.resourceVersion) <= compacted) ops.push({ type: 'put', key: OBJECT_PREFIX + key, value: o });
    }
  }
  // Every revision has at least one event, so the compacted ones are exactly this range.
  for (let r = diskCompacted + 1; r <= compacted; r++) ops.push({ type: 'del', key: eventKey(r) });
  ops.push({ type: 'put', key: META_REVISION, value: applied[applied.length - 1]!.revision });
  ops.push({ type: 'put', key: META_COMPACTED, value: compacted });
  return { ops, compacted };
}
