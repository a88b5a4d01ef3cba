// When a certificate is renewed, and the loop that renews them while a server or
// agent runs. Shared by the control plane (serving and replica certificates) and
// the agent (its node certificate), so both judge "due" the same way and
// `bramble certificate status` shows the same threshold.
import { X509Certificate } from 'node:crypto';
import type { Clock, Timer } from './clock.js';
import type { Logger } from './log.js';

const DAY = 24 * 3600 * 1000;
/** A leaf is renewed once less than this (or a third of its lifetime, when that is less) remains. */
export const RENEW_BEFORE = 30 * DAY;
/**
 * How often the loop looks. An hour is cheap, and polling (rather than one timer
 * set for the due date) copes with a clock that jumps when NTP first syncs.
 */
export const RENEWAL_CHECK_MS = 3600 * 1000;

export interface Validity {
  notBefore: number;
  notAfter: number;
}

/** notBefore/notAfter of the first certificate in a PEM, in ms since the epoch. */
export function certValidity(certPem: string): Validity {
  const c = new X509Certificate(certPem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
}

/** The moment a certificate becomes due for renewal. */
export function renewalDueAt(v: Validity): number {
  return v.notAfter - Math.min(RENEW_BEFORE, (v.notAfter - v.notBefore) / 3);
}

export interface RenewableCert {
  /** For logs: "serving", "replica", "node". */
  name: string;
  /** The certificate in use now. */
  validity(): Validity;
  /** Issues and installs a new one (on disk and in the running credentials). */
  renew(): Promise<void>;
  /** Due whatever its dates say: it is not from the CA it should be from now (a CA rotation). */
  stale?(): boolean;
  /** Reads what validity() and stale() judge, when that lives in a file another writer may change. */
  prepare?(): Promise<void>;
}

export interface CertRenewalLoopOptions {
  clock: Clock;
  logger: Logger;
  certs: RenewableCert[];
  checkEveryMs?: number;
}

/**
 * Looks at every certificate each `checkEveryMs` (and once at start) and renews
 * those that are due. A failed renewal is logged and tried again at the next
 * look: the old certificate stays in use, and is still valid for weeks.
 */
export class CertRenewalLoop {
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private readonly checkEveryMs: number;

  constructor(private readonly opts: CertRenewalLoopOptions) {
    this.checkEveryMs = opts.checkEveryMs ?? RENEWAL_CHECK_MS;
  }

  start(): void {
    if (this.timer) return;
    this.timer = this.opts.clock.setInterval(() => void this.check(), this.checkEveryMs);
    void this.check();
  }

  stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    return this.running ?? Promise.resolve();
  }

  /**
   * One look at every certificate, begun after this call: while a look runs, the next
   * one waits for it (and is shared by every call made meanwhile), so a change made
   * just before the call (a CA adopted) is never judged by a look that began earlier.
   */
  check(): Promise<void> {
    if (this.running) {
      this.queued ??= this.running.then(() => {
        this.queued = undefined;
        return this.check();
      });
      return this.queued;
    }
    this.running = this.checkAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async checkAll(): Promise<void> {
    for (const cert of this.opts.certs) {
      let v: Validity;
      try {
        await cert.prepare?.();
        v = cert.validity();
      } catch (err) {
        this.opts.logger.warn({ cert: cert.name, err: String(err) }, 'certificate could not be read: renewing it');
        v = { notBefore: 0, notAfter: 0 };
      }
      const due = renewalDueAt(v);
      const now = this.opts.clock.now();
      if (now < due && cert.stale?.() !== true) continue;
      try {
        await cert.renew();
        const next = cert.validity();
        this.opts.logger.info(
          { cert: cert.name, oldNotAfter: iso(v.notAfter), notAfter: iso(next.notAfter) },
          `renewed the ${cert.name} certificate before it expires`,
        );
      } catch (err) {
        this.opts.logger.warn(
          { cert: cert.name, notAfter: iso(v.notAfter), err: err instanceof Error ? err.message : String(err), retryInMs: this.checkEveryMs },
          `the ${cert.name} certificate is due for renewal but could not be renewed: the current one stays in use, trying again later`,
        );
      }
    }
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
