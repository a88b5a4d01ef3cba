// Records what a fault test's clients did: each operation's call, its return
// and what it answered, or that its outcome stayed unknown. The times come from
// an injected monotonic clock: a wall clock that NTP steps back would make a
// return come before its call and turn a good history into a wrong verdict.
// Inputs and outputs are copied when recorded, so a client reusing its objects
// cannot rewrite the past.
import { BrambleError } from '../../proto/util/errors.js';
import type { Operation } from './linearizability.js';

export interface MonotonicClock {
  now(): number;
}

/** performance.now(): milliseconds that never go backwards, unlike Date.now(). */
export const monotonicClock: MonotonicClock = { now: () => performance.now() };

export interface PendingCall {
  readonly id: number;
}

/** What `record` hands back; it never throws for the call's own failure. */
export type Recorded<O> = { outcome: 'answered'; output: O } | { outcome: 'unknown'; error: unknown };

interface Entry<I, O> {
  client: number | string;
  input: I;
  call: number;
  result?: { output: O; at: number };
  gaveUpAt?: number;
  done: boolean;
}

export class HistoryRecorder<I, O> {
  private readonly entries: Entry<I, O>[] = [];
  private last = -Infinity;

  constructor(private readonly clock: MonotonicClock) {}

  /** Marks the call; end it with `answered` or `unknown`. */
  call(client: number | string, input: I): PendingCall {
    const call = this.tick();
    this.entries.push({ client, input: structuredClone(input), call, done: false });
    return { id: this.entries.length - 1 };
  }

  /** The call came back with a definite answer (a refused precondition is one). */
  answered(pending: PendingCall, output: O): void {
    const e = this.open(pending);
    e.result = { output: structuredClone(output), at: this.tick() };
    e.done = true;
  }

  /** The outcome is unknown (timeout, broken connection): it may take effect later, or never. */
  unknown(pending: PendingCall): void {
    const e = this.open(pending);
    e.gaveUpAt = this.tick();
    e.done = true;
  }

  /**
   * Runs one attempt of an operation and records it. `outcomeOfError` turns a failure
   * into a definite answer, or undefined when the outcome is unknown.
   */
  async record(
    client: number | string, input: I, run: () => Promise<O>, outcomeOfError: (error: unknown) => O | undefined,
  ): Promise<Recorded<O>> {
    const pending = this.call(client, input);
    let output: O;
    try {
      output = await run();
    } catch (error) {
      const answer = outcomeOfError(error);
      if (answer === undefined) {
        this.unknown(pending);
        return { outcome: 'unknown', error };
      }
      this.answered(pending, answer);
      return { outcome: 'answered', output: answer };
    }
    this.answered(pending, output);
    return { outcome: 'answered', output };
  }

  /** Operations called and not yet ended. */
  get inFlight(): number {
    return this.entries.filter((e) => !e.done).length;
  }

  /** Every operation so far, in call order; those still in flight have an unknown outcome. */
  history(): Operation<I, O>[] {
    return this.entries.map((e) => {
      const op: Operation<I, O> = { client: e.client, input: structuredClone(e.input), call: e.call };
      if (e.result) op.result = structuredClone(e.result);
      if (e.gaveUpAt !== undefined) op.gaveUpAt = e.gaveUpAt;
      return op;
    });
  }

  private open(pending: PendingCall): Entry<I, O> {
    const e = this.entries[pending.id];
    if (!e) throw new BrambleError('INVALID_ARGUMENT', `pending call ${pending.id} was not made by this recorder`);
    if (e.done) throw new BrambleError('INVALID_ARGUMENT', `operation ${pending.id} must end once: it has already ended`);
    return e;
  }

  private tick(): number {
    const now = this.clock.now();
    if (!(now >= this.last)) {
      throw new BrambleError('INTERNAL', `the history clock must never go backwards: it read ${now} after ${this.last}`);
    }
    this.last = now;
    return now;
  }
}
