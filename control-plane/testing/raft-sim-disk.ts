// A replica's disk in the simulation. Everything a replica writes lands first
// in its page cache (the live MemoryStorage the core reads, and the state
// machine) and becomes durable only at an fsync; a crash keeps the durable
// image alone. The host writes a Ready's log parts only once their fsync is
// done, so the core never reads back what a crash could take away, while its
// own writes (applied values, snapshots, compaction) ride along with the next
// fsync — which is how a crash loses applied entries that must then be
// applied again, exactly once, after the restart.
import { MemoryStorage } from '../raft/raft-memory-storage.js';
import type { ConfState, HardState, Snapshot } from '../raft/raft-types.js';

export interface StateMachine {
  /** Normal entries' values in apply order (the snapshot's data is this list as JSON). */
  values: string[];
  applied: number;
  confState: ConfState;
}

type Op = (s: MemoryStorage) => void;

function copyConf(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

/** A new MemoryStorage with the same snapshot, log and hard state. Entries are shared: nothing mutates them. */
export function cloneStorage(s: MemoryStorage): MemoryStorage {
  const snap = s.snapshot();
  let c: MemoryStorage;
  if (snap.meta.index > 0) {
    c = new MemoryStorage();
    c.applySnapshot(snap);
  } else {
    c = MemoryStorage.bootstrap(snap.meta.confState.voters);
  }
  if (s.lastIndex() >= s.firstIndex()) c.append(s.entries(s.firstIndex(), s.lastIndex() + 1));
  c.setHardState(s.initialState().hardState);
  return c;
}

export class SimDisk {
  /** What survives a crash. */
  private durable: MemoryStorage;
  private durableSm: { values: string[]; length: number; applied: number; confState: ConfState };
  /** Written to the page cache, not yet fsynced, in order; `sm` marks the state machine's own (snapshots, compaction). */
  private pending: { op: Op; sm: boolean }[] = [];
  fsyncs = 0;

  constructor(initial: MemoryStorage) {
    this.durable = cloneStorage(initial);
    const cs = initial.initialState().confState;
    this.durableSm = { values: [], length: 0, applied: 0, confState: copyConf(cs) };
  }

  /** A write the host made to the live storage, durable at the next fsync; `sm` if the state machine's. */
  write(op: Op, sm = false): void {
    this.pending.push({ op, sm });
  }

  /** Makes every pending write durable, and the state machine as it stands now. */
  fsync(sm: StateMachine): void {
    for (const p of this.pending) p.op(this.durable);
    this.pending = [];
    // Values are only appended to or replaced wholesale, so the array and a length describe the durable list.
    this.durableSm = { values: sm.values, length: sm.values.length, applied: sm.applied, confState: copyConf(sm.confState) };
    this.fsyncs++;
  }

  /**
   * Only the state machine becomes durable (the store's own synced batch), not the log writes waiting
   * with it: a restart may then find applied past its durable commit index (a commit-only hard state,
   * which needs no fsync, lost), which the core must take.
   */
  fsyncStateMachine(sm: StateMachine): void {
    // Its snapshots go with it: a snapshot is the state machine's (the real store builds it on demand).
    for (const p of this.pending) if (p.sm) p.op(this.durable);
    this.pending = this.pending.filter((p) => !p.sm);
    this.durableSm = { values: sm.values, length: sm.values.length, applied: sm.applied, confState: copyConf(sm.confState) };
  }

  /** The crash: the page cache is gone. */
  dropPending(): void {
    this.pending = [];
  }

  /** What a restarted replica finds: its log and its state machine, as last fsynced. */
  recover(): { storage: MemoryStorage; sm: StateMachine } {
    this.pending = [];
    const d = this.durableSm;
    return {
      storage: cloneStorage(this.durable),
      sm: { values: d.values.slice(0, d.length), applied: d.applied, confState: copyConf(d.confState) },
    };
  }

  /** For a deliberately broken disk (the harness's own tests): change what recovery will read. */
  tamperHardState(f: (hs: HardState) => HardState): void {
    this.durable.setHardState(f(this.durable.initialState().hardState));
  }

  durableSnapshot(): Snapshot {
    return this.durable.snapshot();
  }
}
