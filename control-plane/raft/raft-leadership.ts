// Who leads, as the rest of the control plane sees it: a Leadership for the
// controller manager and the Node service (the shape of controllers/leadership.ts's
// Leadership and api-node.ts's NodeApiLeader; those folders sit above this one, so
// the interfaces are matched, not imported), and the
// error a member that is not the leader answers with, naming the leader so the API
// layer can forward.
import { BrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { NodeId } from './raft-types.js';

export class RaftLeadership {
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly logger: Logger, private readonly who: () => { leader: NodeId; address: string | undefined }) {}

  isLeader(): boolean {
    return this.leader;
  }

  /** Who leads as far as this member knows, e.g. 'the leader is "pi-2" (192.168.1.12:7443)'. */
  describe(): string {
    const { leader, address } = this.who();
    if (!leader) return 'no leader known (an election is under way)';
    return `the leader is ${JSON.stringify(leader)}${address ? ` (${address})` : ''}`;
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
