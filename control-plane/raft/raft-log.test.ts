import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog } from './raft-log.js';
import { isStorageError, MemoryStorage } from './raft-memory-storage.js';
import type { Entry } from './raft-types.js';

const terms = (from: number, ...ts: number[]): Entry[] => ts.map((term, i) => ({ index: from + i, term, type: 'normal', data: `d${from + i}` }));

function logWith(stable: Entry[], unstable: Entry[] = []): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  storage.append(stable);
  const log = new RaftLog(storage, Infinity);
  if (unstable.length > 0) log.append(unstable);
  return { log, storage };
}

test('the log reads across storage and the unstable tail', () => {
  const { log } = logWith(terms(1, 1, 1), terms(3, 2, 2));
  assert.equal(log.firstIndex(), 1);
  assert.equal(log.lastIndex(), 4);
  assert.equal(log.stableLastIndex(), 2);
  assert.deepEqual(log.slice(2, 5).map((e) => e.index), [2, 3, 4]);
  assert.deepEqual([log.term(0), log.term(2), log.term(3)], [0, 1, 2]);
  assert.throws(() => log.term(5), (e) => isStorageError(e, 'unavailable'));
  assert.equal(log.termOrZero(5), 0);
});

test('slice honours the size limit across storage and the unstable tail, and returns at least one entry', () => {
  const { log } = logWith(terms(1, 1, 1), terms(3, 1, 1));
  // each entry: 2 bytes of data + 24
  assert.equal(log.slice(1, 5, 0).length, 1);
  assert.equal(log.slice(1, 5, 52).length, 2);
  assert.equal(log.slice(1, 5, 78).length, 3);
  assert.equal(log.slice(3, 5, 26).length, 1);
  assert.equal(log.slice(1, 5).length, 4);
});

test('findConflict names the first entry that differs or is new', () => {
  const { log } = logWith(terms(1, 1, 2, 3));
  assert.equal(log.findConflict([]), 0);
  assert.equal(log.findConflict(terms(1, 1, 2, 3)), 0);
  assert.equal(log.findConflict(terms(2, 2, 3)), 0);
  assert.equal(log.findConflict(terms(2, 2, 3, 4, 4)), 4);
  assert.equal(log.findConflict(terms(2, 1, 4)), 2);
  assert.equal(log.findConflict(terms(3, 4)), 3);
});

test('findConflictByTerm finds the last index at or below the given one with a term at most the given term', () => {
  const { log } = logWith(terms(1, 1, 3, 3, 3, 5, 5));
  assert.deepEqual(log.findConflictByTerm(6, 4), [4, 3]);
  assert.deepEqual(log.findConflictByTerm(6, 5), [6, 5]);
  assert.deepEqual(log.findConflictByTerm(6, 2), [1, 1]);
  assert.deepEqual(log.findConflictByTerm(6, 0), [0, 0]);
  const compacted = new MemoryStorage();
  compacted.append(terms(1, 1, 3, 3, 3));
  compacted.compact(3);
  const l2 = new RaftLog(compacted, Infinity);
  assert.deepEqual(l2.findConflictByTerm(4, 2), [2, 0], 'below the first kept entry: unknown term');
});

test('maybeAppend checks the previous entry, drops a conflicting tail and commits no further than what it got', () => {
  const { log } = logWith(terms(1, 1, 2, 2));
  assert.equal(log.maybeAppend(3, 1, 3, terms(4, 3)), undefined, 'term mismatch at 3');
  assert.equal(log.maybeAppend(5, 2, 3, []), undefined, 'no entry 5');
  assert.equal(log.maybeAppend(1, 1, 10, terms(2, 3)), 2);
  assert.equal(log.lastIndex(), 2);
  assert.equal(log.term(2), 3);
  assert.equal(log.committed, 2, 'commit capped at the last new entry');
  assert.deepEqual(log.nextUnstableEntries().map((e) => e.index), [2]);
});

test('appending below the commit index is refused', () => {
  const { log } = logWith(terms(1, 1, 1));
  log.commitTo(2);
  assert.throws(() => log.append(terms(2, 2)), /committed/);
});

test('a commit index past the log is ignored', () => {
  const { log } = logWith(terms(1, 1));
  log.commitTo(5);
  assert.equal(log.committed, 0);
});

test('maybeCommit commits only an entry of the given term', () => {
  const { log } = logWith(terms(1, 1, 2));
  assert.equal(log.maybeCommit(1, 2), false);
  assert.equal(log.maybeCommit(2, 2), true);
  assert.equal(log.committed, 2);
});

test('entries handed out in a Ready are not handed out again, and become stable on advance unless replaced', () => {
  const { log } = logWith([], terms(1, 1, 1));
  log.commitTo(1);
  assert.deepEqual(log.nextUnstableEntries().map((e) => e.index), [1, 2]);
  assert.deepEqual(log.nextCommittedEntries().map((e) => e.index), [1]);
  log.acceptInProgress(2, false, 1);
  assert.equal(log.hasNextUnstableEntries(), false);
  assert.equal(log.hasNextCommittedEntries(), false);
  // A new leader's entry replaces 2 before the host finished persisting it.
  log.append(terms(2, 2));
  assert.deepEqual(log.nextUnstableEntries().map((e) => [e.index, e.term]), [[2, 2]]);
  log.stableTo(2, 1); // the old entry 2 was persisted: that does not make the new one stable
  assert.equal(log.stableLastIndex(), 0);
  log.stableTo(1, 1);
  assert.equal(log.stableLastIndex(), 1);
  log.stableTo(2, 2);
  assert.equal(log.stableLastIndex(), 2);
});

test('committed entries are bounded in size per Ready', () => {
  const storage = new MemoryStorage();
  storage.append(terms(1, 1, 1, 1, 1));
  const log = new RaftLog(storage, 60);
  log.commitTo(4);
  assert.deepEqual(log.nextCommittedEntries().map((e) => e.index), [1, 2]);
  log.acceptInProgress(undefined, false, 2);
  assert.deepEqual(log.nextCommittedEntries().map((e) => e.index), [3, 4]);
});

test('restoring a snapshot replaces the log and holds back committed entries until it is persisted', () => {
  const { log } = logWith(terms(1, 1, 1));
  log.restore({ meta: { index: 10, term: 3, confState: { voters: ['a'], learners: [] } }, data: 's' });
  assert.equal(log.firstIndex(), 11);
  assert.equal(log.lastIndex(), 10);
  assert.equal(log.term(10), 3);
  assert.equal(log.committed, 10);
  assert.equal(log.hasNextCommittedEntries(), false);
  assert.equal(log.pendingSnapshot()?.meta.index, 10);
  log.acceptInProgress(undefined, true, undefined);
  assert.equal(log.pendingSnapshot(), undefined, 'handed out once');
  log.stableSnapTo(10);
  assert.equal(log.hasPendingSnapshot(), false);
});

test('a candidate is up to date with a higher last term, or the same last term and at least our length', () => {
  const { log } = logWith(terms(1, 1, 2, 2));
  assert.equal(log.isUpToDate(3, 2), true);
  assert.equal(log.isUpToDate(4, 2), true);
  assert.equal(log.isUpToDate(2, 2), false);
  assert.equal(log.isUpToDate(1, 3), true);
  assert.equal(log.isUpToDate(9, 1), false);
});
