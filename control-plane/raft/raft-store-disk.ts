// How a replicated member keeps the store's state in LevelDB (format 3): the o:
// rows hold the state exactly as of a checkpoint, m:checkpoint names the Raft
// index and revision of that state, and the Raft log (raft-log-store.ts) keeps
// every entry after it. Opening reads the o: rows and applies the entries after
// the checkpoint up to the applied index again, through the same deterministic
// state machine every replica runs, which rebuilds the objects, the revision and
// the retained events exactly as they were.
//
// So a write puts its command into LevelDB once, in its Raft entry, and nothing
// else (the applied index aside): no event row beside it, no object row. An
// object's row is written when the log is compacted (checkpoint: every key
// changed since the last one, once, whatever number of times it changed), in the
// same batch that deletes the entries it replaces. Format 2, which a single
// server still writes (store-level.ts), stored every write's object a second
// time in its event row; a member opened on such a store converts it once.
//
// A restart keeps the retained events written since the checkpoint (at least the
// log's catch-up entries' worth, DEFAULT_CATCH_UP_ENTRIES); a watch resumed from
// an older revision on a member that restarted is told to list again, as after
// any compaction. Members that did not restart keep their whole window in memory.
import { objectKey, type KObject } from '../../proto/model.js';
import {
  CorruptStore, EVENT_PREFIX, META_COMPACTED, META_FORMAT, META_REVISION, OBJECT_PREFIX, readFormat, readMeta, readObjectRows,
  readSnapshot, range, REPLICATED_FORMAT_VERSION, type Db, type DbOp,
} from '../store/store-level.js';
import type { StoreSnapshot } from '../store/store-state.js';

export const META_CHECKPOINT = 'm:checkpoint';

/** The Raft index and store revision the o: rows are exactly the state of. */
export interface Checkpoint {
  index: number;
  revision: number;
}

export interface DiskState {
  /** The state at the checkpoint (no events: they are rebuilt from the log after it). */
  snapshot: StoreSnapshot;
  checkpoint: Checkpoint;
  /** Writes that bring an older format to this one; to be written before anything else. */
  upgradeOps: DbOp[];
}

function isIndex(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/**
 * Reads the state machine's rows. `applied` is the Raft applied index (m:applied): a
 * store of format 2 (a single server's, or a member's written by an older bramble)
 * holds the state at it, and is converted to a checkpoint there: its objects all
 * written to o: rows, its event rows and revision records dropped.
 */
export async function readDiskState(db: Db, created: boolean, applied: number): Promise<DiskState> {
  const format = await readFormat(db);
  if (format !== REPLICATED_FORMAT_VERSION) {
    const old = await readSnapshot(db, created);
    const checkpoint = { index: applied, revision: old.revision };
    // As installing a snapshot of the state it holds: every object rewritten under the checkpoint.
    const ops = await restoreOps(db, old.objects, checkpoint);
    for await (const key of db.keys(range(EVENT_PREFIX))) ops.push({ type: 'del', key });
    ops.push(
      { type: 'del', key: META_REVISION },
      { type: 'del', key: META_COMPACTED },
      { type: 'put', key: META_FORMAT, value: REPLICATED_FORMAT_VERSION },
    );
    // The events read back stay in memory for this run; from the next start the window begins here.
    return { snapshot: old, checkpoint, upgradeOps: ops };
  }
  const value = await readMeta(db, META_CHECKPOINT);
  const c = value as Partial<Checkpoint> | null | undefined;
  if (!c || typeof c !== 'object' || !isIndex(c.index) || !isIndex(c.revision)) {
    throw new CorruptStore(`the checkpoint at ${META_CHECKPOINT} holds ${JSON.stringify(value)}, not {index, revision} (non-negative integers)`);
  }
  if (c.index > applied) {
    throw new CorruptStore(`the checkpoint at ${META_CHECKPOINT} is at index ${c.index}, after the applied index ${applied}`);
  }
  const objects = await readObjectRows(db, c.revision);
  return {
    snapshot: { revision: c.revision, compactedRevision: c.revision, objects: [...objects.values()], events: [] },
    checkpoint: { index: c.index, revision: c.revision },
    upgradeOps: [],
  };
}

/**
 * The writes of a checkpoint at `checkpoint` (the current state): every key changed since
 * the last one, with its object as it is now, or deleted.
 */
export function checkpointOps(changed: Iterable<string>, current: (key: string) => KObject | undefined, checkpoint: Checkpoint): DbOp[] {
  const ops: DbOp[] = [];
  for (const key of changed) {
    const o = current(key);
    ops.push(o ? { type: 'put', key: OBJECT_PREFIX + key, value: o } : { type: 'del', key: OBJECT_PREFIX + key });
  }
  ops.push({ type: 'put', key: META_CHECKPOINT, value: checkpoint });
  return ops;
}

/** The writes that replace the whole state with a snapshot installed at `checkpoint`. */
export async function restoreOps(db: Db, objects: readonly KObject[], checkpoint: Checkpoint): Promise<DbOp[]> {
  const ops: DbOp[] = [];
  for await (const key of db.keys(range(OBJECT_PREFIX))) ops.push({ type: 'del', key });
  for (const o of objects) ops.push({ type: 'put', key: OBJECT_PREFIX + objectKey(o.kind, o.metadata.namespace, o.metadata.name), value: o });
  ops.push({ type: 'put', key: META_CHECKPOINT, value: checkpoint });
  return ops;
}
