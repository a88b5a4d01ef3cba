import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { NotLeaderError } from './raft-leadership.js';
import { leaderWaitingRead } from './raft-read-barrier.js';

describe('a linearizable read barrier during an election', () => {
  test('a read asked while no leader is known is answered once a leader is elected', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const read = leaderWaitingRead(async () => {
      calls++;
      // The election ends after 1.5 s.
      if (clock.now() < Date.UTC(2026, 0, 1) + 1_500) throw new NotLeaderError('cp2', '');
    }, { clock, leaderWaitMs: 5_000 });
    let done = false;
    const p = read().then(() => { done = true; });
    await clock.advance(1_000);
    assert.equal(done, false, 'still waiting while the election runs');
    await clock.advance(1_000);
    await p;
    assert.equal(done, true);
    assert.ok(calls > 1, `retried: ${calls} calls`);
  });

  test('a read is refused as UNAVAILABLE, naming the wait and the last refusal, when no leader comes in time', async () => {
    const clock = new FakeClock();
    const read = leaderWaitingRead(() => Promise.reject(new NotLeaderError('cp2', '')), { clock, leaderWaitMs: 2_000 });
    const p = assert.rejects(read(), (e: unknown) => e instanceof BrambleError && e.code === 'UNAVAILABLE'
      && /within 2000 ms/.test(e.message) && /knows no leader yet/.test(e.message));
    await clock.advance(2_500);
    await p;
  });

  test('a read dropped because the leader changed under it is asked again of the new leader', async () => {
    const clock = new FakeClock();
    const answers = [new BrambleError('UNAVAILABLE', 'the leader changed before the read was confirmed (now none): retry'), new NotLeaderError('cp2', '')];
    let calls = 0;
    const read = leaderWaitingRead(async () => {
      const e = answers[calls++];
      if (e) throw e;
    }, { clock });
    const p = read();
    await clock.advance(300);
    await p;
    assert.equal(calls, 3);
  });

  test('an error other than NOT_LEADER or UNAVAILABLE is passed on at once, without a retry', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const read = leaderWaitingRead(() => { calls++; return Promise.reject(new BrambleError('STORE_FAILED', 'disk gone')); }, { clock });
    await assert.rejects(read(), (e: unknown) => e instanceof BrambleError && e.code === 'STORE_FAILED');
    assert.equal(calls, 1);
  });
});
