// One replica in the simulation: the host loop around a RawNode, as the real
// server runs it. Input (ticks, messages, client calls) goes in one at a
// time; each Ready is persisted, and only when its fsync is done are its
// messages sent and its committed entries applied. While an fsync is under
// way the host is busy and input waits in its inbox; a crash in that window
// loses the Ready with its messages. A restart rebuilds the RawNode from the
// durable image only, with `applied` at the durable state machine's index.
import { MemoryStorage } from '../raft/raft-memory-storage.js';
import { decodeConfChange } from '../raft/raft-types.js';
import type { ConfChange, ConfState, Entry, Message, NodeId, Ready, ReadState, Role } from '../raft/raft-types.js';
import type { RaftConfig, RaftStatus } from '../raft/raft-core.js';
import { entryKey, type LogView, type RaftChecker } from './raft-sim-checker.js';
import { SimDisk, type StateMachine } from './raft-sim-disk.js';
import type { SimRandom } from './raft-sim-random.js';

/** What the simulation reads of RawNode's status (its part that a broken core may fake too). */
export type SimNodeStatus = Pick<RaftStatus, 'id' | 'term' | 'vote' | 'role' | 'leader' | 'commit' | 'applied' | 'lastIndex' | 'confState'>;

/** RawNode's API as the simulation drives it; a test may wrap it to break it on purpose. */
export interface SimCore {
  tick(): void;
  step(m: Message): void;
  campaign(): void;
  propose(data: string): void;
  proposeConfChange(cc: ConfChange): void;
  applyConfChange(cc: ConfChange): ConfState;
  readIndex(context: string): void;
  transferLeadership(to: NodeId): void;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, ok: boolean): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(rd: Ready): void;
  status(): SimNodeStatus;
}

/** RawNode's config with every option set: the simulation decides each one. */
export type SimNodeConfig = Required<RaftConfig>;

export type CoreFactory = (cfg: SimNodeConfig) => SimCore;

/** What a host needs from the simulation around it. */
export interface HostEnv {
  readonly checker: RaftChecker;
  readonly tracing: boolean;
  trace(line: string): void;
  /** Runs `fn` after `units` of simulated time. */
  schedule(units: number, fn: () => void): void;
  send(from: SimHost, msgs: Message[]): void;
  onReadState(host: SimHost, rs: ReadState): void;
  onConfApplied(host: SimHost, cc: ConfChange): void;
  /** Host-side snapshots: take one once this many applied entries are in the log. */
  readonly snapshotEvery: number;
  /** Entries kept in the log behind a snapshot, for slow followers. */
  readonly keepEntries: number;
  /** A deliberately broken disk: a Ready's writes are not durable when its messages go out. */
  readonly lieAboutFsync: boolean;
}

class StorageLogView implements LogView {
  constructor(private readonly s: MemoryStorage) {}
  get snapIndex(): number {
    return this.s.firstIndex() - 1;
  }
  get snapTerm(): number {
    return this.s.term(this.s.firstIndex() - 1);
  }
  get lastIndex(): number {
    return this.s.lastIndex();
  }
  entry(i: number): Entry {
    return this.s.entries(i, i + 1)[0]!;
  }
}

export function isRaftError(e: unknown): e is Error & { reason: string; leader: NodeId } {
  return e instanceof Error && e.name === 'RaftError';
}

export class SimHost {
  node: SimCore | undefined;
  storage: MemoryStorage;
  private log: StorageLogView;
  readonly disk: SimDisk;
  sm: StateMachine;
  /** The Ready being fsynced, if any. */
  private busy: Ready | undefined;
  /** Stopped (SIGSTOP): no tick, no input, no fsync completion until resumed; `stalled` holds what waits. */
  private paused = false;
  private stalled: (() => void) | undefined;
  private inbox: (() => void)[] = [];
  /** Changes at each crash, so events scheduled before one are ignored after it. */
  incarnation = 0;
  /** Out of the cluster for good. */
  removed = false;
  /** Values proposed through this host, acknowledged to the client once applied here. */
  readonly proposed = new Set<string>();
  /** fsync time in units, [lo, hi]. */
  fsyncUnits: [number, number] = [1, 6];
  snapshotsInstalled = 0;
  private role: Role = 'follower';
  term = 0;

  constructor(
    readonly id: NodeId,
    initial: MemoryStorage,
    private readonly env: HostEnv,
    private readonly rng: SimRandom,
  ) {
    this.disk = new SimDisk(initial);
    this.storage = initial;
    this.log = new StorageLogView(initial);
    this.sm = { values: [], applied: 0, confState: initial.initialState().confState };
  }

  get up(): boolean {
    return this.node !== undefined;
  }

  get isBusy(): boolean {
    return this.busy !== undefined;
  }

  /** Starts (or restarts) the replica from its durable image. */
  start(factory: CoreFactory, base: Omit<SimNodeConfig, 'id' | 'storage' | 'applied' | 'random'>): void {
    const { storage, sm } = this.disk.recover();
    this.storage = storage;
    this.log = new StorageLogView(storage);
    this.sm = sm;
    this.incarnation++;
    const random = this.rng.fork(`${this.id}#${this.incarnation}`).asFunction();
    this.node = factory({ ...base, id: this.id, storage, random, applied: sm.applied });
    this.role = 'follower';
    this.term = storage.initialState().hardState.term;
    if (this.env.tracing) this.env.trace(`${this.id} starts (incarnation ${this.incarnation}): applied ${sm.applied}, log (${storage.firstIndex() - 1}, ${storage.lastIndex()}], term ${this.term}`);
    this.pump();
  }

  /** Power cut: the page cache, the Ready being fsynced and its messages are lost. */
  crash(): void {
    if (!this.up) return;
    if (this.env.tracing) this.env.trace(`${this.id} crashes${this.busy ? ' during an fsync (its Ready is lost)' : ''}`);
    this.node = undefined;
    this.busy = undefined;
    this.paused = false;
    this.stalled = undefined;
    this.inbox = [];
    this.proposed.clear();
    this.disk.dropPending();
    this.incarnation++;
  }

  /** Input for the core: run now, or after the fsync under way. */
  deliver(fn: (node: SimCore) => void): void {
    const node = this.node;
    if (node === undefined) return;
    if (this.busy !== undefined || this.paused) {
      this.inbox.push(() => fn(this.node!));
      return;
    }
    fn(node);
    this.pump();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** A stopped process: its state stands still while the others move on; what arrives waits. */
  pause(): void {
    if (!this.up) return;
    this.paused = true;
    if (this.env.tracing) this.env.trace(`${this.id} is paused`);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.env.tracing) this.env.trace(`${this.id} resumes with ${this.inbox.length} inputs waiting`);
    const stalled = this.stalled;
    this.stalled = undefined;
    if (stalled !== undefined) stalled();
    else this.pump();
  }

  status(): SimNodeStatus | undefined {
    return this.node?.status();
  }

  /** The role and term a Ready reports are the checker's view of this replica (status() would cost a copy of the configuration per step). */
  private observe(rd: Ready): void {
    if (rd.hardState !== undefined) this.term = rd.hardState.term;
    if (rd.softState !== undefined && rd.softState.role !== this.role) {
      this.role = rd.softState.role;
      if (this.env.tracing) this.env.trace(`${this.id} is ${this.role} in term ${this.term}`);
    }
    this.env.checker.observeRole(this.id, this.role, this.term, this.log);
  }

  /** Between Readies the core's status must say what its last Ready said. */
  checkStatus(): void {
    const st = this.node?.status();
    if (st === undefined) return;
    if (st.role !== this.role || st.term !== this.term) {
      this.env.checker.fail('core contract', `${this.id}'s status says ${st.role} in term ${st.term}, but its Readies said ${this.role} in term ${this.term}`);
    }
  }

  /** Takes Readies and inbox items until an fsync is under way or there is nothing left. */
  private pump(): void {
    for (;;) {
      const node = this.node;
      if (node === undefined || this.busy !== undefined || this.paused) return;
      if (node.hasReady()) {
        const rd = node.ready();
        this.observe(rd);
        if (rd.mustSync) {
          this.busy = rd;
          const inc = this.incarnation;
          this.env.schedule(this.rng.between(this.fsyncUnits[0], this.fsyncUnits[1]), () => {
            if (this.incarnation !== inc || this.busy !== rd) return;
            const done = (): void => {
              this.finish(rd);
              this.pump();
            };
            if (this.paused) this.stalled = done;
            else done();
          });
          return;
        }
        this.finish(rd);
        continue;
      }
      const next = this.inbox.shift();
      if (next === undefined) return;
      next();
    }
  }

  /** The Ready's writes are durable now (if it asked for an fsync): the rest of it happens. */
  private finish(rd: Ready): void {
    const node = this.node!;
    const { checker } = this.env;
    const s = this.storage;
    if (rd.snapshot !== undefined) {
      const snap = rd.snapshot;
      checker.onSnapshot(this.id, this.sm.applied, snap);
      s.applySnapshot(snap);
      this.disk.write((d) => d.applySnapshot(snap));
      this.sm = { values: JSON.parse(snap.data) as string[], applied: snap.meta.index, confState: snap.meta.confState };
      this.snapshotsInstalled++;
      if (this.env.tracing) this.env.trace(`${this.id} installs a snapshot at ${snap.meta.index} (term ${snap.meta.term})`);
    }
    if (rd.entries.length > 0) {
      const entries = rd.entries;
      try {
        s.append(entries);
      } catch (e) {
        checker.fail('core contract', `${this.id}'s Ready holds entries the log cannot take: ${(e as Error).message}`);
      }
      this.disk.write((d) => d.append(entries));
      checker.onAppend(this.id, entries, this.log);
    }
    if (rd.hardState !== undefined) {
      const hs = { ...rd.hardState };
      s.setHardState(hs);
      this.disk.write((d) => d.setHardState(hs));
      checker.onHardState(this.id, hs, this.log);
    }
    if (rd.mustSync && !this.env.lieAboutFsync) this.disk.fsync(this.sm);
    if (rd.messages.length > 0) this.env.send(this, rd.messages);
    for (const e of rd.committedEntries) this.apply(node, e);
    for (const rs of rd.readStates) this.env.onReadState(this, rs);
    this.maybeCompact();
    node.advance(rd);
    this.busy = undefined;
  }

  private apply(node: SimCore, e: Entry): void {
    const { checker } = this.env;
    if (e.index > this.storage.firstIndex() - 1) {
      const mine = e.index <= this.storage.lastIndex() ? entryKey(this.log.entry(e.index)) : undefined;
      if (mine !== entryKey(e)) checker.fail('core contract', `${this.id} was handed ${entryKey(e)} to apply at ${e.index}, but its log holds ${mine ?? 'nothing'} there`);
    }
    checker.onApply(this.id, this.sm.applied, e, this.term);
    this.sm.applied = e.index;
    if (e.type === 'conf') {
      const cc = decodeConfChange(e.data);
      this.sm.confState = node.applyConfChange(cc);
      if (this.env.tracing) this.env.trace(`${this.id} applies ${cc.type} ${cc.node} at ${e.index}: voters ${this.sm.confState.voters.join(',')} learners ${this.sm.confState.learners.join(',')}`);
      // RawNode's contract: a new member is caught up by a snapshot that names it. Other changes are left to
      // the core's own replay of conf entries at a restart, which is thus tested.
      if (cc.type === 'addLearner') this.snapshot();
      this.env.onConfApplied(this, cc);
      return;
    }
    if (e.data === '') return;
    this.sm.values.push(e.data);
    if (this.proposed.delete(e.data)) {
      checker.onAck(e.data, e.index, this.term);
      if (this.env.tracing) this.env.trace(`${this.id} acknowledges ${e.data} (entry ${e.index})`);
    }
  }

  private snapshot(): void {
    const index = this.sm.applied;
    if (index <= this.storage.snapshot().meta.index) return;
    const cs = { voters: [...this.sm.confState.voters], learners: [...this.sm.confState.learners] };
    const data = JSON.stringify(this.sm.values);
    this.storage.createSnapshot(index, cs, data);
    this.disk.write((d) => d.createSnapshot(index, cs, data), true);
  }

  private maybeCompact(): void {
    const first = this.storage.firstIndex();
    if (this.sm.applied - first + 1 < this.env.snapshotEvery) return;
    this.snapshot();
    const to = this.sm.applied - this.env.keepEntries;
    if (to >= first) {
      this.storage.compact(to);
      this.disk.write((d) => d.compact(to), true);
      if (this.env.tracing) this.env.trace(`${this.id} snapshots at ${this.sm.applied} and compacts its log to ${to}`);
    }
  }

  /** LevelDB's own flush: the page cache becomes durable without a Ready asking. */
  flush(stateMachineOnly = false): void {
    if (!this.up) return;
    if (stateMachineOnly) this.disk.fsyncStateMachine(this.sm);
    else this.disk.fsync(this.sm);
  }
}
