// Who leads, as the rest of the control plane sees it: a Leadership for the
// controller manager (the shape of controllers/leadership.ts's interface; that
// folder sits above this one, so the interface is matched, not imported), and the
// error a member that is not the leader answers with, naming the leader so the API
// layer can forward.
import { BrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { NodeId } from './raft-types.js';

export class RaftLeadership {
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly logger: Logger) {}

  isLeader(): boolean {
    return this.leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    for (const l of [...this.listeners]) {
      try {
        l(leader);
      } catch (err) {
        this.logger.error({ err }, 'a leadership listener threw');
      }
    }
  }
}

/** A write or a read sent to a member that is not the leader; `leader` is '' when none is known. */
export class NotLeaderError extends BrambleError {
  constructor(readonly self: NodeId, readonly leader: NodeId) {
    super('NOT_LEADER', leader
      ? `${self} is not the leader: the leader is ${leader} (send writes there)`
      : `${self} is not the leader and knows no leader yet: an election is under way, retry shortly`);
    this.name = 'NotLeaderError';
  }
}

export function isNotLeader(e: unknown): e is NotLeaderError {
  return e instanceof NotLeaderError;
}
