// Raft's durable state in the same LevelDB as the store's state machine, so one
// atomic (and, when Raft needs it, fsynced) batch carries a Ready's new entries and
// hard state together with the state-machine writes of the entries it applies and
// the applied index. A crash therefore leaves either all of a Ready on disk or none
// of it: an entry is applied exactly once across restarts without any replay check.
//
// Keys (values are JSON, as the rest of the store):
//   r:hs                 {term, vote, commit}         hard state
//   r:e:<16-digit index> "<term>\n<data>" ("<term>c\n<data>" for a conf change), raw UTF-8:
//                        the data is the command's JSON, which as a JSON string would have
//                        every quote escaped (a fifth more bytes on every write)
//   r:snap               {index, term, voters, learners}  the compaction point (entries up to it
//                        are gone) and the membership there: the core starts from it and
//                        replays the membership changes after it up to the applied index
//   r:conf               {voters, learners, peers}   membership as of the applied index, with addresses
//   m:applied            the last applied index (beside m:revision: revisions count successful
//                        commands, indexes count every entry, so they differ)
//
// The state machine's rows are its checkpoint plus this log (raft-store-disk.ts): a
// compaction writes the keys changed since the last checkpoint beside r:snap and the
// deletes of the entries before it, never a whole copy of the state. A snapshot sent
// to a follower is the state in memory at the applied index. The log is also held in
// memory (MemoryStorage) for the core to read synchronously; it is updated only once
// a batch is durable, so what the core reads back is what survives a crash.
import { BrambleError } from '../../proto/util/errors.js';
import { MemoryStorage } from './raft-memory-storage.js';
import { decodeConfChange, entrySize, NONE, type ConfState, type Entry, type HardState, type NodeId, type Ready, type Snapshot, type SnapshotMeta } from './raft-types.js';
import { CorruptStore, parseStored, range, type Db, type DbOp } from '../store/store-level.js';

export const RAFT_HARD_STATE = 'r:hs';
export const RAFT_SNAPSHOT = 'r:snap';
export const RAFT_CONF = 'r:conf';
export const META_APPLIED = 'm:applied';
const ENTRY_PREFIX = 'r:e:';

/**
 * Compaction defaults for SD cards and 1 GB boards. The log is held in memory as well
 * as on disk, so it is bounded by both count and bytes; compaction deletes a whole run
 * of keys at once (a tombstone each, ~30 bytes), so running it rarely keeps that cost
 * to a few bytes per write. After compacting, CATCH_UP_ENTRIES stay so a follower that
 * was away for a moment (a Wi-Fi stall, a restart) catches up from the log instead of
 * being sent the whole state.
 */
export const DEFAULT_COMPACT_ENTRIES = 10_000;
export const DEFAULT_COMPACT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CATCH_UP_ENTRIES = 1_000;

export function entryKey(index: number): string {
  return ENTRY_PREFIX + String(index).padStart(16, '0');
}

/** Membership as of the applied index, with every member's address for the transport. */
export interface StoredConf extends ConfState {
  /** Member name → host:port (from the conf changes' context, or the bootstrap list). */
  peers: Record<NodeId, string>;
}

export interface RaftLogStoreOptions {
  /** Compact once more than this many entries are kept (default 10,000). */
  compactEntries?: number;
  /** Compact once the kept entries hold more than this many bytes (default 16 MiB). */
  compactBytes?: number;
  /** Entries kept before the applied index after a compaction (default 1,000). */
  catchUpEntries?: number;
}

/**
 * The core's view of the log. Its snapshot is always "the state machine at the applied
 * index" — that is what LevelDB holds — so a leader sends a lagging follower the state as
 * it is, and the host streams it (onSnapshotRequested captures it at that instant). Its
 * initial state's membership is the compaction point's: the core replays the membership
 * changes kept after it up to the applied index itself.
 */
export class RaftLogStorage extends MemoryStorage {
  applied = 0;
  conf: StoredConf = { voters: [], learners: [], peers: {} };
  /** Called when the core takes a snapshot to send, with the meta it will carry. */
  onSnapshotRequested: ((meta: SnapshotMeta) => void) | undefined;

  override snapshot(): Snapshot {
    if (this.applied === 0) return super.snapshot();
    const meta: SnapshotMeta = {
      index: this.applied,
      term: this.term(this.applied),
      confState: { voters: [...this.conf.voters], learners: [...this.conf.learners] },
    };
    this.onSnapshotRequested?.(meta);
    // The host streams the state (and the members' addresses) itself.
    return { meta, data: '' };
  }
}

interface SnapRecord {
  index: number;
  term: number;
  voters: string[];
  learners: string[];
}

function isIndex(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isNameList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');
}

function hardStateProblem(v: unknown): string | undefined {
  const h = v as Partial<HardState> | null;
  if (!h || typeof h !== 'object') return 'is not an object';
  if (!isIndex(h.term)) return `has term ${JSON.stringify(h.term)}, not a non-negative integer`;
  if (typeof h.vote !== 'string') return `has vote ${JSON.stringify(h.vote)}, not a member name`;
  if (!isIndex(h.commit)) return `has commit ${JSON.stringify(h.commit)}, not a non-negative integer`;
  return undefined;
}

export function confProblem(v: unknown): string | undefined {
  const c = v as Partial<StoredConf> | null;
  if (!c || typeof c !== 'object') return 'is not an object';
  if (!isNameList(c.voters)) return 'has voters that are not a list of member names';
  if (!isNameList(c.learners)) return 'has learners that are not a list of member names';
  const peers = c.peers;
  if (!peers || typeof peers !== 'object' || Array.isArray(peers) || Object.values(peers).some((a) => typeof a !== 'string')) {
    return 'has peers that are not a map of member names to addresses';
  }
  return undefined;
}

function decodeEntry(key: string, text: string, index: number): Entry {
  const nl = text.indexOf('\n');
  const head = nl < 0 ? '' : text.slice(0, nl);
  const m = /^(\d{1,15})(c?)$/.exec(head);
  if (!m) throw new CorruptStore(`the entry at ${key} does not start with its term and a newline (it starts ${JSON.stringify(text.slice(0, 20))})`);
  const e: Entry = { term: Number(m[1]), index, type: m[2] ? 'conf' : 'normal', data: text.slice(nl + 1) };
  if (e.type === 'conf') {
    try {
      decodeConfChange(e.data);
    } catch (err) {
      throw new CorruptStore(`the entry at ${key} is a conf change that does not decode (${(err as Error).message})`);
    }
  }
  return e;
}

function entryOp(e: Entry): DbOp {
  return { type: 'put', key: entryKey(e.index), value: `${e.term}${e.type === 'conf' ? 'c' : ''}\n${e.data}`, valueEncoding: 'utf8' } as DbOp;
}

/** Raft's records in one LevelDB, and the in-memory log the core reads, kept in step. */
export class RaftLogStore {
  private readonly compactEntries: number;
  private readonly compactBytes: number;
  private readonly catchUpEntries: number;
  /** Bytes appended since logBytes() was last computed: it walks the log, so not on every Ready. */
  private appendedSinceMeasure = 0;
  private measuredBytes = 0;
  private hardState: HardState;
  /** The records a bootstrap writes before the node starts (see load). */
  readonly bootstrapOps: DbOp[];

  private constructor(readonly storage: RaftLogStorage, hardState: HardState, bootstrapOps: DbOp[], opts: RaftLogStoreOptions) {
    this.compactEntries = positive('compactEntries', opts.compactEntries ?? DEFAULT_COMPACT_ENTRIES);
    this.compactBytes = positive('compactBytes', opts.compactBytes ?? DEFAULT_COMPACT_BYTES);
    this.catchUpEntries = nonNegative('catchUpEntries', opts.catchUpEntries ?? DEFAULT_CATCH_UP_ENTRIES);
    this.hardState = hardState;
    this.bootstrapOps = bootstrapOps;
    this.measuredBytes = storage.logBytes();
  }

  /**
   * Reads every Raft record back, checking each; a record that is not what this code
   * writes throws CorruptStore naming its key (openStoreDb's caller turns it into STORE_FAILED).
   * `bootstrap` is the membership of a new cluster (or of `--cluster-init` on an existing
   * single-server store), used only when the database holds no Raft record at all. It
   * starts the log at a snapshot at index 1, term 1, holding that membership and the
   * store as it is, rather than at index 0: then no leader can send a joining member
   * entries from the very start of the log, whose membership lives in no entry, and
   * every member that did not bootstrap gets its first state (and membership) from a
   * snapshot. The caller writes bootstrapOps before starting the node.
   */
  static async load(db: Db, opts: RaftLogStoreOptions & { bootstrap?: StoredConf } = {}): Promise<RaftLogStore> {
    const utf8 = { valueEncoding: 'utf8' } as const;
    const read = async (key: string): Promise<unknown> => {
      const text = (await db.get(key, utf8)) as string | undefined;
      return text === undefined ? undefined : parseStored(key, text);
    };
    const hsValue = await read(RAFT_HARD_STATE);
    let hardState: HardState = { term: 0, vote: NONE, commit: 0 };
    if (hsValue !== undefined) {
      const problem = hardStateProblem(hsValue);
      if (problem) throw new CorruptStore(`the Raft hard state at ${RAFT_HARD_STATE} ${problem}`);
      const h = hsValue as HardState;
      hardState = { term: h.term, vote: h.vote, commit: h.commit };
    }
    const snapValue = await read(RAFT_SNAPSHOT);
    let snap: SnapRecord = { index: 0, term: 0, voters: [], learners: [] };
    if (snapValue !== undefined) {
      const s = snapValue as Partial<SnapRecord> | null;
      if (!s || typeof s !== 'object' || !isIndex(s.index) || !isIndex(s.term) || !isNameList(s.voters) || !isNameList(s.learners)) {
        throw new CorruptStore(`the Raft snapshot record at ${RAFT_SNAPSHOT} is not {index, term, voters, learners} (non-negative integers, lists of member names)`);
      }
      snap = { index: s.index, term: s.term, voters: [...s.voters], learners: [...s.learners] };
    }
    const confValue = await read(RAFT_CONF);
    let conf: StoredConf = { voters: [], learners: [], peers: {} };
    if (confValue !== undefined) {
      const problem = confProblem(confValue);
      if (problem) throw new CorruptStore(`the Raft membership at ${RAFT_CONF} ${problem}`);
      const c = confValue as StoredConf;
      conf = { voters: [...c.voters], learners: [...c.learners], peers: { ...c.peers } };
    }
    const appliedValue = await read(META_APPLIED);
    if (appliedValue !== undefined && !isIndex(appliedValue)) {
      throw new CorruptStore(`the applied index at ${META_APPLIED} holds ${JSON.stringify(appliedValue)}, not a non-negative integer`);
    }
    const appliedIndex = (appliedValue as number | undefined) ?? 0;

    const entries: Entry[] = [];
    let prevTerm = snap.term;
    for await (const [key, text] of db.iterator({ ...range(ENTRY_PREFIX), ...utf8 })) {
      const digits = key.slice(ENTRY_PREFIX.length);
      if (!/^\d{16}$/.test(digits)) throw new CorruptStore(`the key ${key} is not an entry key (${ENTRY_PREFIX} and 16 digits)`);
      const index = Number(digits);
      const expected = snap.index + entries.length + 1;
      if (index <= snap.index) throw new CorruptStore(`the entry at ${key} is at or before the compaction point ${snap.index} (${RAFT_SNAPSHOT})`);
      if (index !== expected) throw new CorruptStore(`the entry at ${entryKey(expected)} is missing (the next one kept is ${key})`);
      const e = decodeEntry(key, text as string, index);
      if (e.term < prevTerm) throw new CorruptStore(`the entry at ${key} has term ${e.term}, below the ${prevTerm} of the entry before it`);
      prevTerm = e.term;
      entries.push(e);
    }
    const bootstrapOps: DbOp[] = [];
    let applied = appliedIndex;
    const untouched = hsValue === undefined && snapValue === undefined && confValue === undefined && appliedValue === undefined && entries.length === 0;
    if (opts.bootstrap && untouched) {
      conf = { voters: [...opts.bootstrap.voters], learners: [...opts.bootstrap.learners], peers: { ...opts.bootstrap.peers } };
      snap = { index: 1, term: 1, voters: [...conf.voters], learners: [...conf.learners] };
      hardState = { term: 1, vote: NONE, commit: 1 };
      prevTerm = 1;
      applied = 1;
      bootstrapOps.push(
        { type: 'put', key: RAFT_SNAPSHOT, value: snap },
        { type: 'put', key: RAFT_HARD_STATE, value: hardState },
        { type: 'put', key: RAFT_CONF, value: conf },
        { type: 'put', key: META_APPLIED, value: applied },
      );
    }
    const last = snap.index + entries.length;
    if (applied < snap.index || applied > last) {
      throw new CorruptStore(`the applied index ${applied} (${META_APPLIED}) is outside the log kept, ${snap.index} to ${last}`);
    }
    if (hardState.term < prevTerm) {
      throw new CorruptStore(`the hard state's term ${hardState.term} (${RAFT_HARD_STATE}) is below the term ${prevTerm} of the last entry`);
    }
    // The commit index is written only with other changes (never on its own, so an idle
    // member writes nothing); what is applied was committed, and the leader re-teaches the rest.
    hardState.commit = Math.min(Math.max(hardState.commit, applied), last);

    const storage = new RaftLogStorage();
    if (snap.index > 0) storage.applySnapshot({ meta: { index: snap.index, term: snap.term, confState: { voters: snap.voters, learners: snap.learners } }, data: '' });
    storage.append(entries);
    storage.setHardState(hardState);
    storage.applied = applied;
    storage.conf = conf;
    return new RaftLogStore(storage, bootstrapOps.length > 0 ? { ...hardState } : hardState, bootstrapOps, opts);
  }

  get applied(): number {
    return this.storage.applied;
  }

  get conf(): StoredConf {
    return this.storage.conf;
  }

  /**
   * The writes that make a Ready's Raft parts durable: a received snapshot (which
   * drops the whole log), the new entries (replacing any conflicting tail) and the
   * hard state when its term or vote changed, so an idle member's Readies, which only
   * move the commit index, write nothing.
   */
  readyOps(rd: Pick<Ready, 'entries' | 'hardState' | 'snapshot'>): { ops: DbOp[]; wroteHardState: boolean } {
    const ops: DbOp[] = [];
    let last = this.storage.lastIndex();
    if (rd.snapshot) {
      const m = rd.snapshot.meta;
      for (let i = this.storage.firstIndex(); i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
      ops.push({ type: 'put', key: RAFT_SNAPSHOT, value: { index: m.index, term: m.term, voters: m.confState.voters, learners: m.confState.learners } });
      last = m.index;
    }
    if (rd.entries.length > 0) {
      for (const e of rd.entries) ops.push(entryOp(e));
      // A new leader's log wins: entries past the new tail would otherwise be read back on restart.
      const newLast = rd.entries[rd.entries.length - 1]!.index;
      for (let i = newLast + 1; i <= last; i++) ops.push({ type: 'del', key: entryKey(i) });
    }
    const hs = rd.hardState;
    // The commit index alone is never worth a write: it is volatile in Raft, and on reopen
    // the applied index stands in for it (what is applied was committed).
    const wroteHardState = hs !== undefined && (hs.term !== this.hardState.term || hs.vote !== this.hardState.vote);
    if (wroteHardState) ops.push({ type: 'put', key: RAFT_HARD_STATE, value: { term: hs.term, vote: hs.vote, commit: hs.commit } });
    return { ops, wroteHardState };
  }

  /** The writes that record entries up to `index` as applied, and membership when it changed. */
  appliedOps(index: number, conf: StoredConf | undefined): DbOp[] {
    const ops: DbOp[] = [{ type: 'put', key: META_APPLIED, value: index }];
    if (conf) ops.push({ type: 'put', key: RAFT_CONF, value: conf });
    return ops;
  }

  /**
   * Where to compact once `applied` is durable, or undefined: when more than
   * compactEntries are kept or they hold more than compactBytes, drop all but the last
   * catchUpEntries before the applied index (fewer when they alone are over a quarter
   * of compactBytes).
   */
  compactionPoint(applied: number): number | undefined {
    const first = this.storage.firstIndex();
    const kept = this.storage.lastIndex() - first + 1;
    if (this.appendedSinceMeasure > this.compactBytes / 16) {
      this.measuredBytes = this.storage.logBytes();
      this.appendedSinceMeasure = 0;
    }
    const bytes = this.measuredBytes + this.appendedSinceMeasure;
    if (kept <= this.compactEntries && bytes <= this.compactBytes) return undefined;
    let point = applied - this.catchUpEntries;
    let tailBytes = 0;
    for (let i = applied; i > Math.max(point, first - 1); i--) {
      tailBytes += entrySize(this.storage.entries(i, i + 1)[0]!);
      if (tailBytes > this.compactBytes / 4) {
        point = i;
        break;
      }
    }
    return point >= first ? point : undefined;
  }

  /** The writes of a compaction to `point` (from compactionPoint). */
  compactionOps(point: number): DbOp[] {
    const ops: DbOp[] = [];
    for (let i = this.storage.firstIndex(); i <= point; i++) ops.push({ type: 'del', key: entryKey(i) });
    const cs = this.confAt(point);
    ops.push({ type: 'put', key: RAFT_SNAPSHOT, value: { index: point, term: this.storage.term(point), voters: cs.voters, learners: cs.learners } });
    return ops;
  }

  /**
   * The membership as of `index` (kept in the log): the compaction point's, with the
   * changes after it applied as the core applies them (raft-step.ts applyConfChange).
   */
  private confAt(index: number): ConfState {
    const start = this.storage.initialState().confState;
    const voters = new Set(start.voters);
    const learners = new Set(start.learners);
    const first = this.storage.firstIndex();
    if (index >= first) {
      for (const e of this.storage.entries(first, index + 1)) {
        if (e.type !== 'conf') continue;
        const cc = decodeConfChange(e.data);
        if (cc.type === 'addLearner') {
          if (!voters.has(cc.node)) learners.add(cc.node);
        } else if (cc.type === 'promote') {
          learners.delete(cc.node);
          voters.add(cc.node);
        } else {
          voters.delete(cc.node);
          learners.delete(cc.node);
        }
      }
    }
    return { voters: [...voters], learners: [...learners] };
  }

  /**
   * Brings the in-memory log in step once the batch with these parts is durable:
   * the snapshot, the entries, the hard state, the applied index, the membership
   * and a compaction, each as given to the ops above.
   */
  persisted(p: {
    snapshot?: Snapshot; snapshotConf?: StoredConf; entries: readonly Entry[]; hardState?: HardState; wroteHardState: boolean;
    applied?: number; conf?: StoredConf; compactTo?: number;
  }): void {
    const s = this.storage;
    if (p.snapshot) {
      s.applySnapshot({ meta: p.snapshot.meta, data: '' });
      s.applied = p.snapshot.meta.index;
      if (p.snapshotConf) s.conf = p.snapshotConf;
      this.measuredBytes = 0;
      this.appendedSinceMeasure = 0;
    }
    if (p.entries.length > 0) {
      s.append(p.entries);
      for (const e of p.entries) this.appendedSinceMeasure += entrySize(e);
    }
    if (p.hardState) {
      s.setHardState(p.hardState);
      if (p.wroteHardState) this.hardState = { ...p.hardState };
    }
    if (p.applied !== undefined) s.applied = p.applied;
    if (p.conf) s.conf = p.conf;
    if (p.compactTo !== undefined) {
      s.createSnapshot(p.compactTo, this.confAt(p.compactTo), '');
      s.compact(p.compactTo);
      this.measuredBytes = s.logBytes();
      this.appendedSinceMeasure = 0;
    }
  }
}

function positive(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new BrambleError('INVALID_ARGUMENT', `${name} must be a positive integer: current value is ${n}`);
  return n;
}

function nonNegative(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new BrambleError('INVALID_ARGUMENT', `${name} must be a non-negative integer: current value is ${n}`);
  return n;
}
