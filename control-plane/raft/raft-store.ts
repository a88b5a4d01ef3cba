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
// On disk a write is only its Raft entry: the state is kept as a checkpoint plus the
// log after it, and opening applies that tail again (raft-store-disk.ts).
//
// Reads (get, list, watch) serve this replica's applied state; linearizableRead()
// first waits for a ReadIndex, for callers that must see every acknowledged write.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { KObject } from '../../proto/model.js';
import type { Command, CommitResult, ListResult, Store, StoreEvent, Watch, WatchOptions } from '../store/store.js';
import { CorruptStore, openStoreDb, storeOpenError, type Db } from '../store/store-level.js';
import { encodeSnapshot, readSnapshot as decodeStoreSnapshot } from '../store/store-snapshot.js';
import { StoreState, validateRetainEvents, type Applied, type StoreSnapshot } from '../store/store-state.js';
import { WatchHub, type WatchSource } from '../store/store-watch.js';
import { RaftLogStore, type RaftLogStoreOptions, type StoredConf } from './raft-log-store.js';
import { checkpointOps, readDiskState, restoreOps, type Checkpoint } from './raft-store-disk.js';
import { NotLeaderError, type RaftLeadership } from './raft-leadership.js';
import { RaftNode, type RaftNodeOptions } from './raft-node.js';
import { applyEntryOf, type ApplyEntry, type ApplyResult, type PreparedApply, type RaftStateMachine } from './raft-state-machine.js';
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
  /** Entries after the checkpoint applied again in memory at open (raft-store-disk.ts); not counted above. */
  replayedAtOpen: number;
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
  readonly stats: RaftStoreStats = { entriesApplied: 0, commandsCommitted: 0, commandsFailed: 0, snapshotsInstalled: 0, replayedAtOpen: 0 };
  /** States captured for snapshots being sent, by index; a few, as followers may be sent different ones. */
  private readonly captured = new Map<number, StoreSnapshot>();
  private received: { index: number; snapshot: StoreSnapshot } | undefined;

  /** Keys changed since the checkpoint: the next one writes their o: rows (raft-store-disk.ts). */
  private changed = new Set<string>();

  constructor(
    private readonly db: Db,
    public state: StoreState,
    private readonly id: NodeId,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.hub = new WatchHub(this, logger);
  }

  revision(): number { return this.state.revision(); }
  oldestResumableRevision(): number { return this.state.oldestResumableRevision(); }
  eventsAfter(revision: number): StoreEvent[] { return this.state.eventsAfter(revision); }

  /**
   * Applies committed entries. Nothing of the state goes to disk with them: their Raft
   * entries are its record until the next checkpoint, and opening applies them again.
   */
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
    return {
      ops: [],
      results,
      commit: () => {
        for (const a of applied) {
          this.hub.publish(this.state.commit(a));
          for (const key of a.writes.keys()) this.changed.add(key);
        }
        this.stats.entriesApplied += entries.length;
        this.stats.commandsCommitted += applied.length;
        this.stats.commandsFailed += entries.length - applied.length;
      },
      abort: () => this.state.abortPending(),
    };
  }

  checkpoint(applied: number): PreparedApply {
    const at: Checkpoint = { index: applied, revision: this.state.revision() };
    return {
      ops: checkpointOps(this.changed, (key) => this.state.committedByKey(key), at),
      results: [],
      // The host loop applies no Ready while the checkpoint's batch is written, so nothing changed since.
      commit: () => { this.changed = new Set(); },
      abort: () => undefined,
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
    const at: Checkpoint = { index: meta.index, revision: next.revision() };
    const ops = await restoreOps(this.db, r.snapshot.objects, at);
    return {
      ops,
      results: [],
      commit: () => {
        const before = this.state.revision();
        this.state = next;
        this.changed = new Set();
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
  let checkpoint: Checkpoint;
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
    const disk = await readDiskState(db, created, log.applied);
    const first = [...log.bootstrapOps, ...disk.upgradeOps];
    if (first.length > 0) await db.batch(first, { sync: opts.sync ?? true });
    state = StoreState.restore(disk.snapshot, retainEvents);
    checkpoint = disk.checkpoint;
    if (checkpoint.index < log.storage.firstIndex() - 1) {
      throw new CorruptStore(`the Raft log starts at index ${log.storage.firstIndex()}, but the state on disk is of index ${checkpoint.index} (m:checkpoint): the entries between are gone`);
    }
  } catch (err) {
    await db.close().catch(() => undefined);
    if (isBrambleError(err, 'INVALID_ARGUMENT')) throw err;
    throw storeOpenError(dir, err);
  }
  const sm = new StoreStateMachine(db, state, opts.id, clock, logger);
  replayAfterCheckpoint(sm, log, checkpoint.index);
  try {
    return new RaftStore(db, dir, sm, clock, (machine) => new RaftNode({
      ...opts, db, dir, log, stateMachine: machine, clock, logger,
    }));
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** Entries applied again per prepare at open: bounded arrays on a small board. */
const REPLAY_BATCH = 1000;

/**
 * Applies the entries after the checkpoint up to the applied index again, as the host
 * loop applied them (applyEntryOf, prepare, commit): the same log through the same
 * deterministic state machine gives the same objects, revisions and events.
 */
function replayAfterCheckpoint(sm: StoreStateMachine, log: RaftLogStore, from: number): void {
  for (let lo = from + 1; lo <= log.applied; lo += REPLAY_BATCH) {
    const hi = Math.min(lo + REPLAY_BATCH, log.applied + 1);
    const entries: ApplyEntry[] = [];
    for (const e of log.storage.entries(lo, hi)) {
      const a = applyEntryOf(e);
      if (a) entries.push({ index: a.index, data: a.data });
    }
    if (entries.length > 0) sm.prepare(entries).commit();
  }
  // The counts are of this run's applies; these were applied (and written) before it.
  Object.assign(sm.stats, { replayedAtOpen: sm.stats.entriesApplied, entriesApplied: 0, commandsCommitted: 0, commandsFailed: 0 });
}
