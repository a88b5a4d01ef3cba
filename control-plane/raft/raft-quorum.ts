// Majorities: the commit index a quorum of voters holds, election tallies and
// check-quorum, over the current membership (one change at a time, so a single
// majority config; learners never count). As etcd-io/raft's quorum and tracker.
import { Progress } from './raft-progress.js';
import type { ConfState, NodeId } from './raft-types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The largest index that a majority of `voters` have acknowledged. An empty
 * config commits everything (Infinity), as etcd: callers never have one.
 */
export function majorityCommitted(voters: Iterable<NodeId>, acked: (id: NodeId) => number | undefined): number {
  const idx: number[] = [];
  for (const v of voters) idx.push(acked(v) ?? 0);
  if (idx.length === 0) return Infinity;
  idx.sort((a, b) => b - a);
  return idx[Math.floor(idx.length / 2)]!;
}

export function majorityVoteResult(voters: Iterable<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let n = 0;
  let granted = 0;
  let missing = 0;
  for (const v of voters) {
    n++;
    const vote = votes.get(v);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  if (n === 0) return 'won';
  const q = Math.floor(n / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

/** The membership and, on a leader, the progress of every member (etcd's ProgressTracker). */
export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number) {}

  confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  /** Commit index of a quorum of voters, by their match. */
  committed(): number {
    return majorityCommitted(this.voters, (id) => this.progress.get(id)?.match);
  }

  /** Whether a quorum of voters was heard from since the last check (the leader counts itself). */
  quorumActive(self: NodeId): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) votes.set(id, id === self || pr.recentActive);
    }
    return majorityVoteResult(this.voters, votes) === 'won';
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: majorityVoteResult(this.voters, this.votes) };
  }

  /** Replaces membership and progress from a ConfState (restart or snapshot). */
  restore(cs: ConfState, next: number): void {
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners.filter((l) => !this.voters.has(l)));
    this.progress = new Map();
    for (const id of this.voters) this.progress.set(id, new Progress(next, this.maxInflight, false));
    for (const id of this.learners) this.progress.set(id, new Progress(next, this.maxInflight, true));
  }
}
