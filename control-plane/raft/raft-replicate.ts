// The leader's side of replication: what it sends to each follower given that
// follower's progress (entries batched by maxSizePerMsg and pipelined up to the
// inflight window, a snapshot when the entries it needs are compacted,
// heartbeats), and its commit rule.
import { isStorageError } from './raft-memory-storage.js';
import type { Progress } from './raft-progress.js';
import type { RaftState } from './raft-state.js';
import { message, type Entry, type Message, type NodeId } from './raft-types.js';

export function becomeLeader(r: RaftState): void {
  if (r.role === 'follower') throw new Error('a follower cannot become leader without an election');
  r.reset(r.term);
  r.lead = r.id;
  r.role = 'leader';
  const self = r.trk.progress.get(r.id);
  if (self !== undefined) {
    self.becomeReplicate();
    self.recentActive = true;
  }
  // The entry of its own term that, once committed, commits every earlier entry (Raft §5.4.2, §8).
  appendEntries(r, [{ term: 0, index: 0, type: 'normal', data: '' }]);
  // No conf change until this entry is applied: only then does the leader know it applied every earlier one.
  r.pendingConfIndex = r.log.lastIndex();
}

/** Appends proposals at the leader's term; the leader counts them for itself only once durable (RawNode.advance). */
export function appendEntries(r: RaftState, ents: readonly Entry[]): number {
  const li = r.log.lastIndex();
  const stamped = ents.map((e, i) => ({ term: r.term, index: li + 1 + i, type: e.type, data: e.data }));
  return r.log.append(stamped);
}

/** The leader's own entries up to `index` are durable: count them and maybe commit. */
export function selfAck(r: RaftState, index: number): void {
  const pr = r.trk.progress.get(r.id);
  if (pr === undefined || !pr.maybeUpdate(index)) return;
  if (maybeCommit(r)) {
    releasePendingReadIndexMessages(r);
    bcastAppend(r);
  }
}

export function maybeCommit(r: RaftState): boolean {
  const q = r.trk.committed();
  return r.log.maybeCommit(Math.min(q, r.log.lastIndex()), r.term);
}

export function sendAppend(r: RaftState, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/**
 * Sends the entries `to` is missing from its progress on (with the commit index),
 * or a snapshot if they are compacted. An empty MsgApp only when `sendIfEmpty`
 * (it carries the commit index or probes). Returns whether a message went out.
 */
export function maybeSendAppend(r: RaftState, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  let prevTerm: number;
  let ents: Entry[] = [];
  try {
    prevTerm = r.log.term(prevIndex);
    // A full window sends only empty MsgApps, so that lost messages cannot stall the follower forever.
    if (pr.state !== 'replicate' || !pr.inflights.full()) ents = r.log.entries(pr.next, r.maxSizePerMsg);
  } catch (e) {
    if (isStorageError(e, 'compacted')) return maybeSendSnapshot(r, to, pr);
    throw e;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send(message({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.log.committed }));
  pr.sentEntries(ents.length);
  pr.sentCommitIndex(r.log.committed);
  return true;
}

/** Sends `to` a snapshot rather than entries (it has no config to apply entries to). */
export function sendSnapshot(r: RaftState, to: NodeId): boolean {
  const pr = r.trk.progress.get(to);
  return pr !== undefined && maybeSendSnapshot(r, to, pr);
}

function maybeSendSnapshot(r: RaftState, to: NodeId, pr: Progress): boolean {
  // A follower not heard from lately may be down: do not stream it a whole state for nothing.
  if (!pr.recentActive) return false;
  let snapshot;
  try {
    snapshot = r.log.snapshot();
  } catch (e) {
    if (isStorageError(e, 'unavailable')) return false;
    throw e;
  }
  // Index 0 is the bootstrap config, which cannot be sent; and a snapshot from before `to` joined would
  // be refused by it. Either way the host makes a newer snapshot (after applying the addLearner).
  if (snapshot.meta.index === 0) return false;
  const cs = snapshot.meta.confState;
  if (!cs.voters.includes(to) && !cs.learners.includes(to)) return false;
  pr.becomeSnapshot(snapshot.meta.index);
  r.send(message({ type: 'MsgSnap', to, snapshot }));
  return true;
}

export function sendHeartbeat(r: RaftState, to: NodeId, context: string): void {
  const pr = r.trk.progress.get(to);
  if (pr === undefined) return;
  // Never tell a follower a commit index beyond what it is known to hold: its tail may still diverge from ours.
  const commit = Math.min(pr.match, r.log.committed);
  r.send(message({ type: 'MsgHeartbeat', to, commit, context }));
  pr.sentCommitIndex(commit);
}

export function bcastAppend(r: RaftState): void {
  for (const id of r.trk.progress.keys()) {
    if (id !== r.id) sendAppend(r, id);
  }
}

export function bcastHeartbeat(r: RaftState, context = r.readOnly.heartbeatContext()): void {
  for (const id of r.trk.progress.keys()) {
    if (id !== r.id) sendHeartbeat(r, id, context);
  }
}

export function sendTimeoutNow(r: RaftState, to: NodeId): void {
  r.send(message({ type: 'MsgTimeoutNow', to }));
}

/** ReadIndex on a leader: ReadOnlySafe, a heartbeat round confirms the leader still leads. */
export function handleReadIndex(r: RaftState, m: Message): void {
  if (r.trk.isSingleton() && r.trk.isVoter(r.id)) {
    r.respondToReadIndex(m, r.log.committed);
    return;
  }
  // Until an entry of its term is committed, a new leader's commit index may be behind the cluster's.
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  r.readOnly.addRequest(r.log.committed, m);
  const ctx = r.readOnly.heartbeatContext();
  r.readOnly.recvAck(r.id, ctx);
  bcastHeartbeat(r, ctx);
  // With the leader alone a quorum (one voter plus learners), its own ack confirms.
  for (const rs of r.readOnly.maybeAdvance(r.trk.voters)) r.respondToReadIndex(rs.req, rs.index);
}

export function releasePendingReadIndexMessages(r: RaftState): void {
  if (r.pendingReadIndexMessages.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) handleReadIndex(r, m);
}
