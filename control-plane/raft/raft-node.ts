// The host loop around the pure core (raft-core.ts): ticks from the injected
// clock, and for every Ready: persist (log parts and the state machine's writes of
// the entries it applies, in one LevelDB batch, fsynced when Raft needs it) →
// send → make the applied state visible → advance. Proposals carry a request id so
// the proposer's promise resolves when its entry is applied here; reads wait for a
// ReadIndex. The state machine (raft-store.ts) plugs in through RaftStateMachine.
//
// While a batch is being written the core keeps taking proposals, messages and
// ticks; the next Ready then carries all of them, so concurrent writers share one
// fsync (group commit falls out of the loop).
import { randomBytes } from 'node:crypto';
import { realClock, type Clock, type Timer } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { levelReason, type Db, type DbOp } from '../store/store-level.js';
import { RaftError, RawNode } from './raft-core.js';
import type { RaftLogStore, StoredConf } from './raft-log-store.js';
import { peersPrefix, readPeersPrefix } from './raft-snapshot-stream.js';
import type { Peer, RaftTransport } from './raft-transport.js';
import { decodeConfChange, encodeConfChange, NONE, type ConfChange, type ConfState, type Entry, type Message, type NodeId, type Ready, type SnapshotMeta, type SoftState } from './raft-types.js';

/** Defaults for SD cards and Wi-Fi; see RaftNodeOptions. */
export const DEFAULT_TICK_MS = 100;
export const DEFAULT_HEARTBEAT_TICK = 2;
export const DEFAULT_ELECTION_TICK = 10;
export const DEFAULT_PROPOSE_TIMEOUT_MS = 10_000;

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
}

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

/** A write or a read sent to a member that is not the leader; `leader` is '' when none is known. */
export class NotLeaderError extends BrambleError {
  constructor(readonly self: NodeId, readonly leader: NodeId) {
    super('UNAVAILABLE', leader
      ? `${self} is not the leader: the leader is ${leader} (send writes there)`
      : `${self} is not the leader and knows no leader yet: an election is under way, retry shortly`);
    this.name = 'NotLeaderError';
  }
}

export function isNotLeader(e: unknown): e is NotLeaderError {
  return e instanceof NotLeaderError;
}

/** Request ids never contain a newline, so `id\npayload` frames an entry without escaping the payload. */
function frame(id: string, payload: string): string {
  return `${id}\n${payload}`;
}

function unframe(data: string): { id: string; payload: string } {
  const nl = data.indexOf('\n');
  return nl < 0 ? { id: '', payload: data } : { id: data.slice(0, nl), payload: data.slice(nl + 1) };
}

interface PendingProposal {
  id: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: Timer;
  /** Known once the leader appended it. */
  index?: number;
}

interface ReadWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface PendingRead {
  waiters: ReadWaiter[];
  timer: Timer;
  index?: number;
}

function settleRead(r: PendingRead, err?: Error): void {
  r.timer.cancel();
  for (const w of r.waiters) {
    if (err) w.reject(err);
    else w.resolve();
  }
}

interface PendingConf {
  data: string;
  resolve: (cs: ConfState) => void;
  reject: (e: Error) => void;
  timer: Timer;
}

/**
 * Leadership from the core's soft state, for the controller manager: it has the shape
 * of controllers/leadership.ts's Leadership (that folder sits above this one, so the
 * interface is matched, not imported).
 */
export class RaftLeadership {
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly logger: Logger) {}

  isLeader(): boolean {
    return this.leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    for (const l of [...this.listeners]) {
      try {
        l(leader);
      } catch (err) {
        this.logger.error({ err }, 'a leadership listener threw');
      }
    }
  }
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
  private readonly proposals = new Map<string, PendingProposal>();
  private readonly proposalsByIndex = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private queuedReads: ReadWaiter[] = [];
  /** When each peer was last heard from, for `cluster status`. */
  private readonly lastContact = new Map<NodeId, number>();
  /** Members' addresses as of each snapshot being sent, and as received with one, by index. */
  private readonly capturedPeers = new Map<number, Record<NodeId, string>>();
  private receivedPeers: { index: number; peers: Record<NodeId, string> } | undefined;
  private readonly confChanges = new Set<PendingConf>();
  private soft: SoftState = { leader: NONE, role: 'follower' };
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closed = false;
  private crashed = false;
  failure: BrambleError | undefined;
  /** Batches written and their ops, for benchmarks. */
  readonly stats = { batches: 0, syncedBatches: 0, ops: 0, entriesApplied: 0 };

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
    if (electionTick <= heartbeatTick) {
      throw new BrambleError('INVALID_ARGUMENT', `electionTick must be greater than heartbeatTick (${heartbeatTick}): current value is ${electionTick}`);
    }
    this.leadership = new RaftLeadership(this.logger);
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
      this.raw.propose(frame(id, payload));
    } catch (err) {
      return Promise.reject(this.translate(err));
    }
    return new Promise((resolve, reject) => {
      const p: PendingProposal = {
        id, resolve, reject,
        timer: this.clock.setTimeout(() => this.dropProposal(p, new BrambleError('UNAVAILABLE',
          `the write was not applied within ${this.proposeTimeoutMs} ms (no quorum?); it may still commit`)), this.proposeTimeoutMs),
      };
      this.proposals.set(id, p);
      this.kick();
    });
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
      this.queuedReads.push({ resolve, reject });
      if (this.queuedReads.length === 1) queueMicrotask(() => this.sendReads());
    });
  }

  private sendReads(): void {
    const waiters = this.queuedReads.splice(0);
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
    const r: PendingRead = {
      waiters,
      timer: this.clock.setTimeout(() => {
        this.reads.delete(context);
        settleRead(r, new BrambleError('UNAVAILABLE', `the leader did not confirm a read within ${this.proposeTimeoutMs} ms (no quorum?)`));
      }, this.proposeTimeoutMs),
    };
    this.reads.set(context, r);
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
    return new Promise((resolve, reject) => {
      const p: PendingConf = {
        data: encodeConfChange(cc), resolve, reject,
        timer: this.clock.setTimeout(() => {
          this.confChanges.delete(p);
          reject(new BrambleError('UNAVAILABLE', `the membership change was not applied within ${this.proposeTimeoutMs} ms; it may still commit`));
        }, this.proposeTimeoutMs),
      };
      this.confChanges.add(p);
      this.kick();
    });
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
    this.rejectAll(new BrambleError('UNAVAILABLE', `${this.id} is shutting down: the write may or may not commit`));
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
    while (!this.closed && !this.failure && this.raw.hasReady()) {
      const rd = this.raw.ready();
      try {
        await this.handle(rd);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (this.crashed) return;
      this.raw.advance(rd);
      this.settleReads();
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
      const received = this.receivedPeers?.index === rd.snapshot.meta.index ? this.receivedPeers.peers : undefined;
      snapshotConf = confFromSnapshot(rd.snapshot.meta.confState, received, rd.snapshot.data);
      ops.push(...restore.ops);
    }
    const { ops: logOps, wroteHardState } = this.log.readyOps(rd);
    ops.push(...logOps);
    if (rd.snapshot) ops.push(...this.log.appliedOps(rd.snapshot.meta.index, snapshotConf));
    this.trackAppended(rd.entries);

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
      } else if (e.data !== '') {
        const { id, payload } = unframe(e.data);
        normal.push({ index: e.index, data: payload });
        ids.push(id);
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
        await this.db.batch(ops, { sync });
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

    if (rd.messages.length > 0) this.transport.send(rd.messages);

    if (prepared) this.settleProposals(rd.committedEntries, normal, ids, prepared.results);
    else this.settleProposals(rd.committedEntries, [], [], []);
    for (const { data, cs } of confApplied) {
      for (const p of this.confChanges) {
        if (p.data !== data) continue;
        this.confChanges.delete(p);
        p.timer.cancel();
        p.resolve(cs);
        break;
      }
    }
    for (const rs of rd.readStates) {
      const r = this.reads.get(rs.context);
      if (r) r.index = rs.index;
    }
  }

  private softStateChanged(s: SoftState): void {
    const wasLeader = this.soft.role === 'leader';
    const leaderChanged = s.leader !== this.soft.leader;
    this.soft = s;
    if (s.role !== 'leader' && wasLeader) {
      this.rejectProposals(new BrambleError('UNAVAILABLE', `${this.id} lost leadership before the write was applied; it may still commit`));
    }
    if (leaderChanged) {
      // The core drops reads it has not answered when the leader changes.
      for (const [ctx, r] of this.reads) {
        if (r.index !== undefined) continue;
        this.reads.delete(ctx);
        settleRead(r, new BrambleError('UNAVAILABLE', `the leader changed before the read was confirmed (now ${s.leader || 'none'}): retry`));
      }
    }
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

  /** Learns where our proposals went; those whose index a newer leader's entry took are lost. */
  private trackAppended(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    for (const e of entries) {
      if (e.type !== 'normal' || e.data === '') continue;
      const p = this.proposals.get(unframe(e.data).id);
      if (p && p.index === undefined) {
        p.index = e.index;
        this.proposalsByIndex.set(e.index, p);
      }
    }
    for (const [index, p] of this.proposalsByIndex) {
      if (index < first) continue;
      const e = entries[index - first];
      if (e && e.type === 'normal' && unframe(e.data).id === p.id) continue;
      this.dropProposal(p, new BrambleError('UNAVAILABLE', `the write was not committed: a new leader's log replaced entry ${index}; retry`));
    }
  }

  private settleProposals(committed: readonly Entry[], normal: readonly ApplyEntry[], ids: readonly string[], results: readonly ApplyResult[]): void {
    const byIndex = new Map<number, number>();
    normal.forEach((n, i) => byIndex.set(n.index, i));
    for (const e of committed) {
      const at = this.proposalsByIndex.get(e.index);
      const i = byIndex.get(e.index);
      const id = i !== undefined ? ids[i]! : '';
      const p = (id && this.proposals.get(id)) || undefined;
      if (at && at !== p) {
        this.dropProposal(at, new BrambleError('UNAVAILABLE', `the write was not committed: another entry was committed at ${e.index}; retry`));
      }
      if (!p || i === undefined) continue;
      this.forget(p);
      const r = results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    }
  }

  private settleReads(): void {
    const applied = this.log.applied;
    for (const [ctx, r] of this.reads) {
      if (r.index === undefined || r.index > applied) continue;
      this.reads.delete(ctx);
      settleRead(r);
    }
  }

  private async maybeCompact(): Promise<void> {
    const point = this.log.compactionPoint(this.log.applied);
    if (point === undefined) return;
    // Not fsynced: a lost compaction only means it is done again later.
    try {
      await this.db.batch(this.log.compactionOps(point), { sync: false });
    } catch (err) {
      this.fail(new BrambleError('STORE_FAILED', `the store could not write to ${this.dir}: ${levelReason(err).message}; it accepts no more writes`));
      return;
    }
    this.stats.batches++;
    this.log.persisted({ entries: [], wroteHardState: false, compactTo: point });
    this.logger.info({ compactedTo: point }, 'raft: log compacted');
  }

  private forget(p: PendingProposal): void {
    p.timer.cancel();
    this.proposals.delete(p.id);
    if (p.index !== undefined && this.proposalsByIndex.get(p.index) === p) this.proposalsByIndex.delete(p.index);
  }

  private dropProposal(p: PendingProposal, err: Error): void {
    if (!this.proposals.has(p.id)) return;
    this.forget(p);
    p.reject(err);
  }

  private rejectProposals(err: Error): void {
    for (const p of [...this.proposals.values()]) this.dropProposal(p, err);
  }

  private rejectAll(err: Error): void {
    this.rejectProposals(err);
    for (const r of this.reads.values()) settleRead(r, err);
    this.reads.clear();
    for (const w of this.queuedReads.splice(0)) w.reject(err);
    for (const c of this.confChanges) {
      c.timer.cancel();
      c.reject(err);
    }
    this.confChanges.clear();
  }

  private fail(err: unknown): void {
    const failed = isBrambleError(err, 'STORE_FAILED') ? err
      : new BrambleError('STORE_FAILED', `raft on ${this.id} stopped: ${err instanceof Error ? err.message : String(err)}`);
    if (this.failure) return;
    this.failure = failed;
    this.ticker.cancel();
    this.rejectAll(failed);
    this.leadership.set(false);
    void this.transport.close().catch(() => undefined);
    if (this.onFatal) this.onFatal(failed);
    else this.logger.error({ err }, failed.message);
  }
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

/** Addresses from the snapshot stream, else from the MsgSnap's data (transports that carry it), else none. */
function confFromSnapshot(cs: ConfState, received: Record<string, string> | undefined, data: string): StoredConf {
  let peers: Record<string, string> = {};
  if (received) return { voters: [...cs.voters], learners: [...cs.learners], peers: { ...received } };
  try {
    const v = JSON.parse(data || '{}') as { peers?: unknown };
    if (v.peers && typeof v.peers === 'object' && !Array.isArray(v.peers)
      && Object.values(v.peers).every((a) => typeof a === 'string')) peers = v.peers as Record<string, string>;
  } catch {
    // A snapshot without addresses: the members are known by name until a conf change names them.
  }
  return { voters: [...cs.voters], learners: [...cs.learners], peers };
}

function positive(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new BrambleError('INVALID_ARGUMENT', `${name} must be a positive integer: current value is ${n}`);
  return n;
}
