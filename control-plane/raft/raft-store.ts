// The replicated Store: every write is a Raft entry (the command as JSON behind
// a request id), and every replica runs each committed entry through the same
// state machine (StoreState.propose + commit) when it applies it. Preconditions
// (resourceVersion, absent, exists) are therefore decided at apply time, in log
// order, identically everywhere; a failed one is that entry's result (its proposer
// gets the BrambleError) and still advances the applied index.
//
// Revisions and Raft indexes differ: the revision counts commands that succeeded
// (it is what resourceVersion and watches speak), the index counts every entry
// (failed commands, a new leader's no-op, membership changes). Both are assigned
// at apply, from the same log, so every replica gives the same object the same
// resourceVersion and a watch resumes on any replica from its revision.
//
// Reads (get, list, watch) serve this replica's applied state; linearizableRead()
// first waits for a ReadIndex, for callers that must see every acknowledged write.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { objectKey, type KObject } from '../../proto/model.js';
import type { Command, CommitResult, ListResult, Store, StoreEvent, Watch, WatchOptions } from '../store/store.js';
import {
  eventKey, EVENT_PREFIX, META_COMPACTED, META_REVISION, OBJECT_PREFIX, openStoreDb, range, readSnapshot as readStoreFromDb,
  settleOpenedCompaction, stateMachineOps, storeOpenError, type Db, type DbOp,
} from '../store/store-level.js';
import { encodeSnapshot, readSnapshot as decodeStoreSnapshot } from '../store/store-snapshot.js';
import { StoreState, validateRetainEvents, type Applied, type StoreSnapshot } from '../store/store-state.js';
import { WatchHub, type WatchSource } from '../store/store-watch.js';
import { RaftLogStore, type RaftLogStoreOptions, type StoredConf } from './raft-log-store.js';
import { NotLeaderError, type RaftLeadership } from './raft-leadership.js';
import { RaftNode, type RaftNodeOptions } from './raft-node.js';
import type { ApplyEntry, ApplyResult, PreparedApply, RaftStateMachine } from './raft-state-machine.js';
import type { Peer, RaftTransport } from './raft-transport.js';
import type { NodeId, SnapshotMeta } from './raft-types.js';

export interface RaftStoreOptions extends RaftLogStoreOptions,
  Pick<RaftNodeOptions, 'random' | 'tickMs' | 'heartbeatTick' | 'electionTick' | 'proposeTimeoutMs' | 'sync' | 'maxSizePerMsg' | 'maxInflightMsgs' | 'onFatal'> {
  dataDir: string;
  /** This member's name (its --node-name). */
  id: NodeId;
  transport: RaftTransport;
  /**
   * The voters of a new cluster with their addresses, this member included. Used only
   * while the data dir holds no membership; a member that joins passes none and waits
   * for the leader's snapshot.
   */
  bootstrap?: Peer[];
  clock?: Clock;
  logger?: Logger;
  retainEvents?: number;
  /** Opens the LevelDB database; tests wrap the real one to inject disk failures. */
  openDb?: (dir: string) => Db;
}

/** Counts for tests and metrics: entries applied, and how (a restart must not apply one twice). */
export interface RaftStoreStats {
  entriesApplied: number;
  commandsCommitted: number;
  commandsFailed: number;
  snapshotsInstalled: number;
}

function validCommand(command: Command): BrambleError | undefined {
  if (!command || typeof command !== 'object' || !Array.isArray(command.ops) || command.ops.length === 0) {
    return new BrambleError('INVALID_ARGUMENT', 'a command must carry at least one op');
  }
  return undefined;
}

/** Captured states kept for snapshots not yet opened by the transport (they share frozen objects, so cost little). */
const MAX_CAPTURED = 3;

/** The state machine behind the Raft log: StoreState in memory, its records in LevelDB. */
class StoreStateMachine implements RaftStateMachine, WatchSource {
  readonly hub: WatchHub;
  readonly stats: RaftStoreStats = { entriesApplied: 0, commandsCommitted: 0, commandsFailed: 0, snapshotsInstalled: 0 };
  /** States captured for snapshots being sent, by index; a few, as followers may be sent different ones. */
  private readonly captured = new Map<number, StoreSnapshot>();
  private received: { index: number; snapshot: StoreSnapshot } | undefined;

  constructor(
    private readonly db: Db,
    public state: StoreState,
    /** Event keys at or below this revision are already deleted on disk. */
    private diskCompacted: number,
    private readonly id: NodeId,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.hub = new WatchHub(this, logger);
  }

  revision(): number { return this.state.revision(); }
  oldestResumableRevision(): number { return this.state.oldestResumableRevision(); }
  eventsAfter(revision: number): StoreEvent[] { return this.state.eventsAfter(revision); }

  prepare(entries: readonly ApplyEntry[]): PreparedApply {
    const results: ApplyResult[] = [];
    const applied: Applied[] = [];
    for (const e of entries) {
      try {
        const command = JSON.parse(e.data) as Command;
        const bad = validCommand(command);
        if (bad) throw bad;
        const a = this.state.propose(command);
        applied.push(a);
        results.push({ ok: true, value: a.result });
      } catch (err) {
        // Deterministic on every replica: the same entry fails the same way everywhere.
        const error = isBrambleError(err) ? err : new BrambleError('INVALID_ARGUMENT', `entry ${e.index} is not a valid command: ${err instanceof Error ? err.message : String(err)}`);
        results.push({ ok: false, error });
      }
    }
    const { ops, compacted } = stateMachineOps(this.state, applied, this.diskCompacted);
    return {
      ops,
      results,
      commit: () => {
        for (const a of applied) this.hub.publish(this.state.commit(a));
        this.diskCompacted = compacted;
        this.stats.entriesApplied += entries.length;
        this.stats.commandsCommitted += applied.length;
        this.stats.commandsFailed += entries.length - applied.length;
      },
      abort: () => this.state.abortPending(),
    };
  }

  captureSnapshot(meta: SnapshotMeta): void {
    // Taken now, between commits: consistent at the applied index the meta names.
    if (this.captured.has(meta.index)) return;
    this.captured.set(meta.index, this.state.snapshot());
    for (const index of this.captured.keys()) {
      if (this.captured.size <= MAX_CAPTURED) break;
      this.captured.delete(index);
    }
  }

  openSnapshot(meta: SnapshotMeta): AsyncIterable<Uint8Array> {
    const snapshot = this.captured.get(meta.index);
    if (!snapshot) {
      throw new BrambleError('UNAVAILABLE', `no state captured at index ${meta.index} to send (the leader sends a newer one next time)`);
    }
    // Each MsgSnap captures afresh, so a state is streamed once and then let go.
    this.captured.delete(meta.index);
    return encodeSnapshot(snapshot, { createdAt: new Date(this.clock.now()).toISOString(), server: this.id });
  }

  async receiveSnapshot(meta: SnapshotMeta, body: AsyncIterable<Uint8Array>): Promise<void> {
    const { snapshot } = await decodeStoreSnapshot(body, { source: `from the leader at index ${meta.index}` });
    // Checked whole here (restore throws STORE_FAILED), so installing it cannot fail on its contents.
    StoreState.restore(snapshot, this.state.retainEvents);
    this.received = { index: meta.index, snapshot };
  }

  async prepareRestore(meta: SnapshotMeta): Promise<PreparedApply> {
    const r = this.received;
    if (!r || r.index !== meta.index) throw new BrambleError('INTERNAL', `the core installs a snapshot at ${meta.index} whose state was not received`);
    const next = StoreState.restore(r.snapshot, this.state.retainEvents);
    const ops: DbOp[] = [];
    for (const prefix of [OBJECT_PREFIX, EVENT_PREFIX]) {
      for await (const key of this.db.keys(range(prefix))) ops.push({ type: 'del', key });
    }
    for (const o of r.snapshot.objects) ops.push({ type: 'put', key: OBJECT_PREFIX + objectKey(o.kind, o.metadata.namespace, o.metadata.name), value: o });
    const byRevision = new Map<number, StoreEvent[]>();
    for (const e of next.eventsAfter(next.oldestResumableRevision())) {
      let list = byRevision.get(e.revision);
      if (!list) byRevision.set(e.revision, (list = []));
      list.push(e);
    }
    for (const [rev, list] of byRevision) ops.push({ type: 'put', key: eventKey(rev), value: list });
    ops.push({ type: 'put', key: META_REVISION, value: next.revision() });
    ops.push({ type: 'put', key: META_COMPACTED, value: next.oldestResumableRevision() });
    return {
      ops,
      results: [],
      commit: () => {
        const before = this.state.revision();
        this.state = next;
        this.diskCompacted = next.oldestResumableRevision();
        this.received = undefined;
        this.stats.snapshotsInstalled++;
        // Watchers continue from where they were when the events are retained.
        if (before >= next.oldestResumableRevision()) this.hub.publish(next.eventsAfter(before));
      },
      abort: () => undefined,
    };
  }
}

export class RaftStore implements Store {
  readonly node: RaftNode;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly dir: string,
    private readonly sm: StoreStateMachine,
    private readonly clock: Clock,
    node: (sm: StoreStateMachine) => RaftNode,
  ) {
    this.node = node(sm);
  }

  get leadership(): RaftLeadership {
    return this.node.leadership;
  }

  get stats(): Readonly<RaftStoreStats> {
    return this.sm.stats;
  }

  /** Set once a write to disk has failed: the store accepts no more writes (as LevelStore.failure). */
  get failure(): BrambleError | undefined {
    return this.node.failure;
  }

  /** Commits on a quorum; only the leader takes writes (NotLeaderError names the leader). */
  async propose(command: Command): Promise<CommitResult> {
    const bad = validCommand(command);
    if (bad) throw bad;
    return (await this.node.propose(JSON.stringify(command))) as CommitResult;
  }

  /** Resolves once this replica has applied every write acknowledged before the call. */
  linearizableRead(): Promise<void> {
    return this.node.linearizableRead();
  }

  /** RaftNode.appliedBarrier: for planning writes whose reads are all preconditions. */
  appliedBarrier(): Promise<void> {
    return this.node.appliedBarrier();
  }

  get(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.sm.state.get(kind, namespace, name);
  }

  list(kind: string, namespace?: string): ListResult {
    return this.sm.state.list(kind, namespace);
  }

  watch(options: WatchOptions, onEvent: (e: StoreEvent) => void): Watch {
    return this.sm.hub.watch(options, onEvent);
  }

  revision(): number {
    return this.sm.state.revision();
  }

  oldestResumableRevision(): number {
    return this.sm.state.oldestResumableRevision();
  }

  objectCount(): number {
    return this.sm.state.objectCount();
  }

  /** The committed state at the current revision, for a backup. */
  snapshot(): StoreSnapshot {
    return this.sm.state.snapshot();
  }

  async diskBytes(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      try {
        total += (await stat(join(this.dir, name))).size;
      } catch {
        // LevelDB removes obsolete files while we count.
      }
    }
    return total;
  }

  /**
   * Adds a member as the join does: as a learner (it gets the log, or a snapshot,
   * and neither votes nor counts for commit), then, once its log has reached the commit
   * index as it was when it was added, as a voter. On the leader only. Rejects when it
   * has not caught up within catchUpTimeoutMs (default 60 s; it stays a learner).
   */
  async addMember(id: NodeId, address: string, opts: { catchUpTimeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const status = this.node.status();
    if (!status.confState.learners.includes(id)) {
      await this.node.proposeConfChange({ type: 'addLearner', node: id, context: address });
    }
    const target = this.node.status().commit;
    const deadline = this.clock.now() + (opts.catchUpTimeoutMs ?? 60_000);
    for (;;) {
      const st = this.node.status();
      const match = st.progress?.get(id)?.match ?? 0;
      if (match >= target) break;
      if (st.role !== 'leader') throw new NotLeaderError(st.id, st.leader);
      if (this.clock.now() >= deadline) {
        throw new BrambleError('UNAVAILABLE', `${id} has not caught up (its log reaches ${match}, the leader's commit was ${target}): it stays a learner; retry the promotion later`);
      }
      await this.clock.sleep(opts.pollMs ?? 100);
    }
    await this.node.proposeConfChange({ type: 'promote', node: id });
  }

  /** Removes a member (voter or learner). On the leader only. */
  async removeMember(id: NodeId): Promise<void> {
    await this.node.proposeConfChange({ type: 'remove', node: id });
  }

  /** Hands leadership over before a planned stop, so it costs no election timeout (see RaftNode.stepDown). */
  stepDown(): Promise<boolean> {
    return this.node.stepDown();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.node.close();
    this.sm.hub.cancelAll();
    await this.db.close();
  }

  /** As a kill -9 would leave things: nothing after the last batch written is kept. */
  async crash(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.node.crash();
    this.sm.hub.cancelAll();
    await this.db.close();
  }
}

export async function openRaftStore(opts: RaftStoreOptions): Promise<RaftStore> {
  const retainEvents = validateRetainEvents(opts.retainEvents);
  if (typeof opts.id !== 'string' || !/^[^\s]+$/.test(opts.id)) {
    throw new BrambleError('INVALID_ARGUMENT', `a member's name must be a non-empty string without spaces: current value is ${JSON.stringify(opts.id)}`);
  }
  if (opts.bootstrap && !opts.bootstrap.some((p) => p.id === opts.id)) {
    throw new BrambleError('INVALID_ARGUMENT', `the bootstrap members must include this member ${opts.id}: current value is ${opts.bootstrap.map((p) => p.id).join(', ') || 'none'}`);
  }
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? silentLogger();
  const { db, dir, created } = await openStoreDb(opts);
  let log: RaftLogStore;
  let state: StoreState;
  let compacted: number;
  try {
    const bootstrap: StoredConf | undefined = opts.bootstrap
      ? { voters: opts.bootstrap.map((p) => p.id), learners: [], peers: Object.fromEntries(opts.bootstrap.map((p) => [p.id, p.address])) }
      : undefined;
    log = await RaftLogStore.load(db, {
      ...(opts.compactEntries !== undefined ? { compactEntries: opts.compactEntries } : {}),
      ...(opts.compactBytes !== undefined ? { compactBytes: opts.compactBytes } : {}),
      ...(opts.catchUpEntries !== undefined ? { catchUpEntries: opts.catchUpEntries } : {}),
      ...(bootstrap ? { bootstrap } : {}),
    });
    if (log.bootstrapOps.length > 0) await db.batch(log.bootstrapOps, { sync: opts.sync ?? true });
    const snapshot = await readStoreFromDb(db, created);
    state = StoreState.restore(snapshot, retainEvents);
    compacted = await settleOpenedCompaction(db, state, snapshot.compactedRevision, opts.sync ?? true);
  } catch (err) {
    await db.close().catch(() => undefined);
    if (isBrambleError(err, 'INVALID_ARGUMENT')) throw err;
    throw storeOpenError(dir, err);
  }
  const sm = new StoreStateMachine(db, state, compacted, opts.id, clock, logger);
  try {
    return new RaftStore(db, dir, sm, clock, (machine) => new RaftNode({
      ...opts, db, dir, log, stateMachine: machine, clock, logger,
    }));
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
