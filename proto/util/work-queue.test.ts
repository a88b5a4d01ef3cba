import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './clock.js';
import { WorkQueue, runWorkers, backoffDelay } from './work-queue.js';

describe('WorkQueue', () => {
  test('a key added twice before processing is handed out once', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  test('a key added while it is processed is queued again only after done', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    const k = await q.get();
    q.add('a');
    assert.equal(q.length, 0);
    q.done(k!);
    assert.equal(q.length, 1);
  });

  test('of two delayed adds the earlier deadline wins, whichever was asked first', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter('a', 30_000);
    q.addAfter('a', 200);
    await clock.advance(200);
    assert.equal(q.length, 1, 'a short retry does not wait behind a long resync');
    assert.equal(await q.get(), 'a');
    q.done('a');
    await clock.advance(30_000);
    assert.equal(q.length, 0, 'the later deadline was dropped, not kept as a second run');
    q.addAfter('b', 100);
    q.addAfter('b', 5_000);
    await clock.advance(100);
    assert.equal(q.length, 1);
  });

  test('failed keys come back after a delay that doubles up to the maximum', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock, { baseMs: 100, maxMs: 300 });
    q.addRateLimited('a');
    assert.equal(q.length, 0);
    await clock.advance(99);
    assert.equal(q.length, 0);
    await clock.advance(1);
    assert.equal(q.length, 1);
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelay(n, { baseMs: 100, maxMs: 300 })), [100, 200, 300, 300]);
  });

  test('workers retry a failing key and forget its failures once it succeeds', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock, { baseMs: 10, maxMs: 100 });
    let attempts = 0;
    const running = runWorkers(q, async () => {
      attempts++;
      if (attempts < 3) throw new Error('not yet');
    });
    q.add('k');
    await clock.advance(5);
    assert.equal(attempts, 1);
    await clock.advance(10);
    assert.equal(attempts, 2);
    await clock.advance(20);
    assert.equal(attempts, 3);
    assert.equal(q.failureCount('k'), 0);
    q.shutdown();
    await running;
  });
});
