// What one replica may send another over the Raft service, checked at the
// boundary like proto/limits.ts does for clients. A peer holds a replica
// certificate, but a bug or a half-upgraded peer must still not be able to
// make a replica allocate without bound, stall, or step garbage into its core.
import { LIMITS } from '../../proto/limits.js';

/** Room left in a gRPC message for everything but entry data and contexts. */
const FRAMING_SLACK = 64 * 1024;

export const RAFT_WIRE_LIMITS = {
  /**
   * Largest encoded RaftBatch or snapshot frame: the server's own gRPC receive
   * limit, which it shares with every other service on the port.
   */
  maxWireMessageBytes: LIMITS.maxRequestBytes,
  /** Largest data of one entry: one entry must fit alone in a batch, with its framing. */
  maxEntryDataBytes: LIMITS.maxRequestBytes - FRAMING_SLACK,
  /** A sender closes a batch once it holds this much (one bigger message still goes alone). */
  targetBatchBytes: 1024 * 1024,
  /** Most messages in one RaftBatch. */
  maxMessagesPerBatch: 4096,
  /** Most entries in one message (a MsgApp of tiny entries; the byte limit usually binds first). */
  maxEntriesPerMessage: 16 * 1024,
  /** Longest context (heartbeat and ReadIndex tokens), in bytes. */
  maxContextBytes: 4 * 1024,
  /** Most voters plus learners in a snapshot's configuration. */
  maxConfStateMembers: 256,
  /** Body chunks a sender writes: small enough to keep memory flat, big enough to keep a Pi's CPU idle. */
  snapshotChunkBytes: 64 * 1024,
  /** Largest body chunk a receiver accepts. */
  maxSnapshotChunkBytes: 1024 * 1024,
  /** Largest snapshot body a receiver accepts (a store of 10,000 objects is tens of MiB). */
  maxSnapshotBytes: 4 * 1024 * 1024 * 1024,
} as const;
