// Time is injected into everything that waits: queues, back-off, probes, heartbeats,
// CronJobs and (later) Raft timers. Logic never calls Date.now() or setTimeout directly.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
  /** Resolves after ms; a fake clock resolves it when advanced past that point. */
  sleep(ms: number): Promise<void>;
}

/**
 * Node fires a timer of more than 2^31-1 ms (24.8 days) at once, with only a
 * warning: a CronJob whose next run is a month away would wake its controller
 * every millisecond. Longer waits are made of steps of at most this.
 */
export const MAX_TIMER_STEP_MS = 2 ** 31 - 1;

/** setTimeout for any delay: waits of more than MAX_TIMER_STEP_MS are chained, so none fires early. */
function longTimeout(fn: () => void, ms: number, step = MAX_TIMER_STEP_MS): Timer {
  let handle: ReturnType<typeof setTimeout>;
  const due = Date.now() + ms;
  const arm = (left: number): void => {
    handle = setTimeout(() => {
      const rest = due - Date.now();
      if (rest > 0) arm(rest);
      else fn();
    }, Math.max(0, Math.min(left, step)));
  };
  arm(ms);
  return { cancel: () => clearTimeout(handle) };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    return longTimeout(fn, Number.isFinite(ms) ? ms : MAX_TIMER_STEP_MS);
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  },
  sleep: (ms) => new Promise((resolve) => { longTimeout(resolve, ms); }),
};

/** For tests of the chaining with short steps. */
export const longTimeoutForTest = longTimeout;

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
  cancelled: boolean;
}

/** A clock for tests: time moves only when `advance` is called. */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.schedule(fn, ms);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.schedule(fn, ms, Math.max(1, ms));
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve, ms));
  }

  /** Sets the time at once, as NTP does to a board that booted in 1970; timers due by then fire at the next advance. */
  setTime(ms: number): void {
    this.current = ms;
  }

  /** Number of timers still waiting to fire. */
  get pendingCount(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** Moves time forward, firing due timers in order; awaits microtasks between them. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.pending
        .filter((p) => !p.cancelled && p.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      if (next.every !== undefined) next.at += next.every;
      else this.pending = this.pending.filter((p) => p !== next);
      next.fn();
    }
    this.current = target;
    await flushMicrotasks();
  }

  private schedule(fn: () => void, ms: number, every?: number): Timer {
    const p: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.pending.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
        this.pending = this.pending.filter((x) => x !== p);
      },
    };
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
