// What a leader does with each message of its term: proposals, answers to its
// MsgApps and heartbeats (flow control, commit), snapshots reported, leadership
// transfer, ReadIndex, check-quorum.
import {
  bcastAppend, bcastHeartbeat, handleReadIndex, maybeCommit, maybeSendAppend, releasePendingReadIndexMessages, sendAppend, sendSnapshot, sendTimeoutNow,
} from './raft-replicate.js';
import type { RaftState } from './raft-state.js';
import { NONE, type Message } from './raft-types.js';

export function stepLeader(r: RaftState, m: Message): void {
  switch (m.type) {
    case 'MsgBeat':
      bcastHeartbeat(r);
      return;
    case 'MsgCheckQuorum':
      if (!r.trk.quorumActive(r.id)) {
        r.becomeFollower(r.term, NONE);
        return;
      }
      for (const [id, pr] of r.trk.progress) {
        if (id !== r.id) pr.recentActive = false;
      }
      return;
    case 'MsgReadIndex':
      handleReadIndex(r, m);
      return;
    default:
      break;
  }

  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case 'MsgAppResp': {
      pr.recentActive = true;
      if (m.reject) {
        // Only a member without any config refuses at index 0: it must start from a snapshot.
        if (m.index === 0) {
          if (pr.state !== 'snapshot') sendSnapshot(r, m.from);
          return;
        }
        // The follower's log does not match at m.index; it hints (rejectHint, logTerm) where it might.
        // Skip every index of ours whose term is above the hinted one: it cannot match either.
        let nextProbe = m.rejectHint;
        if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.logTerm)[0];
        if (pr.maybeDecrTo(m.index, nextProbe)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          sendAppend(r, m.from);
        }
        return;
      }
      if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
        if (pr.state === 'probe') {
          pr.becomeReplicate();
        } else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
          // Caught up (from the snapshot or otherwise) with what the log still holds: replicate from the log again.
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === 'replicate') {
          pr.inflights.freeLE(m.index);
        }
        if (maybeCommit(r)) {
          releasePendingReadIndexMessages(r);
          bcastAppend(r);
        } else if (pr.canBumpCommit(r.log.committed)) {
          sendAppend(r, m.from);
        }
        // The window may have opened for several messages.
        while (maybeSendAppend(r, m.from, false)) { /* send all that flow control allows */ }
        if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
      }
      return;
    }
    case 'MsgHeartbeatResp': {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // Also recovers a follower whose MsgApps were all lost (window full): the empty MsgApp is answered.
      if (pr.match < r.log.lastIndex() || pr.state === 'probe') sendAppend(r, m.from);
      if (m.context === '') return;
      r.readOnly.recvAck(m.from, m.context);
      for (const rs of r.readOnly.maybeAdvance(r.trk.voters)) r.respondToReadIndex(rs.req, rs.index);
      return;
    }
    case 'MsgSnapStatus':
      if (pr.state !== 'snapshot') return;
      if (m.reject) pr.pendingSnapshot = 0; // probe from our old match, not from a snapshot that never arrived
      pr.becomeProbe();
      // Wait for the follower's MsgAppResp (or a heartbeat round after a failure) before sending more.
      pr.msgAppFlowPaused = true;
      return;
    case 'MsgUnreachable':
      // An optimistic stream to an unreachable follower has probably lost messages.
      if (pr.state === 'replicate') pr.becomeProbe();
      return;
    case 'MsgTransferLeader': {
      if (pr.isLearner) return;
      const to = m.from;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === to) return;
        r.abortLeaderTransfer();
      }
      if (to === r.id) return;
      // The transfer must finish within an election timeout (tickHeartbeat aborts it then).
      r.electionElapsed = 0;
      r.leadTransferee = to;
      if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, to);
      else sendAppend(r, to);
      return;
    }
    default:
      return;
  }
}
