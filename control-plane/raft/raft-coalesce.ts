// Proposals arrive one at a time and each sends every follower a MsgApp; between two
// Readys a busy leader piles up many small MsgApps to the same follower. Merging the
// contiguous ones before they leave costs nothing in safety (the follower would apply
// them in the same order, each one's check covered by the first's) and saves a
// round of framing, a syscall and an fsync'd answer per message.
import { entrySize, type Message } from './raft-types.js';

export function coalesceAppends(msgs: Message[], maxSizePerMsg: number): Message[] {
  if (msgs.length < 2) return msgs;
  const out: Message[] = [];
  /** Per follower: the index in `out` of its last message, if that message is a MsgApp we may extend. */
  const lastApp = new Map<string, number>();
  const size = new Map<number, number>();
  const owned = new Set<number>();
  for (const m of msgs) {
    const at = lastApp.get(m.to);
    if (m.type === 'MsgApp' && at !== undefined) {
      const prev = out[at]!;
      const add = m.entries.reduce((n, e) => n + entrySize(e), 0);
      const cur = size.get(at)!;
      if (prev.term === m.term && prev.index + prev.entries.length === m.index && (m.entries.length === 0 || cur + add <= maxSizePerMsg)) {
        // Copied once, then grown in place: a burst of n proposals costs O(n), not O(n²).
        const merged = owned.has(at) ? prev : { ...prev, entries: [...prev.entries] };
        for (const e of m.entries) merged.entries.push(e);
        merged.commit = Math.max(prev.commit, m.commit);
        out[at] = merged;
        owned.add(at);
        size.set(at, cur + add);
        continue;
      }
    }
    out.push(m);
    if (m.type === 'MsgApp') {
      lastApp.set(m.to, out.length - 1);
      size.set(out.length - 1, m.entries.reduce((n, e) => n + entrySize(e), 0));
    } else {
      lastApp.delete(m.to);
    }
  }
  return out;
}
