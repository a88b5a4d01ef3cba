// The invariants of the Raft paper (§5.2-5.4, Figure 3) as a checker the
// simulation feeds at every step. It sees only what a replica made durable,
// what it applied and what its status says, never the core's internals, so a
// broken core — or a broken disk — shows up as a named invariant.
//
// "Committed by term T" is the tool for leader completeness without a global
// clock: a replica whose durable hard state says (term T, commit c) learnt c
// from a leader of a term <= T, so every leader of a term > T must hold the
// entries up to c. Real time is no guide: a candidate of a lower term may win
// later than a commit of a higher term, with stale votes, and rightly lack it.
import type { Entry, HardState, NodeId, Snapshot } from '../raft/raft-types.js';

export type Invariant =
  | 'election safety'
  | 'log matching'
  | 'leader completeness'
  | 'state machine safety'
  | 'acknowledged write'
  | 'durable state'
  | 'linearizable read'
  | 'liveness'
  | 'core contract';

export class InvariantViolation extends Error {
  constructor(readonly invariant: Invariant, message: string) {
    super(`${invariant}: ${message}`);
    this.name = 'InvariantViolation';
  }
}

/** What identifies an entry: the same index with a different key is a different entry. */
export function entryKey(e: Pick<Entry, 'term' | 'type' | 'data'>): string {
  return `${e.term}|${e.type}|${e.data}`;
}

/** The log a replica holds, as the checker reads it (its durable storage). */
export interface LogView {
  /** Index of the snapshot the log starts after (its dummy entry). */
  snapIndex: number;
  snapTerm: number;
  lastIndex: number;
  /** For snapIndex < i <= lastIndex. */
  entry(i: number): Entry;
}

interface LeaderRecord {
  id: NodeId;
  term: number;
  snapIndex: number;
  snapTerm: number;
  /** keys[i - snapIndex - 1] is the key of entry i, as the leader held it when elected. */
  keys: string[];
}

interface Ack {
  value: string;
  index: number;
  /** The acknowledging replica's term: the write was committed by a leader of this term or an earlier one. */
  term: number;
}

export class RaftChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly leaders: LeaderRecord[] = [];
  /** (index/term) -> the entry's key and the term of the entry before it. */
  private readonly logEntries = new Map<string, { key: string; prevTerm: number }>();
  /** Committed entries, by index: from applies and from durable commit indexes. */
  private readonly committed: (string | undefined)[] = [];
  private readonly committedValue: (string | undefined)[] = [];
  /** The lowest term by which entry i is known committed. */
  private readonly commitTerm: number[] = [];
  private readonly valueIndex = new Map<string, number>();
  private readonly acks: Ack[] = [];
  private readonly durable = new Map<NodeId, { term: number; vote: NodeId }>();
  maxCommitted = 0;

  fail(invariant: Invariant, message: string): never {
    throw new InvariantViolation(invariant, message);
  }

  /** After any step of `id`: its role and term as its status reports them. */
  observeRole(id: NodeId, role: string, term: number, log: LogView): void {
    if (role !== 'leader') return;
    const other = this.leaderOfTerm.get(term);
    if (other === id) return;
    if (other !== undefined) this.fail('election safety', `two leaders in term ${term}: ${other} and ${id}`);
    this.leaderOfTerm.set(term, id);
    const keys: string[] = [];
    for (let i = log.snapIndex + 1; i <= log.lastIndex; i++) keys.push(entryKey(log.entry(i)));
    const rec: LeaderRecord = { id, term, snapIndex: log.snapIndex, snapTerm: log.snapTerm, keys };
    this.leaders.push(rec);
    for (let i = 1; i < this.commitTerm.length; i++) {
      if (this.commitTerm[i] !== undefined && this.commitTerm[i]! < term) this.checkLeaderHas(rec, i, 'leader completeness');
    }
    for (const a of this.acks) if (a.term < term) this.checkLeaderHas(rec, a.index, 'acknowledged write', a.value);
  }

  private checkLeaderHas(rec: LeaderRecord, index: number, inv: Invariant, value?: string): void {
    const want = this.committed[index];
    if (want === undefined) return;
    const what = value !== undefined ? `acknowledged write ${value} (entry ${index})` : `committed entry ${index} (${want})`;
    if (index < rec.snapIndex) return; // inside the leader's snapshot, which the apply checks matched to the committed prefix
    if (index === rec.snapIndex) {
      if (Number(want.split('|')[0]) !== rec.snapTerm) this.fail(inv, `leader ${rec.id} of term ${rec.term} has a snapshot at ${index} of term ${rec.snapTerm}, not the ${what}`);
      return;
    }
    const got = rec.keys[index - rec.snapIndex - 1];
    if (got === undefined) this.fail(inv, `leader ${rec.id} of term ${rec.term} lacks ${what}: its log ends at ${rec.snapIndex + rec.keys.length}`);
    if (got !== want) this.fail(inv, `leader ${rec.id} of term ${rec.term} holds ${got} at ${index} instead of ${what}`);
  }

  /** Entries just made durable in `id`'s log (after the append, so `log` holds them). */
  onAppend(id: NodeId, entries: readonly Entry[], log: LogView): void {
    for (const e of entries) {
      if (e.index <= log.snapIndex) continue;
      const prevTerm = e.index - 1 === log.snapIndex ? log.snapTerm : log.entry(e.index - 1).term;
      if (e.term < prevTerm) this.fail('log matching', `${id}'s entry ${e.index} has term ${e.term}, below the ${prevTerm} of the entry before it`);
      const k = `${e.index}/${e.term}`;
      const key = entryKey(e);
      const seen = this.logEntries.get(k);
      if (seen === undefined) this.logEntries.set(k, { key, prevTerm });
      else if (seen.key !== key) this.fail('log matching', `two entries at index ${e.index} in term ${e.term}: ${seen.key} and, in ${id}'s log, ${key}`);
      else if (seen.prevTerm !== prevTerm) {
        this.fail('log matching', `entry ${e.index} of term ${e.term} follows an entry of term ${seen.prevTerm} in one log and of term ${prevTerm} in ${id}'s`);
      }
    }
  }

  /** A durable hard state of `id`, and its log at that moment. */
  onHardState(id: NodeId, hs: HardState, log: LogView): void {
    const prev = this.durable.get(id);
    if (prev !== undefined) {
      if (hs.term < prev.term) this.fail('durable state', `${id}'s term went back from ${prev.term} to ${hs.term}`);
      if (hs.term === prev.term && prev.vote !== '' && hs.vote !== prev.vote) {
        this.fail('durable state', `${id} voted for ${prev.vote} and then for ${hs.vote || 'nobody'} in term ${hs.term}`);
      }
    }
    this.durable.set(id, { term: hs.term, vote: hs.vote });
    if (hs.commit > log.lastIndex) this.fail('core contract', `${id}'s commit index ${hs.commit} is past its durable log, which ends at ${log.lastIndex}`);
    for (let i = hs.commit; i > log.snapIndex; i--) {
      if (this.commitTerm[i] !== undefined && this.commitTerm[i]! <= hs.term) break; // known, by as early a term
      this.markCommitted(i, entryKey(log.entry(i)), hs.term, `${id}'s durable commit index ${hs.commit}`);
    }
    if (hs.commit > this.maxCommitted) this.maxCommitted = hs.commit;
  }

  private markCommitted(index: number, key: string, term: number, why: string): void {
    const known = this.committed[index];
    if (known !== undefined && known !== key) this.fail('state machine safety', `entry ${index} is ${known}, committed earlier, but ${why} covers ${key} there`);
    this.committed[index] = key;
    const had = this.commitTerm[index];
    if (had === undefined || term < had) {
      this.commitTerm[index] = term;
      for (const rec of this.leaders) if (rec.term > term) this.checkLeaderHas(rec, index, 'leader completeness');
    }
  }

  /** `id` applies entry e; `applied` is its applied index before. */
  onApply(id: NodeId, applied: number, e: Entry, term: number): void {
    if (e.index !== applied + 1) {
      this.fail('state machine safety', `${id} applied entry ${e.index} after ${applied}: entries apply in order, each exactly once`);
    }
    const key = entryKey(e);
    this.markCommitted(e.index, key, term, `${id}'s apply`);
    if (e.type === 'normal' && e.data !== '') {
      const at = this.valueIndex.get(e.data);
      if (at !== undefined && at !== e.index) this.fail('state machine safety', `value ${e.data} applied at ${at} and again at ${e.index}: a proposal became two entries`);
      this.valueIndex.set(e.data, e.index);
      this.committedValue[e.index] = e.data;
    }
    if (e.index > this.maxCommitted) this.maxCommitted = e.index;
  }

  /** `id` replaces its state machine with a snapshot; `applied` is its applied index before. */
  onSnapshot(id: NodeId, applied: number, snap: Snapshot): void {
    const { index, term } = snap.meta;
    if (index <= applied) this.fail('state machine safety', `${id} was handed a snapshot at ${index}, not past its applied index ${applied}: it would apply entries twice`);
    const known = this.committed[index];
    if (known === undefined) this.fail('state machine safety', `${id} got a snapshot at ${index}, an index no replica has applied`);
    if (Number(known.split('|')[0]) !== term) this.fail('state machine safety', `${id} got a snapshot at ${index} of term ${term}, but the entry committed there is ${known}`);
    const values = JSON.parse(snap.data) as string[];
    const want = this.valuesUpTo(index);
    if (values.length !== want.length || values.some((v, i) => v !== want[i])) {
      this.fail('state machine safety', `${id} got a snapshot at ${index} with ${values.length} values that differ from the ${want.length} committed up to there`);
    }
  }

  valuesUpTo(index: number): string[] {
    const out: string[] = [];
    for (let i = 1; i <= index; i++) {
      const v = this.committedValue[i];
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  /** A client was told its write succeeded: the proposer applied it at `index` while in `term`. */
  onAck(value: string, index: number, term: number): void {
    this.acks.push({ value, index, term });
    for (const rec of this.leaders) if (rec.term > term) this.checkLeaderHas(rec, index, 'acknowledged write', value);
  }

  ackedValues(): readonly Ack[] {
    return this.acks;
  }

  /** A ReadIndex answered: every entry committed before the read began must be at or below it. */
  onReadState(id: NodeId, context: string, index: number, committedAtRequest: number): void {
    if (index < committedAtRequest) {
      this.fail('linearizable read', `${id}'s read ${context} was given index ${index}, but entry ${committedAtRequest} was committed before the read began`);
    }
  }

  leaderCount(): number {
    return this.leaders.length;
  }
}
