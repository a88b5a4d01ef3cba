// What the agent saw happen to its Pods, on its way to the control plane
// (Node.RecordEvents). Repeats are folded into a count here already, so a
// crash-looping container costs one line of a report every few seconds, not
// one call per restart; the control plane aggregates further and decides what
// reaches the disk. Bounded: with the control plane away, at most `maxPending`
// distinct events wait (the newest kept), and recording never blocks or throws.
import type { Clock, Timer } from '../proto/util/clock.js';
import type { Pod } from '../proto/model.js';
import type { PodEventReport } from '../proto/types.js';
import type { Logger } from '../proto/util/log.js';

export type PodEventType = 'Normal' | 'Warning';

/** How the reconciler and the prober record an event about a Pod (or one of its containers). */
export type RecordPodEvent = (pod: Pod, type: PodEventType, reason: string, message: string, container?: string) => void;

export interface PodEventBufferOptions {
  clock: Clock;
  /** Sends one batch; rejects when the control plane did not take it. */
  send(events: PodEventReport[]): Promise<void>;
  logger?: Logger;
  /** How often waiting events are sent; default 5 s. */
  flushMs?: number;
  /** Distinct events kept while unsent; default 256. */
  maxPending?: number;
  /** Events per call; the server takes at most 100. */
  maxBatch?: number;
}

/** Kubernetes' limit on a message; a longer one (a probe's output) is cut, not refused. */
const MAX_MESSAGE = 1024;

export class PodEventBuffer {
  private readonly pending = new Map<string, PodEventReport & { count: number }>();
  private timer: Timer | undefined;
  private sending = false;
  private stopped = false;
  dropped = 0;

  constructor(private readonly opts: PodEventBufferOptions) {}

  readonly record: RecordPodEvent = (pod, type, reason, message, container) => {
    if (this.stopped) return;
    const report: PodEventReport & { count: number } = {
      namespace: pod.metadata.namespace ?? 'default',
      podName: pod.metadata.name,
      podUid: pod.metadata.uid ?? '',
      fieldPath: container ? `spec.containers{${container}}` : '',
      type,
      reason,
      message: message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 3) + '...' : message,
      count: 1,
    };
    const key = JSON.stringify([report.podUid, report.fieldPath, type, reason, report.message]);
    const known = this.pending.get(key);
    if (known) {
      known.count++;
    } else {
      if (this.pending.size >= (this.opts.maxPending ?? 256)) {
        // Oldest out: the newest events say most about what is going on now.
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.dropped++;
      }
      this.pending.set(key, report);
    }
    this.schedule();
  };

  /** Events waiting to be sent (for tests). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends what is waiting now; resolves once tried. */
  async flush(): Promise<void> {
    this.timer = undefined;
    if (this.sending || this.pending.size === 0) return;
    this.sending = true;
    const batch = [...this.pending.entries()].slice(0, this.opts.maxBatch ?? 100);
    for (const [key] of batch) this.pending.delete(key);
    try {
      await this.opts.send(batch.map(([, r]) => r));
    } catch (err) {
      // Back in, counts merged with whatever repeated meanwhile, for the next try.
      for (const [key, r] of batch) {
        const again = this.pending.get(key);
        if (again) again.count += r.count;
        else if (this.pending.size < (this.opts.maxPending ?? 256)) this.pending.set(key, r);
        else this.dropped++;
      }
      this.opts.logger?.debug({ err: String(err), events: batch.length }, 'events not delivered; will retry');
    } finally {
      this.sending = false;
    }
    if (this.pending.size > 0) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.opts.clock.setTimeout(() => void this.flush(), this.opts.flushMs ?? 5_000);
  }
}
