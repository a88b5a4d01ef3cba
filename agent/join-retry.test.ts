// The first join through elections, with fake members and a fake clock.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FakeClock } from '../proto/util/clock.js';
import { BrambleError, isBrambleError, LEADER_ADDRESS_FIELD } from '../proto/util/errors.js';
import { silentLogger } from '../proto/util/log.js';
import { DEFAULT_JOIN_DEADLINE_MS, joinWithRetry, type JoinRetryOptions } from './join-retry.js';
import { ServerList } from './server-list.js';

const A = '10.0.0.1:7443';
const B = '10.0.0.2:7443';
const C = '10.0.0.3:7443';

function notLeader(leader?: string): BrambleError {
  return new BrambleError('NOT_LEADER', 'this control-plane member does not lead and did not act on the request: no leader known',
    leader ? [{ path: LEADER_ADDRESS_FIELD, message: leader }] : []);
}

function unreachable(address: string): BrambleError {
  return new BrambleError('UNAVAILABLE', `cannot reach ${address} to read its CA: connect ECONNREFUSED`);
}

/** Runs the join to its end, moving the fake clock a second at a time while it waits. */
async function settle<T>(clock: FakeClock, run: Promise<T>, maxMs = 10 * 60_000): Promise<{ value?: T; error?: unknown }> {
  let done: { value?: T; error?: unknown } | undefined;
  run.then((value) => { done = { value }; }, (error: unknown) => { done = { error }; });
  for (let waited = 0; !done && waited <= maxMs; waited += 1_000) await clock.advance(1_000);
  assert.ok(done, `the join must end within ${maxMs} ms of fake time`);
  return done;
}

function retry<T>(clock: FakeClock, servers: ServerList, joinAt: JoinRetryOptions<T>['joinAt'], extra: Partial<JoinRetryOptions<T>> = {}): Promise<T> {
  return joinWithRetry({ servers, joinAt, clock, logger: silentLogger(), ...extra });
}

describe('joinWithRetry', () => {
  test('during an election every member refuses, then the new leader takes the join', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const electedAt = start + 20_000;
    const calls: { address: string; at: number }[] = [];
    const servers = new ServerList([A, B, C]);
    const result = await settle(clock, retry(clock, servers, async (address) => {
      calls.push({ address, at: clock.now() });
      if (clock.now() < electedAt) throw notLeader();
      if (address !== B) throw notLeader(B);
      return 'joined';
    }));
    assert.equal(result.value, 'joined', `the join must succeed: ${String(result.error)}`);
    assert.equal(calls.at(-1)?.address, B);
    assert.equal(servers.current(), B, 'the list is left at the leader, where the agent connects next');
    const before = calls.filter((c) => c.at < electedAt);
    assert.ok(before.length >= 6, `members are tried again after each round: ${before.length} tries`);
    // The back-off (0.5, 1, 2, 4, 8 s...) keeps the rounds apart: 6 rounds of 3 in 20 s, no spinning.
    assert.ok(before.length <= 18, `rounds are paused (${before.length} tries in 20 s)`);
    const roundStarts = new Set(before.map((c) => c.at));
    assert.ok(roundStarts.size >= 3, `tries spread over time: ${[...roundStarts].map((t) => t - start).join(',')}`);
    assert.ok(clock.now() - electedAt < 20_000, 'the leader is reached within a back-off step of its election');
  });

  test('a NOT_LEADER that names the leader sends the next try there, even to a member not in the list', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const servers = new ServerList([A, B]);
    const result = await settle(clock, retry(clock, servers, async (address) => {
      calls.push(address);
      if (address === C) return 'joined';
      throw notLeader(C);
    }));
    assert.equal(result.value, 'joined');
    assert.deepEqual(calls, [A, C], 'straight from the follower to the leader it named');
    assert.ok(servers.all().includes(C), 'the named leader is learned');
  });

  test('an unreachable member is left for the next one without a pause', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const calls: string[] = [];
    const result = await settle(clock, retry(clock, new ServerList([A, B]), async (address) => {
      calls.push(address);
      if (address === A) throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: GrpcStatus.UNAVAILABLE });
      return 'joined';
    }));
    assert.equal(result.value, 'joined');
    assert.deepEqual(calls, [A, B]);
    assert.ok(clock.now() - start <= 1_000, 'within one round nothing waits');
  });

  test('at the deadline it fails with UNAVAILABLE, naming every member tried and what each answered', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const timeouts: number[] = [];
    const result = await settle(clock, retry(clock, new ServerList([A, B]), async (address, timeoutMs) => {
      timeouts.push(timeoutMs);
      throw address === A ? unreachable(A) : notLeader();
    }, { deadlineMs: 30_000 }));
    assert.ok(isBrambleError(result.error, 'UNAVAILABLE'), `expected UNAVAILABLE: ${String(result.error)}`);
    const message = (result.error as Error).message;
    assert.match(message, /within 30 s/);
    assert.ok(message.includes(`${A} (UNAVAILABLE: cannot reach ${A}`), message);
    assert.ok(message.includes(`${B} (NOT_LEADER:`), message);
    assert.ok(clock.now() - start <= 31_000, `gave up at the deadline, not after: ${clock.now() - start} ms`);
    assert.ok(timeouts.every((t) => t > 0 && t <= 30_000), `no try outlasts the deadline: ${timeouts.join(',')}`);
  });

  test('the default deadline is two minutes', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const result = await settle(clock, retry(clock, new ServerList([A]), async () => { throw unreachable(A); }));
    assert.ok(isBrambleError(result.error, 'UNAVAILABLE'));
    assert.equal(DEFAULT_JOIN_DEADLINE_MS, 120_000);
    const elapsed = clock.now() - start;
    assert.ok(elapsed >= 60_000 && elapsed <= 121_000, `gave up after ${elapsed} ms`);
  });

  for (const [code, message] of [
    ['TOKEN_INVALID', 'the join token is not valid'],
    ['CA_MISMATCH', "the server's CA does not match the token's"],
    ['INVALID_ARGUMENT', 'node name must be a DNS label'],
    ['NODE_NAME_TAKEN', 'node "pi-1" already joined with another key'],
  ] as const) {
    test(`${code} fails at once, with no second try`, async () => {
      const clock = new FakeClock();
      const calls: string[] = [];
      const result = await settle(clock, retry(clock, new ServerList([A, B, C]), async (address) => {
        calls.push(address);
        throw new BrambleError(code, message);
      }));
      assert.ok(isBrambleError(result.error, code), String(result.error));
      assert.equal((result.error as Error).message, message, 'the server\'s own error, unchanged');
      assert.deepEqual(calls, [A]);
      assert.equal(clock.pendingCount, 0, 'nothing left waiting');
    });
  }

  test('progress is logged at info: the member left, the next one, why and the pause', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const logger = pino({ level: 'info' }, sink);
    const result = await settle(clock, retry(clock, new ServerList([A, B]), async (address) => {
      if (address === A) throw notLeader(B);
      return 'joined';
    }, { logger }));
    assert.equal(result.value, 'joined');
    const moved = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.server === A);
    assert.ok(moved, `a line about ${A}: ${lines.join('')}`);
    assert.equal(moved.level, 30, 'info');
    assert.equal(moved.next, B);
    assert.equal(moved.why, 'NOT_LEADER');
    assert.equal(moved.delayMs, 0);
    // The retry is never handed the token or the CSR (agent-join.ts closes over them): only the address reaches it.
  });
});
