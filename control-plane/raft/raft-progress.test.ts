import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inflights, Progress } from './raft-progress.js';
import { majorityCommitted, majorityVoteResult } from './raft-quorum.js';
import { ReadOnly } from './raft-read-only.js';
import { coalesceAppends } from './raft-coalesce.js';
import { message } from './raft-types.js';

test('the inflight window fills, frees up to an acknowledged index, and refuses to overflow', () => {
  const f = new Inflights(3);
  f.add(5);
  f.add(7);
  f.add(9);
  assert.equal(f.full(), true);
  assert.throws(() => f.add(10));
  f.freeLE(7);
  assert.equal(f.count(), 1);
  for (let i = 10; i < 100; i++) {
    f.add(i);
    f.freeLE(i - 1);
  }
  assert.equal(f.count(), 1);
  f.freeLE(1000);
  assert.equal(f.count(), 0);
});

test('a probing progress sends one message and waits; a replicating one streams up to its window', () => {
  const p = new Progress(5, 2, false);
  assert.equal(p.isPaused(), false);
  p.sentEntries(3);
  assert.equal(p.isPaused(), true, 'one probe at a time');
  assert.equal(p.next, 5, 'a probe does not move next');
  assert.equal(p.maybeUpdate(7), true);
  p.becomeReplicate();
  assert.equal(p.next, 8);
  p.sentEntries(2);
  p.sentEntries(2);
  assert.equal(p.next, 12);
  assert.equal(p.isPaused(), true, 'window of two full');
  p.maybeUpdate(9);
  p.inflights.freeLE(9);
  assert.equal(p.inflights.count(), 1);
});

test('a rejection moves a probe back to the hint, and a stale rejection is ignored', () => {
  const p = new Progress(10, 4, false);
  assert.equal(p.maybeDecrTo(5, 2), false, 'not about our last probe (next-1 = 9)');
  assert.equal(p.maybeDecrTo(9, 4), true);
  assert.equal(p.next, 5);
  const r = new Progress(10, 4, false);
  r.maybeUpdate(6);
  r.becomeReplicate();
  r.sentEntries(3);
  assert.equal(r.maybeDecrTo(5, 0), false, 'below match: stale');
  assert.equal(r.maybeDecrTo(8, 0), true);
  assert.equal(r.next, 7, 'back to match + 1');
});

test('after a snapshot the progress probes from past the snapshot index', () => {
  const p = new Progress(3, 4, false);
  p.becomeSnapshot(20);
  assert.equal(p.isPaused(), true);
  p.becomeProbe();
  assert.equal(p.next, 21);
});

test('the majority commit index is the highest index a majority holds', () => {
  const m = (xs: Record<string, number>) => majorityCommitted(Object.keys(xs), (id) => xs[id]);
  assert.equal(m({ a: 5 }), 5);
  assert.equal(m({ a: 5, b: 3 }), 3);
  assert.equal(m({ a: 5, b: 3, c: 1 }), 3);
  assert.equal(m({ a: 5, b: 4, c: 3, d: 2 }), 3);
  assert.equal(m({ a: 5, b: 4, c: 3, d: 2, e: 1 }), 3);
  assert.equal(majorityCommitted(['a', 'b', 'c'], () => undefined), 0);
  assert.equal(majorityCommitted([], () => 0), Infinity);
});

test('an election is won by a majority, lost once a majority is out of reach, else pending', () => {
  const v = (voters: string[], votes: Record<string, boolean>) => majorityVoteResult(voters, new Map(Object.entries(votes)));
  assert.equal(v(['a', 'b', 'c'], { a: true, b: true }), 'won');
  assert.equal(v(['a', 'b', 'c'], { a: true }), 'pending');
  assert.equal(v(['a', 'b', 'c'], { a: true, b: false, c: false }), 'lost');
  assert.equal(v(['a', 'b', 'c', 'd'], { a: true, b: true }), 'pending');
  assert.equal(v(['a', 'b', 'c', 'd'], { a: true, b: false, c: false }), 'lost');
  assert.equal(v(['a', 'b'], { x: true, y: true }), 'pending', 'votes of non-voters do not count');
});

test('ReadOnly confirms requests in order once a quorum acknowledged a position at or after them', () => {
  const ro = new ReadOnly();
  ro.addRequest(7, message({ type: 'MsgReadIndex', context: 'r1' }));
  const c1 = ro.heartbeatContext();
  ro.addRequest(8, message({ type: 'MsgReadIndex', context: 'r2' }));
  const c2 = ro.heartbeatContext();
  ro.recvAck('a', c2);
  ro.recvAck('b', c1);
  assert.deepEqual(ro.maybeAdvance(['a', 'b', 'c']).map((r) => [r.req.context, r.index]), [['r1', 7]]);
  ro.recvAck('c', 'garbage');
  assert.deepEqual(ro.maybeAdvance(['a', 'b', 'c']), []);
  ro.recvAck('c', c2);
  assert.deepEqual(ro.maybeAdvance(['a', 'b', 'c']).map((r) => r.req.context), ['r2']);
  assert.equal(ro.heartbeatContext(), '');
});

test('contiguous MsgApps to one follower leave as one, within maxSizePerMsg, and never across another message to it', () => {
  const app = (to: string, index: number, n: number, commit = 0) =>
    message({ type: 'MsgApp', to, term: 2, index, logTerm: 2, commit, entries: Array.from({ length: n }, (_, i) => ({ index: index + 1 + i, term: 2, type: 'normal' as const, data: 'x' })) });
  const out = coalesceAppends([app('b', 5, 1), app('c', 5, 1), app('b', 6, 2, 6), message({ type: 'MsgHeartbeat', to: 'b' }), app('b', 8, 1), app('c', 7, 1)], 1000);
  assert.deepEqual(out.map((m) => [m.type, m.to, m.index, m.entries.length, m.commit]), [
    ['MsgApp', 'b', 5, 3, 6], ['MsgApp', 'c', 5, 1, 0], ['MsgHeartbeat', 'b', 0, 0, 0], ['MsgApp', 'b', 8, 1, 0], ['MsgApp', 'c', 7, 1, 0],
  ]);
  assert.equal(coalesceAppends([app('b', 5, 1), app('b', 6, 1)], 30).length, 2, 'over the size limit');
});
