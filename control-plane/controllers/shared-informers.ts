// One informer per kind, shared by every controller that watches that kind
// (client-go's SharedInformerFactory): one list, one watch and one cache per kind
// however many controllers read it. The controller manager makes a fresh set each
// time this replica becomes leader, so a new term never starts from a stale cache.
import type { Clock } from '../../proto/util/clock.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { KObject } from '../../proto/model.js';
import type { Store } from '../store/store.js';
import { Informer, waitForCacheSync } from './informer.js';

export interface SharedInformersOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer<KObject>>();
  private started = false;
  private stopped = false;

  constructor(private readonly opts: SharedInformersOptions) {}

  /**
   * The informer for `kind`, made on first use. One asked for after start() starts
   * at once. Controllers add their handlers before start() (in their own start), so
   * the initial list reaches them as adds; a later handler gets the cache replayed.
   */
  informer<T extends KObject = KObject>(kind: string): Informer<T> {
    let inf = this.informers.get(kind);
    if (!inf) {
      inf = new Informer({ store: this.opts.store, kind, clock: this.opts.clock, logger: this.opts.logger ?? silentLogger() });
      this.informers.set(kind, inf);
      if (this.started && !this.stopped) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /**
   * Starts every informer made so far, in the order they were asked for. All lists
   * and watch registrations happen in this one synchronous call, so with the store
   * as it is they all reflect the same revision.
   */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const inf of this.informers.values()) inf.stop();
  }

  kinds(): string[] {
    return [...this.informers.keys()];
  }

  /** Resolves true once every informer made so far has synced; false if the signal aborts first. */
  waitForSync(signal: AbortSignal): Promise<boolean> {
    return waitForCacheSync(signal, ...this.informers.values());
  }
}
