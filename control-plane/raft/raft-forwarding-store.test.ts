// The write barrier a follower waits on before it plans a write: it passes once a
// read index returns, waits out an election (no leader known) like a forwarded
// write, and gives up with UNAVAILABLE after the leader wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { writeBarrier } from './raft-forwarding-store.js';
import { NotLeaderError } from './raft-leadership.js';
import type { RaftStore } from './raft-store.js';

function storeAnswering(answers: (() => Promise<void>)[]): { store: RaftStore; calls: () => number } {
  let calls = 0;
  const store = { linearizableRead: () => (answers[Math.min(calls++, answers.length - 1)]!)() } as unknown as RaftStore;
  return { store, calls: () => calls };
}

const noLeader = () => Promise.reject(new NotLeaderError('cp2', ''));

test('the write barrier passes once a read index returns, after waiting out an election', async () => {
  const clock = new FakeClock();
  const { store, calls } = storeAnswering([noLeader, noLeader, () => Promise.resolve()]);
  let done = false;
  const barrier = writeBarrier(store, { clock, leaderWaitMs: 5000 }).then(() => { done = true; });
  await clock.advance(100);
  assert.equal(done, false, 'no leader yet: the write waits');
  await clock.advance(100);
  await barrier;
  assert.equal(calls(), 3);
});

test('the write barrier gives up with UNAVAILABLE when no leader is elected within the wait', async () => {
  const clock = new FakeClock();
  const { store } = storeAnswering([noLeader]);
  const barrier = writeBarrier(store, { clock, leaderWaitMs: 1000 }).then(() => undefined, (e: unknown) => e);
  await clock.advance(1200);
  const err = await barrier;
  assert.ok(err instanceof BrambleError);
  assert.equal(err.code, 'UNAVAILABLE');
  assert.match(err.message, /no leader answered a read index within 1000 ms/);
});

test('any other failure of the read index reaches the writer at once', async () => {
  const clock = new FakeClock();
  const { store, calls } = storeAnswering([() => Promise.reject(new BrambleError('STORE_FAILED', 'disk gone'))]);
  await assert.rejects(writeBarrier(store, { clock }), /disk gone/);
  assert.equal(calls(), 1);
});
