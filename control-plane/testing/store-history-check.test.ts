import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLinearizable } from './linearizability.js';
import {
  acknowledgedRevisions, storeModel, type PreconditionCode, type StoreInput, type StoreOperation, type StoreOutput,
} from './linearizability-model.js';
import { checkStoreHistory, type StoreCheckResult } from './store-history-check.js';

const written = (revision?: number): StoreOutput => ({ type: 'written', revision });
const found = (value: string, resourceVersion: number): StoreOutput => ({ type: 'found', value, resourceVersion });
const absent: StoreOutput = { type: 'absent' };
const failed = (code: PreconditionCode): StoreOutput => ({ type: 'failed', code });
const create = (key: string, value: string): StoreInput => ({ type: 'create', key, value });
const update = (key: string, value: string, resourceVersion: number): StoreInput => ({ type: 'update', key, value, resourceVersion });
const del = (key: string, resourceVersion?: number): StoreInput => ({ type: 'delete', key, resourceVersion });
const get = (key: string): StoreInput => ({ type: 'get', key });

/** An operation over [call, ret]; no output: outcome unknown. */
function op(client: number, call: number, ret: number, input: StoreInput, output?: StoreOutput): StoreOperation {
  return output ? { client, input, call, result: { output, at: ret } } : { client, input, call, gaveUpAt: ret };
}

/** The per-key search alone, without the revision-order check. */
function perKey(history: StoreOperation[]): ReturnType<typeof checkLinearizable> {
  return checkLinearizable(storeModel({ acknowledged: acknowledgedRevisions(history) }), history);
}

function assertIllegal(r: StoreCheckResult | ReturnType<typeof checkLinearizable>, pattern?: RegExp): void {
  assert.equal(r.result, 'illegal', r.message);
  if (pattern) assert.match(r.message, pattern);
}

describe('histories that are not linearizable are reported illegal', () => {
  test('a stale read after an acknowledged update, by both the per-key search and the revision order', () => {
    const h = [
      op(1, 0, 1, create('k', 'a'), written(1)),
      op(1, 2, 3, update('k', 'b', 1), written(2)),
      op(2, 4, 5, get('k'), found('a', 1)),
    ];
    const r = perKey(h);
    assertIllegal(r, /"k"/);
    assert.ok(r.result === 'illegal');
    assert.equal(r.key, 'k');
    assert.equal(r.explanation.prefix.length, 2);
    assert.equal(r.explanation.stuck.index, 2);
    assert.deepEqual(r.explanation.states, ['"b" at resourceVersion 2']);
    assertIllegal(checkStoreHistory(h), /stale read/);
  });

  test('a lost acknowledged write: the key reads as absent after its create returned', () => {
    const h = [op(1, 0, 1, create('k', 'a'), written(1)), op(2, 2, 3, get('k'), absent)];
    assertIllegal(checkStoreHistory(h), /this operation could not be placed: #1 client 2 \[2 \.\. 3\] get -> not found/);
  });

  test('a lost acknowledged write: a later update does not see it and succeeds on the old version', () => {
    const h = [
      op(1, 0, 1, create('k', 'a'), written(1)),
      op(1, 2, 3, update('k', 'b', 1), written(2)),
      op(2, 4, 5, update('k', 'c', 1), written(3)),
    ];
    assertIllegal(checkStoreHistory(h));
  });

  test('two creates of one key both succeeding, even when concurrent', () => {
    const h = [op(1, 0, 10, create('k', 'a'), written(1)), op(2, 0, 10, create('k', 'b'), written(2))];
    assertIllegal(checkStoreHistory(h), /create "b" -> ok at revision 2|create "a" -> ok at revision 1/);
  });

  test('a read of a value that was never written', () => {
    const h = [op(1, 0, 1, create('k', 'a'), written(1)), op(2, 0, 5, get('k'), found('z', 1))];
    assertIllegal(checkStoreHistory(h), /its result is impossible after the prefix/);
    assertIllegal(checkStoreHistory([op(1, 0, 1, create('k', 'a'), written(1)), op(2, 0, 5, get('k'), found('a', 7))]));
  });

  test('a write whose revision goes backwards after another key\'s write returned', () => {
    const h = [op(1, 0, 1, create('x', 'a'), written(5)), op(2, 2, 3, create('y', 'b'), written(3))];
    assert.equal(perKey(h).result, 'ok');
    assertIllegal(checkStoreHistory(h), /revisions go backwards: #1 .* returned revision 3, but #0 .* had already returned revision 5/);
  });

  test('a write whose revision goes backwards on its own key', () => {
    const h = [
      op(1, 0, 1, create('k', 'a'), written(5)),
      op(1, 2, 3, update('k', 'b', 5), written(3)),
    ];
    assertIllegal(perKey(h));
    assertIllegal(checkStoreHistory(h));
  });

  test('a write called after a read returned gets a revision no higher than what the read saw', () => {
    const h = [
      op(1, 0, 10, create('x', 'a'), written(4)),
      op(2, 2, 3, get('x'), found('a', 4)),
      op(3, 4, 5, create('y', 'b'), written(2)),
    ];
    assertIllegal(checkStoreHistory(h), /having read the store at revision 4 or later/);
  });

  test('two acknowledged writes with one revision', () => {
    const h = [op(1, 0, 10, create('x', 'a'), written(4)), op(2, 0, 10, create('y', 'b'), written(4))];
    assertIllegal(checkStoreHistory(h), /two acknowledged writes returned revision 4/);
  });

  test('a read that is stale only in revision order: another key was written at a later revision before it was called', () => {
    const h = [
      op(1, 0, 1, create('x', 'a'), written(1)),
      op(1, 2, 20, update('x', 'b', 1), written(3)),
      op(2, 5, 6, create('y', 'c'), written(4)),
      op(3, 10, 11, get('x'), found('a', 1)),
    ];
    assert.equal(perKey(h).result, 'ok', 'per key, the get may come before the concurrent update');
    assertIllegal(checkStoreHistory(h), /stale read: #3 .* replaced at revision 3; but it was called after #2 .* which puts it at revision 4 or later/);
  });

  test('an update that succeeds on a resourceVersion the key never had', () => {
    const h = [op(1, 0, 1, create('k', 'a'), written(1)), op(1, 2, 3, update('k', 'b', 7), written(2))];
    assertIllegal(checkStoreHistory(h));
  });

  test('a conflict reported when the resourceVersion did match', () => {
    const h = [op(1, 0, 1, create('k', 'a'), written(1)), op(1, 2, 3, update('k', 'b', 1), failed('CONFLICT'))];
    assertIllegal(checkStoreHistory(h));
  });

  test('a delete acknowledged, then the old value read again', () => {
    const h = [
      op(1, 0, 1, create('k', 'a'), written(1)),
      op(1, 2, 3, del('k'), written(2)),
      op(2, 4, 5, get('k'), found('a', 1)),
    ];
    assertIllegal(checkStoreHistory(h));
  });
});

describe('legal concurrent histories are ok', () => {
  test('reads concurrent with an update may see either version, in either order of their calls', () => {
    const h = [
      op(1, 0, 1, create('k', 'a'), written(1)),
      op(1, 2, 10, update('k', 'b', 1), written(2)),
      op(2, 3, 4, get('k'), found('b', 2)),
      op(3, 3, 9, get('k'), found('b', 2)),
      op(4, 2, 3, get('k'), found('a', 1)),
    ];
    const r = checkStoreHistory(h);
    assert.equal(r.result, 'ok', r.message);
  });

  test('concurrent creates: one wins, the other gets ALREADY_EXISTS, though it was called first', () => {
    const h = [
      op(1, 0, 10, create('k', 'a'), failed('ALREADY_EXISTS')),
      op(2, 1, 5, create('k', 'b'), written(1)),
      op(3, 6, 7, get('k'), found('b', 1)),
    ];
    assert.equal(checkStoreHistory(h).result, 'ok');
  });

  test('conflicts, not-founds and re-creation after a delete', () => {
    const h = [
      op(1, 0, 1, update('k', 'x', 3), failed('NOT_FOUND')),
      op(1, 2, 3, create('k', 'a'), written(1)),
      op(2, 2, 9, update('k', 'b', 1), written(2)),
      op(3, 2, 9, update('k', 'c', 1), failed('CONFLICT')),
      op(1, 4, 8, del('k', 1), failed('CONFLICT')),
      op(1, 10, 11, del('k', 2), written(3)),
      op(2, 12, 13, del('k'), failed('NOT_FOUND')),
      op(2, 14, 15, get('k'), absent),
      op(3, 14, 20, create('k', 'd'), written(7)),
      op(4, 16, 17, create('j', 'e'), written(5)),
      op(2, 21, 22, get('k'), found('d', 7)),
    ];
    const r = checkStoreHistory(h);
    assert.equal(r.result, 'ok', r.message);
  });

  test('keys written by different clients interleave freely when their windows overlap', () => {
    const h = [
      op(1, 0, 10, create('x', 'a'), written(2)),
      op(2, 0, 10, create('y', 'b'), written(1)),
      op(3, 5, 6, get('x'), absent),
      op(3, 7, 8, get('y'), found('b', 1)),
    ];
    assert.equal(checkStoreHistory(h).result, 'ok');
  });
});

describe('operations whose outcome is unknown', () => {
  test('one that must have taken effect: its value is read later, at a revision then bound for later preconditions', () => {
    const h = [
      op(1, 0, 5, create('k', 'a')),
      op(2, 10, 11, get('k'), found('a', 7)),
      op(2, 12, 13, update('k', 'b', 7), written(8)),
    ];
    const r = checkStoreHistory(h);
    assert.equal(r.result, 'ok', r.message);
  });

  test('one that may never have taken effect, or only after the client gave up', () => {
    const h = [
      op(1, 0, 5, create('k', 'a')),
      op(2, 10, 11, get('k'), absent),
      op(2, 20, 21, get('k'), found('a', 9)),
    ];
    assert.equal(checkStoreHistory(h).result, 'ok');
    assert.equal(checkStoreHistory(h.slice(0, 2)).result, 'ok');
  });

  test('one cannot take effect before its call', () => {
    const h = [op(2, 0, 1, get('k'), found('a', 5)), op(1, 2, 3, create('k', 'a'))];
    assertIllegal(checkStoreHistory(h));
  });

  test('one cannot take effect twice: its value, once overwritten, does not come back', () => {
    const h = [
      op(1, 0, 5, create('k', 'a')),
      op(2, 10, 11, get('k'), found('a', 3)),
      op(2, 12, 13, update('k', 'b', 3), written(4)),
      op(2, 14, 15, get('k'), found('a', 3)),
    ];
    assertIllegal(checkStoreHistory(h));
  });

  test('one whose precondition could not hold cannot explain a read of its value', () => {
    const h = [
      op(1, 0, 1, create('k', 'a'), written(1)),
      op(1, 2, 3, update('k', 'b', 1), written(2)),
      op(2, 4, 5, update('k', 'c', 1)),
      op(3, 6, 7, get('k'), found('c', 5)),
    ];
    assertIllegal(checkStoreHistory(h));
  });

  test('its value cannot carry the revision of another acknowledged write', () => {
    const base = [
      op(1, 0, 1, create('x', 'a'), written(1)),
      op(1, 2, 3, update('x', 'b', 1)),
      op(2, 2, 3, create('y', 'c'), written(3)),
    ];
    assertIllegal(checkStoreHistory([...base, op(3, 4, 5, get('x'), found('b', 3))]));
    assert.equal(checkStoreHistory([...base, op(3, 4, 5, get('x'), found('b', 4))]).result, 'ok');
  });

  test('an unknown delete may explain a later absence, and nothing else', () => {
    const h = [
      op(1, 0, 1, create('k', 'a'), written(1)),
      op(1, 2, 3, del('k')),
      op(2, 4, 5, get('k'), absent),
    ];
    assert.equal(checkStoreHistory(h).result, 'ok');
    assertIllegal(checkStoreHistory([...h, op(2, 6, 7, get('k'), found('a', 1))]));
  });

  test('stale updates and creates of unknown outcome do not slow the search down', () => {
  // Each could take effect nowhere after its call; trying them in and out at every step would double the work each time.
  const h = [op(1, 0, 1, create('k', 'a'), written(1)), op(1, 2, 3, update('k', 'b', 1), written(2))];
  for (let c = 0; c < 60; c++) h.push(op(c + 2, 4, 5, c % 2 ? update('k', `x${c}`, 1) : create('k', `y${c}`)));
  h.push(op(99, 4, 5, get('k'), found('never written', 2)));
  const r = checkStoreHistory(h, { timeBudgetMs: 5000 });
  assertIllegal(r, /its outcome is unknown, and here it would change nothing/);
});

test('a read of unknown outcome constrains nothing', () => {
    const h = [op(1, 0, 1, create('k', 'a'), written(1)), op(2, 2, 3, get('k'))];
    assert.equal(checkStoreHistory(h).result, 'ok');
  });
});

test('the initial contents are the state before the history', () => {
  const initial = new Map([['k', { value: 'a', resourceVersion: 4 }]]);
  const h = [op(1, 0, 1, get('k'), found('a', 4)), op(1, 2, 3, update('k', 'b', 4), written(9))];
  assert.equal(checkStoreHistory(h, { initial }).result, 'ok');
  assertIllegal(checkStoreHistory(h));
});

test('a history the model cannot read is refused with the operation named', () => {
  assert.throws(() => checkStoreHistory([op(1, 0, 1, get('k'), written(3))]), /operation 0 must be a store operation the model knows: it is a get that answered "written"/);
  assert.throws(() => checkStoreHistory([op(1, 0, 1, create('k', 'a'), written())]), /answered revision undefined, not a revision/);
  assert.throws(() => checkStoreHistory([op(1, 0, 1, create('k', 'a'), failed('CONFLICT'))]), /is a create that failed with CONFLICT/);
  assert.throws(() => checkStoreHistory([op(1, 5, 1, get('k'), absent)]), /must return at or after its call \(5\): current value is 1/);
});

test('a pathological history answers unknown within the time budget, naming the key', () => {
  // 40 updates of unknown outcome in flight, any one of which may have won, and a read of
  // a value none of them wrote: proving it illegal means trying every subset of the 40 (2^40).
  const h = [op(1, 0, 1, create('k', 'a'), written(1))];
  for (let c = 0; c < 40; c++) h.push(op(c + 2, 2, 3, update('k', `b${c}`, 1)));
  h.push(op(99, 2, 3, get('k'), found('never written', 1)));
  for (let i = 0; i < 2000; i++) h.push(op(100 + (i % 5), 10 + i, 10 + i, create(`other${i}`, 'x'), written(100 + i)));
  const started = performance.now();
  const r = checkStoreHistory(h, { timeBudgetMs: 300 });
  const took = performance.now() - started;
  assert.equal(r.result, 'unknown', r.message);
  assert.equal(r.key, 'k');
  assert.match(r.message, /^the time budget of 300 ms ran out while checking "k" \(42 operations\)/);
  assert.ok(took < 3000, `took ${took.toFixed(0)} ms`);
});
