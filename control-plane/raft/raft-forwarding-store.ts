// The Store a follower's components write through: a write proposed here while
// another member leads is handed to that leader (Members.Forward) and answered
// with its result, so the API, the node service and the event sink work the same
// on every member. Only a refusal that proves the write was never proposed (this
// member is not the leader, or the leader says it is not) is retried elsewhere: a
// write that may have been proposed is never sent twice.
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { Command, CommitResult, Store } from '../store/store.js';
import { isNotLeader, NotLeaderError } from './raft-leadership.js';
import type { RaftStore } from './raft-store.js';

/** How long a write waits for an election to end before it is refused. */
export const DEFAULT_LEADER_WAIT_MS = 5_000;
const RETRY_EVERY_MS = 100;

export interface ForwardingStoreOptions {
  /** Proposes on the leader at `address` (a MembersClient's forward). */
  forward: (address: string, command: Command) => Promise<CommitResult>;
  clock: Clock;
  leaderWaitMs?: number;
}

/**
 * Resolves once this member has applied every write acknowledged before the call,
 * waiting for an election to end as a forwarded write does: what a write is planned
 * against, so a follower never refuses a resourceVersion the cluster already has.
 */
export async function writeBarrier(inner: RaftStore, opts: { clock: Clock; leaderWaitMs?: number }): Promise<void> {
  const waitMs = opts.leaderWaitMs ?? DEFAULT_LEADER_WAIT_MS;
  const deadline = opts.clock.now() + waitMs;
  for (;;) {
    try {
      return await inner.linearizableRead();
    } catch (e) {
      if (!isNotLeader(e)) throw e;
      if (opts.clock.now() + RETRY_EVERY_MS > deadline) {
        throw new BrambleError('UNAVAILABLE', `no leader answered a read index within ${waitMs} ms: ${e.message}`);
      }
    }
    await opts.clock.sleep(RETRY_EVERY_MS);
  }
}

export function forwardingStore(inner: RaftStore, opts: ForwardingStoreOptions): Store {
  const waitMs = opts.leaderWaitMs ?? DEFAULT_LEADER_WAIT_MS;
  const propose = async (command: Command): Promise<CommitResult> => {
    const deadline = opts.clock.now() + waitMs;
    let last: BrambleError | undefined;
    for (;;) {
      try {
        return await inner.propose(command);
      } catch (e) {
        if (!isNotLeader(e)) throw e;
        last = e;
        const address = e.leader ? inner.node.status().peers[e.leader] : undefined;
        if (address !== undefined) {
          try {
            return await opts.forward(address, command);
          } catch (fe) {
            // The leader moved on before it proposed the write: find the new one.
            if (!isBrambleError(fe, 'NOT_LEADER')) throw fe;
            last = fe;
          }
        }
      }
      if (opts.clock.now() + RETRY_EVERY_MS > deadline) {
        throw last instanceof NotLeaderError || isBrambleError(last, 'NOT_LEADER')
          ? new BrambleError('UNAVAILABLE', `no leader took the write within ${waitMs} ms: ${last.message}`)
          : last;
      }
      await opts.clock.sleep(RETRY_EVERY_MS);
    }
  };
  return {
    propose,
    get: (kind, namespace, name) => inner.get(kind, namespace, name),
    list: (kind, namespace) => inner.list(kind, namespace),
    watch: (options, onEvent) => inner.watch(options, onEvent),
    revision: () => inner.revision(),
    oldestResumableRevision: () => inner.oldestResumableRevision(),
    objectCount: () => inner.objectCount(),
    diskBytes: () => inner.diskBytes(),
    close: () => inner.close(),
  } satisfies Store;
}
