// A board without a real-time clock boots in 1970 (or at its last shutdown's
// time, with fake-hwclock) until NTP sets the time. Every certificate then looks
// "not yet valid", and judging them would fail each TLS handshake and crash-loop
// the service. Instead, before anything judges a certificate, wait for the clock
// to pass a floor no correct clock can be before.
import { X509Certificate } from 'node:crypto';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';

/**
 * No clock that is set is before this: earlier than any Bramble release, so
 * certificates issued by any Bramble are after it. A floor from this data dir's
 * own certificates (floorFromCertificates) is usually much later.
 */
export const RELEASE_FLOOR_MS = Date.UTC(2026, 0, 1);
export const CLOCK_POLL_MS = 5000;
/** How often the warning is repeated while waiting. */
export const CLOCK_WARN_EVERY_MS = 60_000;

/** The latest notBefore among the certificates in these PEMs (files that do not exist or do not parse count for nothing). */
export function floorFromCertificates(pems: (string | undefined)[]): number {
  let floor = RELEASE_FLOOR_MS;
  for (const pem of pems) {
    if (pem === undefined) continue;
    for (const one of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
      try {
        floor = Math.max(floor, Date.parse(new X509Certificate(one).validFrom));
      } catch {
        // An unreadable certificate is reported by whatever loads it.
      }
    }
  }
  return floor;
}

export interface SaneClockOptions {
  clock: Clock;
  logger: Logger;
  /** The earliest time that can be right (RELEASE_FLOOR_MS, or floorFromCertificates). */
  floorMs: number;
  /** For the log: what waits ("the agent", "the server"). */
  who: string;
  pollMs?: number;
  signal?: AbortSignal;
}

/** Resolves at once when the clock is past the floor; otherwise logs a warning and polls until it is. */
export async function waitForSaneClock(opts: SaneClockOptions): Promise<{ waitedMs: number }> {
  const { clock, logger, floorMs } = opts;
  if (clock.now() >= floorMs) return { waitedMs: 0 };
  const pollMs = opts.pollMs ?? CLOCK_POLL_MS;
  let waitedMs = 0;
  let warnedAt = -Infinity;
  while (clock.now() < floorMs) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (waitedMs - warnedAt >= CLOCK_WARN_EVERY_MS) {
      warnedAt = waitedMs;
      logger.warn(
        { now: new Date(clock.now()).toISOString(), notBefore: new Date(floorMs).toISOString(), waitedMs },
        `the system clock is before ${new Date(floorMs).toISOString()}, earlier than this cluster's certificates can be valid: ` +
          `${opts.who} waits for the time to be set (NTP; check \`timedatectl\`) instead of failing TLS handshakes`,
      );
    }
    await clock.sleep(pollMs);
    waitedMs += pollMs;
  }
  logger.info({ now: new Date(clock.now()).toISOString(), waitedMs }, `the system clock is set: ${opts.who} goes on`);
  return { waitedMs };
}
