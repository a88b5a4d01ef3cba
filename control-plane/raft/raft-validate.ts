// Messages from the network are untrusted in shape (a bug or a corrupt frame on
// another member): the core drops anything malformed rather than throw or let
// it corrupt the log. Semantically stale messages are the state machine's job.
import type { Entry, Message, NodeId, Snapshot } from './raft-types.js';

const ENTRY_TYPES: ReadonlySet<string> = new Set(['normal', 'conf']);

function nat(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function validEntries(m: Message): boolean {
  if (!Array.isArray(m.entries)) return false;
  if (m.entries.length === 0) return true;
  if (m.type !== 'MsgApp') return false;
  let prevTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i] as Partial<Entry> | null;
    if (e === null || typeof e !== 'object') return false;
    if (!nat(e.term) || !nat(e.index) || typeof e.data !== 'string' || !ENTRY_TYPES.has(e.type as string)) return false;
    // Entries follow index and never go back in term, nor past the leader's term.
    if (e.index !== m.index + 1 + i || e.term! < prevTerm || e.term! > m.term || e.term === 0) return false;
    prevTerm = e.term!;
  }
  return true;
}

function validSnapshot(s: Snapshot | undefined): boolean {
  if (s === null || typeof s !== 'object' || s.meta === null || typeof s.meta !== 'object') return false;
  const { index, term, confState } = s.meta;
  if (!nat(index) || !nat(term) || index === 0 || term === 0 || typeof s.data !== 'string') return false;
  if (confState === null || typeof confState !== 'object') return false;
  const names = (a: unknown): boolean => Array.isArray(a) && a.every((x) => typeof x === 'string' && x !== '');
  return names(confState.voters) && names(confState.learners);
}

export function validateNetworkMessage(m: Message, self: NodeId): boolean {
  if (m === null || typeof m !== 'object') return false;
  if (typeof m.from !== 'string' || m.from === '' || m.from === self || m.to !== self) return false;
  if (!nat(m.term) || !nat(m.logTerm) || !nat(m.index) || !nat(m.commit) || !nat(m.rejectHint)) return false;
  if (typeof m.reject !== 'boolean' || typeof m.context !== 'string') return false;
  // Only a forwarded read travels without a term; a termless message is otherwise a local one.
  if (m.term === 0 && m.type !== 'MsgReadIndex') return false;
  if (m.type === 'MsgSnap' && !validSnapshot(m.snapshot)) return false;
  return validEntries(m);
}
