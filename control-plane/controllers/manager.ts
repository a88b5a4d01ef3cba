// The controller manager (kube-controller-manager, small): starts every controller
// together while this replica leads and stops them all when it stops leading.
// Each term gets fresh informers, so a new leader starts from a fresh list of the
// store rather than from whatever a previous term's cache last saw.
//
// Why stopping a controller mid-reconcile leaves nothing half-done:
// - each reconcile makes at most one step, and a step is one `propose` (a command
//   of one or more ops that commits atomically, or not at all). There is no
//   second write that a stop could keep from happening;
// - writes carry resourceVersion preconditions, so a step decided on a stale read
//   (by an old leader still finishing, or a new one) fails with CONFLICT instead of
//   overwriting someone else's change;
// - controllers are level-triggered: the next leader lists the store, every key
//   is enqueued again, and reconcile recomputes the next step from the state it
//   finds. A step that did not commit is simply decided again; one that did is
//   seen as done.
// stop() still awaits in-flight reconciles, so a controller's own in-memory state
// (the scheduler's "assumed" binds) is never read by the next term while a
// reconcile is still changing it, and nothing of a term outlives it.
import { setMaxListeners } from 'node:events';
import type { Clock } from '../../proto/util/clock.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { Store } from '../store/store.js';
import type { Leadership } from './leadership.js';
import { SharedInformers } from './shared-informers.js';

/** What a controller gets for one term of leadership. */
export interface ControllerContext {
  /** This term's informers, shared by all controllers; started after every controller's start(). */
  informers: SharedInformers;
  /** Aborted when the term ends (before stop() is called). */
  signal: AbortSignal;
}

export interface Controller {
  readonly name: string;
  /**
   * Adds event handlers to ctx.informers and starts the workers, which wait for the
   * informers' sync before their first reconcile. Must not itself wait for the sync:
   * the informers start only once every controller's start() has returned.
   */
  start(ctx: ControllerContext): void;
  /** Shuts the work queue down; resolves once in-flight reconciles have finished. */
  stop(): Promise<void>;
}

export interface ControllerManagerOptions {
  store: Store;
  clock: Clock;
  leadership: Leadership;
  controllers: Controller[];
  logger?: Logger;
}

interface Term {
  informers: SharedInformers;
  abort: AbortController;
  running: Controller[];
  /** Leadership was lost at some point of this term, even if it is back by now. */
  lost: boolean;
}

export class ControllerManager {
  private readonly opts: ControllerManagerOptions;
  private readonly logger: Logger;
  private term: Term | undefined;
  /** Transitions run one after another: a flap (lost, regained) never overlaps a stop with a start. */
  private transitions: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private closed = false;
  private terms = 0;

  constructor(opts: ControllerManagerOptions) {
    const names = opts.controllers.map((c) => c.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new Error(`two controllers are named "${twice}"`);
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger();
  }

  /** Follows leadership from now on; resolves once the controllers run (when leading). */
  start(): Promise<void> {
    if (this.started || this.closed) return this.transitions;
    this.started = true;
    this.unsubscribe = this.opts.leadership.onChange((leader) => {
      // A loss ends the term even when leadership is back before the manager acts:
      // another replica may have led in between, so this term's caches and
      // in-flight decisions are not to be trusted any more.
      if (!leader && this.term) this.term.lost = true;
      void this.follow();
    });
    return this.follow();
  }

  /** Stops following leadership and stops every controller; resolves once they have stopped. */
  stop(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    return this.follow();
  }

  /** Whether the controllers are running (this replica leads and the manager is started). */
  get running(): boolean {
    return this.term !== undefined;
  }

  /** Resolves once every leadership change seen so far has been acted on. */
  whenSettled(): Promise<void> {
    return this.transitions;
  }

  /** How many terms have started (for tests and logs). */
  get termCount(): number {
    return this.terms;
  }

  /** Brings the controllers in line with the current leadership, after any transition under way. */
  private follow(): Promise<void> {
    this.transitions = this.transitions.then(async () => {
      // Read now, not when the change was announced: a queued start after a later loss must not run.
      const lead = this.started && !this.closed && this.opts.leadership.isLeader();
      if (this.term && (!lead || this.term.lost)) await this.stopTerm(this.closed ? 'the manager is stopping' : 'leadership lost');
      if (lead && !this.term) this.startTerm();
    });
    return this.transitions;
  }

  private startTerm(): void {
    const informers = new SharedInformers({ store: this.opts.store, clock: this.opts.clock, logger: this.logger });
    const abort = new AbortController();
    // Every controller listens for the term's end: a dozen is expected, not a leak.
    setMaxListeners(50, abort.signal);
    const term: Term = { informers, abort, running: [], lost: false };
    this.term = term;
    this.terms++;
    for (const c of this.opts.controllers) {
      try {
        c.start({ informers, signal: abort.signal });
        term.running.push(c);
      } catch (err) {
        // One broken controller must not keep the others (the scheduler above all) from running.
        this.logger.error({ err, controller: c.name }, 'a controller failed to start');
      }
    }
    informers.start();
    this.logger.info({ controllers: term.running.map((c) => c.name), informers: informers.kinds(), term: this.terms }, 'leading: controllers started');
  }

  private async stopTerm(why: string): Promise<void> {
    const term = this.term!;
    // Informers first: no handler enqueues anything more and no worker is left waiting for a sync.
    term.abort.abort();
    term.informers.stop();
    await Promise.all(term.running.map(async (c) => {
      try {
        await c.stop();
      } catch (err) {
        this.logger.error({ err, controller: c.name }, 'a controller failed to stop cleanly');
      }
    }));
    this.term = undefined;
    this.logger.info({ controllers: term.running.map((c) => c.name), why }, 'controllers stopped');
  }
}
