// The host loop around the pure core (raft-core.ts): ticks from the injected
// clock, and for every Ready: persist (log parts and the state machine's writes of
// the entries it applies, in one LevelDB batch, fsynced when Raft needs it) →
// send → make the applied state visible → advance. Proposals carry a request id so
// the proposer's promise resolves when its entry is applied here; reads wait for a
// ReadIndex. The state machine (raft-store.ts) plugs in through RaftStateMachine.
//
// While a batch is being written the core keeps taking proposals, messages and
// ticks; the next Ready then carries all of them, so concurrent writers share one
// fsync (group commit falls out of the loop). Before each Ready the loop lets the
// event loop finish its turn (setImmediate: after the I/O callbacks of this poll),
// so every request and ack already read from the sockets joins that Ready instead
// of the next one: under load fewer, larger batches, sends and fsyncs, which is
// what the CPU of a small board pays for per write; idle, it costs one turn.
import { randomBytes } from 'node:crypto';
import { realClock, type Clock, type Timer } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { writeBatch } from '../store/level-batch.js';
import { levelReason, type Db, type DbOp } from '../store/store-level.js';
import { RaftError, RawNode } from './raft-core.js';
import { NotLeaderError, RaftLeadership } from './raft-leadership.js';
import type { RaftLogStore, StoredConf } from './raft-log-store.js';
import { RaftPending } from './raft-pending.js';
import { peersPrefix, readPeersPrefix } from './raft-snapshot-stream.js';
import { applyEntryOf, frameEntry, type ApplyEntry, type ApplyResult, type PreparedApply, type RaftStateMachine } from './raft-state-machine.js';
import type { Peer, RaftTransport } from './raft-transport.js';
import { decodeConfChange, encodeConfChange, NONE, type ConfChange, type ConfState, type Message, type NodeId, type Ready, type SnapshotMeta, type SoftState } from './raft-types.js';

export { isNotLeader, NotLeaderError, RaftLeadership } from './raft-leadership.js';
export type { ApplyEntry, ApplyResult, PreparedApply, RaftStateMachine } from './raft-state-machine.js';

/** What a leader sends that promises nothing about its own disk. */
const LEADER_MESSAGES: ReadonlySet<Message['type']> = new Set(['MsgApp', 'MsgHeartbeat', 'MsgSnap', 'MsgTimeoutNow', 'MsgReadIndexResp']);

/** Defaults for SD cards and Wi-Fi; see RaftNodeOptions. */
export const DEFAULT_TICK_MS = 100;
export const DEFAULT_HEARTBEAT_TICK = 2;
export const DEFAULT_ELECTION_TICK = 10;
export const DEFAULT_PROPOSE_TIMEOUT_MS = 10_000;

export interface RaftNodeOptions {
  id: NodeId;
  db: Db;
  /** For messages: the store's directory. */
  dir: string;
  log: RaftLogStore;
  stateMachine: RaftStateMachine;
  transport: RaftTransport;
  clock?: Clock;
  logger?: Logger;
  /** The core's randomized election timeout; tests pass a seeded one. */
  random?: () => number;
  /**
   * One tick (default 100 ms). A leader heartbeats every heartbeatTick (default 2: 200 ms,
   * a few Wi-Fi round trips) and a follower campaigns after electionTick to twice that
   * (default 10: 1–2 s, randomized). The election timeout is what a slow fsync or a Wi-Fi
   * stall must stay under: a leader's heartbeats wait behind its fsync, and an SD card's
   * worst fsyncs are a few hundred ms. It also bounds failover (≤ 2 s plus one election).
   */
  tickMs?: number;
  heartbeatTick?: number;
  electionTick?: number;
  /** A proposal not applied by then is rejected (its outcome unknown). Default 10 s. */
  proposeTimeoutMs?: number;
  /** fsync batches that Raft needs durable (default true). */
  sync?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  /** Called once when a batch the disk refused stops the node. */
  onFatal?: (err: BrambleError) => void;
}

export class RaftNode {
  readonly id: NodeId;
  readonly leadership: RaftLeadership;
  private readonly raw: RawNode;
  private readonly db: Db;
  private readonly dir: string;
  private readonly log: RaftLogStore;
  private readonly sm: RaftStateMachine;
  private readonly transport: RaftTransport;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sync: boolean;
  private readonly proposeTimeoutMs: number;
  private readonly onFatal: ((err: BrambleError) => void) | undefined;
  private readonly bootId = randomBytes(6).toString('base64url');
  private seq = 0;
  private readonly ticker: Timer;
  private readonly electionTimeoutMs: number;
  private readonly pending: RaftPending;
  /** When each peer was last heard from, for `cluster status`. */
  private readonly lastContact = new Map<NodeId, number>();
  /** Members' addresses as of each snapshot being sent, and as received with one, by index. */
  private readonly capturedPeers = new Map<number, Record<NodeId, string>>();
  private receivedPeers: { index: number; peers: Record<NodeId, string> } | undefined;
  private soft: SoftState = { leader: NONE, role: 'follower' };
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closed = false;
  private crashed = false;
  failure: BrambleError | undefined;
  /** Batches written and their ops, for benchmarks. */
  readonly stats = { batches: 0, syncedBatches: 0, ops: 0, entriesApplied: 0, compactions: 0 };

  constructor(opts: RaftNodeOptions) {
    this.id = opts.id;
    this.db = opts.db;
    this.dir = opts.dir;
    this.log = opts.log;
    this.sm = opts.stateMachine;
    this.transport = opts.transport;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.sync = opts.sync ?? true;
    this.onFatal = opts.onFatal;
    this.proposeTimeoutMs = positive('proposeTimeoutMs', opts.proposeTimeoutMs ?? DEFAULT_PROPOSE_TIMEOUT_MS);
    const tickMs = positive('tickMs', opts.tickMs ?? DEFAULT_TICK_MS);
    const heartbeatTick = positive('heartbeatTick', opts.heartbeatTick ?? DEFAULT_HEARTBEAT_TICK);
    const electionTick = positive('electionTick', opts.electionTick ?? DEFAULT_ELECTION_TICK);
    this.electionTimeoutMs = electionTick * tickMs;
    if (electionTick <= heartbeatTick) {
      throw new BrambleError('INVALID_ARGUMENT', `electionTick must be greater than heartbeatTick (${heartbeatTick}): current value is ${electionTick}`);
    }
    this.leadership = new RaftLeadership(this.logger, () => {
      const leader = this.raw.status().leader;
      return { leader, address: leader === this.id ? undefined : this.log.conf.peers[leader] };
    });
    this.pending = new RaftPending(this.clock, this.proposeTimeoutMs);
    this.raw = new RawNode({
      id: opts.id,
      storage: this.log.storage,
      electionTick,
      heartbeatTick,
      random: opts.random ?? Math.random,
      preVote: true,
      checkQuorum: true,
      applied: this.log.applied,
      ...(opts.maxSizePerMsg !== undefined ? { maxSizePerMsg: opts.maxSizePerMsg } : {}),
      ...(opts.maxInflightMsgs !== undefined ? { maxInflightMsgs: opts.maxInflightMsgs } : {}),
    });
    this.log.storage.onSnapshotRequested = (meta) => {
      this.sm.captureSnapshot(meta);
      this.capturedPeers.set(meta.index, { ...this.log.conf.peers });
      for (const index of this.capturedPeers.keys()) {
        if (this.capturedPeers.size <= 3) break;
        this.capturedPeers.delete(index);
      }
    };
    this.transport.setPeers(peersOf(this.log.conf, this.id));
    this.transport.start({
      onMessage: (m) => this.stepSafely(m),
      onSnapshot: (m, body) => this.receiveSnapshot(m, body),
      onUnreachable: (id) => {
        if (this.closed) return;
        this.raw.reportUnreachable(id);
        this.kick();
      },
      onSnapshotStatus: (id, ok) => {
        if (this.closed) return;
        this.raw.reportSnapshot(id, ok);
        this.kick();
      },
    }, { open: (meta) => this.openSnapshot(meta) });
    this.ticker = this.clock.setInterval(() => this.tick(), tickMs);
    this.kick();
  }

  /** The core's status plus what the host knows (for `bramble cluster status`): addresses, and when each peer was last heard from (clock ms). */
  status(): ReturnType<RawNode['status']> & { peers: Record<NodeId, string>; lastContact: Record<NodeId, number> } {
    return { ...this.raw.status(), peers: { ...this.log.conf.peers }, lastContact: Object.fromEntries(this.lastContact) };
  }

  /**
   * The membership as of the applied index, with addresses: what the API sends with its
   * answers and `cluster status` lists. The stored object itself, replaced (never changed)
   * on a conf change or a snapshot, so the callers made per answer copy nothing.
   */
  membership(): Readonly<StoredConf> {
    return this.log.conf;
  }

  /** Starts an election now (a single-member cluster, or tests). */
  campaign(): void {
    this.raw.campaign();
    this.kick();
  }

  /** Resolves with the state machine's result once the entry is applied here; rejects with its error. */
  propose(payload: string): Promise<unknown> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const id = `${this.bootId}.${++this.seq}`;
    try {
      this.raw.propose(frameEntry(id, payload));
    } catch (err) {
      return Promise.reject(this.translate(err));
    }
    const p = this.pending.proposal(id);
    this.kick();
    return p;
  }

  /**
   * Resolves once this member has applied everything committed when the read was asked
   * (ReadIndex). Reads asked in the same turn of the event loop share one ReadIndex (one
   * heartbeat round): each was asked before it was sent, so its index serves them all.
   */
  linearizableRead(): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const st = this.raw.status();
    if (st.role !== 'leader' && (st.role !== 'follower' || st.leader === NONE)) return Promise.reject(new NotLeaderError(this.id, NONE));
    return new Promise((resolve, reject) => {
      if (this.pending.queueRead({ resolve, reject })) queueMicrotask(() => this.sendReads());
    });
  }

  /**
   * Resolves once this member has applied everything committed when it was called: on
   * the leader, every write any member has acknowledged (a follower learns a commit
   * only from the leader, and a write is acknowledged once applied). Unlike
   * linearizableRead it does not ask the others whether this member still leads, so
   * what is read after it may be stale on a leader deposed without knowing it: fit only
   * for planning a write whose every read is a precondition the log decides (such a
   * write cannot commit on a deposed leader). Elsewhere than on a leader that has
   * reported itself it is linearizableRead.
   */
  appliedBarrier(): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (this.soft.role !== 'leader' || !this.leadership.isLeader()) return this.linearizableRead();
    const commit = this.raw.status().commit;
    if (this.log.applied >= commit) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.localRead(`${this.bootId}.l${++this.seq}`, commit, { resolve, reject });
    });
  }

  private sendReads(): void {
    const waiters = this.pending.takeQueuedReads();
    if (waiters.length === 0) return;
    const refused = this.refusal();
    const context = `${this.bootId}.r${++this.seq}`;
    try {
      if (refused) throw refused;
      this.raw.readIndex(context);
    } catch (err) {
      const e = this.translate(err);
      for (const w of waiters) w.reject(e);
      return;
    }
    this.pending.readSent(context, waiters);
    this.kick();
  }

  /** One membership change; resolves with the new configuration once applied here. */
  proposeConfChange(cc: ConfChange): Promise<ConfState> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    try {
      this.raw.proposeConfChange(cc);
    } catch (err) {
      return Promise.reject(this.translate(err));
    }
    const p = this.pending.confChange(encodeConfChange(cc));
    this.kick();
    return p;
  }

  transferLeadership(to: NodeId): void {
    try {
      this.raw.transferLeadership(to);
    } catch (err) {
      throw this.translate(err);
    }
    this.kick();
  }

  /**
   * Hands leadership to the follower with the most of the log (a graceful shutdown, so a
   * planned restart costs no election timeout). Returns its name, or '' when there is none.
   */
  transferToBestFollower(): NodeId {
    const st = this.raw.status();
    if (st.role !== 'leader' || !st.progress) return NONE;
    let best: NodeId = NONE;
    let match = -1;
    for (const [id, pr] of st.progress) {
      if (id === this.id || pr.isLearner || pr.match <= match) continue;
      best = id;
      match = pr.match;
    }
    if (best !== NONE) this.transferLeadership(best);
    return best;
  }

  /**
   * For a graceful shutdown (SIGTERM): hands leadership to the most caught-up follower
   * and resolves true once this member is no longer the leader, or false when it was
   * not the leader or no one took over within two election timeouts (then the others
   * elect one the usual way once this member stops).
   */
  stepDown(): Promise<boolean> {
    if (this.soft.role !== 'leader') return Promise.resolve(false);
    let to: NodeId;
    try {
      to = this.transferToBestFollower();
    } catch {
      return Promise.resolve(false);
    }
    if (to === NONE) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        timer.cancel();
        off();
        resolve(ok);
      };
      const timer = this.clock.setTimeout(() => done(false), 2 * this.electionTimeoutMs);
      const off = this.leadership.onChange((leader) => {
        if (!leader) done(true);
      });
      if (!this.leadership.isLeader()) done(true);
    });
  }

  /** Whether the loop has nothing in hand: for tests that move a fake clock only once the disk is quiet. */
  idle(): boolean {
    return !this.looping && (this.closed || this.failure !== undefined || !this.raw.hasReady());
  }

  /** Stops: waits for the batch being written, then closes the transport. The caller closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ticker.cancel();
    await this.loopDone;
    await this.transport.close();
    this.pending.rejectAll(new BrambleError('UNAVAILABLE', `${this.id} is shutting down: the write may or may not commit`));
    this.leadership.set(false);
  }

  /**
   * Stops as a crash would: nothing more is sent or applied in memory, even of a batch
   * already written (its effects are on disk and read back on restart).
   */
  async crash(): Promise<void> {
    this.crashed = true;
    await this.close();
  }

  private refusal(): BrambleError | undefined {
    if (this.failure) return this.failure;
    if (this.closed) return new BrambleError('UNAVAILABLE', `${this.id} is shutting down: no more writes are accepted`);
    return undefined;
  }

  private translate(err: unknown): Error {
    if (err instanceof RaftError) {
      switch (err.reason) {
        case 'not-leader': return new NotLeaderError(this.id, err.leader);
        case 'invalid': return new BrambleError('INVALID_ARGUMENT', err.message);
        default: return new BrambleError('UNAVAILABLE', err.message);
      }
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  private tick(): void {
    if (this.closed) return;
    this.raw.tick();
    // Check-quorum deposes a leader inside tick: tell the controllers now, not after a Ready
    // that may be waiting behind a slow fsync.
    if (this.leadership.isLeader() && this.raw.status().role !== 'leader') this.leadership.set(false);
    this.kick();
  }

  private stepSafely(m: Message): void {
    if (this.closed) return;
    const c = this.log.conf;
    if (c.peers[m.from] !== undefined || c.voters.includes(m.from) || c.learners.includes(m.from)) this.lastContact.set(m.from, this.clock.now());
    try {
      this.raw.step(m);
    } catch (err) {
      this.logger.warn({ err, type: m.type, from: m.from }, 'raft: a message from a peer was refused');
      return;
    }
    this.kick();
  }

  private async receiveSnapshot(m: Message, body: AsyncIterable<Uint8Array>): Promise<void> {
    if (this.closed) throw new BrambleError('UNAVAILABLE', `${this.id} is shutting down`);
    if (!m.snapshot) throw new BrambleError('INVALID_ARGUMENT', 'a MsgSnap must carry a snapshot');
    const { peers, rest } = await readPeersPrefix(body, `from ${m.from} at index ${m.snapshot.meta.index}`);
    await this.sm.receiveSnapshot(m.snapshot.meta, rest);
    this.receivedPeers = { index: m.snapshot.meta.index, peers };
    if (this.closed) throw new BrambleError('UNAVAILABLE', `${this.id} is shutting down`);
    this.raw.step(m);
    this.kick();
  }

  /** The stream of a snapshot being sent: the members' addresses, then the state machine's bytes. */
  private openSnapshot(meta: SnapshotMeta): AsyncIterable<Uint8Array> {
    const peers = this.capturedPeers.get(meta.index) ?? (meta.index === this.log.applied ? this.log.conf.peers : undefined);
    if (!peers) throw new BrambleError('UNAVAILABLE', `no membership captured at index ${meta.index} to send`);
    this.capturedPeers.delete(meta.index);
    const body = this.sm.openSnapshot(meta);
    return (async function* stream(): AsyncGenerator<Uint8Array> {
      yield peersPrefix(peers);
      yield* body;
    })();
  }

  private kick(): void {
    if (this.looping || this.closed || this.failure || !this.raw.hasReady()) return;
    this.looping = true;
    this.loopDone = this.loop().finally(() => {
      this.looping = false;
      if (!this.closed) this.kick();
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      await nextTurn();
      if (this.closed || this.failure || !this.raw.hasReady()) return;
      const rd = this.raw.ready();
      try {
        await this.handle(rd);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (this.crashed) return;
      this.raw.advance(rd);
      this.pending.settleReads(this.log.applied);
      this.maybeReportLeader();
      await this.maybeCompact();
    }
  }

  private async handle(rd: Ready): Promise<void> {
    if (rd.softState) this.softStateChanged(rd.softState);
    const ops: DbOp[] = [];
    let restore: PreparedApply | undefined;
    let snapshotConf: StoredConf | undefined;
    if (rd.snapshot) {
      restore = await this.sm.prepareRestore(rd.snapshot.meta);
      // The addresses came with the stream (raft-snapshot-stream.ts); the MsgSnap names the members only.
      const cs = rd.snapshot.meta.confState;
      const peers = this.receivedPeers?.index === rd.snapshot.meta.index ? this.receivedPeers.peers : {};
      snapshotConf = { voters: [...cs.voters], learners: [...cs.learners], peers: { ...peers } };
      ops.push(...restore.ops);
    }
    const { ops: logOps, wroteHardState } = this.log.readyOps(rd);
    ops.push(...logOps);
    // A leader may send its appends while it writes them (Raft thesis §10.2.1): the core
    // counts the leader's own log toward commit only once advance() says it is durable.
    // Only when nothing in this Ready promises anything about what is on disk: no term or
    // vote change, no snapshot, and only leader-to-follower messages.
    const early = this.soft.role === 'leader' && !wroteHardState && !rd.snapshot && rd.messages.every((m) => LEADER_MESSAGES.has(m.type));
    if (early && rd.messages.length > 0) this.transport.send(rd.messages);
    if (rd.snapshot) ops.push(...this.log.appliedOps(rd.snapshot.meta.index, snapshotConf));
    this.pending.trackAppended(rd.entries);

    const normal: ApplyEntry[] = [];
    const ids: string[] = [];
    let conf: StoredConf | undefined;
    const confApplied: Array<{ data: string; cs: ConfState }> = [];
    for (const e of rd.committedEntries) {
      if (e.type === 'conf') {
        const cc = decodeConfChange(e.data);
        const cs = this.raw.applyConfChange(cc);
        conf = nextConf(conf ?? snapshotConf ?? this.log.conf, cc, cs);
        confApplied.push({ data: e.data, cs });
      } else {
        const a = applyEntryOf(e);
        if (!a) continue;
        normal.push({ index: a.index, data: a.data });
        ids.push(a.id);
      }
    }
    let prepared: PreparedApply | undefined;
    if (normal.length > 0) {
      prepared = this.sm.prepare(normal);
      ops.push(...prepared.ops);
    }
    const applied = rd.committedEntries.at(-1)?.index;
    if (applied !== undefined) ops.push(...this.log.appliedOps(applied, conf));

    if (ops.length > 0) {
      const sync = this.sync && (rd.mustSync || rd.snapshot !== undefined);
      try {
        await writeBatch(this.db, ops, sync);
      } catch (err) {
        restore?.abort();
        prepared?.abort();
        throw new BrambleError('STORE_FAILED', `the store could not write to ${this.dir}: ${levelReason(err).message}; it accepts no more writes`);
      }
      this.stats.batches++;
      if (sync) this.stats.syncedBatches++;
      this.stats.ops += ops.length;
    }
    if (this.crashed) return;
    this.log.persisted({
      ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
      ...(snapshotConf ? { snapshotConf } : {}),
      entries: rd.entries,
      ...(rd.hardState ? { hardState: rd.hardState } : {}),
      wroteHardState,
      ...(applied !== undefined ? { applied } : {}),
      ...(conf ? { conf } : {}),
    });
    restore?.commit();
    prepared?.commit();
    this.stats.entriesApplied += normal.length;
    if (conf || snapshotConf) this.transport.setPeers(peersOf(this.log.conf, this.id));

    if (!early && rd.messages.length > 0) this.transport.send(rd.messages);

    const results = new Map<number, { id: string; result: ApplyResult }>();
    normal.forEach((n, i) => results.set(n.index, { id: ids[i]!, result: prepared!.results[i]! }));
    this.pending.applied(rd.committedEntries, results);
    for (const { data, cs } of confApplied) this.pending.confApplied(data, cs);
    this.pending.readStates(rd.readStates);
  }

  private softStateChanged(s: SoftState): void {
    const wasLeader = this.soft.role === 'leader';
    const leaderChanged = s.leader !== this.soft.leader;
    this.soft = s;
    if (s.role !== 'leader' && wasLeader) {
      this.pending.rejectProposals(new BrambleError('UNAVAILABLE', `${this.id} lost leadership before the write was applied; it may still commit`));
    }
    if (leaderChanged) this.pending.leaderChanged(s.leader);
    this.logger.info({ role: s.role, leader: s.leader }, 'raft: role changed');
    if (s.role !== 'leader') this.leadership.set(false);
  }

  /**
   * A new leader reports itself only once it has applied an entry of its own term (the
   * no-op it appends on election): from then on its state holds every write committed
   * before it, so controllers that start on the signal never act on a stale view.
   */
  private maybeReportLeader(): void {
    if (this.soft.role !== 'leader' || this.leadership.isLeader() || this.closed) return;
    const applied = this.log.applied;
    if (applied > 0 && this.log.storage.term(applied) === this.raw.status().term) this.leadership.set(true);
  }

  private async maybeCompact(): Promise<void> {
    const point = this.log.compactionPoint(this.log.applied);
    if (point === undefined) return;
    // The state machine's rows stand on their own at the applied index first, in the same batch,
    // as the entries that go are the only record of what it applied after its last checkpoint.
    const checkpoint = this.sm.checkpoint(this.log.applied);
    // Not fsynced: a lost compaction (checkpoint and all, the batch is atomic) is done again later.
    try {
      await writeBatch(this.db, [...checkpoint.ops, ...this.log.compactionOps(point)], false);
    } catch (err) {
      checkpoint.abort();
      this.fail(new BrambleError('STORE_FAILED', `the store could not write to ${this.dir}: ${levelReason(err).message}; it accepts no more writes`));
      return;
    }
    checkpoint.commit();
    this.stats.batches++;
    this.stats.compactions++;
    this.log.persisted({ entries: [], wroteHardState: false, compactTo: point });
    this.logger.info({ compactedTo: point }, 'raft: log compacted');
  }

  private fail(err: unknown): void {
    const failed = isBrambleError(err, 'STORE_FAILED') ? err
      : new BrambleError('STORE_FAILED', `raft on ${this.id} stopped: ${err instanceof Error ? err.message : String(err)}`);
    if (this.failure) return;
    this.failure = failed;
    this.ticker.cancel();
    this.pending.rejectAll(failed);
    this.leadership.set(false);
    void this.transport.close().catch(() => undefined);
    if (this.onFatal) this.onFatal(failed);
    else this.logger.error({ err }, failed.message);
  }
}

/** Resolves after the I/O callbacks already due in this turn of the event loop have run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function peersOf(conf: StoredConf, self: NodeId): Peer[] {
  return Object.entries(conf.peers).filter(([id]) => id !== self).map(([id, address]) => ({ id, address }));
}

/** Membership after a conf change: the core's voters and learners, the transport's addresses. */
export function nextConf(prev: StoredConf, cc: ConfChange, cs: ConfState): StoredConf {
  const peers = { ...prev.peers };
  if (cc.type === 'remove') delete peers[cc.node];
  else if (cc.context) peers[cc.node] = cc.context;
  return { voters: [...cs.voters], learners: [...cs.learners], peers };
}

function positive(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new BrambleError('INVALID_ARGUMENT', `${name} must be a positive integer: current value is ${n}`);
  return n;
}
