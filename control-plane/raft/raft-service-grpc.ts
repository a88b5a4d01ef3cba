// The Raft service's handlers: what a replica accepts from its peers. Every call
// must come with a replica certificate, and every message must say it is from
// that replica: a replica cannot speak for another (which would let it vote
// twice, or answer appends for a follower that never stored them). Malformed
// messages are dropped with a rate-limited warning, never stepped, never fatal.
import * as grpc from '@grpc/grpc-js';
import type { Readable } from 'node:stream';
import type { RaftHandlers } from '../../proto/generated/bramble/v1/Raft.js';
import type { RaftBatch__Output, RaftSnapshotFrame__Output } from '../../proto/types.js';
import type { Clock, Timer } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { TransportHandlers } from './raft-transport.js';
import type { Message, NodeId } from './raft-types.js';
import { fromIsSender, fromWire } from './raft-wire.js';
import { RAFT_WIRE_LIMITS } from './raft-wire-limits.js';
import type { RateLimitedLog } from './rate-limited-log.js';

/**
 * Throws unless the caller holds a replica certificate of this cluster and
 * returns its name: server.ts passes pki/auth.ts's requireReplica (injected, as
 * pki sits above raft in DESIGN.md's layout).
 */
export type AuthorizeReplica = (call: grpc.ServerReadableStream<unknown, unknown>) => NodeId;

export interface RaftInboundOptions {
  id: NodeId;
  authorize: AuthorizeReplica;
  clock: Clock;
  logger: Logger;
  warnings: RateLimitedLog;
  /** A snapshot whose next frame does not arrive within this is abandoned. */
  snapshotIdleTimeoutMs: number;
}

type Ender = (err: BrambleError) => void;

/** Open Send streams one replica may hold: two lanes, and room for reconnects. */
export const MAX_STREAMS_PER_REPLICA = 8;

/** The receiving half of a transport: the handlers it steps into, and the calls it holds open. */
export class RaftInbound {
  private handlers: TransportHandlers | undefined;
  private closed = false;
  private readonly calls = new Set<Ender>();
  private readonly byCaller = new Map<NodeId, Ender[]>();
  private snapshotFrom: NodeId | undefined;

  constructor(readonly o: RaftInboundOptions) {}

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  /** Ends every open call: a peer's stream must not keep a closing server's port busy. */
  close(): void {
    this.closed = true;
    this.handlers = undefined;
    const err = new BrambleError('UNAVAILABLE', `replica "${this.o.id}" is shutting down its Raft transport`);
    for (const end of [...this.calls]) end(err);
    this.calls.clear();
    this.byCaller.clear();
  }

  /** Who is calling, once they may: a replica, to a transport that is running. */
  admit(call: grpc.ServerReadableStream<unknown, unknown>): { caller: NodeId; handlers: TransportHandlers } {
    const caller = this.o.authorize(call);
    if (!this.handlers || this.closed) {
      throw new BrambleError('UNAVAILABLE', `replica "${this.o.id}" is not accepting Raft messages: its transport is not running`);
    }
    return { caller, handlers: this.handlers };
  }

  /**
   * Holds a call open until close(). A peer has two lanes; more open streams from
   * one replica are left over from connections that died without a word (a board
   * that lost power), which the server would otherwise keep forever: the oldest goes.
   */
  track(end: Ender, caller?: NodeId): () => void {
    this.calls.add(end);
    if (caller === undefined) return () => this.calls.delete(end);
    const mine = this.byCaller.get(caller) ?? [];
    mine.push(end);
    this.byCaller.set(caller, mine);
    while (mine.length > MAX_STREAMS_PER_REPLICA) {
      mine.shift()!(new BrambleError('UNAVAILABLE', `replica "${caller}" opened a newer stream: this one is closed`));
    }
    return () => {
      this.calls.delete(end);
      const i = mine.indexOf(end);
      if (i >= 0) mine.splice(i, 1);
      if (mine.length === 0 && this.byCaller.get(caller) === mine) this.byCaller.delete(caller);
    };
  }

  /** Steps a batch's messages; returns a refusal when the caller spoke for someone else. */
  receive(caller: NodeId, batch: RaftBatch__Output, handlers: TransportHandlers): BrambleError | undefined {
    const messages: unknown = (batch as { messages?: unknown } | null)?.messages;
    if (!Array.isArray(messages) || messages.length > RAFT_WIRE_LIMITS.maxMessagesPerBatch) {
      this.o.warnings.warn(`malformed-batch-${caller}`, { peer: caller, count: Array.isArray(messages) ? messages.length : undefined },
        `dropped a batch from replica "${caller}": it must hold a list of at most ${RAFT_WIRE_LIMITS.maxMessagesPerBatch} messages`);
      return undefined;
    }
    for (const raw of messages) {
      const m = this.check(caller, raw, false);
      if (m instanceof BrambleError) return m;
      if (!m) continue;
      try {
        handlers.onMessage(m);
      } catch (e) {
        this.o.logger.error({ err: e, peer: caller, type: m.type }, 'the host failed to take a Raft message');
      }
    }
    return undefined;
  }

  /** A decoded message for this replica; undefined when dropped; a refusal for a forged `from`. */
  check(caller: NodeId, raw: unknown, snapshot: boolean): Message | BrambleError | undefined {
    const d = fromWire(raw, { snapshot });
    if (!d.ok) {
      this.o.warnings.warn(`malformed-message-${caller}`, { peer: caller, problem: d.problem }, `dropped a malformed Raft message from replica "${caller}": ${d.problem}`);
      return undefined;
    }
    const m = d.message;
    if (m.from !== caller && fromIsSender(m.type)) {
      this.o.warnings.warn(`forged-from-${caller}`, { peer: caller, from: m.from }, `refused replica "${caller}": it sent a message from "${m.from}"`);
      return new BrambleError('FORBIDDEN', `replica "${caller}" may not send messages from "${m.from}": a message's from must be the caller's own name`);
    }
    if (m.to !== this.o.id) {
      this.o.warnings.warn(`misrouted-${caller}`, { peer: caller, to: m.to }, `dropped a ${m.type} from replica "${caller}" for "${m.to}": this replica is "${this.o.id}"`);
      return undefined;
    }
    return m;
  }

  /** One snapshot at a time: each holds a restore (disk, memory) on a small board. */
  claimSnapshot(caller: NodeId): () => void {
    if (this.snapshotFrom !== undefined) {
      throw new BrambleError('RATE_LIMITED', `replica "${this.o.id}" is already receiving a snapshot from "${this.snapshotFrom}": one at a time`);
    }
    this.snapshotFrom = caller;
    return () => {
      this.snapshotFrom = undefined;
    };
  }
}

/** The Raft service of the transport, for the server's grpc.Server (the same port as the other services). */
export function raftServiceHandlers(transport: { readonly inbound: RaftInbound }): RaftHandlers {
  const inbound = transport.inbound;
  return {
    Send: (call: grpc.ServerReadableStream<RaftBatch__Output, object>, callback: grpc.sendUnaryData<object>) => {
      const answer = once(inbound, 'Send', callback);
      let admitted: { caller: NodeId; handlers: TransportHandlers };
      try {
        admitted = inbound.admit(call);
      } catch (e) {
        answer.fail(asBrambleError(e, 'Raft.Send'));
        return;
      }
      answer.tracked(inbound.track((err) => answer.fail(err), admitted.caller));
      call.on('cancelled', () => answer.abandon());
      call.on('error', () => answer.abandon());
      call.on('end', () => answer.ok());
      call.on('data', (batch: RaftBatch__Output) => {
        if (answer.done) return;
        const refusal = inbound.receive(admitted.caller, batch, admitted.handlers);
        if (refusal) answer.fail(refusal);
      });
      // Headers now tell the sender it was accepted: its lane is open.
      try {
        call.sendMetadata(new grpc.Metadata());
      } catch { /* the call is already gone */ }
    },

    SendSnapshot: (call: grpc.ServerReadableStream<RaftSnapshotFrame__Output, object>, callback: grpc.sendUnaryData<object>) => {
      const answer = once(inbound, 'SendSnapshot', callback);
      let admitted: { caller: NodeId; handlers: TransportHandlers };
      let release: () => void;
      try {
        admitted = inbound.admit(call);
        release = inbound.claimSnapshot(admitted.caller);
      } catch (e) {
        answer.fail(asBrambleError(e, 'Raft.SendSnapshot'));
        return;
      }
      const reader = new FrameReader<RaftSnapshotFrame__Output>(call, inbound.o.clock, inbound.o.snapshotIdleTimeoutMs);
      answer.tracked(inbound.track((err) => {
        reader.abort(err.message);
        answer.fail(err);
      }));
      call.on('cancelled', () => {
        reader.abort('the sender cancelled the snapshot');
        answer.abandon();
      });
      receiveSnapshot(inbound, admitted.caller, admitted.handlers, reader).then(
        () => answer.ok(),
        (e: unknown) => answer.fail(asBrambleError(e, 'Raft.SendSnapshot')),
      ).finally(() => {
        reader.abort('the snapshot call is over');
        release();
      });
    },
  };
}

async function receiveSnapshot(inbound: RaftInbound, caller: NodeId, handlers: TransportHandlers, reader: FrameReader<RaftSnapshotFrame__Output>): Promise<void> {
  const first = await reader.next();
  if (!first || first.frame !== 'message' || !first.message) {
    throw new BrambleError('INVALID_ARGUMENT', 'the first frame of a snapshot must be its MsgSnap');
  }
  const m = inbound.check(caller, first.message, true);
  if (m instanceof BrambleError) throw m;
  if (!m) throw new BrambleError('INVALID_ARGUMENT', `the MsgSnap from replica "${caller}" was malformed or not for this replica (see the warning)`);
  const index = m.snapshot!.meta.index;
  async function* body(): AsyncGenerator<Uint8Array> {
    let total = 0;
    for (let n = 1; ; n++) {
      const f = await reader.next();
      if (!f) return;
      if (f.frame !== 'chunk' || !Buffer.isBuffer(f.chunk)) throw new BrambleError('INVALID_ARGUMENT', `snapshot frame ${n} must be a chunk of the body`);
      if (f.chunk.length > RAFT_WIRE_LIMITS.maxSnapshotChunkBytes) {
        throw new BrambleError('LIMIT_EXCEEDED', `snapshot chunks must be at most ${RAFT_WIRE_LIMITS.maxSnapshotChunkBytes} bytes: chunk ${n} has ${f.chunk.length}`);
      }
      total += f.chunk.length;
      if (total > RAFT_WIRE_LIMITS.maxSnapshotBytes) {
        throw new BrambleError('LIMIT_EXCEEDED', `a snapshot body must be at most ${RAFT_WIRE_LIMITS.maxSnapshotBytes} bytes: this one is longer`);
      }
      yield f.chunk;
    }
  }
  try {
    await handlers.onSnapshot(m, body());
  } catch (e) {
    if (e instanceof BrambleError) throw e;
    throw new BrambleError('INVALID_ARGUMENT', `the snapshot from replica "${caller}" at index ${index} was not restored: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Any thrown value as a BrambleError; an unexpected one is INTERNAL. */
function asBrambleError(e: unknown, method: string): BrambleError {
  if (e instanceof BrambleError) return e;
  return new BrambleError('INTERNAL', `${method} failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
}

interface Answer {
  readonly done: boolean;
  ok(): void;
  fail(err: BrambleError): void;
  /** The call is gone (cancelled, broken): nothing to answer. */
  abandon(): void;
  tracked(untrack: () => void): void;
}

/** A call's one answer, whichever comes first: the end of the stream, a refusal, a shutdown. */
function once(inbound: RaftInbound, method: string, callback: grpc.sendUnaryData<object>): Answer {
  let done = false;
  let untrack: () => void = () => undefined;
  const finish = (): boolean => {
    if (done) return false;
    done = true;
    untrack();
    return true;
  };
  return {
    get done() {
      return done;
    },
    ok: () => {
      if (!finish()) return;
      try {
        callback(null, {});
      } catch { /* the call is gone */ }
    },
    fail: (err) => {
      if (!finish()) return;
      if (err.code === 'INTERNAL') inbound.o.logger.error({ err, method }, `Raft.${method} failed`);
      try {
        callback(err.toServiceError() as grpc.ServiceError);
      } catch {
        // The call is gone (cancelled, or its trailers refused): nobody is left to tell.
      }
    },
    abandon: () => {
      finish();
    },
    tracked: (u) => {
      untrack = u;
      if (done) u();
    },
  };
}

/**
 * Pulls one frame at a time from a call (paused mode), so a receiver that
 * restores slowly slows the sender down through HTTP/2 flow control instead of
 * buffering the snapshot in memory.
 */
export class FrameReader<T> {
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private idle: Timer | undefined;

  constructor(
    private readonly stream: Readable,
    private readonly clock: Clock,
    private readonly idleTimeoutMs: number,
  ) {
    const poke = (): void => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    stream.on('readable', poke);
    stream.on('end', () => {
      this.ended = true;
      poke();
    });
    stream.on('error', (e: Error) => {
      this.failure ??= e;
      poke();
    });
    stream.on('close', () => {
      if (!this.ended) this.failure ??= new Error('the stream closed before its end');
      poke();
    });
  }

  /** The next frame, undefined at the end; throws when the call broke or went idle. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      const v = this.stream.read() as T | null;
      if (v !== null) return v;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.idle = this.clock.setTimeout(() => this.abort(`no snapshot frame for ${this.idleTimeoutMs} ms`), this.idleTimeoutMs);
      });
      this.idle?.cancel();
      this.idle = undefined;
    }
  }

  abort(reason: string): void {
    this.failure ??= new BrambleError('UNAVAILABLE', reason);
    this.idle?.cancel();
    this.idle = undefined;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
