// The vocabulary of Bramble's Raft core, in the shape of etcd-io/raft: the core
// (raft-core.ts) takes ticks and messages in and hands out a Ready — what to
// persist, what to send, what is committed — and does no I/O and reads no clock.
// Storage, transport and timers wrap it (raft-node.ts, raft-log-store.ts,
// raft-transport.ts). Members are named by their --node-name.

/** A member's name (its --node-name); '' means "none" (no vote, no known leader). */
export type NodeId = string;
export const NONE: NodeId = '';

export type EntryType = 'normal' | 'conf';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /**
   * Opaque to the core. For 'normal': the store command as JSON, or '' for the
   * no-op a new leader appends to commit entries of earlier terms. For 'conf':
   * a ConfChange as JSON (encodeConfChange).
   */
  data: string;
}

/**
 * One membership change at a time (Raft thesis §4.1, as etcd's ConfChangeV1): a
 * leader refuses a new one while an earlier one is not yet applied, and a new
 * leader refuses them until it has applied every entry of earlier terms.
 * A replica joins as a learner (gets the log, does not vote or count for commit)
 * and is promoted once it has caught up.
 */
export type ConfChangeType = 'addLearner' | 'promote' | 'remove';

export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
  /** Opaque to the core: the member's address, for the transport. */
  context?: string;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/** What must be on disk (fsynced) before any message of the same Ready is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /**
   * Opaque to the core: the state machine at meta.index. The real server leaves it
   * '' in storage and streams the state itself when it sends a MsgSnap.
   */
  data: string;
}

export type MessageType =
  | 'MsgHup' // local: start an election now (campaign)
  | 'MsgBeat' // local: leader sends heartbeats now
  | 'MsgProp' // local: propose entries
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgUnreachable' // local: the transport could not deliver to `from`
  | 'MsgSnapStatus' // local: a snapshot to `from` was delivered (reject=false) or failed
  | 'MsgCheckQuorum' // local: leader checks that a quorum was active this election timeout
  | 'MsgTransferLeader' // local (to the leader): hand leadership to `from`
  | 'MsgTimeoutNow' // leader → transferee: campaign now, ignoring lease
  | 'MsgReadIndex' // local or follower → leader: a linearizable read at the commit index
  | 'MsgReadIndexResp';

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** MsgApp: term of the entry at `index`; votes: term of the candidate's last entry. */
  logTerm: number;
  /** MsgApp: index of the entry just before `entries`; votes: the candidate's last index; MsgAppResp: the match (or rejected) index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** MsgAppResp on reject: the follower's hint for where to retry. */
  rejectHint: number;
  /** MsgSnap only. */
  snapshot?: Snapshot;
  /** Heartbeats and ReadIndex: an opaque token to match a response with its request. */
  context: string;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state; changes are reported but never persisted. */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A ReadIndex answered: once `index` is applied, reads are linearizable for `context`'s request. */
export interface ReadState {
  index: number;
  context: string;
}

export interface Ready {
  /** Present only when it changed since the last Ready. */
  softState?: SoftState;
  /** Present only when it changed: persist (fsync) before sending `messages`. */
  hardState?: HardState;
  /** Append to stable storage (replacing any conflicting tail) before sending `messages`. */
  entries: Entry[];
  /** Persist and apply (replacing the state machine) before anything else of this Ready. */
  snapshot?: Snapshot;
  /** Committed entries to apply, in order, each exactly once. */
  committedEntries: Entry[];
  /** Send after the persistent parts of this Ready are durable. */
  messages: Message[];
  readStates: ReadState[];
  /** Whether hardState/entries require an fsync (term, vote or new entries changed). */
  mustSync: boolean;
}

/** A partial message: the core fills in what it leaves out. */
export function message(m: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NONE, to: NONE, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: '', ...m,
  };
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === NONE && h.commit === 0;
}

export function encodeConfChange(cc: ConfChange): string {
  return JSON.stringify(cc);
}

const CONF_CHANGE_TYPES: ReadonlySet<string> = new Set<ConfChangeType>(['addLearner', 'promote', 'remove']);

/** Throws on anything that is not a ConfChange (entries are read back from disk and the network). */
export function decodeConfChange(data: string): ConfChange {
  const v = JSON.parse(data) as Partial<ConfChange> | null;
  if (!v || typeof v !== 'object' || typeof v.type !== 'string' || !CONF_CHANGE_TYPES.has(v.type) || typeof v.node !== 'string' || v.node === '') {
    throw new Error(`not a conf change: ${data.slice(0, 80)}`);
  }
  if (v.context !== undefined && typeof v.context !== 'string') throw new Error('a conf change context must be a string');
  return { type: v.type, node: v.node, ...(v.context !== undefined ? { context: v.context } : {}) };
}

/** Entry size for batching limits: the data plus a fixed overhead for term, index and framing. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}
