// Failed joins per source address. A join token's secret is 82 random bits, so
// guessing it is hopeless unless Join answers as fast as a board can ask; after
// LIMITS.maxFailedJoinsPerMinute failures in a minute an address is refused
// before its token is even looked at, until the oldest failure is a minute old.
// Memory is bounded: at most MAX_TRACKED addresses, the stalest dropped first.
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';


const WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;

export class JoinLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly clock: Clock, private readonly maxFailures: number = LIMITS.maxFailedJoinsPerMinute) {}

  /** Throws RATE_LIMITED when `source` failed too often in the last minute. */
  check(source: string): void {
    const recent = this.recent(source);
    if (recent.length < this.maxFailures) return;
    const waitS = Math.max(1, Math.ceil((recent[0]! + WINDOW_MS - this.clock.now()) / 1000));
    throw new BrambleError(
      'RATE_LIMITED',
      `too many failed join attempts from ${source}: must be no more than ${this.maxFailures} a minute; try again in ${waitS}s`,
    );
  }

  recordFailure(source: string): void {
    const recent = this.recent(source);
    recent.push(this.clock.now());
    // Re-inserting keeps the map in order of last failure, so the first key is the stalest.
    this.failures.delete(source);
    this.failures.set(source, recent);
    if (this.failures.size > MAX_TRACKED) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(source: string): number[] {
    const since = this.clock.now() - WINDOW_MS;
    const kept = (this.failures.get(source) ?? []).filter((t) => t > since);
    if (kept.length === 0) this.failures.delete(source);
    else this.failures.set(source, kept);
    return kept;
  }
}
