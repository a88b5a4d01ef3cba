import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longTimeoutForTest, realClock } from './clock.js';

test('a real timer of more than 2^31-1 ms does not fire at once (Node would, with a warning)', async () => {
  let fired = false;
  const t = realClock.setTimeout(() => (fired = true), 2 ** 31 + 60_000);
  // Node's overflow fallback is a 1 ms timer: wait well past it.
  await new Promise((r) => setTimeout(r, 30));
  t.cancel();
  assert.equal(fired, false);
});

test('a long wait is chained in steps and fires once, no earlier than asked', async () => {
  const started = Date.now();
  const firedAt = await new Promise<number>((resolve) => {
    longTimeoutForTest(() => resolve(Date.now()), 40, 10);
  });
  assert.ok(firedAt - started >= 39, `fired after ${firedAt - started} ms`);
});

test('a cancelled chained wait never fires', async () => {
  let fired = false;
  const t = longTimeoutForTest(() => (fired = true), 30, 10);
  await new Promise((r) => setTimeout(r, 15));
  t.cancel();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(fired, false);
});
