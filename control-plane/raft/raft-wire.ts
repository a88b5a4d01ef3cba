// Raft messages on the wire (bramble.proto's RaftMessage) and back. Decoding is
// the boundary: whatever a peer sends, fromWire returns a Message that the core
// can step without a second look, or names the first rule the input breaks. It
// never throws, and it never turns bad input into a different good value (text
// that is not UTF-8 is refused rather than repaired), so what a follower appends
// is byte for byte what the leader sent.
import type {
  RaftEntry, RaftMessage, RaftMessage__Output, RaftMessageType__Output,
} from '../../proto/types.js';
import { nodeNameRule } from '../../proto/names.js';
import {
  decodeConfChange, type ConfState, type Entry, type Message, type MessageType, type NodeId, type Snapshot,
} from './raft-types.js';
import { RAFT_WIRE_LIMITS } from './raft-wire-limits.js';

const TO_WIRE: Record<MessageType, RaftMessageType__Output> = {
  MsgHup: 'RAFT_MSG_HUP',
  MsgBeat: 'RAFT_MSG_BEAT',
  MsgProp: 'RAFT_MSG_PROP',
  MsgApp: 'RAFT_MSG_APP',
  MsgAppResp: 'RAFT_MSG_APP_RESP',
  MsgVote: 'RAFT_MSG_VOTE',
  MsgVoteResp: 'RAFT_MSG_VOTE_RESP',
  MsgSnap: 'RAFT_MSG_SNAP',
  MsgHeartbeat: 'RAFT_MSG_HEARTBEAT',
  MsgHeartbeatResp: 'RAFT_MSG_HEARTBEAT_RESP',
  MsgUnreachable: 'RAFT_MSG_UNREACHABLE',
  MsgSnapStatus: 'RAFT_MSG_SNAP_STATUS',
  MsgCheckQuorum: 'RAFT_MSG_CHECK_QUORUM',
  MsgTransferLeader: 'RAFT_MSG_TRANSFER_LEADER',
  MsgTimeoutNow: 'RAFT_MSG_TIMEOUT_NOW',
  MsgReadIndex: 'RAFT_MSG_READ_INDEX',
  MsgReadIndexResp: 'RAFT_MSG_READ_INDEX_RESP',
  MsgPreVote: 'RAFT_MSG_PRE_VOTE',
  MsgPreVoteResp: 'RAFT_MSG_PRE_VOTE_RESP',
};

/**
 * What travels between replicas. The others (MsgHup, MsgBeat, MsgUnreachable,
 * MsgSnapStatus, MsgCheckQuorum) are a host telling its own core something: from
 * a peer they would let it fake a local event, so they are refused.
 */
export const WIRE_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  'MsgProp', 'MsgApp', 'MsgAppResp', 'MsgVote', 'MsgVoteResp', 'MsgPreVote', 'MsgPreVoteResp', 'MsgSnap',
  'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgTransferLeader', 'MsgTimeoutNow', 'MsgReadIndex', 'MsgReadIndexResp',
]);

const FROM_WIRE: ReadonlyMap<string, MessageType> = new Map(
  Object.entries(TO_WIRE).filter(([t]) => WIRE_MESSAGE_TYPES.has(t as MessageType)).map(([t, w]) => [w, t as MessageType]),
);

/**
 * Whether `m.from` must be the replica that sends it. It must for every message
 * but a forwarded MsgTransferLeader, whose `from` names the transferee (as in
 * etcd-io/raft): a follower asked to hand leadership to X passes the request on to
 * its leader. That lets a replica ask for a transfer to another member, which the
 * leader checks (a voter of its configuration) and which costs an election at
 * most, never a vote or an entry in another's name.
 */
export function fromIsSender(type: MessageType): boolean {
  return type !== 'MsgTransferLeader';
}

/** Only these carry entries: appends, and proposals a follower forwards to its leader. */
const WITH_ENTRIES: ReadonlySet<MessageType> = new Set<MessageType>(['MsgApp', 'MsgProp']);

/** A message as it is queued for a peer: encoded once, with its size known. */
export interface WireMessage {
  type: MessageType;
  to: NodeId;
  wire: RaftMessage;
  /** An upper bound of its encoded size, for batching and queue limits. */
  bytes: number;
}

/** Per-message and per-entry framing, generously: tags, varints of 64-bit numbers, lengths. */
const MESSAGE_OVERHEAD = 128;
const ENTRY_OVERHEAD = 40;

interface WellFormedString {
  isWellFormed(): boolean;
}

/**
 * Converts a message for the wire. Throws (a bug in the caller, not input) when
 * it holds text that UTF-8 cannot carry as it is: a lone surrogate would arrive
 * as U+FFFD, and the follower's log would differ from the leader's.
 */
export function toWire(m: Message): WireMessage {
  let bytes = MESSAGE_OVERHEAD + m.from.length + m.to.length;
  const entries: RaftEntry[] = m.entries.map((e) => {
    const data = utf8(e.data, 'entry data');
    bytes += ENTRY_OVERHEAD + data.length;
    return { term: e.term, index: e.index, type: e.type === 'conf' ? 'RAFT_ENTRY_CONF' : 'RAFT_ENTRY_NORMAL', data };
  });
  const context = utf8(m.context, 'context');
  bytes += context.length;
  const wire: RaftMessage = {
    type: TO_WIRE[m.type], from: m.from, to: m.to, term: m.term, logTerm: m.logTerm, index: m.index,
    entries, commit: m.commit, reject: m.reject, rejectHint: m.rejectHint, context,
  };
  if (m.snapshot) {
    const { voters, learners } = m.snapshot.meta.confState;
    bytes += (voters.length + learners.length) * 72;
    wire.snapshot = { index: m.snapshot.meta.index, term: m.snapshot.meta.term, confState: { voters: [...voters], learners: [...learners] } };
  }
  return { type: m.type, to: m.to, wire, bytes };
}

function utf8(s: string, what: string): Buffer {
  if (!(s as unknown as WellFormedString).isWellFormed()) {
    throw new Error(`${what} must be well-formed UTF-16 (no lone surrogate) to travel as UTF-8`);
  }
  return Buffer.from(s, 'utf8');
}

/**
 * Splits an append or a proposal whose entries do not fit in `maxBytes` into
 * consecutive messages that do. Each part of a MsgApp names the entry just before
 * its first one (index, logTerm), so a follower checks and appends each part as
 * it would the whole. A single entry bigger than `maxBytes` stays alone.
 */
export function splitForWire(w: WireMessage, maxBytes: number): WireMessage[] {
  const entries = w.wire.entries ?? [];
  if (w.bytes <= maxBytes || entries.length <= 1 || !WITH_ENTRIES.has(w.type)) return [w];
  const head = w.bytes - entries.reduce((n, e) => n + ENTRY_OVERHEAD + (e.data as Buffer).length, 0);
  const parts: WireMessage[] = [];
  let index = Number(w.wire.index);
  let logTerm = Number(w.wire.logTerm);
  let current: RaftEntry[] = [];
  let bytes = head;
  const flush = (): void => {
    if (current.length === 0) return;
    parts.push({ ...w, wire: { ...w.wire, index, logTerm, entries: current }, bytes });
    const last = current[current.length - 1]!;
    index = Number(last.index);
    logTerm = Number(last.term);
    current = [];
    bytes = head;
  };
  for (const e of entries) {
    const size = ENTRY_OVERHEAD + (e.data as Buffer).length;
    if (current.length > 0 && bytes + size > maxBytes) flush();
    current.push(e);
    bytes += size;
  }
  flush();
  if (w.type === 'MsgProp') return parts.map((p) => ({ ...p, wire: { ...p.wire, index: w.wire.index, logTerm: w.wire.logTerm } }));
  return parts;
}

// ------------------------------------------------------------------ decoding

export type Decoded = { ok: true; message: Message } | { ok: false; problem: string };

export interface DecodeOptions {
  /** MsgSnap is accepted only as the first frame of SendSnapshot, with its body beside it. */
  snapshot: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Refused extends Error {}

function refuse(problem: string): never {
  throw new Refused(problem);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return typeof v;
}

function count(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    refuse(`${field} must be an integer from 0 to 2^53-1: current value is ${show(v)}`);
  }
  return v;
}

function nodeId(v: unknown, field: string, allowNone: boolean): NodeId {
  if (typeof v !== 'string') refuse(`${field} must be a string: current value is ${show(v)}`);
  if (v === '' && allowNone) return v;
  const problem = nodeNameRule(v);
  if (problem) refuse(`${field} ${problem}: current value is ${show(v)}`);
  return v;
}

function text(v: unknown, field: string, max: number): string {
  if (!Buffer.isBuffer(v) && !(v instanceof Uint8Array)) refuse(`${field} must be bytes: current value is ${show(v)}`);
  if (v.length > max) refuse(`${field} must be at most ${max} bytes: current size is ${v.length}`);
  try {
    return UTF8.decode(v);
  } catch {
    return refuse(`${field} must be UTF-8 text`);
  }
}

function list(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) refuse(`${field} must be a list: current value is ${show(v)}`);
  if (v.length > max) refuse(`${field} must have at most ${max} items: current count is ${v.length}`);
  return v;
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) refuse(`${field} must be a message: current value is ${show(v)}`);
  return v as Record<string, unknown>;
}

function entryOf(raw: unknown, field: string): Entry {
  const r = record(raw, field);
  const term = count(r.term, `${field}.term`);
  const index = count(r.index, `${field}.index`);
  const type = r.type === 'RAFT_ENTRY_NORMAL' ? 'normal' : r.type === 'RAFT_ENTRY_CONF' ? 'conf' : refuse(`${field}.type must be RAFT_ENTRY_NORMAL or RAFT_ENTRY_CONF: current value is ${show(r.type)}`);
  const data = text(r.data, `${field}.data`, RAFT_WIRE_LIMITS.maxEntryDataBytes);
  if (type === 'conf') {
    try {
      decodeConfChange(data);
    } catch (e) {
      refuse(`${field}.data must be a conf change: ${(e as Error).message}`);
    }
  }
  return { term, index, type, data };
}

/** Log Matching relies on these: a MsgApp's entries follow its (index, logTerm) without gaps, in term order. */
function checkAppend(m: Message): void {
  let prevTerm = m.logTerm;
  for (const [i, e] of m.entries.entries()) {
    if (e.index !== m.index + 1 + i) refuse(`entries[${i}].index must be ${m.index + 1 + i} (consecutive after index ${m.index}): current value is ${e.index}`);
    if (e.term < prevTerm) refuse(`entries[${i}].term must be at least ${prevTerm} (terms never decrease along a log): current value is ${e.term}`);
    if (e.term > m.term) refuse(`entries[${i}].term must be at most the message term ${m.term}: current value is ${e.term}`);
    prevTerm = e.term;
  }
  if (m.index === 0 && m.logTerm !== 0) refuse(`logTerm must be 0 at index 0 (before the first entry): current value is ${m.logTerm}`);
}

function confStateOf(raw: unknown): ConfState {
  const r = record(raw, 'snapshot.confState');
  const voters = list(r.voters, 'snapshot.confState.voters', RAFT_WIRE_LIMITS.maxConfStateMembers).map((v, i) => nodeId(v, `snapshot.confState.voters[${i}]`, false));
  const learners = list(r.learners, 'snapshot.confState.learners', RAFT_WIRE_LIMITS.maxConfStateMembers).map((v, i) => nodeId(v, `snapshot.confState.learners[${i}]`, false));
  if (voters.length + learners.length > RAFT_WIRE_LIMITS.maxConfStateMembers) {
    refuse(`snapshot.confState must have at most ${RAFT_WIRE_LIMITS.maxConfStateMembers} members: current count is ${voters.length + learners.length}`);
  }
  const seen = new Set<string>();
  for (const id of [...voters, ...learners]) {
    if (seen.has(id)) refuse(`snapshot.confState must name each member once: "${id}" appears twice`);
    seen.add(id);
  }
  return { voters, learners };
}

function snapshotOf(raw: unknown): Snapshot {
  const r = record(raw, 'snapshot');
  const index = count(r.index, 'snapshot.index');
  const term = count(r.term, 'snapshot.term');
  if (index === 0) refuse('snapshot.index must be positive: current value is 0');
  // The body travels beside the message (SendSnapshot's chunks), never inside it.
  return { meta: { index, term, confState: confStateOf(r.confState) }, data: '' };
}

function decode(raw: unknown, opts: DecodeOptions): Message {
  const r = record(raw, 'message');
  const type = typeof r.type === 'string' ? FROM_WIRE.get(r.type) : undefined;
  if (!type) refuse(`type must be a message between replicas: current value is ${show(r.type)}`);
  if (type === 'MsgSnap' && !opts.snapshot) refuse('a MsgSnap must come through SendSnapshot, with its body');
  if (type !== 'MsgSnap' && opts.snapshot) refuse(`SendSnapshot carries a MsgSnap only: current type is ${type}`);
  if (typeof r.reject !== 'boolean') refuse(`reject must be a boolean: current value is ${show(r.reject)}`);
  const m: Message = {
    type,
    from: nodeId(r.from, 'from', false),
    to: nodeId(r.to, 'to', false),
    term: count(r.term, 'term'),
    logTerm: count(r.logTerm, 'logTerm'),
    index: count(r.index, 'index'),
    entries: [],
    commit: count(r.commit, 'commit'),
    reject: r.reject,
    rejectHint: count(r.rejectHint, 'rejectHint'),
    context: text(r.context, 'context', RAFT_WIRE_LIMITS.maxContextBytes),
  };
  const entries = list(r.entries, 'entries', RAFT_WIRE_LIMITS.maxEntriesPerMessage);
  if (entries.length > 0 && !WITH_ENTRIES.has(type)) refuse(`entries must be empty in a ${type}: current count is ${entries.length}`);
  m.entries = entries.map((e, i) => entryOf(e, `entries[${i}]`));
  if (type === 'MsgApp') checkAppend(m);
  if (type === 'MsgSnap') {
    if (r.snapshot === null || r.snapshot === undefined) refuse('snapshot must be set in a MsgSnap');
    m.snapshot = snapshotOf(r.snapshot);
  } else if (r.snapshot !== null && r.snapshot !== undefined) {
    refuse(`snapshot must be empty in a ${type}`);
  }
  return m;
}

/** A peer's message, checked field by field; never throws. */
export function fromWire(raw: RaftMessage__Output | unknown, opts: DecodeOptions = { snapshot: false }): Decoded {
  try {
    return { ok: true, message: decode(raw, opts) };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, problem: e.message };
    // A getter that throws, a proxy: still the input's fault, still no crash.
    return { ok: false, problem: `message could not be read: ${e instanceof Error ? e.message : String(e)}` };
  }
}

