// The cluster-wide half of checking a store history. The per-key search
// (linearizability.ts with linearizability-model.ts) keeps its speed by looking
// at one key at a time, so it cannot see that the store's revision is a single
// order across keys. This check adds that without giving up the partitioning:
// in a linearizable store the revision order is the linearization order of
// writes, and a read sits at the revision it read from. So every acknowledged
// operation gets a place on the revision line:
//   - a write that returned revision r sits at exactly r;
//   - a get that returned resourceVersion r sits in [r, r' - 1], where r' is
//     the lowest acknowledged write of the same key above r (it replaced r);
// and an operation that returned before another was called must sit before it
// (at or before it when one of them is a read). The places are assigned in call
// order, each as low as it can go (its own lower bound, or just after what
// returned before its call); that least assignment fails exactly when no
// assignment exists. Two acknowledged writes with one revision are reported too.
//
// Not checked here: operations of unknown outcome and deletes whose revision the
// client did not learn (their place is unknown), not-found reads and refused
// writes (they observe a state the revisions do not name). Together with the
// per-key check this is still weaker than one search over all keys with a
// single revision-ordered model, which would lose P-compositionality.
import { describeStoreOperation, type StoreOperation } from './linearizability-model.js';

export interface RevisionViolation {
  /** Indexes in the history of the operations involved. */
  operations: number[];
  message: string;
}

interface Place {
  index: number;
  write: boolean;
  lo: number;
  hi: number;
  /** For a get: the acknowledged write that replaced what it read. */
  replacedBy?: number;
  /** The lowest place the order allows, set at its call. */
  at: number;
}

function name(history: readonly StoreOperation[], i: number): string {
  const op = history[i]!;
  const end = op.result ? `returned at ${op.result.at}` : 'outcome unknown';
  return `#${i} (client ${op.client}, ${JSON.stringify(op.input.key)}, called at ${op.call}, ${end}: ` +
    `${describeStoreOperation(op.input, op.result?.output)})`;
}

/** The lowest write above revision r, by binary search in `sorted` (ascending). */
function firstAbove(sorted: readonly { revision: number; index: number }[], r: number): { revision: number; index: number } | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.revision <= r) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

export function checkRevisionOrder(history: readonly StoreOperation[]): RevisionViolation | undefined {
  const byRevision = new Map<number, number>();
  const writesByKey = new Map<string, { revision: number; index: number }[]>();
  for (let i = 0; i < history.length; i++) {
    const o = history[i]!.result?.output;
    if (o?.type !== 'written' || o.revision === undefined) continue;
    const other = byRevision.get(o.revision);
    if (other !== undefined) {
      return {
        operations: [other, i],
        message: `two acknowledged writes returned revision ${o.revision}: ${name(history, other)} and ${name(history, i)}; ` +
          'every write must get a revision of its own',
      };
    }
    byRevision.set(o.revision, i);
    const key = history[i]!.input.key;
    let list = writesByKey.get(key);
    if (!list) writesByKey.set(key, (list = []));
    list.push({ revision: o.revision, index: i });
  }
  for (const list of writesByKey.values()) list.sort((a, b) => a.revision - b.revision);

  const places: Place[] = [];
  for (let i = 0; i < history.length; i++) {
    const o = history[i]!.result?.output;
    if (o?.type === 'written' && o.revision !== undefined) {
      places.push({ index: i, write: true, lo: o.revision, hi: o.revision, at: o.revision });
    } else if (o?.type === 'found') {
      const next = firstAbove(writesByKey.get(history[i]!.input.key) ?? [], o.resourceVersion);
      places.push({
        index: i, write: false, lo: o.resourceVersion, hi: next ? next.revision - 1 : Infinity, replacedBy: next?.index, at: o.resourceVersion,
      });
    }
  }
  // Calls before returns at equal times: the two are then concurrent, the weaker claim.
  const events: { time: number; isReturn: 0 | 1; place: Place }[] = [];
  for (const p of places) {
    const op = history[p.index]!;
    events.push({ time: op.call, isReturn: 0, place: p }, { time: op.result!.at, isReturn: 1, place: p });
  }
  events.sort((a, b) => a.time - b.time || a.isReturn - b.isReturn || a.place.index - b.place.index);

  let lastWrite: Place | undefined;
  let lastRead: Place | undefined;
  for (const { isReturn, place: p } of events) {
    if (isReturn) {
      if (p.write && (!lastWrite || p.at > lastWrite.at)) lastWrite = p;
      if (!p.write && (!lastRead || p.at > lastRead.at)) lastRead = p;
      continue;
    }
    if (p.write) {
      const before = lastWrite && lastWrite.at >= p.lo ? lastWrite : lastRead && lastRead.at >= p.lo ? lastRead : undefined;
      if (before) {
        const what = before.write
          ? `had already returned revision ${before.at}`
          : `had already returned, having read the store at revision ${before.at} or later,`;
        return {
          operations: [before.index, p.index],
          message: `revisions go backwards: ${name(history, p.index)} returned revision ${p.lo}, but ${name(history, before.index)} ` +
            `${what} before it was called; a write called later must get a higher revision`,
        };
      }
      continue;
    }
    const before = [lastWrite, lastRead].filter((x): x is Place => x !== undefined).sort((a, b) => b.at - a.at)[0];
    p.at = Math.max(p.lo, before?.at ?? 0);
    if (p.at > p.hi) {
      return {
        operations: [p.index, p.replacedBy!, before!.index],
        message: `stale read: ${name(history, p.index)} read the write of revision ${p.lo}, which ${name(history, p.replacedBy!)} ` +
          `replaced at revision ${p.hi + 1}; but it was called after ${name(history, before!.index)} had returned, ` +
          `which puts it at revision ${p.at} or later`,
      };
    }
  }
  return undefined;
}
