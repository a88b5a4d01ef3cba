// An in-process network of RaftTransports for tests: each message is delivered on a
// later turn of the event loop (as a socket would), copied so no replica shares
// an object with another, and links can be cut to partition a replica. Snapshots
// are streamed as the real transport does: the sender's chunks, then the
// receiver's onSnapshot, then the sender's onSnapshotStatus.
import type { Message, NodeId } from './raft-types.js';
import type { Peer, RaftTransport, SnapshotSource, TransportHandlers } from './raft-transport.js';

/** Loss and duplication of messages (never of snapshots), drawn from a seeded random. */
export interface NetworkFaults {
  drop: number;
  duplicate: number;
  random: () => number;
}

export class MemoryNetwork {
  private readonly members = new Map<NodeId, MemoryTransport>();
  faults: NetworkFaults | undefined;
  private readonly cut = new Set<string>();
  /** Deliveries scheduled but not yet run: tests wait for 0 before moving a fake clock. */
  inFlight = 0;
  readonly counts = { sent: 0, delivered: 0, dropped: 0, snapshots: 0 };
  /** Messages sent, by type. */
  readonly sentByType = new Map<string, number>();

  /** The transport of member `id` (a new one replaces a closed one, as after a restart). */
  transport(id: NodeId): MemoryTransport {
    const t = new MemoryTransport(id, this);
    return t;
  }

  /** Cuts (or with `heal`, restores) both directions between `id` and every other member. */
  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.cutLink(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  /** @internal */
  register(t: MemoryTransport): void {
    this.members.set(t.id, t);
  }

  /** @internal */
  unregister(t: MemoryTransport): void {
    if (this.members.get(t.id) === t) this.members.delete(t.id);
  }

  /** @internal: the live transport of `to`, if a message from `from` can reach it now. */
  reachable(from: NodeId, to: NodeId): MemoryTransport | undefined {
    if (this.cut.has(`${from}>${to}`)) return undefined;
    const t = this.members.get(to);
    return t && t.handlers ? t : undefined;
  }

  /** @internal */
  later(fn: () => void | Promise<void>): void {
    this.inFlight++;
    setImmediate(() => {
      void (async () => {
        try {
          await fn();
        } finally {
          this.inFlight--;
        }
      })();
    });
  }
}

export class MemoryTransport implements RaftTransport {
  handlers: TransportHandlers | undefined;
  private snapshots: SnapshotSource | undefined;
  private closed = false;
  peers: Peer[] = [];

  constructor(readonly id: NodeId, private readonly net: MemoryNetwork) {}

  start(handlers: TransportHandlers, snapshots: SnapshotSource): void {
    this.handlers = handlers;
    this.snapshots = snapshots;
    this.net.register(this);
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const original of messages) {
      const m = structuredClone(original);
      // As the gRPC transport: a MsgSnap carries its meta only, the state travels as the stream.
      if (m.snapshot) m.snapshot.data = '';
      this.net.counts.sent++;
      this.net.sentByType.set(m.type, (this.net.sentByType.get(m.type) ?? 0) + 1);
      this.net.later(async () => {
        if (this.closed) return;
        const target = this.net.reachable(this.id, m.to);
        if (!target) {
          this.net.counts.dropped++;
          this.handlers?.onUnreachable(m.to);
          return;
        }
        if (m.type !== 'MsgSnap') {
          const f = this.net.faults;
          if (f && f.random() < f.drop) {
            this.net.counts.dropped++;
            return;
          }
          this.net.counts.delivered++;
          target.handlers!.onMessage(m);
          if (f && f.random() < f.duplicate) target.handlers?.onMessage(structuredClone(m));
          return;
        }
        await this.sendSnapshot(m, target);
      });
    }
  }

  setPeers(peers: readonly Peer[]): void {
    this.peers = [...peers];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers = undefined;
    this.net.unregister(this);
  }

  private async sendSnapshot(m: Message, target: MemoryTransport): Promise<void> {
    let ok = false;
    try {
      const chunks: Uint8Array[] = [];
      for await (const c of this.snapshots!.open(m.snapshot!.meta)) chunks.push(Uint8Array.from(c));
      async function* body(): AsyncIterable<Uint8Array> {
        for (const c of chunks) yield c;
      }
      if (!target.handlers || !this.net.reachable(this.id, m.to)) throw new Error(`${m.to} went away`);
      await target.handlers.onSnapshot(m, body());
      this.net.counts.snapshots++;
      ok = true;
    } catch {
      ok = false;
    }
    if (!this.closed) this.handlers?.onSnapshotStatus(m.to, ok);
  }
}
