// The log as the core reads it: synchronous, in memory, like etcd-io/raft's
// MemoryStorage. The core never writes it; the host appends a Ready's entries
// here once they are durable (raft-log-store.ts keeps LevelDB and this in step),
// so what the core reads back is always what survives a crash.
//
// ents[0] is a dummy entry at the last snapshot's index and term: it makes
// term(firstIndex() - 1) answerable, which the consistency check of MsgApp needs.
import { entrySize, NONE, type ConfState, type Entry, type HardState, type Snapshot } from './raft-types.js';

export type StorageErrorReason = 'compacted' | 'unavailable' | 'snapshot-out-of-date';

/** The core handles these; anything else from storage is a bug. */
export class RaftStorageError extends Error {
  constructor(readonly reason: StorageErrorReason, message: string) {
    super(message);
    this.name = 'RaftStorageError';
  }
}

export function isStorageError(e: unknown, reason?: StorageErrorReason): e is RaftStorageError {
  return e instanceof RaftStorageError && (reason === undefined || e.reason === reason);
}

export interface RaftStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), at least one if any, at most maxBytes in total beyond the first. Throws 'compacted' below firstIndex, 'unavailable' past lastIndex. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** The term of entry i, for firstIndex()-1 <= i <= lastIndex(). Throws 'compacted' or 'unavailable' outside. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

function emptyConfState(): ConfState {
  return { voters: [], learners: [] };
}

export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot = { meta: { index: 0, term: 0, confState: emptyConfState() }, data: '' };
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: '' }];

  /** A storage for a member that starts a new cluster with these voters (raft.StartNode's bootstrap). */
  static bootstrap(voters: string[]): MemoryStorage {
    const s = new MemoryStorage();
    s.snap = { meta: { index: 0, term: 0, confState: { voters: [...voters], learners: [] } }, data: '' };
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.snap.meta.confState;
    return { hardState: { ...this.hardState }, confState: { voters: [...cs.voters], learners: [...cs.learners] } };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new RaftStorageError('compacted', `entry ${i} is compacted (first kept is ${offset})`);
    if (i - offset >= this.ents.length) throw new RaftStorageError('unavailable', `entry ${i} is past the last index ${this.lastIndex()}`);
    return this.ents[i - offset]!.term;
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new RaftStorageError('compacted', `entry ${lo} is compacted (first kept is ${offset + 1})`);
    if (hi > this.lastIndex() + 1) throw new RaftStorageError('unavailable', `entries up to ${hi - 1} asked, the last is ${this.lastIndex()}`);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - offset]!;
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index) {
      throw new RaftStorageError('snapshot-out-of-date', `snapshot at ${snap.meta.index} is not newer than the one at ${this.snap.meta.index}`);
    }
    this.snap = snap;
    this.ents = [{ term: snap.meta.term, index: snap.meta.index, type: 'normal', data: '' }];
  }

  /**
   * Records a snapshot of the state machine at `index` (which must be applied) so the
   * log before it can be compacted. `data` may be '' when the host streams state itself.
   */
  createSnapshot(index: number, confState: ConfState, data: string): Snapshot {
    if (index <= this.snap.meta.index) {
      throw new RaftStorageError('snapshot-out-of-date', `snapshot at ${index} is not newer than the one at ${this.snap.meta.index}`);
    }
    if (index > this.lastIndex()) throw new RaftStorageError('unavailable', `snapshot at ${index} is past the last index ${this.lastIndex()}`);
    this.snap = { meta: { index, term: this.term(index), confState: { voters: [...confState.voters], learners: [...confState.learners] } }, data };
    return this.snap;
  }

  /** Drops entries up to and including `index` (it becomes the dummy entry). */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) return;
    if (index > this.lastIndex()) throw new RaftStorageError('unavailable', `compact to ${index} is past the last index ${this.lastIndex()}`);
    const keep = this.ents.slice(index - offset);
    keep[0] = { term: keep[0]!.term, index: keep[0]!.index, type: 'normal', data: '' };
    this.ents = keep;
  }

  /** Appends entries, replacing any existing ones from the first new index on (a new leader's log wins). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all already compacted
    const fresh = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const at = fresh[0]!.index - this.offset();
    if (at > this.ents.length) {
      throw new RaftStorageError('unavailable', `entry ${fresh[0]!.index} would leave a gap after the last index ${this.lastIndex()}`);
    }
    // The common case appends at the end: no copy of the whole log on every Ready.
    if (at === this.ents.length) for (const e of fresh) this.ents.push(e);
    else this.ents = this.ents.slice(0, at).concat(fresh);
  }

  /** Bytes of the entries kept, for compaction by size. */
  logBytes(): number {
    let n = 0;
    for (let i = 1; i < this.ents.length; i++) n += entrySize(this.ents[i]!);
    return n;
  }
}
