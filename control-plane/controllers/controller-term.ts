// What every informer-fed controller does with one leadership term: take the
// manager's shared informers (or make its own when run alone, in tests), keep
// the removers of the handlers it adds, run its workers once the caches have
// synced, and on stop undo all of it and wait for the reconciles in flight.
// Most work a queue of keys; the node lifecycle sweeps on a timer and has none.
import { isBrambleError } from '../../proto/util/errors.js';
import type { Clock } from '../../proto/util/clock.js';
import type { Logger } from '../../proto/util/log.js';
import type { WorkQueue } from '../../proto/util/work-queue.js';
import type { Store } from '../store/store.js';
import type { ControllerContext } from './manager.js';
import { SharedInformers } from './shared-informers.js';

export class ControllerTerm {
  readonly informers: SharedInformers;
  private readonly abort = new AbortController();
  private readonly own: SharedInformers | undefined;
  private readonly removers: (() => void)[] = [];
  private running: Promise<void> | undefined;

  /** `queue` is left out by a controller that sweeps on a timer instead of working a queue of keys. */
  constructor(deps: { store: Store; clock: Clock; logger: Logger }, ctx: ControllerContext | undefined, private readonly queue?: WorkQueue) {
    ctx?.signal.addEventListener('abort', () => this.abort.abort(), { once: true });
    this.own = ctx ? undefined : new SharedInformers({ store: deps.store, clock: deps.clock, logger: deps.logger });
    this.informers = ctx?.informers ?? this.own!;
  }

  /** Keeps the remover of an event handler, called on stop. */
  handle(remove: () => void): void {
    this.removers.push(remove);
  }

  /** Starts informers of its own (the manager starts shared ones), then `work` once every cache has synced. */
  run(work: () => Promise<void>): void {
    this.own?.start();
    this.running = (async () => {
      if (await this.informers.waitForSync(this.abort.signal)) await work();
    })();
  }

  /** Stops taking events and resolves once the reconciles in flight have finished. */
  async stop(): Promise<void> {
    for (const remove of this.removers.splice(0)) remove();
    this.abort.abort();
    this.own?.stop();
    this.queue?.shutdown();
    await this.running;
  }
}

/** The runWorkers error callback: a conflict is routine (someone wrote first), anything else is worth a warning. */
export function logRetry(logger: Logger, field: string, what: string): (key: string, err: unknown) => void {
  return (key, err) => {
    const level = isBrambleError(err, 'CONFLICT') ? 'debug' : 'warn';
    logger[level]({ [field]: key, err }, `${what}; retrying with back-off`);
  };
}
