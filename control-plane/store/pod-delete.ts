// How a Pod is deleted, for the API (`bramble delete pod`) and for controllers
// alike: a Pod bound to a node that exists is only marked (deletionTimestamp),
// so its agent stops the containers within the grace period and the Node API
// removes it once the agent reports it done; any other Pod has nothing running
// and is removed at once.
import type { KObject } from '../../proto/model.js';
import type { Op, Store } from './store.js';

export interface PodDeleteOptions {
  /** ISO time stored as deletionTimestamp of a graceful delete. */
  nowIso: string;
  /** Remove a bound Pod at once instead of letting its agent stop it first. */
  force?: boolean;
}

/**
 * The op that deletes `stored` (as read, at its resourceVersion): a put marking
 * it, or a delete. Undefined when a graceful delete is already under way.
 */
export function podDeleteOp(state: Pick<Store, 'get'>, stored: KObject, opts: PodDeleteOptions): Op | undefined {
  const precondition = { resourceVersion: stored.metadata.resourceVersion ?? '' };
  const nodeName = (stored.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!opts.force && nodeName && state.get('Node', undefined, nodeName)) {
    if (stored.metadata.deletionTimestamp) return undefined;
    const marked = { ...stored, metadata: { ...stored.metadata, deletionTimestamp: opts.nowIso } };
    return { type: 'put', object: marked, precondition };
  }
  return { type: 'delete', kind: 'Pod', namespace: stored.metadata.namespace, name: stored.metadata.name, precondition };
}
