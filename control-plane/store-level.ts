// The durable Store: LevelDB in <dataDir>/store holds the objects, the retained
// events and the revision; a full copy of the state lives in memory for fast
// reads. Writes are group-committed: while one LevelDB batch is being written,
// new proposals queue (checked against the queued ones before them) and then go
// to disk together in the next single batch. On an SD card that means few, large,
// fsync'ed writes. Readers and watchers see a write only once it is on disk.
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level, type BatchOperation } from 'level';
import { realClock, type Clock } from '../proto/clock.js';
import { BrambleError } from '../proto/errors.js';
import { silentLogger, type Logger } from '../proto/log.js';
import type { KObject } from '../proto/model.js';
import type { Command, CommitResult, ListResult, Store, StoreEvent, Watch, WatchOptions } from './store.js';
import { StoreState, validateRetainEvents, type Applied } from './store-state.js';
import { WatchHub } from './store-watch.js';

export interface LevelStoreOptions {
  dataDir: string;
  clock?: Clock;
  logger?: Logger;
  /** How many events to keep for resuming watches (default 10000). */
  retainEvents?: number;
  /** fsync every batch (default true): survives power loss, not only a crash. */
  sync?: boolean;
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
}

type Db = Level<string, unknown>;

const META_REVISION = 'm:revision';
const META_COMPACTED = 'm:compacted';
const OBJECT_PREFIX = 'o:';
const EVENT_PREFIX = 'e:';

function eventKey(revision: number): string {
  return EVENT_PREFIX + String(revision).padStart(16, '0');
}

/** Keys starting with `prefix`: ';' sorts right after ':'. */
function range(prefix: string): { gte: string; lt: string } {
  return { gte: prefix, lt: prefix.slice(0, -1) + ';' };
}

interface Entry {
  applied: Applied;
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

export async function openLevelStore(opts: LevelStoreOptions): Promise<LevelStore> {
  const retainEvents = validateRetainEvents(opts.retainEvents);
  const dir = join(opts.dataDir, 'store');
  await mkdir(dir, { recursive: true });
  const db: Db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (err) {
    const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new BrambleError('UNAVAILABLE', `the store in ${dir} could not be opened (is another bramble server using it?): ${cause}`);
  }
  try {
    const objects: KObject[] = [];
    for await (const v of db.values(range(OBJECT_PREFIX))) objects.push(v as KObject);
    const events: StoreEvent[] = [];
    for await (const v of db.values(range(EVENT_PREFIX))) events.push(...(v as StoreEvent[]));
    const revision = ((await db.get(META_REVISION)) as number | undefined) ?? 0;
    const compactedRevision = ((await db.get(META_COMPACTED)) as number | undefined) ?? 0;
    const state = StoreState.restore({ revision, compactedRevision, objects, events }, retainEvents);
    return new LevelStoreImpl(db, dir, state, compactedRevision, opts);
  } catch (err) {
    await db.close();
    throw err;
  }
}

class LevelStoreImpl implements LevelStore {
  readonly stats: LevelStoreStats = { batchesWritten: 0, commandsCommitted: 0, largestBatch: 0, lastBatchMs: 0 };
  private readonly hub: WatchHub;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sync: boolean;
  private queue: Entry[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;

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
    this.hub = new WatchHub(state, this.logger);
  }

  propose(command: Command): Promise<CommitResult> {
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
    const ops: BatchOperation<Db, string, unknown>[] = [];
    const incoming: StoreEvent[] = [];
    for (const { applied } of batch) {
      for (const [key, object] of applied.writes) {
        ops.push(object ? { type: 'put', key: OBJECT_PREFIX + key, value: object } : { type: 'del', key: OBJECT_PREFIX + key });
      }
      ops.push({ type: 'put', key: eventKey(applied.revision), value: applied.events });
      incoming.push(...applied.events);
    }
    const compacted = this.state.compactionAfter(incoming);
    // Every revision has at least one event, so the compacted ones are exactly this range.
    for (let r = this.diskCompacted + 1; r <= compacted; r++) ops.push({ type: 'del', key: eventKey(r) });
    ops.push({ type: 'put', key: META_REVISION, value: batch[batch.length - 1]!.applied.revision });
    ops.push({ type: 'put', key: META_COMPACTED, value: compacted });
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
   * behind it were checked against its effects, so they fail too.
   */
  private failBatch(batch: Entry[], err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.logger.error({ err, commands: batch.length }, 'store batch write failed');
    this.state.abortPending();
    const failed = new BrambleError('UNAVAILABLE', `the store could not write to ${this.dir}: ${message}`);
    for (const entry of [...batch, ...this.queue.splice(0)]) entry.reject(failed);
  }
}
