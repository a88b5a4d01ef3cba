// The simulated network between replicas: every message is copied (as if
// serialized), may be lost, duplicated or delayed (so reordered), and a cut
// link — one way or both — drops what crosses it at the moment it would be
// delivered. Time is in units, ten to a tick.
import type { Message, NodeId } from '../raft/raft-types.js';
import type { SimRandom } from './raft-sim-random.js';

export const UNITS_PER_TICK = 10;

export interface NetworkConditions {
  loss: number;
  duplicate: number;
  /** Delay in units, uniform in [minDelay, maxDelay]. */
  minDelay: number;
  maxDelay: number;
  /** The chance of a much longer delay (a stalled link), up to longDelay units. */
  longDelayChance: number;
  longDelay: number;
}

export const CALM: NetworkConditions = { loss: 0, duplicate: 0, minDelay: 1, maxDelay: 4, longDelayChance: 0, longDelay: 0 };

export function copyMessage(m: Message): Message {
  const c: Message = { ...m, entries: m.entries.map((e) => ({ ...e })) };
  if (m.snapshot !== undefined) {
    const meta = m.snapshot.meta;
    c.snapshot = { meta: { index: meta.index, term: meta.term, confState: { voters: [...meta.confState.voters], learners: [...meta.confState.learners] } }, data: m.snapshot.data };
  }
  return c;
}

export class SimNetwork {
  conditions: NetworkConditions = { ...CALM };
  /** Directed links that are cut: "from>to". */
  private readonly cut = new Set<string>();
  sent = 0;
  lost = 0;

  constructor(private readonly rng: SimRandom) {}

  /** When each copy of `m` sent now arrives: none if lost, two if duplicated. */
  deliveries(m: Message): { delay: number; m: Message }[] {
    this.sent++;
    const c = this.conditions;
    if (this.rng.chance(c.loss)) {
      this.lost++;
      return [];
    }
    const copies = this.rng.chance(c.duplicate) ? 2 : 1;
    const out: { delay: number; m: Message }[] = [];
    for (let i = 0; i < copies; i++) {
      const delay = this.rng.chance(c.longDelayChance) ? this.rng.between(c.maxDelay, Math.max(c.maxDelay, c.longDelay)) : this.rng.between(c.minDelay, c.maxDelay);
      out.push({ delay, m: copyMessage(m) });
    }
    return out;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Cuts every link between the two sides, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cutLink(x, y);
        this.cutLink(y, x);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  cutLinks(): number {
    return this.cut.size;
  }
}
