// A linearizability checker for recorded histories: the search of Wing & Gong
// with the memoization of Lowe ("Testing for linearizability", 2017), the way
// porcupine (github.com/anishathalye/porcupine) does it, written for Bramble.
//
// The history is split into partitions that cannot constrain each other (one
// per object key: P-compositionality, Herlihy & Wing), and each is searched on
// its own: walk the calls in time order, try to linearize an operation whose
// call comes before every return still pending, backtrack when a return is
// reached whose operation could not be placed. A (set of linearized
// operations, model state) pair that was tried once is never tried again, which
// is what keeps real histories fast.
//
// An operation whose outcome is unknown (the call timed out, the connection
// broke) has its return at +infinity: it may take effect at any point after its
// call, or never. Placed, the model's step (with output undefined) says what it
// may have done; never placed, it did nothing, so a partition is linearizable
// once every operation with a known outcome is placed. Placing one where it
// would change nothing (the state set stays the same) is never needed, since
// leaving it out leads to the same states, and is skipped: without that, every
// stale update or create of an existing key that timed out would double the
// pairs to try from then on; one the model calls dead (it can never take
// effect again) is dropped for good. A known operation that changes nothing
// where it can be placed (a read, a refused write) is placed there and not
// revisited: any way on can be reordered to start with it. The search runs
// against a time budget: a
// partition not decided in time makes the result `unknown`, never a verdict the
// search did not reach.
import { BrambleError } from '../../proto/util/errors.js';
import { realClock } from '../../proto/util/clock.js';
import { LinearizedSet } from './linearized-set.js';

export interface Operation<I, O> {
  /** Who issued it: for messages only, the check does not use it. */
  client: number | string;
  input: I;
  /** When the call was made, on a monotonic clock. */
  call: number;
  /** The answer and when it came; absent when the outcome is unknown. */
  result?: { output: O; at: number };
  /** Unknown outcome: when the client stopped waiting (for messages only; the op may still take effect later). */
  gaveUpAt?: number;
}

export interface Model<S, I, O> {
  /** The partition an operation belongs to: operations of different partitions never constrain each other. */
  partition(input: I): string;
  init(partition: string): S;
  /**
   * Every state the operation can leave behind when applied to `state` and answering
   * `output`; [] when the output is impossible from this state. Output undefined means
   * the outcome is unknown: the states if it took effect here are enough ("never" is
   * covered by not placing it), and the unchanged state may be among them.
   */
  step(state: S, input: I, output: O | undefined): S[];
  /** Equal for equal states and only for them (memoization key). */
  stateKey(state: S): string;
  describeOperation(input: I, output: O | undefined): string;
  describeState(state: S): string;
  /**
   * An operation of unknown outcome that can take effect neither in `state` nor in any
   * state after it (an update whose resourceVersion the key has moved past): the search
   * drops it instead of trying it again at every step.
   */
  dead?(state: S, input: I): boolean;
  /** Operations that can neither change nor observe the state (a read of unknown outcome): left out of the search. */
  irrelevant?(input: I, output: O | undefined): boolean;
}

export interface CheckOptions {
  /** After this long the answer is `unknown` (default 10 s). */
  timeBudgetMs?: number;
  clock?: { now(): number };
}

/** One operation as a message names it. */
export interface OperationReport {
  /** Its index in the history given to the check. */
  index: number;
  client: number | string;
  call: number;
  /** undefined: outcome unknown. */
  return?: number;
  description: string;
}

export interface Explanation {
  /** The longest linearizable prefix the search found, in linearization order. */
  prefix: OperationReport[];
  /** What the partition may hold after it (several when unknown outcomes leave a choice). */
  states: string[];
  /** The operation that had to come next (the earliest return among those left) and could not. */
  stuck: OperationReport;
  /** Every operation that could have come next, and why it did not. */
  candidates: { operation: OperationReport; why: string }[];
}

export type CheckResult =
  | { result: 'ok'; partitions: number; operations: number; message: string }
  | { result: 'illegal'; key: string; explanation: Explanation; message: string }
  | { result: 'unknown'; key: string; message: string };

export const DEFAULT_TIME_BUDGET_MS = 10_000;
/** Search steps between two looks at the clock. */
const CLOCK_EVERY = 1024;
/** Lines of the prefix and of the candidates a message prints. */
const MESSAGE_PREFIX_OPS = 10;
const MESSAGE_CANDIDATES = 10;

interface Indexed<I, O> { op: Operation<I, O>; index: number }

/** Throws INVALID_ARGUMENT naming the first operation whose times cannot be. */
export function validateHistory<I, O>(history: readonly Operation<I, O>[]): void {
  history.forEach((op, i) => {
    if (!Number.isFinite(op.call)) {
      throw new BrambleError('INVALID_ARGUMENT', `operation ${i} must have a finite call time: current value is ${op.call}`);
    }
    if (op.result && !(Number.isFinite(op.result.at) && op.result.at >= op.call)) {
      throw new BrambleError('INVALID_ARGUMENT',
        `operation ${i} must return at or after its call (${op.call}): current value is ${op.result.at}`);
    }
  });
}

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>, history: readonly Operation<I, O>[], options: CheckOptions = {},
): CheckResult {
  validateHistory(history);
  const clock = options.clock ?? realClock;
  const budget = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  if (!(budget > 0)) throw new BrambleError('INVALID_ARGUMENT', `timeBudgetMs must be a positive number: current value is ${budget}`);
  const deadline = clock.now() + budget;
  const parts = new Map<string, Indexed<I, O>[]>();
  history.forEach((op, index) => {
    if (model.irrelevant?.(op.input, op.result?.output)) return;
    const key = model.partition(op.input);
    let list = parts.get(key);
    if (!list) parts.set(key, (list = []));
    list.push({ op, index });
  });
  // Small partitions first: a quick illegal verdict is not held up behind a slow search.
  const ordered = [...parts].sort((a, b) => a[1].length - b[1].length || (a[0] < b[0] ? -1 : 1));
  for (const [key, ops] of ordered) {
    const verdict = searchPartition(model, key, ops, clock, deadline);
    if (verdict === 'timeout') {
      return {
        result: 'unknown', key,
        message: `the time budget of ${budget} ms ran out while checking ${JSON.stringify(key)} (${ops.length} operations): ` +
          'the history is neither proven linearizable nor shown not to be',
      };
    }
    if (verdict !== 'ok') return { result: 'illegal', key, explanation: verdict, message: explanationMessage(key, ops.length, verdict) };
  }
  return {
    result: 'ok', partitions: parts.size, operations: history.length,
    message: `linearizable: ${history.length} operations in ${parts.size} partitions`,
  };
}

interface Keyed<S> { state: S; key: string }

/** Names a set of states, sorted by key. */
function statesKey<S>(states: readonly Keyed<S>[]): string {
  return states.length === 1 ? states[0]!.key : states.map((s) => s.key).join('\u0001');
}

function searchPartition<S, I, O>(
  model: Model<S, I, O>, partition: string, given: readonly Indexed<I, O>[], clock: { now(): number }, deadline: number,
): 'ok' | 'timeout' | Explanation {
  // Numbered in call order, the placed set stays a prefix plus a narrow window (linearized-set.ts).
  const ops = [...given].sort((a, b) => a.op.call - b.op.call || a.index - b.index);
  const n = ops.length;
  // Entry 2i is the call of operation i, entry 2i+1 its return.
  const time = (e: number): number => ((e & 1) === 0 ? ops[e >> 1]!.op.call : ops[e >> 1]!.op.result?.at ?? Infinity);
  // At equal times calls come first: the two operations are taken as concurrent, the weaker claim.
  const order = Array.from({ length: 2 * n }, (_, e) => e)
    .sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
  const rank = new Int32Array(2 * n);
  order.forEach((e, r) => { rank[e] = r; });
  const HEAD = 2 * n;
  const NIL = -1;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = HEAD;
  for (const e of order) { next[last] = e; prev[e] = last; last = e; }
  next[last] = NIL;

  const unlink = (e: number): void => {
    next[prev[e]!] = next[e]!;
    if (next[e] !== NIL) prev[next[e]!] = prev[e]!;
  };
  const relink = (e: number): void => {
    next[prev[e]!] = e;
    if (next[e] !== NIL) prev[next[e]!] = e;
  };
  // Dancing links: an operation taken out is put back in exactly the reverse order.
  const lift = (i: number): void => { unlink(2 * i); unlink(2 * i + 1); };
  const unlift = (i: number): void => { relink(2 * i + 1); relink(2 * i); };

  const stepAll = (states: readonly Keyed<S>[], i: number): Keyed<S>[] | undefined => {
    const { input, result } = ops[i]!.op;
    const out: Keyed<S>[] = [];
    for (const s of states) {
      for (const state of model.step(s.state, input, result?.output)) {
        const key = model.stateKey(state);
        if (!out.some((x) => x.key === key)) out.push({ state, key });
      }
    }
    if (out.length === 0) return undefined;
    if (out.length > 1) out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  };

  const placed = new LinearizedSet(n);
  const seen = new Map<string, Uint32Array[]>();
  /** Records (placed set, states); false when that pair was tried before. */
  const firstVisit = (states: readonly Keyed<S>[]): boolean => {
    const key = `${placed.hashKey()},${statesKey(states)}`;
    const bucket = seen.get(key);
    if (!bucket) {
      seen.set(key, [placed.window()]);
      return true;
    }
    if (bucket.some((w) => placed.sameWindow(w))) return false;
    bucket.push(placed.window());
    return true;
  };

  let states: Keyed<S>[] = [{ state: model.init(partition), key: '' }];
  states[0]!.key = model.stateKey(states[0]!.state);
  /** forced: not a choice to revisit (a dead operation dropped, or one that changed nothing). */
  const stack: { op: number; states: Keyed<S>[]; forced: boolean }[] = [];
  // The deepest stack seen, kept incrementally: entries below `low` have not changed since.
  const best: number[] = [];
  let low = 0;
  let steps = 0;
  // Known operations not placed yet; the unknown ones left over at the end never took effect.
  let knownLeft = ops.filter((x) => x.op.result).length;
  const place = (i: number, after: Keyed<S>[], forced: boolean): boolean => {
    placed.add(i);
    if (!firstVisit(after)) {
      placed.delete(i);
      return false;
    }
    stack.push({ op: i, states, forced });
    states = after;
    lift(i);
    if (ops[i]!.op.result) knownLeft--;
    return true;
  };
  let e = next[HEAD]!;
  while (knownLeft > 0) {
    if (++steps % CLOCK_EVERY === 0 && clock.now() > deadline) return 'timeout';
    let stuck = (e & 1) === 1;
    if (!stuck) {
      const i = e >> 1;
      const { input, result } = ops[i]!.op;
      if (!result && model.dead && states.every((s) => model.dead!(s.state, input))) {
        // Left in, it would be tried and skipped at every later step. If the node with it
        // dropped was searched before, this one is the same node and fails the same way.
        if (place(i, states, true)) { e = next[HEAD]!; continue; }
        stuck = true;
      } else {
        const after = stepAll(states, i);
        const same = after !== undefined && statesKey(after) === statesKey(states);
        if (same && result) {
          // It changes nothing here, so any way on from this node can be reordered to place
          // it first (later ops see the same states, or more): it is no choice.
          if (place(i, after, true)) { e = next[HEAD]!; continue; }
          stuck = true;
        } else if (after && !same && place(i, after, false)) {
          e = next[HEAD]!;
          continue;
        } else {
          e = next[e]!;
        }
      }
    }
    if (!stuck) continue;
    // The operation returning here is not linearized, and nothing called after its return may go first.
    if (stack.length > best.length) {
      best.length = low;
      for (let j = low; j < stack.length; j++) best.push(stack[j]!.op);
      low = stack.length;
    }
    for (;;) {
      const top = stack.pop();
      if (!top) return explain(model, partition, ops, best, rank, stepAll);
      low = Math.min(low, stack.length);
      placed.delete(top.op);
      states = top.states;
      unlift(top.op);
      if (ops[top.op]!.op.result) knownLeft++;
      e = next[2 * top.op]!;
      if (!top.forced) break;
    }
  }
  return 'ok';
}

function report<I, O>(model: Model<unknown, I, O>, x: Indexed<I, O>): OperationReport {
  return {
    index: x.index, client: x.op.client, call: x.op.call, return: x.op.result?.at,
    description: model.describeOperation(x.op.input, x.op.result?.output),
  };
}

/** Replays the longest prefix found and names what could not follow it. */
function explain<S, I, O>(
  model: Model<S, I, O>, partition: string, ops: readonly Indexed<I, O>[], best: readonly number[], rank: Int32Array,
  stepAll: (states: readonly Keyed<S>[], i: number) => Keyed<S>[] | undefined,
): Explanation {
  const init = model.init(partition);
  let states: Keyed<S>[] = [{ state: init, key: model.stateKey(init) }];
  for (const i of best) states = stepAll(states, i) ?? states;
  const placed = new Set(best);
  const left = ops.map((_, i) => i).filter((i) => !placed.has(i));
  const stuck = left.reduce((a, b) => (rank[2 * b + 1]! < rank[2 * a + 1]! ? b : a));
  const whyNot = (before: readonly Keyed<S>[], i: number): string => {
    const after = stepAll(before, i);
    if (!after) return 'its result is impossible after the prefix';
    if (!ops[i]!.op.result && statesKey(after) === statesKey(before)) return 'its outcome is unknown, and here it would change nothing';
    return 'it can follow the prefix, but then the rest of the history cannot be linearized';
  };
  const candidates = left
    .filter((i) => rank[2 * i]! < rank[2 * stuck + 1]!)
    .sort((a, b) => rank[2 * a]! - rank[2 * b]!)
    .map((i) => ({
      operation: report(model, ops[i]!),
      why: whyNot(states, i),
    }));
  return {
    prefix: best.map((i) => report(model, ops[i]!)),
    states: states.map((s) => model.describeState(s.state)),
    stuck: report(model, ops[stuck]!),
    candidates,
  };
}

function line(r: OperationReport): string {
  const end = r.return === undefined ? 'unknown' : String(r.return);
  return `#${r.index} client ${r.client} [${r.call} .. ${end}] ${r.description}`;
}

function explanationMessage(key: string, total: number, x: Explanation): string {
  const out = [
    `not linearizable: ${JSON.stringify(key)}: at most ${x.prefix.length} of its ${total} operations can be linearized in order`,
  ];
  if (x.prefix.length > 0) {
    const shown = x.prefix.slice(-MESSAGE_PREFIX_OPS);
    out.push(`the longest linearizable prefix ends with${x.prefix.length > shown.length ? ` (last ${shown.length})` : ''}:`);
    for (const r of shown) out.push(`  ${line(r)}`);
  }
  out.push(`after it the key holds: ${x.states.join(' or ')}`);
  out.push(`this operation could not be placed: ${line(x.stuck)}`);
  out.push('operations that could have come next:');
  for (const c of x.candidates.slice(0, MESSAGE_CANDIDATES)) out.push(`  ${line(c.operation)}: ${c.why}`);
  if (x.candidates.length > MESSAGE_CANDIDATES) out.push(`  ... and ${x.candidates.length - MESSAGE_CANDIDATES} more`);
  return out.join('\n');
}
