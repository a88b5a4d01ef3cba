// Why two writers can never be handed the same address or port.
//
// Every allocation is derived from the objects as stored: the cluster IPs and node
// ports the Services hold, the pod CIDRs the Nodes hold. Nothing else records what
// is taken, so a restart (or, later, a new Raft leader) reads the same answer from
// the same store, and deleting the holder frees what it held with nothing else to
// undo. What remains is the race between two writers that both read "10.43.0.7 is
// free" and both write it. Each write that takes something new therefore also puts
// one small internal object, the range's lock, with a precondition on the version
// it read (or `absent` when there is none yet). The store checks preconditions in
// the order writes are applied, so of two such writes decided on the same read
// only the first commits; the second fails with CONFLICT, is planned again against
// the state that now holds the first one's allocation, and picks another value.
// A write that only frees (a delete) or keeps what it holds does not touch the lock:
// a concurrent allocator that has not seen a delete merely leaves that value unused.
// The lock kind is not in KINDS, so no manifest, list or watch of the API sees it.
import type { KObject } from '../../proto/model.js';
import type { Op, Store } from '../store/store.js';

export const ALLOCATION_LOCK_KIND = 'AllocationLock';
/** The lock of Service cluster IPs and node ports (one lock: one command may take both). */
export const SERVICE_ALLOCATION_LOCK = 'services';
export const POD_CIDR_LOCK = 'pod-cidrs';

/** The put that makes a write of new allocations conflict with any other decided on the same read. */
export function lockOp(state: Pick<Store, 'get'>, name: string): Op {
  const stored = state.get(ALLOCATION_LOCK_KIND, undefined, name);
  const taken = typeof stored?.['allocations'] === 'number' ? stored['allocations'] : 0;
  // The count changes the object on every write and says how often the range was written.
  const object: KObject = { apiVersion: 'bramble.dev/v1', kind: ALLOCATION_LOCK_KIND, metadata: { name }, allocations: taken + 1 };
  return {
    type: 'put',
    object,
    precondition: stored ? { resourceVersion: stored.metadata.resourceVersion ?? '' } : { absent: true },
  };
}
