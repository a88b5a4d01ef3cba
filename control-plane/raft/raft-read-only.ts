// ReadIndex (Raft thesis §6.4, ReadOnlySafe in etcd-io/raft): a read request is
// answered with the commit index it saw once a quorum of voters acknowledged a
// heartbeat sent after it, proving the leader still led when it took the index.
//
// Each heartbeat round carries the position of the newest read request queued so
// far; an acknowledgement of position p confirms every request up to p.
import { majorityCommitted } from './raft-quorum.js';
import type { Message, NodeId } from './raft-types.js';

export interface ReadIndexRequest {
  /** The MsgReadIndex: `from` is who asked (the leader itself or a follower), `context` the caller's token. */
  req: Message;
  index: number;
}

export class ReadOnly {
  private acks = new Map<NodeId, number>();
  private unconfirmed: ReadIndexRequest[] = [];
  private confirmed = 0;

  addRequest(commit: number, req: Message): void {
    this.unconfirmed.push({ req, index: commit });
  }

  /** '' when no read waits (a plain heartbeat), else the position to acknowledge. */
  heartbeatContext(): string {
    if (this.unconfirmed.length === 0) return '';
    return String(this.confirmed + this.unconfirmed.length);
  }

  recvAck(from: NodeId, context: string): void {
    if (context === '') return;
    const pos = Number(context);
    if (!Number.isSafeInteger(pos) || pos <= 0) return;
    this.acks.set(from, Math.max(this.acks.get(from) ?? 0, pos));
  }

  /** The requests a quorum of `voters` has now confirmed, in order. */
  maybeAdvance(voters: Iterable<NodeId>): ReadIndexRequest[] {
    const upTo = Math.min(majorityCommitted(voters, (id) => this.acks.get(id)), this.confirmed + this.unconfirmed.length);
    if (upTo <= this.confirmed) return [];
    const done = this.unconfirmed.splice(0, upTo - this.confirmed);
    this.confirmed = upTo;
    return done;
  }
}
