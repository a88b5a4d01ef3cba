// The real RaftTransport: gRPC between replicas on the server's own port, with
// mutual TLS and replica certificates from the cluster CA. Outbound, each peer
// gets two lanes (raft-peer-stream.ts) — appends and forwarded proposals on
// one, everything small (heartbeats, votes, responses) on the other — and a
// call of its own per snapshot (raft-snapshot-sender.ts). Inbound, the Raft
// service's handlers (raft-service-grpc.ts) check and step what peers send;
// the server registers them beside its other services:
//
//   const raft = new GrpcRaftTransport({ id, tls: replicaCert, authorize: requireReplica, clock, logger });
//   server.addService(proto.bramble.v1.Raft.service, raftServiceHandlers(raft));
//   raft.start(handlers, snapshots); raft.setPeers(peers);
import * as grpc from '@grpc/grpc-js';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { createLogger, type Logger } from '../../proto/util/log.js';
import { PeerStream, raftClient, type Lane } from './raft-peer-stream.js';
import { RaftInbound, type AuthorizeReplica } from './raft-service-grpc.js';
import { sendSnapshot, SnapshotSendError, type SnapshotSend } from './raft-snapshot-sender.js';
import type { Peer, RaftTransport, SnapshotSource, TransportHandlers } from './raft-transport.js';
import type { Message, NodeId } from './raft-types.js';
import { fromIsSender, splitForWire, toWire, WIRE_MESSAGE_TYPES, type WireMessage } from './raft-wire.js';
import { RAFT_WIRE_LIMITS } from './raft-wire-limits.js';
import { RateLimitedLog } from './rate-limited-log.js';

export { raftServiceHandlers } from './raft-service-grpc.js';

/** Timings and bounds; the defaults suit Pis on Wi-Fi (see each). */
export interface GrpcRaftTransportTuning {
  /** Heartbeats, votes, responses: small messages, so a short queue of many. */
  controlQueueMessages: number;
  controlQueueBytes: number;
  /** Appends: fewer and bigger; what is queued beyond this Raft resends after a probe. */
  dataQueueMessages: number;
  dataQueueBytes: number;
  /** First wait after a failed connection, doubled per failure up to backoffMaxMs (±20 %). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A dial not accepted within this is a failure: longer than a Wi-Fi hiccup, shorter than a TCP SYN timeout. */
  connectTimeoutMs: number;
  /** A batch the connection does not take within this means the peer stopped reading. */
  writeTimeoutMs: number;
  /** HTTP/2 pings on idle connections: how a peer that lost power (no RST, no FIN) is noticed. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** A snapshot chunk not taken, or not arriving, within this fails the snapshot. */
  snapshotStallTimeoutMs: number;
  /** How long a receiver may take to restore a snapshot once its body is sent. */
  snapshotResponseTimeoutMs: number;
  /** [0, 1), for the back-off's jitter. */
  random: () => number;
}

export const DEFAULT_TRANSPORT_TUNING: GrpcRaftTransportTuning = {
  controlQueueMessages: 1024,
  controlQueueBytes: 1024 * 1024,
  dataQueueMessages: 1024,
  dataQueueBytes: 8 * 1024 * 1024,
  backoffInitialMs: 100,
  backoffMaxMs: 2000,
  connectTimeoutMs: 5000,
  writeTimeoutMs: 20_000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5000,
  snapshotStallTimeoutMs: 30_000,
  snapshotResponseTimeoutMs: 5 * 60_000,
  random: Math.random,
};

export interface ReplicaTls {
  caPem: string;
  /** This replica's certificate (pki.issueReplicaCert), with which it dials its peers. */
  certPem: string;
  keyPem: string;
}

export interface GrpcRaftTransportOptions {
  /** This replica's name: its certificate must be issued to it. */
  id: NodeId;
  tls: ReplicaTls;
  /** Channel credentials to dial with instead of ones made from `tls` (a renewable certificate provider's). */
  credentials?: grpc.ChannelCredentials;
  /** Who may call the Raft service: pki/auth.ts's requireReplica. */
  authorize: AuthorizeReplica;
  clock?: Clock;
  logger?: Logger;
  tuning?: Partial<GrpcRaftTransportTuning>;
}

interface PeerLinks {
  peer: Peer;
  control: PeerStream;
  data: PeerStream;
  snapshot?: SnapshotSend;
}

/** What the transport knows of one peer's connections, for status and tests. */
export interface PeerLinkStatus {
  id: NodeId;
  address: string;
  connected: Record<Lane, boolean>;
  queued: Record<Lane, number>;
  sendingSnapshot: boolean;
}

export class GrpcRaftTransport implements RaftTransport {
  readonly inbound: RaftInbound;
  private readonly id: NodeId;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly warnings: RateLimitedLog;
  private readonly tuning: GrpcRaftTransportTuning;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly channelOptions: grpc.ChannelOptions;
  private readonly peers = new Map<NodeId, PeerLinks>();
  private readonly snapshotsInFlight = new Set<Promise<void>>();
  private handlers: TransportHandlers | undefined;
  private snapshots: SnapshotSource | undefined;
  private closed = false;

  constructor(opts: GrpcRaftTransportOptions) {
    this.id = opts.id;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? createLogger('bramble-raft-transport');
    this.tuning = { ...DEFAULT_TRANSPORT_TUNING, ...opts.tuning };
    this.warnings = new RateLimitedLog(this.logger, this.clock);
    // The CA is the cluster's own and pinned, so a verified chain proves a member
    // of this cluster answered; host names are skipped as client-config.ts explains
    // (boards are reached by addresses no certificate can list in advance).
    this.credentials = opts.credentials ?? grpc.credentials.createSsl(
      Buffer.from(opts.tls.caPem), Buffer.from(opts.tls.keyPem), Buffer.from(opts.tls.certPem), { checkServerIdentity: () => undefined },
    );
    this.channelOptions = {
      'grpc.keepalive_time_ms': this.tuning.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': this.tuning.keepaliveTimeoutMs,
      'grpc.max_send_message_length': RAFT_WIRE_LIMITS.maxWireMessageBytes,
    };
    this.inbound = new RaftInbound({
      id: this.id, authorize: opts.authorize, clock: this.clock, logger: this.logger, warnings: this.warnings, snapshotIdleTimeoutMs: this.tuning.snapshotStallTimeoutMs,
    });
  }

  start(handlers: TransportHandlers, snapshots: SnapshotSource): void {
    if (this.closed) throw new BrambleError('UNAVAILABLE', 'the Raft transport is closed: make a new one');
    this.handlers = handlers;
    this.snapshots = snapshots;
    this.inbound.start(handlers);
  }

  setPeers(peers: readonly Peer[]): void {
    if (this.closed) return;
    const wanted = new Map(peers.filter((p) => p.id !== this.id).map((p) => [p.id, p]));
    for (const [id, links] of this.peers) {
      const next = wanted.get(id);
      if (!next || next.address !== links.peer.address) this.drop(id, links);
    }
    for (const [id, peer] of wanted) {
      if (!this.peers.has(id)) this.peers.set(id, this.links(peer));
    }
  }

  send(messages: readonly Message[]): void {
    if (this.closed || !this.handlers) return;
    for (const m of messages) this.sendOne(m);
  }

  status(): PeerLinkStatus[] {
    return [...this.peers.values()].map((l) => ({
      id: l.peer.id,
      address: l.peer.address,
      connected: { control: l.control.connected, data: l.data.connected },
      queued: { control: l.control.queued, data: l.data.queued },
      sendingSnapshot: l.snapshot !== undefined,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inbound.close();
    for (const [id, links] of this.peers) this.drop(id, links);
    this.handlers = undefined;
    await Promise.allSettled([...this.snapshotsInFlight]);
  }

  // ---------------------------------------------------------------- internals

  private sendOne(m: Message): void {
    if (!WIRE_MESSAGE_TYPES.has(m.type) || (m.from !== this.id && fromIsSender(m.type)) || m.to === this.id) {
      // The host's mistake, not the network's: say so loudly, once in a while.
      this.warnings.warn('unsendable', { type: m.type, from: m.from, to: m.to },
        `not sending a ${m.type} from "${m.from}" to "${m.to}": only messages between replicas, from this one ("${this.id}"), travel`);
      return;
    }
    const links = this.peers.get(m.to);
    if (!links) {
      this.warnings.warn('unknown-peer', { to: m.to, type: m.type }, `not sending a ${m.type} to "${m.to}": no address is known for it`);
      this.report(m.to);
      return;
    }
    if (m.type === 'MsgSnap') {
      this.startSnapshot(links, m);
      return;
    }
    let wire: WireMessage;
    try {
      wire = toWire(m);
    } catch (e) {
      this.logger.error({ err: e, type: m.type, to: m.to }, `not sending a ${m.type} to "${m.to}": ${(e as Error).message}`);
      return;
    }
    const lane = m.type === 'MsgApp' || m.type === 'MsgProp' ? links.data : links.control;
    for (const part of splitForWire(wire, RAFT_WIRE_LIMITS.targetBatchBytes)) {
      if (part.bytes > RAFT_WIRE_LIMITS.maxWireMessageBytes || tooBigEntry(part)) {
        this.logger.error({ type: m.type, to: m.to, bytes: part.bytes },
          `not sending a ${m.type} to "${m.to}": one entry is bigger than ${RAFT_WIRE_LIMITS.maxEntryDataBytes} bytes, which no replica accepts`);
        return;
      }
      // A dropped part makes the rest useless to the follower (a gap); Raft resends from the gap.
      if (!lane.enqueue(part)) return;
    }
  }

  private startSnapshot(links: PeerLinks, m: Message): void {
    const id = links.peer.id;
    if (links.snapshot) {
      this.logger.debug({ peer: id }, 'a snapshot is already on its way to this peer: dropping the new MsgSnap');
      return;
    }
    if (!m.snapshot || !this.snapshots) return;
    let wire: WireMessage;
    let body: AsyncIterable<Uint8Array>;
    try {
      wire = toWire(m);
      body = this.snapshots.open(m.snapshot.meta);
    } catch (e) {
      this.logger.error({ err: e, peer: id }, `cannot send the snapshot at index ${m.snapshot.meta.index} to "${id}": ${(e as Error).message}`);
      this.reportSnapshot(id, false);
      return;
    }
    const send = sendSnapshot({
      address: links.peer.address,
      dial: (address) => raftClient(address, this.credentials, this.channelOptions),
      clock: this.clock,
      message: wire,
      body,
      chunkBytes: RAFT_WIRE_LIMITS.snapshotChunkBytes,
      stallTimeoutMs: this.tuning.snapshotStallTimeoutMs,
      responseTimeoutMs: this.tuning.snapshotResponseTimeoutMs,
    });
    links.snapshot = send;
    const index = m.snapshot.meta.index;
    const started = this.clock.now();
    this.logger.info({ peer: id, index }, `sending the snapshot at index ${index} to "${id}"`);
    const done = send.done.then(
      () => {
        this.logger.info({ peer: id, index, ms: this.clock.now() - started }, `replica "${id}" restored the snapshot at index ${index}`);
        this.reportSnapshot(id, true);
      },
      (e: unknown) => {
        const unreachable = e instanceof SnapshotSendError && e.unreachable;
        this.logger.warn({ peer: id, index, reason: (e as Error).message }, `the snapshot at index ${index} to "${id}" failed: ${(e as Error).message}`);
        if (unreachable) this.report(id);
        this.reportSnapshot(id, false);
      },
    ).finally(() => {
      if (links.snapshot === send) links.snapshot = undefined;
      this.snapshotsInFlight.delete(done);
    });
    this.snapshotsInFlight.add(done);
  }

  private links(peer: Peer): PeerLinks {
    const lane = (name: Lane): PeerStream => new PeerStream({
      peer: peer.id,
      address: peer.address,
      lane: name,
      dial: (address) => raftClient(address, this.credentials, this.channelOptions),
      clock: this.clock,
      logger: this.logger,
      warnings: this.warnings,
      maxQueueMessages: name === 'control' ? this.tuning.controlQueueMessages : this.tuning.dataQueueMessages,
      maxQueueBytes: name === 'control' ? this.tuning.controlQueueBytes : this.tuning.dataQueueBytes,
      backoff: { initialMs: this.tuning.backoffInitialMs, maxMs: this.tuning.backoffMaxMs, random: this.tuning.random },
      connectTimeoutMs: this.tuning.connectTimeoutMs,
      writeTimeoutMs: this.tuning.writeTimeoutMs,
      onUnreachable: () => this.report(peer.id),
    });
    return { peer, control: lane('control'), data: lane('data') };
  }

  private drop(id: NodeId, links: PeerLinks): void {
    links.control.close();
    links.data.close();
    links.snapshot?.cancel(this.closed ? 'the transport is closing' : `replica "${id}" left the peer list or moved`);
    this.peers.delete(id);
  }

  private report(id: NodeId): void {
    if (this.closed) return;
    try {
      this.handlers?.onUnreachable(id);
    } catch (e) {
      this.logger.error({ err: e, peer: id }, 'onUnreachable threw');
    }
  }

  private reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.closed) return;
    try {
      this.handlers?.onSnapshotStatus(id, ok);
    } catch (e) {
      this.logger.error({ err: e, peer: id }, 'onSnapshotStatus threw');
    }
  }
}

function tooBigEntry(w: WireMessage): boolean {
  return (w.wire.entries ?? []).some((e) => (e.data as Buffer).length > RAFT_WIRE_LIMITS.maxEntryDataBytes);
}
