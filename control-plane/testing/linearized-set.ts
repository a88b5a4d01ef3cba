// The set of operations a linearizability search has placed so far, as a
// bitset with an incremental hash, for memoizing (set, state) pairs. Operations
// are numbered in call order and placed roughly in that order, so a set is
// "every operation below `lowest`" plus a narrow window of bits above it: a
// memo entry keeps only that window, not the whole bitset, and a key with
// 50,000 operations costs a few words per visited pair rather than 6 KB.

/** Deterministic hash words (mulberry32), so a run is the same every time. */
function hashWords(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let a = seed;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = t ^ (t >>> 14);
  }
  return out;
}

export class LinearizedSet {
  private readonly bits: Uint32Array;
  private readonly z1: Int32Array;
  private readonly z2: Int32Array;
  private h1 = 0;
  private h2 = 0;
  /** Every operation below it is in the set. */
  private lowest = 0;
  /** No operation above it is in the set (-1 when empty). */
  private highest = -1;

  constructor(readonly size: number) {
    this.bits = new Uint32Array((size + 31) >>> 5);
    this.z1 = hashWords(size, 0x9e3779b9);
    this.z2 = hashWords(size, 0x85ebca6b);
  }

  has(i: number): boolean {
    return (this.bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  add(i: number): void {
    if (this.has(i)) return;
    this.flip(i);
    if (i > this.highest) this.highest = i;
    while (this.lowest < this.size && this.has(this.lowest)) this.lowest++;
  }

  delete(i: number): void {
    if (!this.has(i)) return;
    this.flip(i);
    if (i < this.lowest) this.lowest = i;
    while (this.highest >= 0 && !this.has(this.highest)) this.highest--;
  }

  /** Equal for equal sets; different sets collide only by chance (compare windows then). */
  hashKey(): string {
    return `${this.lowest},${this.h1},${this.h2}`;
  }

  /** The words from lowest's to highest's: together with lowest (in hashKey) they name the set exactly. */
  window(): Uint32Array {
    return this.highest < this.lowest ? new Uint32Array(0) : this.bits.slice(this.lowest >>> 5, (this.highest >>> 5) + 1);
  }

  /** Whether `w`, a window of a set with the same hashKey, is this set's. */
  sameWindow(w: Uint32Array): boolean {
    const start = this.lowest >>> 5;
    const length = this.highest < this.lowest ? 0 : (this.highest >>> 5) + 1 - start;
    if (w.length !== length) return false;
    for (let j = 0; j < length; j++) if (w[j] !== this.bits[start + j]) return false;
    return true;
  }

  private flip(i: number): void {
    this.bits[i >>> 5] ^= 1 << (i & 31);
    this.h1 ^= this.z1[i]!;
    this.h2 ^= this.z2[i]!;
  }
}
