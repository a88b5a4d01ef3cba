// The read barrier (ReadIndex) a linearizable Get or List waits on, made to
// wait out an election as a write does (raft-forwarding-store.ts): a member
// that knows no leader (NOT_LEADER), or whose leader changed or vanished under
// the read (UNAVAILABLE, raft-pending.ts), tries again until one answers or the
// wait runs out. Retrying any of those is safe, unlike for a write: a read
// barrier changes nothing.
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { DEFAULT_LEADER_WAIT_MS } from './raft-forwarding-store.js';

const RETRY_EVERY_MS = 100;

export interface ReadBarrierOptions {
  clock: Clock;
  /** How long a read waits for an election to end before it is refused (default: as long as a write). */
  leaderWaitMs?: number;
}

export function leaderWaitingRead(read: () => Promise<void>, opts: ReadBarrierOptions): () => Promise<void> {
  const waitMs = opts.leaderWaitMs ?? DEFAULT_LEADER_WAIT_MS;
  return async () => {
    const deadline = opts.clock.now() + waitMs;
    for (;;) {
      try {
        return await read();
      } catch (e) {
        if (!isBrambleError(e, 'NOT_LEADER') && !isBrambleError(e, 'UNAVAILABLE')) throw e;
        if (opts.clock.now() + RETRY_EVERY_MS > deadline) {
          throw new BrambleError('UNAVAILABLE', `no leader answered the read within ${waitMs} ms: ${e.message}`);
        }
      }
      await opts.clock.sleep(RETRY_EVERY_MS);
    }
  };
}
