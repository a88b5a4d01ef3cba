// The seam between the host loop (raft-node.ts) and what it replicates: the
// state machine prepares the LevelDB writes of committed entries so the loop can
// put them in the same batch as the Ready's log writes, and makes them visible
// only once that batch is durable. raft-store.ts implements it for the Store.
import type { DbOp } from '../store/store-level.js';
import type { Entry, SnapshotMeta } from './raft-types.js';

/** A committed entry's payload (without its request id), for the state machine. */
export interface ApplyEntry {
  index: number;
  data: string;
}

export type ApplyResult = { ok: true; value: unknown } | { ok: false; error: Error };

/** The state machine's part of one batch; nothing of it is visible before commit(). */
export interface PreparedApply {
  ops: DbOp[];
  /** One per entry given to prepare (none for a restore). */
  results: ApplyResult[];
  /** The batch is durable: make the effects visible (in memory, to watchers). */
  commit(): void;
  /** The batch failed: forget the effects. */
  abort(): void;
}

export interface RaftStateMachine {
  /** The effects of committed entries, in log order. Must be deterministic: every replica applies the same log. */
  prepare(entries: readonly ApplyEntry[]): PreparedApply;
  /** Reads and checks a snapshot body from the leader; keeps it for the Ready that installs it. Rejects when it is bad. */
  receiveSnapshot(meta: SnapshotMeta, body: AsyncIterable<Uint8Array>): Promise<void>;
  /** Replaces the whole state with the snapshot received for meta.index. */
  prepareRestore(meta: SnapshotMeta): Promise<PreparedApply>;
  /** The core is sending a snapshot at meta.index (the applied index): keep the state as it is now for openSnapshot. */
  captureSnapshot(meta: SnapshotMeta): void;
  openSnapshot(meta: SnapshotMeta): AsyncIterable<Uint8Array>;
  /**
   * The log is about to be compacted to at most `applied`, the index the state is at now:
   * the writes that make the state on disk stand on its own there, in the compaction's
   * batch (commit() once it is written), since the entries it replaces go in that batch.
   */
  checkpoint(applied: number): PreparedApply;
}

/**
 * What the state machine gets of a committed entry: a normal entry's payload with its
 * request id, or undefined for a conf change or a leader's empty no-op. The host loop and
 * the replay at open (raft-store.ts) both go through this, so they apply the same entries.
 */
export function applyEntryOf(e: Entry): (ApplyEntry & { id: string }) | undefined {
  if (e.type === 'conf' || e.data === '') return undefined;
  const { id, payload } = unframeEntry(e.data);
  return { index: e.index, data: payload, id };
}

/** Request ids never contain a newline, so `id\npayload` frames an entry without escaping the payload. */
export function frameEntry(id: string, payload: string): string {
  return `${id}\n${payload}`;
}

export function unframeEntry(data: string): { id: string; payload: string } {
  const nl = data.indexOf('\n');
  return nl < 0 ? { id: '', payload: data } : { id: data.slice(0, nl), payload: data.slice(nl + 1) };
}
