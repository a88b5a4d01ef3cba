// One lane to one peer: a bounded queue of encoded messages and one long-lived
// Raft.Send call that carries them in batches. Each lane has its own channel,
// hence its own TCP connection, so a heartbeat never sits in a kernel send
// buffer behind megabytes of appends on a slow Wi-Fi link (HTTP/2 streams on one
// connection would still share that buffer).
//
// Delivery is best effort: a full queue drops (Raft retries), a failed call
// drops what it had queued, tells the core the peer is unreachable and tries
// again after a back-off on the injected clock. Each attempt dials a fresh
// channel, so grpc-js's own reconnect timers (real time) never decide when.
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { parseHostPort } from '../../proto/names.js';
import type { RaftClient } from '../../proto/generated/bramble/v1/Raft.js';
import type { RaftBatch, RaftSendResponse__Output } from '../../proto/types.js';
import { loadProto } from '../../proto/load.js';
import type { Clock, Timer } from '../../proto/util/clock.js';
import type { Logger } from '../../proto/util/log.js';
import type { NodeId } from './raft-types.js';
import type { WireMessage } from './raft-wire.js';
import { RAFT_WIRE_LIMITS } from './raft-wire-limits.js';
import type { RateLimitedLog } from './rate-limited-log.js';

export type Lane = 'control' | 'data';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** [0, 1): spreads reconnects of several replicas that lost the same peer. */
  random: () => number;
}

/** Dials the peer; the transport gives every channel the same credentials and options. */
export type DialPeer = (address: string) => RaftClient;

export interface PeerStreamOptions {
  peer: NodeId;
  address: string;
  lane: Lane;
  dial: DialPeer;
  clock: Clock;
  logger: Logger;
  warnings: RateLimitedLog;
  maxQueueMessages: number;
  maxQueueBytes: number;
  backoff: BackoffPolicy;
  /** A call not accepted (the peer's headers) within this is given up. */
  connectTimeoutMs: number;
  /** A batch not taken by the connection within this means the peer stopped reading. */
  writeTimeoutMs: number;
  onUnreachable(): void;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

export class PeerStream {
  private state: State = 'idle';
  private queue: WireMessage[] = [];
  private queueBytes = 0;
  private client: RaftClient | undefined;
  private call: grpc.ClientWritableStream<RaftBatch> | undefined;
  /** Bumped at every new call and teardown: callbacks of an older call are ignored. */
  private generation = 0;
  private writing = false;
  private timer: Timer | undefined;
  private watchdog: Timer | undefined;
  private attempts = 0;
  /** The core was told since the last batch that went out: drops need not tell it again. */
  private reported = false;

  constructor(private readonly o: PeerStreamOptions) {}

  /** Queues a message; false when it was dropped (the queue is full or the lane is closed). */
  enqueue(w: WireMessage): boolean {
    if (this.state === 'closed') return false;
    if (this.queue.length >= this.o.maxQueueMessages || (this.queue.length > 0 && this.queueBytes + w.bytes > this.o.maxQueueBytes)) {
      this.o.warnings.warn(`queue-full-${this.o.lane}-${this.o.peer}`, { peer: this.o.peer, lane: this.o.lane, queued: this.queue.length, queuedBytes: this.queueBytes },
        `the ${this.o.lane} queue to replica "${this.o.peer}" is full: dropping a ${w.type} (Raft sends it again)`);
      this.report();
      return false;
    }
    this.queue.push(w);
    this.queueBytes += w.bytes;
    if (this.state === 'idle') this.connect();
    else if (this.state === 'open') this.pump();
    return true;
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.teardown();
    this.state = 'closed';
    this.drop();
  }

  // ---------------------------------------------------------------- internals

  private connect(): void {
    this.state = 'connecting';
    const gen = ++this.generation;
    const client = this.o.dial(this.o.address);
    this.client = client;
    let call: grpc.ClientWritableStream<RaftBatch>;
    try {
      call = client.Send((err: grpc.ServiceError | null, _res?: RaftSendResponse__Output) => this.ended(gen, err));
    } catch (e) {
      this.fail(gen, `cannot start a call: ${(e as Error).message}`);
      return;
    }
    this.call = call;
    // Errors arrive through the callback; a listener keeps an 'error' event from being thrown.
    call.on('error', () => undefined);
    // The server sends its headers once it has accepted the caller's certificate.
    call.on('metadata', () => this.opened(gen));
    this.timer = this.o.clock.setTimeout(() => this.fail(gen, `not accepted within ${this.o.connectTimeoutMs} ms`), this.o.connectTimeoutMs);
  }

  private opened(gen: number): void {
    if (gen !== this.generation || this.state !== 'connecting') return;
    this.timer?.cancel();
    this.timer = undefined;
    this.state = 'open';
    if (this.attempts > 0) this.o.logger.info({ peer: this.o.peer, lane: this.o.lane, attempts: this.attempts }, `reached replica "${this.o.peer}" again`);
    this.attempts = 0;
    this.pump();
  }

  private pump(): void {
    if (this.state !== 'open' || this.writing || this.queue.length === 0) return;
    const gen = this.generation;
    const messages: WireMessage[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && messages.length < RAFT_WIRE_LIMITS.maxMessagesPerBatch) {
      const next = this.queue[0]!;
      if (messages.length > 0 && (bytes + next.bytes > RAFT_WIRE_LIMITS.targetBatchBytes)) break;
      messages.push(next);
      bytes += next.bytes;
      this.queue.shift();
    }
    this.queueBytes -= bytes;
    this.writing = true;
    this.watchdog = this.o.clock.setTimeout(() => this.fail(gen, `a batch of ${bytes} bytes was not taken within ${this.o.writeTimeoutMs} ms`), this.o.writeTimeoutMs);
    try {
      this.call!.write({ messages: messages.map((m) => m.wire) }, () => {
        if (gen !== this.generation) return;
        this.watchdog?.cancel();
        this.watchdog = undefined;
        this.writing = false;
        this.reported = false;
        this.pump();
      });
    } catch (e) {
      this.fail(gen, `write failed: ${(e as Error).message}`);
    }
  }

  private ended(gen: number, err: grpc.ServiceError | null): void {
    if (gen !== this.generation) return;
    this.fail(gen, err ? `${grpc.status[err.code] ?? err.code}: ${err.details}` : 'the peer ended the stream');
  }

  private fail(gen: number, reason: string): void {
    if (gen !== this.generation || this.state === 'closed') return;
    this.teardown();
    const dropped = this.drop();
    const delay = this.nextDelay();
    this.o.warnings.warn(`unreachable-${this.o.lane}-${this.o.peer}`, { peer: this.o.peer, lane: this.o.lane, address: this.o.address, reason, dropped, retryInMs: delay },
      `replica "${this.o.peer}" at ${this.o.address} is unreachable (${this.o.lane} lane): ${reason}`);
    this.reported = false;
    this.report();
    this.state = 'backoff';
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.state !== 'backoff') return;
      this.state = 'idle';
      if (this.queue.length > 0) this.connect();
    }, delay);
  }

  private nextDelay(): number {
    const { initialMs, maxMs, random } = this.o.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    return Math.round(base * (0.8 + 0.4 * random()));
  }

  private report(): void {
    if (this.reported) return;
    this.reported = true;
    try {
      this.o.onUnreachable();
    } catch (e) {
      this.o.logger.error({ err: e, peer: this.o.peer }, 'onUnreachable threw');
    }
  }

  private teardown(): void {
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
    this.watchdog?.cancel();
    this.watchdog = undefined;
    this.writing = false;
    const call = this.call;
    const client = this.client;
    this.call = undefined;
    this.client = undefined;
    try {
      call?.cancel();
    } catch { /* already over */ }
    client?.close();
  }

  private drop(): number {
    const n = this.queue.length;
    this.queue = [];
    this.queueBytes = 0;
    return n;
  }
}

/**
 * A Raft client on its own channel (no shared subchannel: each lane gets its own
 * connection). Addressed by IP, it sends a fixed TLS server name as the CLI and
 * the agent do: Node warns when SNI is an address, and host names are not checked.
 */
export function raftClient(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions): RaftClient {
  const Raft = loadProto().bramble.v1.Raft;
  const host = parseHostPort(address)?.host ?? '';
  return new Raft(address, credentials, {
    ...options,
    'grpc.use_local_subchannel_pool': 1,
    ...(isIP(host) !== 0 && { 'grpc.ssl_target_name_override': 'bramble' }),
  }) as RaftClient;
}
