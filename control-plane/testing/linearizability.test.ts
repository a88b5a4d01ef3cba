// The search itself, on the simplest model there is: registers of one number,
// written and read. The store's model has its own tests (store-history-check.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLinearizable, type Model, type Operation } from './linearizability.js';

type In = { key: string; write?: number };
type Out = number | 'ok';

const register: Model<number, In, Out> = {
  partition: (i) => i.key,
  init: () => 0,
  step(s, i, o) {
    if (i.write !== undefined) return o === undefined ? [s, i.write] : [i.write];
    return o === undefined || o === s ? [s] : [];
  },
  stateKey: String,
  describeOperation: (i, o) => `${i.write === undefined ? 'read' : `write ${i.write}`} -> ${o ?? '?'}`,
  describeState: (s) => `value ${s}`,
};

function op(client: number, call: number, ret: number | undefined, key: string, write: number | undefined, output?: Out): Operation<In, Out> {
  return { client, input: { key, write }, call, ...(ret === undefined ? {} : { result: { output: output!, at: ret } }) };
}
const w = (client: number, call: number, ret: number | undefined, key: string, value: number): Operation<In, Out> =>
  op(client, call, ret, key, value, 'ok');
const r = (client: number, call: number, ret: number, key: string, value: number): Operation<In, Out> =>
  op(client, call, ret, key, undefined, value);

test('an empty history and a sequential one are linearizable', () => {
  assert.equal(checkLinearizable(register, []).result, 'ok');
  const h = [w(1, 0, 1, 'a', 1), r(1, 2, 3, 'a', 1), w(2, 4, 5, 'a', 2), r(1, 6, 7, 'a', 2)];
  const res = checkLinearizable(register, h);
  assert.deepEqual(res, { result: 'ok', partitions: 1, operations: 4, message: 'linearizable: 4 operations in 1 partitions' });
});

test('overlapping operations may take effect in the order that explains the results, whatever the call order', () => {
  // Reads that see 2 then 1 while both writes are in flight: write 2 first, then write 1.
  const h = [w(1, 0, 10, 'a', 1), w(2, 1, 10, 'a', 2), r(3, 2, 3, 'a', 2), r(3, 4, 5, 'a', 1), r(4, 11, 12, 'a', 1)];
  assert.equal(checkLinearizable(register, h).result, 'ok');
});

test('a read that goes back to an overwritten value is illegal, with the longest prefix, the stuck read and the candidates', () => {
  const h = [w(1, 0, 10, 'a', 1), w(2, 1, 10, 'a', 2), r(3, 2, 3, 'a', 1), r(3, 4, 5, 'a', 2), r(3, 6, 7, 'a', 1)];
  const res = checkLinearizable(register, h);
  assert.equal(res.result, 'illegal', res.message);
  assert.ok(res.result === 'illegal');
  assert.equal(res.key, 'a');
  assert.deepEqual(res.explanation.prefix.map((p) => p.index), [0, 2, 1, 3]);
  assert.deepEqual(res.explanation.states, ['value 2']);
  assert.equal(res.explanation.stuck.index, 4);
  assert.deepEqual(res.explanation.candidates.map((c) => [c.operation.index, c.why]), [[4, 'its result is impossible after the prefix']]);
  assert.equal(res.message, [
    'not linearizable: "a": at most 4 of its 5 operations can be linearized in order',
    'the longest linearizable prefix ends with:',
    '  #0 client 1 [0 .. 10] write 1 -> ok',
    '  #2 client 3 [2 .. 3] read -> 1',
    '  #1 client 2 [1 .. 10] write 2 -> ok',
    '  #3 client 3 [4 .. 5] read -> 2',
    'after it the key holds: value 2',
    'this operation could not be placed: #4 client 3 [6 .. 7] read -> 1',
    'operations that could have come next:',
    '  #4 client 3 [6 .. 7] read -> 1: its result is impossible after the prefix',
  ].join('\n'));
});

test('the partitions are checked apart, and the illegal one is named', () => {
  const h = [w(1, 0, 1, 'a', 1), w(1, 0, 1, 'b', 5), r(2, 2, 3, 'a', 1), r(2, 2, 3, 'b', 4)];
  const res = checkLinearizable(register, h);
  assert.equal(res.result, 'illegal');
  assert.ok(res.result === 'illegal');
  assert.equal(res.key, 'b');
  assert.deepEqual(res.explanation.prefix.map((p) => p.index), [1]);
});

test('an operation of unknown outcome may take effect after every return, or never', () => {
  const late = [w(1, 0, undefined, 'a', 1), r(2, 5, 6, 'a', 0), r(2, 100, 101, 'a', 1)];
  assert.equal(checkLinearizable(register, late).result, 'ok');
  const never = [w(1, 0, undefined, 'a', 1), r(2, 5, 6, 'a', 0), r(2, 100, 101, 'a', 0)];
  assert.equal(checkLinearizable(register, never).result, 'ok');
  const once = [w(1, 0, undefined, 'a', 1), r(2, 5, 6, 'a', 1), w(3, 7, 8, 'a', 2), r(2, 100, 101, 'a', 1)];
  assert.equal(checkLinearizable(register, once).result, 'illegal');
});

test('operations called at the time another returns are taken as concurrent', () => {
  const h = [w(1, 0, 5, 'a', 1), r(2, 5, 6, 'a', 0)];
  assert.equal(checkLinearizable(register, h).result, 'ok');
  assert.equal(checkLinearizable(register, [w(1, 0, 5, 'a', 1), r(2, 6, 7, 'a', 0)]).result, 'illegal');
});

/**
 * n writes in flight together whose outcomes are unknown, and a read of a value none
 * of them wrote: proving it illegal means trying every subset of the writes, 2^n.
 */
function pathological(n: number): Operation<In, Out>[] {
  const h: Operation<In, Out>[] = [];
  for (let i = 0; i < n; i++) h.push(w(i, 0, undefined, 'a', i + 1));
  h.push(r(n, 0, 1, 'a', -1));
  return h;
}

test('a search past its time budget answers unknown, naming the partition, on a fake clock', () => {
  let t = 0;
  const clock = { now: () => (t += 1) };
  const res = checkLinearizable(register, pathological(40), { timeBudgetMs: 50, clock });
  assert.equal(res.result, 'unknown');
  assert.match(res.message, /^the time budget of 50 ms ran out while checking "a" \(41 operations\)/);
});

test('a pathological history answers unknown within its budget on the real clock', () => {
  const started = performance.now();
  const res = checkLinearizable(register, pathological(40), { timeBudgetMs: 200 });
  const took = performance.now() - started;
  assert.equal(res.result, 'unknown');
  assert.ok(took < 2000, `took ${took} ms`);
});

test('a small illegal partition is found before a large one runs the budget out', () => {
  const h = [...pathological(40), w(1, 0, 1, 'b', 1), r(2, 2, 3, 'b', 2)];
  const res = checkLinearizable(register, h, { timeBudgetMs: 200 });
  assert.equal(res.result, 'illegal');
  assert.ok(res.result === 'illegal');
  assert.equal(res.key, 'b');
});

test('impossible times and budgets are refused', () => {
  assert.throws(() => checkLinearizable(register, [], { timeBudgetMs: 0 }), /timeBudgetMs must be a positive number: current value is 0/);
  assert.throws(() => checkLinearizable(register, [w(1, Number.NaN, 1, 'a', 1)]), /operation 0 must have a finite call time: current value is NaN/);
  assert.throws(() => checkLinearizable(register, [w(1, 3, 2, 'a', 1)]), /operation 0 must return at or after its call \(3\): current value is 2/);
});
