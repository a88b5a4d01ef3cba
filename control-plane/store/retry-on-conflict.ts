// Read-modify-write of one stored object, as client-go's retry.RetryOnConflict:
// read the object, let a pure function say what it should become, propose that
// with the read resourceVersion as precondition, and on CONFLICT (another writer
// got there first) start again from the fresh object, a bounded number of times.
//
// There is no back-off between attempts: a CONFLICT means the store we read
// from already holds the newer version, so the next attempt works on it at
// once. (client-go waits because it reads through a cache that may lag the
// server; if follower reads ever lag here, a delay belongs here, on a clock.)
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import type { Op, Store } from './store.js';

/** One try and five retries: what the hand-written loops this replaced did. */
export const DEFAULT_CONFLICT_ATTEMPTS = 6;

/**
 * What the object should become: the next object to put, `undefined` when there
 * is nothing to do, or 'delete'. `current` is the stored object, deeply frozen:
 * return a new object rather than changing it. It may run several times, so it
 * must not have effects of its own; it may throw to refuse (not retried).
 */
export type Change<T extends KObject> = (current: T) => T | undefined | 'delete';

export interface ObjectKey {
  kind: string;
  namespace?: string;
  name: string;
}

export interface RetryOnConflictOptions {
  /** Attempts in all, the first included; at least 1. */
  attempts?: number;
}

/**
 * Applies `change` to the stored object until a write of it commits. Resolves with
 * the object as stored afterwards: the committed put, the unchanged object when
 * there was nothing to do, or undefined after a delete. Rejects with NOT_FOUND when
 * the object is missing, with CONFLICT naming the number of attempts when every
 * attempt lost a race, and with any other error (of the store or of `change`) at once.
 */
export async function retryOnConflict<T extends KObject>(
  store: Store,
  key: ObjectKey,
  change: Change<T>,
  opts: RetryOnConflictOptions = {},
): Promise<T | undefined> {
  const attempts = opts.attempts ?? DEFAULT_CONFLICT_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new BrambleError('INVALID_ARGUMENT', `retryOnConflict attempts must be a positive integer: current value is ${attempts}`);
  }
  const { kind, namespace, name } = key;
  for (let attempt = 1; ; attempt++) {
    const current = store.get(kind, namespace, name) as T | undefined;
    if (!current) throw new BrambleError('NOT_FOUND', `${kind.toLowerCase()} "${name}" not found`);
    const next = change(current);
    if (next === undefined) return current;
    const precondition = { resourceVersion: current.metadata.resourceVersion! };
    const op: Op = next === 'delete' ? { type: 'delete', kind, namespace, name, precondition } : { type: 'put', object: next, precondition };
    try {
      const commit = await store.propose({ ops: [op] });
      return next === 'delete' ? undefined : (commit.objects[0] as T);
    } catch (e) {
      if (!isBrambleError(e, 'CONFLICT')) throw e;
      if (attempt >= attempts) {
        const what = namespace ? `${kind.toLowerCase()} "${namespace}/${name}"` : `${kind.toLowerCase()} "${name}"`;
        throw new BrambleError('CONFLICT', `${what} was changed by another writer during each of ${attempt} attempts to update it; the last: ${e.message}`);
      }
    }
  }
}
