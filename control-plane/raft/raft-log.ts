// The log as the core sees it: what storage holds (durable) followed by what is
// not yet durable (the unstable tail, or a snapshot received from the leader), as
// etcd-io/raft's raftLog and unstable. The core only ever appends to the unstable
// part; the host persists what a Ready hands out and says so in advance().
import { isStorageError, RaftStorageError, type RaftStorage } from './raft-memory-storage.js';
import { entrySize, type Entry, type Snapshot } from './raft-types.js';

/**
 * Entries not yet durable. `offset` is the index of entries[0]; entries before
 * `offsetInProgress` were handed out in a Ready whose advance() has not come yet,
 * so a second Ready does not hand them out again.
 */
class Unstable {
  snapshot: Snapshot | undefined;
  snapshotInProgress = false;
  entries: Entry[] = [];
  offsetInProgress: number;

  constructor(public offset: number) {
    this.offsetInProgress = offset;
  }

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot !== undefined && this.snapshot.meta.index === i ? this.snapshot.meta.term : undefined;
    }
    const e = this.entries[i - this.offset];
    return e?.term;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0]!.index;
    if (from === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (from <= this.offset) {
      // The whole unstable tail is replaced; storage replaces its own tail from `from` on when the host appends.
      this.offset = from;
      this.offsetInProgress = from;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, from - this.offset).concat(ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, from);
    }
  }

  /** Entries [lo, hi) of the unstable part; the caller checked the bounds. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  stableTo(index: number, term: number): void {
    // A Ready's entries may have been replaced by a newer leader's since it was handed out: those are not stable.
    if (index < this.offset || this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }
}

export class RaftLog {
  private readonly unstable: Unstable;
  /** Highest index known to be committed on a quorum. */
  committed: number;
  /** Highest index handed out in a Ready's committedEntries. */
  applying: number;
  /** Highest index the host has applied (advance). */
  applied: number;

  constructor(readonly storage: RaftStorage, private readonly maxApplyingSize: number) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    const s = this.unstable.snapshot;
    return s !== undefined ? s.meta.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  /** The last index that is durable (and so may count toward a leader's own match). */
  stableLastIndex(): number {
    return this.unstable.offset - 1;
  }

  /** Term of entry i; throws RaftStorageError 'compacted' or 'unavailable' outside [firstIndex-1, lastIndex]. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new RaftStorageError('compacted', `entry ${i} is compacted (first kept is ${dummy})`);
    if (i > this.lastIndex()) throw new RaftStorageError('unavailable', `entry ${i} is past the last index ${this.lastIndex()}`);
    return this.unstable.maybeTerm(i) ?? this.storage.term(i);
  }

  /** Term of entry i, or 0 outside the log (no real entry has term 0). */
  termOrZero(i: number): number {
    // Bounds first: a new entry is outside the log on every MsgApp, and building an error costs a stack trace.
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return 0;
    try {
      return this.term(i);
    } catch (e) {
      if (isStorageError(e)) return 0;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return false;
    return this.termOrZero(i) === term;
  }

  /** Whether a candidate's last entry (index, term) is at least as up to date as ours (Raft §5.4.1). */
  isUpToDate(index: number, term: number): boolean {
    const lastTerm = this.lastTerm();
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex());
  }

  /**
   * The first index among `ents` whose term differs from ours (or that we do not
   * have), or 0 if we hold all of them with the same terms.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term (0 when
   * unknown): the leader's or the follower's guess of where two logs may match
   * (etcd's findConflictByTerm), to skip a whole divergent term per round trip.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      let ours: number;
      try {
        ours = this.term(index);
      } catch (e) {
        if (isStorageError(e)) return [index, 0];
        throw e;
      }
      if (ours <= term) return [index, ours];
    }
    return [0, 0];
  }

  /**
   * The follower side of AppendEntries: if our entry at prevIndex has prevTerm,
   * append `ents` (dropping our conflicting tail) and commit up to `commit`.
   * Returns the index of the last new entry, or undefined when the logs do not match there.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        // The caller answers any MsgApp below the commit index first, so a conflict here is a safety violation.
        throw new Error(`entry ${conflict} conflicts with the committed log (committed ${this.committed})`);
      }
      this.append(ents.slice(conflict - ents[0]!.index));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    if (ents[0]!.index - 1 < this.committed) {
      throw new Error(`appending after ${ents[0]!.index - 1} would overwrite the committed log (committed ${this.committed})`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** Entries [lo, hi), at most maxSize bytes beyond the first. Throws 'compacted' below firstIndex. */
  slice(lo: number, hi: number, maxSize = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new RaftStorageError('compacted', `entry ${lo} is compacted (first kept is ${this.firstIndex()})`);
    if (hi > this.lastIndex() + 1) throw new RaftStorageError('unavailable', `entries up to ${hi - 1} asked, the last is ${this.lastIndex()}`);
    if (lo >= hi) return [];
    let out: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      out = this.storage.entries(lo, Math.min(hi, offset), maxSize);
      // Storage stopped short (size limit): the unstable part would exceed it too.
      if (out.length < Math.min(hi, offset) - lo) return out;
    }
    if (hi > offset) {
      let size = out.reduce((n, e) => n + entrySize(e), 0);
      for (const e of this.unstable.slice(Math.max(lo, offset), hi)) {
        size += entrySize(e);
        if (out.length > 0 && size > maxSize) break;
        out.push(e);
      }
    }
    return out;
  }

  /** Entries from i to the end, at most maxSize bytes beyond the first. */
  entries(i: number, maxSize = Infinity): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /** Moves the commit index forward; an index past our log (only a broken leader would send one) is ignored. */
  commitTo(index: number): void {
    if (index > this.committed && index <= this.lastIndex()) this.committed = index;
  }

  /** The leader's commit rule (Raft §5.4.2): only an entry of its own term is committed by counting. */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.termOrZero(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
    if (index > this.applying) this.applying = index;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstable.snapshotInProgress ? undefined : this.unstable.snapshot;
  }

  /** Unstable entries not yet handed out in a Ready. */
  nextUnstableEntries(): Entry[] {
    const u = this.unstable;
    return u.entries.slice(u.offsetInProgress - u.offset);
  }

  hasNextUnstableEntries(): boolean {
    const u = this.unstable;
    return u.offsetInProgress - u.offset < u.entries.length;
  }

  /** Committed entries not yet handed out, bounded; none while a snapshot waits to be applied. */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, this.maxApplyingSize);
  }

  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed > Math.max(this.applying, this.firstIndex() - 1);
  }

  /** What a Ready handed out is now in the host's hands (being persisted or applied). */
  acceptInProgress(lastEntry: number | undefined, snapshot: boolean, lastCommitted: number | undefined): void {
    const u = this.unstable;
    if (lastEntry !== undefined) u.offsetInProgress = Math.max(u.offsetInProgress, lastEntry + 1);
    if (snapshot) u.snapshotInProgress = true;
    if (lastCommitted !== undefined && lastCommitted > this.applying) this.applying = lastCommitted;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Replaces the log with a snapshot from the leader (the host persists it from Ready.snapshot). */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }
}
