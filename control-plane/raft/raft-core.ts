// Bramble's Raft core, in the shape of etcd-io/raft's RawNode: a pure state
// machine. The host feeds it ticks (its timer), messages (its transport) and
// proposals, then takes a Ready: persist its hardState, entries and snapshot,
// send its messages, apply its committed entries, and call advance(). The core
// does no I/O, reads no clock and draws randomness only from `random`, so a
// seeded simulation replays it exactly.
//
// The host's side of the contract:
// - Persist a Ready in order: snapshot, entries (replacing any conflicting tail),
//   hardState; then send its messages; then apply committedEntries (conf entries
//   through applyConfChange); then advance(rd). Readys are persisted in the order
//   they were taken; stepping or ticking between ready() and advance() is allowed.
// - The leader counts its own entries toward commit only after advance(): a
//   one-member cluster commits on the Ready after the one that persisted.
// - Report every MsgSnap sent (reportSnapshot) and, optionally, failed sends
//   (reportUnreachable).
// - A new replica starts with an empty config and is caught up by a snapshot:
//   storage.snapshot() on the leader must name it (taken after the addLearner is
//   applied); the bootstrap config at index 0 cannot be sent.
// - On restart, pass `applied`; the core replays conf entries up to it itself.
import { decodeConfChange, encodeConfChange, isEmptyHardState, message, NONE } from './raft-types.js';
import type { ConfChange, ConfState, HardState, Message, MessageType, NodeId, Ready, Role, SoftState } from './raft-types.js';
import type { RaftStorage } from './raft-memory-storage.js';
import type { ProgressState } from './raft-progress.js';
import { coalesceAppends } from './raft-coalesce.js';
import { appendEntries, bcastAppend, selfAck } from './raft-replicate.js';
import { RaftState } from './raft-state.js';
import { applyConfChange, step, tick } from './raft-step.js';
import { validateNetworkMessage } from './raft-validate.js';

export interface RaftConfig {
  id: NodeId;
  storage: RaftStorage;
  /** Followers campaign after a randomized election timeout in [electionTick, 2*electionTick) ticks. */
  electionTick: number;
  heartbeatTick: number;
  /** [0,1), injected (seeded in simulation). */
  random: () => number;
  /** Default true. */
  preVote?: boolean;
  /** Default true. Also gives followers the leader lease: they ignore votes while a leader is heard from. */
  checkQuorum?: boolean;
  /** Bytes of entries per MsgApp (default 1 MiB); also bounds a Ready's committedEntries. */
  maxSizePerMsg?: number;
  /** Unacknowledged MsgApps per follower in replicate state (default 256). */
  maxInflightMsgs?: number;
  /** The last applied index at restart: committed entries after it are handed out again. */
  applied?: number;
}

export type RaftErrorReason = 'not-leader' | 'proposal-dropped' | 'conf-change-pending' | 'transfer-in-progress' | 'invalid';

export class RaftError extends Error {
  constructor(readonly reason: RaftErrorReason, message: string, readonly leader: NodeId = NONE) {
    super(message);
    this.name = 'RaftError';
  }
}

export interface RaftProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  isLearner: boolean;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  role: Role;
  leader: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  confState: ConfState;
  /** On the leader only. */
  progress?: Map<NodeId, RaftProgressStatus>;
  leadTransferee: NodeId;
}

const MIB = 1024 * 1024;

/** Types only the host itself may step: from the network they are dropped. */
const LOCAL_ONLY: ReadonlySet<MessageType> = new Set<MessageType>(['MsgHup', 'MsgBeat', 'MsgProp', 'MsgUnreachable', 'MsgSnapStatus', 'MsgCheckQuorum']);

function positiveInteger(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new RaftError('invalid', `${name} must be a positive integer: current value is ${v}`);
}

export class RawNode {
  private readonly r: RaftState;
  private prevSoft: SoftState;
  private prevHard: HardState;

  constructor(cfg: RaftConfig) {
    if (typeof cfg.id !== 'string' || cfg.id === NONE) throw new RaftError('invalid', 'id must be a non-empty member name');
    positiveInteger('heartbeatTick', cfg.heartbeatTick);
    positiveInteger('electionTick', cfg.electionTick);
    if (cfg.electionTick <= cfg.heartbeatTick) {
      throw new RaftError('invalid', `electionTick must be greater than heartbeatTick (${cfg.heartbeatTick}): current value is ${cfg.electionTick}`);
    }
    const maxSizePerMsg = cfg.maxSizePerMsg ?? MIB;
    const maxInflightMsgs = cfg.maxInflightMsgs ?? 256;
    positiveInteger('maxSizePerMsg', maxSizePerMsg);
    positiveInteger('maxInflightMsgs', maxInflightMsgs);
    const r = new RaftState({
      id: cfg.id,
      storage: cfg.storage,
      electionTick: cfg.electionTick,
      heartbeatTick: cfg.heartbeatTick,
      random: cfg.random,
      preVote: cfg.preVote ?? true,
      checkQuorum: cfg.checkQuorum ?? true,
      maxSizePerMsg,
      maxInflightMsgs,
      maxCommittedSizePerReady: maxSizePerMsg,
    });
    const { hardState, confState } = cfg.storage.initialState();
    r.trk.restore(confState, r.log.lastIndex() + 1);
    if (!isEmptyHardState(hardState)) {
      if (hardState.commit > r.log.lastIndex()) {
        throw new RaftError('invalid', `the stored commit index must be within [${r.log.committed}, ${r.log.lastIndex()}]: current value is ${hardState.commit}`);
      }
      // A snapshot holds only committed entries: a host that syncs its state machine (and so
      // its snapshots) apart from the hard state may find the stored commit index behind it.
      r.log.committed = Math.max(hardState.commit, r.log.committed);
      r.term = hardState.term;
      r.vote = hardState.vote;
    }
    const applied = cfg.applied ?? 0;
    if (applied > 0) {
      if (applied > r.log.lastIndex()) {
        throw new RaftError('invalid', `applied must not be past the last index ${r.log.lastIndex()}: current value is ${applied}`);
      }
      // What was applied was committed: a host that does not fsync commit-only hard states may find it higher.
      if (applied > r.log.committed) r.log.committed = applied;
      r.log.appliedTo(applied);
      replayConfChanges(r, cfg.storage, applied);
    }
    r.becomeFollower(r.term, NONE);
    this.r = r;
    this.prevSoft = { leader: r.lead, role: r.role };
    this.prevHard = { term: r.term, vote: r.vote, commit: r.log.committed };
  }

  tick(): void {
    tick(this.r);
  }

  /**
   * A message from the network. Anything wrong or stale is dropped, never thrown. The host may
   * step messages between ready() and advance(): what the pending Ready handed out is not handed out again.
   */
  step(m: Message): void {
    if (LOCAL_ONLY.has(m.type)) return;
    if (!validateNetworkMessage(m, this.r.id)) return;
    step(this.r, m);
  }

  campaign(): void {
    step(this.r, message({ type: 'MsgHup', from: this.r.id }));
  }

  private checkLeaderForProposal(): void {
    const r = this.r;
    if (r.role !== 'leader') throw new RaftError('not-leader', `proposals go to the leader: this member is a ${r.role} (leader ${r.lead || 'unknown'})`, r.lead);
    if (!r.trk.progress.has(r.id)) throw new RaftError('proposal-dropped', 'this leader was removed from the configuration');
    if (r.leadTransferee !== NONE) {
      throw new RaftError('proposal-dropped', `leadership is being transferred to ${r.leadTransferee}`, r.lead);
    }
  }

  propose(data: string): void {
    this.checkLeaderForProposal();
    appendEntries(this.r, [{ term: 0, index: 0, type: 'normal', data }]);
    bcastAppend(this.r);
  }

  proposeConfChange(cc: ConfChange): void {
    let checked: ConfChange;
    try {
      checked = decodeConfChange(encodeConfChange(cc));
    } catch (e) {
      throw new RaftError('invalid', (e as Error).message);
    }
    this.checkLeaderForProposal();
    const r = this.r;
    if (r.pendingConfIndex > r.log.applied) {
      throw new RaftError('conf-change-pending', `one membership change at a time: the entry at ${r.pendingConfIndex} is not applied yet (applied ${r.log.applied})`, r.lead);
    }
    const isVoter = r.trk.voters.has(checked.node);
    const isLearner = r.trk.learners.has(checked.node);
    if (checked.type === 'addLearner' && (isVoter || isLearner)) {
      throw new RaftError('invalid', `addLearner needs a new member: ${checked.node} is already a ${isVoter ? 'voter' : 'learner'}`, r.lead);
    }
    if (checked.type === 'promote' && !isLearner) throw new RaftError('invalid', `promote needs a learner: ${checked.node} is not one`, r.lead);
    if (checked.type === 'remove') {
      if (!isVoter && !isLearner) throw new RaftError('invalid', `remove needs a member: ${checked.node} is not one`, r.lead);
      if (isVoter && r.trk.voters.size === 1) throw new RaftError('invalid', `remove would leave no voter: ${checked.node} is the last one`, r.lead);
    }
    const index = appendEntries(r, [{ term: 0, index: 0, type: 'conf', data: encodeConfChange(checked) }]);
    r.pendingConfIndex = index;
    bcastAppend(r);
  }

  applyConfChange(cc: ConfChange): ConfState {
    return applyConfChange(this.r, cc);
  }

  readIndex(context: string): void {
    const r = this.r;
    if (r.role !== 'leader' && (r.role !== 'follower' || r.lead === NONE)) {
      throw new RaftError('not-leader', `no leader known to confirm a read: this member is a ${r.role}`, r.lead);
    }
    step(r, message({ type: 'MsgReadIndex', from: r.id, context }));
  }

  transferLeadership(to: NodeId): void {
    const r = this.r;
    if (to === NONE) throw new RaftError('invalid', 'transferLeadership needs a member name');
    if (r.role === 'leader') {
      if (!r.trk.voters.has(to)) throw new RaftError('invalid', `leadership goes to a voter: ${to} is not one`, r.lead);
    } else if (r.role !== 'follower' || r.lead === NONE) {
      throw new RaftError('not-leader', `no leader known to transfer from: this member is a ${r.role}`, r.lead);
    }
    step(r, message({ type: 'MsgTransferLeader', from: to }));
  }

  reportUnreachable(id: NodeId): void {
    step(this.r, message({ type: 'MsgUnreachable', from: id }));
  }

  /**
   * The host must report every MsgSnap it sends: ok once delivered, not ok when it failed or was
   * dropped. Until then the leader sends that follower nothing else (a lost snapshot unreported
   * would stall it for good).
   */
  reportSnapshot(id: NodeId, ok: boolean): void {
    step(this.r, message({ type: 'MsgSnapStatus', from: id, reject: !ok }));
  }

  private softState(): SoftState {
    return { leader: this.r.lead, role: this.r.role };
  }

  private hardState(): HardState {
    return { term: this.r.term, vote: this.r.vote, commit: this.r.log.committed };
  }

  hasReady(): boolean {
    const r = this.r;
    const soft = this.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) return true;
    const hard = this.hardState();
    if (!isEmptyHardState(hard) && !sameHardState(hard, this.prevHard)) return true;
    if (r.log.pendingSnapshot() !== undefined) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    return r.log.hasNextUnstableEntries() || r.log.hasNextCommittedEntries();
  }

  ready(): Ready {
    const r = this.r;
    const soft = this.softState();
    const hard = this.hardState();
    const snapshot = r.log.pendingSnapshot();
    const entries = r.log.nextUnstableEntries();
    const committedEntries = r.log.nextCommittedEntries();
    const hardChanged = !isEmptyHardState(hard) && !sameHardState(hard, this.prevHard);
    const rd: Ready = {
      entries,
      committedEntries,
      messages: coalesceAppends(r.msgs, r.maxSizePerMsg),
      readStates: r.readStates,
      mustSync: entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) rd.softState = soft;
    if (hardChanged) rd.hardState = hard;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    // Accepted: what this Ready hands out is not handed out again, even if the host steps before advance().
    this.prevSoft = soft;
    if (hardChanged) this.prevHard = hard;
    r.msgs = [];
    r.readStates = [];
    r.log.acceptInProgress(entries.at(-1)?.index, snapshot !== undefined, committedEntries.at(-1)?.index);
    return rd;
  }

  advance(rd: Ready): void {
    const r = this.r;
    if (rd.snapshot !== undefined) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      r.log.appliedTo(rd.snapshot.meta.index);
    }
    const last = rd.entries.at(-1);
    if (last !== undefined) {
      r.log.stableTo(last.index, last.term);
      // The leader's own log counts toward commit only once durable (Raft thesis §10.2.1 allows the parallel write).
      if (r.role === 'leader') selfAck(r, r.log.stableLastIndex());
    }
    const applied = rd.committedEntries.at(-1);
    if (applied !== undefined) r.log.appliedTo(applied.index);
  }

  status(): RaftStatus {
    const r = this.r;
    const st: RaftStatus = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      confState: r.trk.confState(),
      leadTransferee: r.leadTransferee,
    };
    if (r.role === 'leader') {
      st.progress = new Map();
      for (const [id, pr] of r.trk.progress) {
        st.progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, isLearner: pr.isLearner });
      }
    }
    return st;
  }
}

/**
 * initialState() may give the config of the last compaction; the conf entries applied after it
 * (up to `applied`) are not handed out again, so the core applies them itself. Replaying them over
 * a config that already has them gives the same config (each change sets one member's role), so a
 * host that persists its own later config is fine too.
 */
function replayConfChanges(r: RaftState, storage: RaftStorage, applied: number): void {
  // firstIndex, not snapshot(): a storage may build its snapshot on demand (and start streaming it).
  const from = storage.firstIndex();
  if (applied < from) return;
  for (const e of storage.entries(from, applied + 1)) {
    if (e.type !== 'conf') continue;
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch (err) {
      throw new RaftError('invalid', `the conf entry at ${e.index} in storage is corrupt: ${(err as Error).message}`);
    }
    applyConfChange(r, cc);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
