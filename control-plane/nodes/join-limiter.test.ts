import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { JoinLimiter } from './join-limiter.js';
import { peerAddress } from '../pki/auth.js';

test('an address is refused after ten failed joins in a minute, and let in again once the oldest is a minute old', async () => {
  const clock = new FakeClock(0);
  const limiter = new JoinLimiter(clock, 10);
  for (let i = 0; i < 10; i++) {
    limiter.check('10.0.0.5');
    limiter.recordFailure('10.0.0.5');
    await clock.advance(1000);
  }
  assert.throws(() => limiter.check('10.0.0.5'), (e) => isBrambleError(e, 'RATE_LIMITED') && /10\.0\.0\.5.*no more than 10 a minute; try again in 50s/.test(e.message));
  // Another board on the LAN is not punished for its neighbour.
  limiter.check('10.0.0.6');
  await clock.advance(50_001);
  limiter.check('10.0.0.5');
});

test('memory stays bounded however many addresses fail', () => {
  const clock = new FakeClock(0);
  const limiter = new JoinLimiter(clock, 1);
  for (let i = 0; i < 20_000; i++) limiter.recordFailure(`addr-${i}`);
  // The stalest addresses were forgotten, the latest are remembered.
  limiter.check('addr-0');
  assert.throws(() => limiter.check('addr-19999'), (e) => isBrambleError(e, 'RATE_LIMITED'));
});

test('the address of a gRPC peer is its host without the port', () => {
  assert.equal(peerAddress('ipv4:10.0.0.5:50123'), '10.0.0.5');
  assert.equal(peerAddress('ipv6:[::1]:4000'), '::1');
  assert.equal(peerAddress('127.0.0.1:35820'), '127.0.0.1');
  assert.equal(peerAddress('[fe80::1]:7443'), 'fe80::1');
  assert.equal(peerAddress('unix:/run/x.sock'), 'unix:/run/x.sock');
});
