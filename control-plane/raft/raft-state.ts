// The state of one Raft member and the role transitions every role shares. The
// handlers live beside it: raft-replicate.ts and raft-leader.ts (leader),
// raft-election.ts (followers and candidates), raft-step.ts (the entry point).
import { RaftLog } from './raft-log.js';
import type { RaftStorage } from './raft-memory-storage.js';
import { ProgressTracker } from './raft-quorum.js';
import { ReadOnly } from './raft-read-only.js';
import { message, NONE, type Message, type NodeId, type ReadState, type Role } from './raft-types.js';

export interface RaftOptions {
  id: NodeId;
  storage: RaftStorage;
  electionTick: number;
  heartbeatTick: number;
  random: () => number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxCommittedSizePerReady: number;
}

/** Vote and pre-vote messages carry their own term (a pre-vote is for a future term); every other message gets the sender's. */
const OWN_TERM: ReadonlySet<string> = new Set(['MsgVote', 'MsgVoteResp', 'MsgPreVote', 'MsgPreVoteResp']);

export class RaftState {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = 'follower';
  readonly log: RaftLog;
  readonly trk: ProgressTracker;
  readOnly = new ReadOnly();
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  randomizedElectionTimeout = 0;
  /** Ticks since the last election timeout reset (leader: since the last check-quorum). */
  electionElapsed = 0;
  heartbeatElapsed = 0;

  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  private readonly random: () => number;

  leadTransferee: NodeId = NONE;
  /** The index of the latest conf entry this leader appended (or its first entry): no new change until it is applied. */
  pendingConfIndex = 0;
  /** ReadIndex requests a new leader holds until it has committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];

  constructor(o: RaftOptions) {
    this.id = o.id;
    this.electionTimeout = o.electionTick;
    this.heartbeatTimeout = o.heartbeatTick;
    this.random = o.random;
    this.preVote = o.preVote;
    this.checkQuorum = o.checkQuorum;
    this.maxSizePerMsg = o.maxSizePerMsg;
    this.log = new RaftLog(o.storage, o.maxCommittedSizePerReady);
    this.trk = new ProgressTracker(o.maxInflightMsgs);
  }

  send(m: Message): void {
    // A forwarded MsgTransferLeader keeps its `from` (the transferee); everything else is from us.
    if (m.from === NONE) m.from = this.id;
    if (!OWN_TERM.has(m.type) && m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') m.term = this.term;
    this.msgs.push(m);
  }

  /** Whether this member may campaign: a voter of the current config, with no snapshot waiting to be applied. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasPendingSnapshot();
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /**
   * The transport lost its stream to our leader (a kill -9 or a reboot closes the TCP connection at once):
   * forget the leader and campaign within a few ticks rather than a whole election timeout after its last
   * heartbeat. Only liveness changes: pre-vote still asks a quorum first, so a leader that is alive and
   * heard by the others is not disrupted, and forgetting `lead` only ends this member's lease (no read is
   * served from a lease). The survivors would otherwise split their votes by campaigning together: each
   * waits 1–2 ticks more per member ranked before it (voters by name, without the lost leader).
   */
  campaignSoon(lost: NodeId): void {
    const others = [...this.trk.voters].filter((id) => id !== lost).sort();
    const rank = Math.max(0, others.indexOf(this.id));
    const inTicks = 1 + 3 * rank + Math.floor(this.random() * 2);
    this.lead = NONE;
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - inTicks);
  }

  resetRandomizedElectionTimeout(): void {
    const r = this.random();
    const extra = Math.min(this.electionTimeout - 1, Math.max(0, Math.floor(r * this.electionTimeout)));
    this.randomizedElectionTimeout = this.electionTimeout + extra;
  }

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      pr.match = id === this.id ? this.log.stableLastIndex() : 0;
      pr.next = last + 1;
      pr.state = 'probe';
      pr.pendingSnapshot = 0;
      pr.msgAppFlowPaused = false;
      pr.recentActive = id === this.id;
      pr.sentCommit = 0;
      pr.inflights.reset();
    }
    this.pendingConfIndex = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  becomePreCandidate(): void {
    // Neither the term nor the vote changes: a pre-candidate that loses leaves no trace (thesis §9.6).
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = 'preCandidate';
  }

  becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /** Whether the commit index is at an entry of the current term (a new leader knows the whole committed log only then). */
  committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  /** Answers a confirmed ReadIndex request: locally, or back to the follower that forwarded it. */
  respondToReadIndex(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, context: req.context });
      return;
    }
    this.send(message({ type: 'MsgReadIndexResp', to: req.from, index, context: req.context }));
  }
}
