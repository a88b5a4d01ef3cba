// Sends one MsgSnap and its body on a Raft.SendSnapshot call of its own (its own
// connection too: a catching-up follower's snapshot must not slow the heartbeats
// of the others). The body is pulled from the host one chunk at a time and the
// next chunk is read only once the connection took the last one, so memory stays
// at a chunk or two whatever the snapshot's size.
import * as grpc from '@grpc/grpc-js';
import type { RaftSnapshotFrame } from '../../proto/types.js';
import type { Clock, Timer } from '../../proto/util/clock.js';
import type { DialPeer } from './raft-peer-stream.js';
import type { WireMessage } from './raft-wire.js';

export interface SnapshotSendOptions {
  address: string;
  dial: DialPeer;
  clock: Clock;
  message: WireMessage;
  body: AsyncIterable<Uint8Array>;
  chunkBytes: number;
  /** A chunk not taken by the connection within this means the receiver stopped reading. */
  stallTimeoutMs: number;
  /** How long the receiver may take to restore the state once the body is sent. */
  responseTimeoutMs: number;
}

export class SnapshotSendError extends Error {
  constructor(
    message: string,
    /** The peer could not be reached at all (as opposed to refusing the snapshot). */
    readonly unreachable: boolean,
  ) {
    super(message);
    this.name = 'SnapshotSendError';
  }
}

export interface SnapshotSend {
  /** Resolves when the receiver restored the snapshot; rejects with a SnapshotSendError otherwise. */
  readonly done: Promise<void>;
  cancel(reason: string): void;
}

export function sendSnapshot(o: SnapshotSendOptions): SnapshotSend {
  const client = o.dial(o.address);
  let finished: SnapshotSendError | undefined;
  let answered = false;
  let pendingReject: ((e: Error) => void) | undefined;
  let timer: Timer | undefined;
  let resolveResponse!: () => void;
  let rejectResponse!: (e: SnapshotSendError) => void;
  const response = new Promise<void>((resolve, reject) => {
    resolveResponse = resolve;
    rejectResponse = reject;
  });
  // Settled on every path; awaited only after the body is sent.
  response.catch(() => undefined);

  let bodySent = false;
  const settle = (e: SnapshotSendError | undefined): void => {
    if (answered) return;
    answered = true;
    // An answer before the body ended (the receiver gave up reading) is not a success.
    const failure = e ?? (bodySent ? undefined : new SnapshotSendError('the receiver answered before the whole body was sent', false));
    if (!failure) {
      resolveResponse();
      return;
    }
    finished ??= failure;
    rejectResponse(finished);
    pendingReject?.(finished);
  };

  let call: grpc.ClientWritableStream<RaftSnapshotFrame>;
  try {
    call = client.SendSnapshot((err: grpc.ServiceError | null) => {
      settle(err ? new SnapshotSendError(`${grpc.status[err.code] ?? err.code}: ${err.details}`, err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) : undefined);
    });
  } catch (e) {
    client.close();
    const err = new SnapshotSendError(`cannot start a snapshot call: ${(e as Error).message}`, true);
    return { done: Promise.reject(err), cancel: () => undefined };
  }
  call.on('error', () => undefined);

  const cancel = (reason: string): void => {
    if (answered) return;
    finished ??= new SnapshotSendError(reason, false);
    pendingReject?.(finished);
    try {
      call.cancel();
    } catch { /* already over */ }
  };

  const write = (frame: RaftSnapshotFrame): Promise<void> => new Promise<void>((resolve, reject) => {
    if (finished) {
      reject(finished);
      return;
    }
    pendingReject = reject;
    timer = o.clock.setTimeout(() => cancel(`a snapshot chunk was not taken within ${o.stallTimeoutMs} ms`), o.stallTimeoutMs);
    call.write(frame, () => {
      timer?.cancel();
      pendingReject = undefined;
      if (finished) reject(finished);
      else resolve();
    });
  });

  const run = async (): Promise<void> => {
    try {
      await write({ message: o.message.wire });
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (all: boolean): Promise<void> => {
        while (pendingBytes >= o.chunkBytes || (all && pendingBytes > 0)) {
          const joined = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
          const take = Math.min(o.chunkBytes, joined.length);
          const rest = joined.subarray(take);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
          await write({ chunk: joined.subarray(0, take) });
        }
      };
      try {
        for await (const chunk of o.body) {
          if (finished) throw finished;
          pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          pendingBytes += chunk.byteLength;
          await flush(false);
          // A copy of what is left: the host may reuse its buffer once the next chunk is asked for.
          if (pendingBytes > 0) pending = [Buffer.concat(pending)];
        }
      } catch (e) {
        if (e instanceof SnapshotSendError) throw e;
        cancel(`the snapshot body could not be read: ${(e as Error).message}`);
        throw finished!;
      }
      await flush(true);
      bodySent = true;
      call.end();
      timer = o.clock.setTimeout(() => cancel(`the receiver did not restore the snapshot within ${o.responseTimeoutMs} ms`), o.responseTimeoutMs);
      // Stop waiting for the answer as soon as a cancel (timeout, close) sets `finished`.
      await new Promise<void>((resolve, reject) => {
        pendingReject = reject;
        response.then(resolve, reject);
      });
    } finally {
      timer?.cancel();
      client.close();
    }
  };

  return { done: run(), cancel };
}
