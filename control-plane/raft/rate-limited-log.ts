// A peer that sends garbage can send it fast: one warning per kind of problem per
// interval, with the number left unsaid, keeps the log readable and the SD card
// unworn while still saying that something is wrong and what.
import type { Clock } from '../../proto/util/clock.js';
import type { Logger } from '../../proto/util/log.js';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
  ) {}

  /** `key` names the kind of problem and the peer (a configured or certified name; never text a peer sent). */
  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
