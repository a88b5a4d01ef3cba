// How replicas reach each other. The host loop (raft-node.ts) hands the core's
// outgoing messages to a transport and steps what arrives into the core; the real
// transport is gRPC on the server's own port with replica certificates
// (raft-transport-grpc.ts), tests use an in-memory one. Delivery is best effort:
// Raft tolerates loss, duplication and reordering, so send never blocks and never
// throws for a peer that is down — it reports the peer unreachable instead.
import type { Message, NodeId, SnapshotMeta } from './raft-types.js';

/** Where a member listens, as its --node-name and host:port. */
export interface Peer {
  id: NodeId;
  address: string;
}

/**
 * A snapshot travels as a stream beside its MsgSnap: the sender's host produces the
 * state machine's bytes at meta.index, the receiver's host restores them before it
 * steps the MsgSnap into its core.
 */
export interface SnapshotSource {
  /** The state at meta.index as a stream of chunks (the store-snapshot format). */
  open(meta: SnapshotMeta): AsyncIterable<Uint8Array>;
}

export interface TransportHandlers {
  /** A message from a peer (never a MsgSnap: those come through onSnapshot). */
  onMessage(m: Message): void;
  /**
   * A MsgSnap and its body. Resolves once the host has restored the state from
   * `body` and stepped `m`; rejects when the body is bad (the sender then sees the
   * snapshot as failed and reports it to its core).
   */
  onSnapshot(m: Message, body: AsyncIterable<Uint8Array>): Promise<void>;
  /** The transport could not deliver to `id` (connection refused, timed out): tells the core. */
  onUnreachable(id: NodeId): void;
  /** A snapshot to `id` was delivered (ok) or failed. */
  onSnapshotStatus(id: NodeId, ok: boolean): void;
}

export interface RaftTransport {
  start(handlers: TransportHandlers, snapshots: SnapshotSource): void;
  /** Queues messages for sending; a full per-peer queue drops (Raft retries). */
  send(messages: readonly Message[]): void;
  setPeers(peers: readonly Peer[]): void;
  close(): Promise<void>;
}
