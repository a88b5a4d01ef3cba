// Crash back-off per container, as the kubelet does it: the wait before a
// restart starts at 10 s and doubles up to 5 min; a container that ran for
// 10 min before it exited starts again from 10 s. One exit (identified by the
// id of the attempt that exited, unique per attempt) gets one delay however
// often it is asked about, so reconciling twice never doubles the wait.

export interface CrashBackoffPolicy {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_CRASH_BACKOFF: CrashBackoffPolicy = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

interface Entry {
  exitId: string;
  delayMs: number;
  until: number;
}

export interface ExitFacts {
  /** Id of the attempt that exited. */
  id: string;
  startedAt?: number;
  finishedAt?: number;
}

export class CrashBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: CrashBackoffPolicy = DEFAULT_CRASH_BACKOFF) {}

  /**
   * Milliseconds still to wait before restarting after this exit (0 or less:
   * restart now), plus the whole delay for messages. `key` names the container
   * across attempts, e.g. "<pod uid>/<container name>".
   */
  remaining(key: string, exit: ExitFacts, now: number): { remainingMs: number; delayMs: number } {
    let e = this.entries.get(key);
    if (!e || e.exitId !== exit.id) {
      const ranMs = exit.startedAt !== undefined && exit.finishedAt !== undefined ? exit.finishedAt - exit.startedAt : 0;
      const delayMs = !e || ranMs >= this.policy.resetAfterMs ? this.policy.initialMs : Math.min(this.policy.maxMs, e.delayMs * 2);
      e = { exitId: exit.id, delayMs, until: (exit.finishedAt ?? now) + delayMs };
      this.entries.set(key, e);
    }
    return { remainingMs: e.until - now, delayMs: e.delayMs };
  }

  /** Forgets every container whose key starts with `prefix` (a deleted pod's uid). */
  forget(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

/** Image pull back-off: same doubling, keyed by failure count instead of exits. */
export class PullBackoff {
  private readonly entries = new Map<string, { delayMs: number; until: number; message: string }>();

  constructor(private readonly policy: CrashBackoffPolicy = DEFAULT_CRASH_BACKOFF) {}

  failed(key: string, message: string, now: number): number {
    const prev = this.entries.get(key);
    const delayMs = prev ? Math.min(this.policy.maxMs, prev.delayMs * 2) : this.policy.initialMs;
    this.entries.set(key, { delayMs, until: now + delayMs, message });
    return delayMs;
  }

  /** While positive, pulls for this key are not tried; the last failure message comes with it. */
  waiting(key: string, now: number): { remainingMs: number; message: string } | undefined {
    const e = this.entries.get(key);
    return e && e.until > now ? { remainingMs: e.until - now, message: e.message } : undefined;
  }

  succeeded(key: string): void {
    this.entries.delete(key);
  }

  forget(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
