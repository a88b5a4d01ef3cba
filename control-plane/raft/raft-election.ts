// Followers and candidates: elections (pre-vote, then vote), and a follower's
// handling of its leader's MsgApp, heartbeats and snapshots.
import { isStorageError } from './raft-memory-storage.js';
import { becomeLeader, bcastAppend } from './raft-replicate.js';
import type { RaftState } from './raft-state.js';
import { message, NONE, type Message, type MessageType, type Snapshot } from './raft-types.js';

export type CampaignType = 'preElection' | 'election' | 'transfer';

/** The vote context of a campaign started by MsgTimeoutNow: voters then ignore their leader lease. */
export const CAMPAIGN_TRANSFER = 'transfer';

export function hup(r: RaftState, t: CampaignType): void {
  if (r.role === 'leader') return;
  if (!r.promotable()) return;
  // A committed, unapplied conf change may remove us or change the quorum: apply it before campaigning.
  if (hasUnappliedConfChanges(r)) return;
  campaign(r, t);
}

function hasUnappliedConfChanges(r: RaftState): boolean {
  const lo = Math.max(r.log.applied + 1, r.log.firstIndex());
  const hi = r.log.committed + 1;
  if (lo >= hi) return false;
  try {
    return r.log.slice(lo, hi).some((e) => e.type === 'conf');
  } catch (e) {
    if (isStorageError(e)) return false;
    throw e;
  }
}

export function campaign(r: RaftState, t: CampaignType): void {
  let term: number;
  let voteMsg: MessageType;
  if (t === 'preElection') {
    r.becomePreCandidate();
    voteMsg = 'MsgPreVote';
    // Asked for the term we would campaign at, without moving to it.
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    voteMsg = 'MsgVote';
    term = r.term;
  }
  // Our own vote: the Ready that sends the requests carries the hardState with it, persisted first.
  r.trk.recordVote(r.id, true);
  if (r.trk.tallyVotes().result === 'won') {
    if (t === 'preElection') campaign(r, 'election');
    else {
      becomeLeader(r);
      bcastAppend(r);
    }
    return;
  }
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  for (const id of [...r.trk.voters].sort()) {
    if (id === r.id) continue;
    r.send(message({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm, context: t === 'transfer' ? CAMPAIGN_TRANSFER : '' }));
  }
}

export function stepCandidate(r: RaftState, m: Message): void {
  // A candidate may still receive pre-vote answers of this term from when it was a pre-candidate: ignore them.
  const myResp: MessageType = r.role === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  switch (m.type) {
    case 'MsgApp':
      r.becomeFollower(m.term, m.from); // m.term === r.term: a leader won this term
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    default:
      break;
  }
  if (m.type !== myResp) return;
  r.trk.recordVote(m.from, !m.reject);
  const { result } = r.trk.tallyVotes();
  if (result === 'won') {
    if (r.role === 'preCandidate') campaign(r, 'election');
    else {
      becomeLeader(r);
      bcastAppend(r);
    }
  } else if (result === 'lost') {
    // A pre-vote answer carries the future term; we stay at ours.
    r.becomeFollower(r.term, NONE);
  }
}

export function stepFollower(r: RaftState, m: Message): void {
  switch (m.type) {
    case 'MsgApp':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case 'MsgTransferLeader':
      if (r.lead === NONE) return;
      r.send(message({ ...m, to: r.lead }));
      return;
    case 'MsgTimeoutNow':
      // No pre-vote: the leader asked, so this is no partitioned member coming back.
      hup(r, 'transfer');
      return;
    case 'MsgReadIndex':
      if (r.lead === NONE) return;
      r.send(message({ ...m, to: r.lead }));
      return;
    case 'MsgReadIndexResp':
      r.readStates.push({ index: m.index, context: m.context });
      return;
    case 'MsgUnreachable':
      // The host reports a failed send to a peer; when that peer is our leader, its process is likely gone.
      if (m.from === r.lead && r.promotable()) r.campaignSoon(m.from);
      return;
    default:
      return;
  }
}

function handleAppendEntries(r: RaftState, m: Message): void {
  if (r.trk.voters.size === 0) {
    // No config yet (a new replica): the log alone cannot tell it who votes, since the bootstrap config
    // is no entry. Refuse at index 0, which every configured member matches; the leader sends a snapshot.
    r.send(message({ type: 'MsgAppResp', to: m.from, index: 0, reject: true }));
    return;
  }
  // Already committed here: the leader's entries up to our commit are ours (log matching), skip to it.
  if (m.index < r.log.committed) {
    r.send(message({ type: 'MsgAppResp', to: m.from, index: r.log.committed }));
    return;
  }
  const last = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (last !== undefined) {
    r.send(message({ type: 'MsgAppResp', to: m.from, index: last }));
    return;
  }
  // Hint the largest (index, term) of ours with term <= m.logTerm and index <= m.index: our tail above it cannot match.
  const [hintIndex, hintTerm] = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send(message({ type: 'MsgAppResp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm }));
}

function handleHeartbeat(r: RaftState, m: Message): void {
  r.log.commitTo(m.commit);
  r.send(message({ type: 'MsgHeartbeatResp', to: m.from, context: m.context }));
}

function handleSnapshot(r: RaftState, m: Message): void {
  const s = m.snapshot!;
  if (restore(r, s)) r.send(message({ type: 'MsgAppResp', to: m.from, index: r.log.lastIndex() }));
  else r.send(message({ type: 'MsgAppResp', to: m.from, index: r.log.committed }));
}

/** Replaces our log and membership with a snapshot; false when it is not newer than what we know is committed. */
function restore(r: RaftState, s: Snapshot): boolean {
  if (s.meta.index <= r.log.committed) return false;
  if (r.role !== 'follower') return false;
  const cs = s.meta.confState;
  // A snapshot whose config does not name us was not meant for us.
  if (!cs.voters.includes(r.id) && !cs.learners.includes(r.id)) return false;
  if (r.log.matchTerm(s.meta.index, s.meta.term)) {
    // We hold the snapshot's last entry: our log up to it is the leader's; commit it and keep our log.
    r.log.commitTo(s.meta.index);
    return false;
  }
  r.log.restore(s);
  r.trk.restore(cs, r.log.lastIndex() + 1);
  return true;
}
