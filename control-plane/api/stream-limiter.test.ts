import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBrambleError } from '../../proto/util/errors.js';
import { StreamLimiter } from './stream-limiter.js';

test('a client may hold the limit of streams, no more, and a released stream frees its place once', () => {
  const limiter = new StreamLimiter(2);
  const a = limiter.acquire('admin', 'Watch');
  limiter.acquire('admin', 'Logs');
  assert.throws(() => limiter.acquire('admin', 'Watch'), (e) => isBrambleError(e, 'RATE_LIMITED') && /Watch: admin must hold no more than 2 open streams/.test(e.message));
  // Other clients have their own budget.
  limiter.acquire('node "pi-1"', 'Tunnel');
  a();
  a();
  assert.equal(limiter.count('admin'), 1);
  limiter.acquire('admin', 'Watch');
  assert.equal(limiter.count('admin'), 2);
});
