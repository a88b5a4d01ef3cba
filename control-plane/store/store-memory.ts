// The Store without a disk: the same state machine and watch fan-out as the
// LevelDB store, committing at once. For unit tests of everything above the store.
import { BrambleError } from '../../proto/util/errors.js';
import type { Command, CommitResult, Store } from './store.js';
import { StoreState, validateRetainEvents } from './store-state.js';
import { WatchHub } from './store-watch.js';

export function createMemoryStore(opts: { retainEvents?: number } = {}): Store {
  const state = new StoreState(validateRetainEvents(opts.retainEvents));
  const hub = new WatchHub(state);
  let closed = false;
  return {
    async propose(command: Command): Promise<CommitResult> {
      if (closed) throw new BrambleError('UNAVAILABLE', 'the store is closed: no more writes are accepted');
      const applied = state.propose(command);
      hub.publish(state.commit(applied));
      return applied.result;
    },
    get: (kind, namespace, name) => state.get(kind, namespace, name),
    list: (kind, namespace) => state.list(kind, namespace),
    watch: (options, onEvent) => hub.watch(options, onEvent),
    revision: () => state.revision(),
    oldestResumableRevision: () => state.oldestResumableRevision(),
    objectCount: () => state.objectCount(),
    diskBytes: async () => 0,
    async close(): Promise<void> {
      closed = true;
      hub.cancelAll();
    },
  } satisfies Store;
}
