import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CrashBackoff, PullBackoff } from './pod-backoff.js';

describe('CrashBackoff', () => {
  test('the wait starts at 10 s and doubles up to 5 minutes', () => {
    const b = new CrashBackoff();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) delays.push(b.remaining('p/app', { id: `a-${i}`, startedAt: 0, finishedAt: 1000 }, 1000).delayMs);
    assert.deepEqual(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  test('asking again about the same exit does not double the wait', () => {
    const b = new CrashBackoff();
    const exit = { id: 'a-0', startedAt: 0, finishedAt: 1000 };
    assert.equal(b.remaining('p/app', exit, 1000).remainingMs, 10_000);
    assert.equal(b.remaining('p/app', exit, 6000).remainingMs, 5000);
    assert.equal(b.remaining('p/app', exit, 6000).delayMs, 10_000);
  });

  test('a container that ran 10 minutes before exiting starts again from 10 s', () => {
    const b = new CrashBackoff();
    b.remaining('p/app', { id: 'a-0', startedAt: 0, finishedAt: 1 }, 1);
    assert.equal(b.remaining('p/app', { id: 'a-1', startedAt: 10, finishedAt: 20 }, 20).delayMs, 20_000);
    assert.equal(b.remaining('p/app', { id: 'a-2', startedAt: 0, finishedAt: 600_000 }, 600_000).delayMs, 10_000);
  });

  test('forgetting a pod resets its containers only', () => {
    const b = new CrashBackoff();
    b.remaining('p/app', { id: 'a-0', finishedAt: 0 }, 0);
    b.remaining('q/app', { id: 'b-0', finishedAt: 0 }, 0);
    b.forget('p/');
    assert.equal(b.remaining('p/app', { id: 'a-1', finishedAt: 0 }, 0).delayMs, 10_000);
    assert.equal(b.remaining('q/app', { id: 'b-1', finishedAt: 0 }, 0).delayMs, 20_000);
  });
});

describe('PullBackoff', () => {
  test('pulls wait 10 s after a failure, then 20 s, and a success clears it', () => {
    const b = new PullBackoff();
    assert.equal(b.failed('p/app', 'no route', 0), 10_000);
    assert.deepEqual(b.waiting('p/app', 4000), { remainingMs: 6000, message: 'no route' });
    assert.equal(b.waiting('p/app', 10_000), undefined);
    assert.equal(b.failed('p/app', 'no route', 10_000), 20_000);
    b.succeeded('p/app');
    assert.equal(b.waiting('p/app', 10_001), undefined);
    assert.equal(b.failed('p/app', 'x', 0), 10_000);
  });
});
