// A Kubernetes-style work queue (client-go/util/workqueue), shared by the
// control plane's controllers and the agent's pod reconciler:
// - a key is never queued twice; a key being processed that is added again is
//   queued once more only after the current run finishes (no two runs of one key
//   at the same time);
// - failed keys are re-queued with exponential back-off, driven by an injected clock.
import type { Clock, Timer } from './clock.js';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 60_000 };

export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  if (failures <= 0) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(30, failures - 1));
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly clock: Clock,
    private readonly backoff: BackoffPolicy = DEFAULT_BACKOFF,
  ) {}

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.wake();
  }

  /**
   * Adds the key after ms. Of several calls for one key the earliest deadline
   * wins, whichever came first: a failed reconcile's short retry must not wait
   * behind a long resync queued before it.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.cancelDelayed(key);
      return this.add(key);
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  private cancelDelayed(key: string): void {
    this.delayed.get(key)?.timer.cancel();
    this.delayed.delete(key);
  }

  /** Re-queues a key that failed, waiting longer after each consecutive failure. */
  addRateLimited(key: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    this.addAfter(key, backoffDelay(n, this.backoff));
  }

  /** Clears the failure count of a key that succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get length(): number {
    return this.queue.length;
  }

  /** Resolves with the next key, or undefined once the queue is shut down. */
  async get(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.queue.shift()!;
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  /** Marks the end of processing; a key added meanwhile is queued again now. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

/**
 * Runs `reconcile` for queued keys with `workers` concurrent workers until the
 * queue shuts down. An error re-queues the key with back-off; success forgets it.
 */
export async function runWorkers(
  queue: WorkQueue,
  reconcile: (key: string) => Promise<void>,
  workers = 1,
  onError?: (key: string, err: unknown) => void,
): Promise<void> {
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await reconcile(key);
        queue.forget(key);
      } catch (err) {
        onError?.(key, err);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}
