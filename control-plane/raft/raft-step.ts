// The entry point of every message: the term rules every role shares (step down
// on a higher term, the leader lease under check-quorum, pre-vote), votes, then
// the role's own handler. Also ticks and membership changes.
import { CAMPAIGN_TRANSFER, hup, stepCandidate, stepFollower } from './raft-election.js';
import { stepLeader } from './raft-leader.js';
import { Progress } from './raft-progress.js';
import { bcastAppend, bcastHeartbeat, maybeCommit, maybeSendAppend } from './raft-replicate.js';
import type { RaftState } from './raft-state.js';
import { message, NONE, type ConfChange, type ConfState, type Message } from './raft-types.js';

export function step(r: RaftState, m: Message): void {
  if (m.term === 0) {
    // local message (or MsgProp/MsgReadIndex forwarded without a term)
  } else if (m.term > r.term) {
    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      const force = m.context === CAMPAIGN_TRANSFER;
      // Leader lease (thesis §4.2.3): while we hear from a leader, a vote request is from a disruptive member.
      const inLease = r.checkQuorum && r.lead !== NONE && r.electionElapsed < r.electionTimeout;
      if (!force && inLease) return;
    }
    if (m.type === 'MsgPreVote') {
      // Never change our term for a pre-vote.
    } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
      // The term of a granted pre-vote is the one we will campaign at; we move to it when we win.
    } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
      r.becomeFollower(m.term, m.from);
    } else {
      r.becomeFollower(m.term, NONE);
    }
  } else if (m.term < r.term) {
    if ((r.checkQuorum || r.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
      // A leader of an older term: tell it our term so it steps down. Without this, a member whose term
      // went up while cut off (and whose votes are ignored under lease) could never rejoin.
      r.send(message({ type: 'MsgAppResp', to: m.from }));
    } else if (m.type === 'MsgPreVote') {
      // Answer with our term, so a pre-candidate of an older term learns it.
      r.send(message({ type: 'MsgPreVoteResp', to: m.from, term: r.term, reject: true }));
    }
    return;
  }

  switch (m.type) {
    case 'MsgHup':
      hup(r, r.preVote ? 'preElection' : 'election');
      return;
    case 'MsgVote':
    case 'MsgPreVote': {
      // A repeat of our vote; or no vote and no leader known this term; or a pre-vote for a future term...
      const canVote = r.vote === m.from || (r.vote === NONE && r.lead === NONE) || (m.type === 'MsgPreVote' && m.term > r.term);
      // ...and the candidate's log is at least as up to date as ours (§5.4.1). Learners vote too: one may have
      // been promoted without knowing it yet.
      if (canVote && r.log.isUpToDate(m.index, m.logTerm)) {
        // Answer at the request's term: a pre-candidate's is in our future, and it ignores older answers.
        r.send(message({ type: m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp', to: m.from, term: m.term }));
        if (m.type === 'MsgVote') {
          r.electionElapsed = 0;
          r.vote = m.from;
        }
      } else {
        r.send(message({ type: m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp', to: m.from, term: r.term, reject: true }));
      }
      return;
    }
    default:
      break;
  }
  switch (r.role) {
    case 'leader':
      stepLeader(r, m);
      return;
    case 'candidate':
    case 'preCandidate':
      stepCandidate(r, m);
      return;
    case 'follower':
      stepFollower(r, m);
      return;
  }
}

export function tick(r: RaftState): void {
  if (r.role === 'leader') tickHeartbeat(r);
  else tickElection(r);
}

function tickElection(r: RaftState): void {
  r.electionElapsed++;
  if (r.promotable() && r.pastElectionTimeout()) {
    r.electionElapsed = 0;
    step(r, message({ type: 'MsgHup', from: r.id }));
  }
}

function tickHeartbeat(r: RaftState): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.electionTimeout) {
    r.electionElapsed = 0;
    if (r.checkQuorum) step(r, message({ type: 'MsgCheckQuorum', from: r.id }));
    // A transfer not done in an election timeout is abandoned: the leader takes proposals again.
    if (r.role === 'leader' && r.leadTransferee !== NONE) r.abortLeaderTransfer();
  }
  if (r.role !== 'leader') return;
  if (r.heartbeatElapsed >= r.heartbeatTimeout) {
    r.heartbeatElapsed = 0;
    bcastHeartbeat(r);
  }
}

/** Applies one membership change (one at a time, thesis §4.1); returns the new ConfState. */
export function applyConfChange(r: RaftState, cc: ConfChange): ConfState {
  const next = r.log.lastIndex() + 1;
  const pr = r.trk.progress.get(cc.node);
  switch (cc.type) {
    case 'addLearner':
      // Demoting a voter is not supported: it would need the leader-removal dance; a voter stays one.
      if (r.trk.voters.has(cc.node)) break;
      if (pr === undefined) r.trk.progress.set(cc.node, new Progress(next, r.trk.maxInflight, true));
      r.trk.learners.add(cc.node);
      break;
    case 'promote':
      r.trk.learners.delete(cc.node);
      r.trk.voters.add(cc.node);
      if (pr === undefined) r.trk.progress.set(cc.node, new Progress(next, r.trk.maxInflight, false));
      else pr.isLearner = false;
      break;
    case 'remove':
      r.trk.voters.delete(cc.node);
      r.trk.learners.delete(cc.node);
      r.trk.progress.delete(cc.node);
      break;
  }
  const cs = r.trk.confState();
  if (r.role === 'leader') {
    if (!r.trk.isVoter(r.id)) {
      // Removed: step down, and (with no progress for ourselves) never campaign again.
      r.becomeFollower(r.term, NONE);
      return cs;
    }
    // A smaller quorum may commit more; a new member is probed at once rather than at the next heartbeat.
    if (maybeCommit(r)) bcastAppend(r);
    else for (const id of r.trk.progress.keys()) if (id !== r.id) maybeSendAppend(r, id, false);
    if (r.leadTransferee !== NONE && !r.trk.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
  }
  return cs;
}
