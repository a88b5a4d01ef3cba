// The simulation's only source of chance: a seeded PRNG (mulberry32) and
// forks of it, so one seed number replays a whole run — the nemesis, the
// network, the clients and each replica's election timer — step for step.
// Math.random is never used anywhere the simulation reaches.

/** splitmix32's finalizer: spreads nearby seeds (1, 2, 3 ...) over the whole state space. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class SimRandom {
  private state: number;

  constructor(seed: number) {
    this.state = mix(seed >>> 0);
  }

  /** [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi], both included. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** A random subset of exactly k items, in a random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.slice(0, k);
  }

  /** An independent stream named by `salt`; drawing from it never shifts this one. */
  fork(salt: string): SimRandom {
    return new SimRandom(mix(this.state ^ hashString(salt)));
  }

  /** A `() => number` for a RawNode's config. */
  asFunction(): () => number {
    return () => this.next();
  }
}
