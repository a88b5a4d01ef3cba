import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStorageError, MemoryStorage } from './raft-memory-storage.js';
import type { Entry } from './raft-types.js';

const ent = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: 'normal', data });

test('a new storage is empty, with the dummy entry at index 0', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
  assert.equal(s.term(0), 0);
  assert.deepEqual(s.initialState().confState, { voters: ['a', 'b', 'c'], learners: [] });
  assert.throws(() => s.term(1), (e) => isStorageError(e, 'unavailable'));
});

test('append replaces a conflicting tail and refuses a gap', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
  s.append([ent(2, 2, 'x')]);
  assert.equal(s.lastIndex(), 2);
  assert.deepEqual(s.entries(1, 3).map((e) => [e.term, e.data]), [[1, 'e1'], [2, 'x']]);
  assert.throws(() => s.append([ent(5, 2)]), (e) => isStorageError(e, 'unavailable'));
});

test('entries honours maxBytes but always returns at least one entry', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1, 'a'.repeat(100)), ent(2, 1, 'b'.repeat(100)), ent(3, 1)]);
  assert.equal(s.entries(1, 4, 10).length, 1);
  assert.equal(s.entries(1, 4, 250).length, 2);
  assert.equal(s.entries(1, 4).length, 3);
});

test('compaction keeps the term of the compacted index answerable and refuses reads below it', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 2), ent(3, 3)]);
  s.createSnapshot(2, { voters: ['a'], learners: [] }, 'state@2');
  s.compact(2);
  assert.equal(s.firstIndex(), 3);
  assert.equal(s.term(2), 2);
  assert.throws(() => s.term(1), (e) => isStorageError(e, 'compacted'));
  assert.throws(() => s.entries(2, 3), (e) => isStorageError(e, 'compacted'));
  assert.deepEqual(s.entries(3, 4).map((e) => e.data), ['e3']);
  assert.equal(s.logBytes(), 'e3'.length + 24);
});

test('applySnapshot replaces the log and refuses an older snapshot', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1)]);
  s.applySnapshot({ meta: { index: 10, term: 4, confState: { voters: ['a', 'b'], learners: ['c'] } }, data: '' });
  assert.equal(s.firstIndex(), 11);
  assert.equal(s.lastIndex(), 10);
  assert.equal(s.term(10), 4);
  assert.deepEqual(s.initialState().confState.learners, ['c']);
  assert.throws(
    () => s.applySnapshot({ meta: { index: 9, term: 4, confState: { voters: [], learners: [] } }, data: '' }),
    (e) => isStorageError(e, 'snapshot-out-of-date'),
  );
});
