import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { RaftClient } from '../../proto/generated/bramble/v1/Raft.js';
import type { RaftBatch } from '../../proto/types.js';
import { FakeClock } from '../../proto/util/clock.js';
import { silentLogger } from '../../proto/util/log.js';
import { PeerStream, type PeerStreamOptions } from './raft-peer-stream.js';
import { message } from './raft-types.js';
import { toWire } from './raft-wire.js';
import { RateLimitedLog } from './rate-limited-log.js';

/** One Send call as the lane sees it: the test accepts it, fails it, or takes its writes. */
class FakeCall extends EventEmitter {
  readonly batches: RaftBatch[] = [];
  readonly pendingWrites: (() => void)[] = [];
  cancelled = false;
  autoTake = true;

  constructor(readonly end: (err: grpc.ServiceError | null) => void) {
    super();
  }

  write(batch: RaftBatch, cb: () => void): boolean {
    this.batches.push(batch);
    if (this.autoTake) queueMicrotask(cb);
    else this.pendingWrites.push(cb);
    return true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  accept(): void {
    this.emit('metadata', new grpc.Metadata());
  }

  fail(code = grpc.status.UNAVAILABLE): void {
    this.end(Object.assign(new Error('down'), { code, details: 'connection refused', metadata: new grpc.Metadata() }) as grpc.ServiceError);
  }
}

class FakeDialer {
  readonly calls: FakeCall[] = [];
  readonly dialedAt: number[] = [];
  closed = 0;

  constructor(private readonly clock: FakeClock) {}

  dial = (): RaftClient => {
    this.dialedAt.push(this.clock.now());
    return {
      Send: (cb: (err: grpc.ServiceError | null) => void) => {
        const call = new FakeCall(cb);
        this.calls.push(call);
        return call;
      },
      close: () => {
        this.closed++;
      },
    } as unknown as RaftClient;
  };

  get last(): FakeCall {
    return this.calls[this.calls.length - 1]!;
  }
}

function lane(clock: FakeClock, dialer: FakeDialer, over: Partial<PeerStreamOptions> = {}): { s: PeerStream; unreachable: number[] } {
  const unreachable: number[] = [];
  const s = new PeerStream({
    peer: 'pi-2', address: '10.0.0.2:7443', lane: 'control', dial: dialer.dial, clock, logger: silentLogger(),
    warnings: new RateLimitedLog(silentLogger(), clock), maxQueueMessages: 100, maxQueueBytes: 1 << 20,
    backoff: { initialMs: 100, maxMs: 1000, random: () => 0.5 }, connectTimeoutMs: 5000, writeTimeoutMs: 20_000,
    onUnreachable: () => unreachable.push(clock.now()),
    ...over,
  });
  return { s, unreachable };
}

const hb = (n: number) => toWire(message({ type: 'MsgHeartbeat', from: 'pi-1', to: 'pi-2', term: 1, commit: n }));
const t0 = Date.UTC(2026, 0, 1);

describe('one lane to one peer', () => {
  test('messages queued while the call is being accepted go out together, in order, once it is', async () => {
    const clock = new FakeClock(t0);
    const dialer = new FakeDialer(clock);
    const { s } = lane(clock, dialer);
    for (let i = 1; i <= 5; i++) s.enqueue(hb(i));
    assert.equal(dialer.calls.length, 1, 'one dial for all of them');
    assert.equal(dialer.last.batches.length, 0, 'nothing is written before the peer accepts the call');
    dialer.last.accept();
    await clock.advance(0);
    assert.deepEqual(dialer.last.batches.map((b) => b.messages!.map((m) => m.commit)), [[1, 2, 3, 4, 5]]);
    assert.equal(s.connected, true);
    s.close();
  });

  test('failed connections are retried after 100, 200, 400, 800 then 1000 ms, each failure reported', async () => {
    const clock = new FakeClock(t0);
    const dialer = new FakeDialer(clock);
    const { s, unreachable } = lane(clock, dialer);
    s.enqueue(hb(1));
    for (const [i, delay] of [100, 200, 400, 800, 1000, 1000].entries()) {
      dialer.last.fail();
      s.enqueue(hb(i + 2)); // Raft keeps sending: the next attempt has something to carry
      await clock.advance(delay - 1);
      assert.equal(dialer.calls.length, i + 1, `no redial before ${delay} ms`);
      await clock.advance(1);
    }
    assert.deepEqual(dialer.dialedAt.map((t) => t - t0), [0, 100, 300, 700, 1500, 2500, 3500]);
    assert.equal(unreachable.length, 6);
    assert.equal(dialer.closed, 6, 'each failed channel is closed');
    // Once accepted, the delay starts again from the beginning.
    dialer.last.accept();
    await clock.advance(0);
    dialer.last.fail();
    s.enqueue(hb(9));
    await clock.advance(100);
    assert.equal(dialer.dialedAt.at(-1)! - dialer.dialedAt.at(-2)!, 100);
    s.close();
  });

  test('a lane with nothing to send does not redial after its back-off', async () => {
    const clock = new FakeClock(t0);
    const dialer = new FakeDialer(clock);
    const { s } = lane(clock, dialer);
    s.enqueue(hb(1));
    dialer.last.fail();
    await clock.advance(60_000);
    assert.equal(dialer.calls.length, 1);
    s.enqueue(hb(2));
    assert.equal(dialer.calls.length, 2);
    s.close();
  });

  test('a call not accepted in time, or a batch not taken in time, fails the lane', async () => {
    const clock = new FakeClock(t0);
    const dialer = new FakeDialer(clock);
    const { s, unreachable } = lane(clock, dialer);
    s.enqueue(hb(1));
    await clock.advance(5000);
    assert.equal(dialer.calls[0]!.cancelled, true);
    assert.equal(unreachable.length, 1);
    s.enqueue(hb(2));
    await clock.advance(100);
    dialer.last.autoTake = false;
    dialer.last.accept();
    await clock.advance(19_999);
    assert.equal(unreachable.length, 1);
    await clock.advance(1);
    assert.equal(unreachable.length, 2);
    assert.equal(dialer.last.cancelled, true);
    s.close();
  });

  test('a full queue drops, reporting once until a batch goes out again', async () => {
    const clock = new FakeClock(t0);
    const dialer = new FakeDialer(clock);
    const { s, unreachable } = lane(clock, dialer, { maxQueueMessages: 3 });
    const accepted = [1, 2, 3, 4, 5].map((n) => s.enqueue(hb(n)));
    assert.deepEqual(accepted, [true, true, true, false, false]);
    assert.equal(unreachable.length, 1);
    dialer.last.accept();
    await clock.advance(0);
    assert.equal(s.queued, 0);
    // One batch in flight, three queued behind it, then drops: reported again, once.
    const later = [6, 7, 8, 9, 10, 11].map((n) => s.enqueue(hb(n)));
    assert.deepEqual(later, [true, true, true, true, false, false]);
    assert.equal(unreachable.length, 2);
    s.close();
  });

  test('close cancels the call, drops the queue and refuses later messages', async () => {
    const clock = new FakeClock(t0);
    const dialer = new FakeDialer(clock);
    const { s, unreachable } = lane(clock, dialer);
    s.enqueue(hb(1));
    s.close();
    assert.equal(dialer.last.cancelled, true);
    assert.equal(s.enqueue(hb(2)), false);
    dialer.last.fail();
    await clock.advance(10_000);
    assert.equal(dialer.calls.length, 1);
    assert.equal(unreachable.length, 0, 'a closed lane reports nothing');
    assert.equal(clock.pendingCount, 0, 'no timer left behind');
  });
});

describe('rate-limited warnings', () => {
  test('one warning per kind per interval, the next one counting those left unsaid', async () => {
    const clock = new FakeClock(t0);
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const logger = { warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }) } as unknown as ReturnType<typeof silentLogger>;
    const log = new RateLimitedLog(logger, clock, 10_000);
    for (let i = 0; i < 5; i++) log.warn('a', { i }, 'bad a');
    log.warn('b', {}, 'bad b');
    await clock.advance(10_000);
    log.warn('a', { i: 9 }, 'bad a');
    assert.deepEqual(lines, [
      { fields: { i: 0 }, msg: 'bad a' },
      { fields: {}, msg: 'bad b' },
      { fields: { i: 9, suppressed: 4 }, msg: 'bad a' },
    ]);
  });
});
