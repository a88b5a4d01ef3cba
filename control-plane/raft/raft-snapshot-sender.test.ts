import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { RaftClient } from '../../proto/generated/bramble/v1/Raft.js';
import type { RaftSnapshotFrame } from '../../proto/types.js';
import { FakeClock } from '../../proto/util/clock.js';
import { sendSnapshot, SnapshotSendError, type SnapshotSendOptions } from './raft-snapshot-sender.js';
import { message } from './raft-types.js';
import { toWire } from './raft-wire.js';

/** The receiving end as the sender sees it: frames it takes (or holds), and one answer. */
class FakeCall extends EventEmitter {
  readonly frames: RaftSnapshotFrame[] = [];
  take = true;
  held: (() => void)[] = [];
  cancelled = false;
  ended = false;

  constructor(readonly answer: (err: grpc.ServiceError | null) => void) {
    super();
  }

  write(frame: RaftSnapshotFrame, cb: () => void): boolean {
    this.frames.push(frame);
    if (this.take) queueMicrotask(cb);
    else this.held.push(cb);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  cancel(): void {
    this.cancelled = true;
    this.answer(Object.assign(new Error('cancelled'), { code: grpc.status.CANCELLED, details: 'Cancelled on client', metadata: new grpc.Metadata() }) as grpc.ServiceError);
  }

  refuse(code: grpc.status, details: string): void {
    this.answer(Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }) as grpc.ServiceError);
  }
}

function harness(body: AsyncIterable<Uint8Array>, over: Partial<SnapshotSendOptions> = {}) {
  const clock = new FakeClock();
  let call!: FakeCall;
  let closed = 0;
  const dial = (): RaftClient => ({
    SendSnapshot: (cb: (err: grpc.ServiceError | null) => void) => (call = new FakeCall(cb)),
    close: () => { closed++; },
  }) as unknown as RaftClient;
  const snap = message({ type: 'MsgSnap', from: 'pi-1', to: 'pi-2', term: 2, snapshot: { meta: { index: 9, term: 2, confState: { voters: ['pi-1', 'pi-2'], learners: [] } }, data: '' } });
  const send = sendSnapshot({
    address: '10.0.0.2:7443', dial, clock, message: toWire(snap), body, chunkBytes: 4, stallTimeoutMs: 1000, responseTimeoutMs: 5000, ...over,
  });
  return { clock, send, call: () => call, closed: () => closed };
}

async function* pieces(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

const chunksOf = (frames: RaftSnapshotFrame[]) => frames.slice(1).map((f) => Buffer.from(f.chunk as Buffer).toString());

describe('sending a snapshot', () => {
  test('the MsgSnap goes first, then the body in chunks of the chosen size whatever pieces the host yields', async () => {
    const h = harness(pieces('ab', 'cdefghij', 'k', '', 'lm'));
    await h.clock.advance(0);
    assert.ok(h.call().frames[0]!.message, 'the first frame is the message');
    assert.deepEqual(chunksOf(h.call().frames), ['abcd', 'efgh', 'ijkl', 'm']);
    assert.equal(h.call().ended, true);
    h.call().answer(null);
    await h.send.done;
    assert.equal(h.closed(), 1);
  });

  test('a receiver that stops taking chunks fails the snapshot after the stall timeout', async () => {
    const h = harness(pieces('abcdefgh'));
    // The MsgSnap frame is already written and taken; no chunk will be.
    h.call().take = false;
    const failed = assert.rejects(h.send.done, (e: unknown) => e instanceof SnapshotSendError && /not taken within 1000 ms/.test(e.message) && !e.unreachable);
    await h.clock.advance(999);
    assert.equal(h.call().cancelled, false);
    await h.clock.advance(1);
    await failed;
    assert.equal(h.call().cancelled, true);
    assert.equal(h.closed(), 1);
  });

  test('a receiver that refuses part way stops the sender at once, without reading the rest of the body', async () => {
    let read = 0;
    async function* body(): AsyncGenerator<Uint8Array> {
      for (;;) {
        read++;
        yield Buffer.from('abcd');
      }
    }
    const h = harness(body());
    h.call().take = false;
    await h.clock.advance(0);
    h.call().refuse(grpc.status.INVALID_ARGUMENT, 'checksum mismatch');
    await assert.rejects(h.send.done, (e: unknown) => e instanceof SnapshotSendError && /INVALID_ARGUMENT: checksum mismatch/.test(e.message) && !e.unreachable);
    assert.ok(read <= 1, `read ${read} pieces of the body`);
  });

  test('a peer that cannot be reached fails the snapshot as unreachable', async () => {
    const h = harness(pieces('abcd'));
    h.call().take = false;
    h.call().refuse(grpc.status.UNAVAILABLE, 'connect ECONNREFUSED');
    await assert.rejects(h.send.done, (e: unknown) => e instanceof SnapshotSendError && e.unreachable);
  });

  test('a body the host cannot read cancels the call', async () => {
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('abcd');
      throw new Error('disk read failed');
    }
    const h = harness(body());
    await assert.rejects(h.send.done, (e: unknown) => e instanceof SnapshotSendError && /body could not be read: disk read failed/.test(e.message));
    assert.equal(h.call().cancelled, true);
  });

  test('an answer of OK before the body ended is a failure, and so is no answer within the response timeout', async () => {
    const early = harness(pieces('abcdefgh'));
    early.call().take = false;
    early.call().answer(null);
    await assert.rejects(early.send.done, /answered before the whole body was sent/);

    const late = harness(pieces('abcd'));
    const timedOut = assert.rejects(late.send.done, /did not restore the snapshot within 5000 ms/);
    await late.clock.advance(0);
    await late.clock.advance(4999);
    assert.equal(late.call().cancelled, false);
    await late.clock.advance(1);
    await timedOut;
  });
});
