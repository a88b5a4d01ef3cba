// What deleting one object means, shared by the API's delete (api-apply.ts) and the
// garbage collector so a Pod removed by either gets the same graceful treatment, and
// owners and dependents are found the same way. Pure functions of the store's
// state: they return ops, they never write.
import { GC_FINALIZERS, KINDS, kindInfo, type KObject, type OwnerReference } from '../../../proto/model.js';
import type { Op, Store } from '../../store/store.js';

/** The reads these functions need; a Store satisfies it. */
export type StoreView = Pick<Store, 'get' | 'list'>;

/**
 * A bound Pod whose node exists is stopped by its agent before it leaves the store:
 * the delete only sets deletionTimestamp, the agent stops the containers within the
 * grace period and the Node API removes the Pod when the agent reports it finalized.
 */
export function isGracefulPod(state: StoreView, obj: KObject): boolean {
  if (obj.kind !== 'Pod') return false;
  const nodeName = (obj.spec as { nodeName?: string } | undefined)?.nodeName;
  return !!nodeName && state.get('Node', undefined, nodeName) !== undefined;
}

/** The object without the garbage collector's finalizers (and without an empty list). */
export function withoutGcFinalizers(obj: KObject): KObject {
  const rest = (obj.metadata.finalizers ?? []).filter((f) => !GC_FINALIZERS.includes(f));
  const { finalizers: _f, ...meta } = obj.metadata;
  return { ...obj, metadata: rest.length > 0 ? { ...meta, finalizers: rest } : meta };
}

/**
 * The op that removes `obj` now, at the version read (so an object changed
 * meanwhile, say adopted by a new owner, is not removed): a graceful mark for a
 * bound Pod, a delete for everything else. The garbage collector's finalizers go,
 * whatever delete was under way: this is the last step. Undefined when there is
 * nothing to write (a Pod already terminating with no finalizer of ours).
 */
export function removalOp(state: StoreView, obj: KObject, now: string, force = false): Op | undefined {
  const m = obj.metadata;
  const precondition = { resourceVersion: m.resourceVersion ?? '' };
  if (!force && isGracefulPod(state, obj)) {
    const hasOurs = (m.finalizers ?? []).some((f) => GC_FINALIZERS.includes(f));
    if (m.deletionTimestamp && !hasOurs) return undefined;
    const stripped = withoutGcFinalizers(obj);
    const marked = { ...stripped, metadata: { ...stripped.metadata, deletionTimestamp: m.deletionTimestamp ?? now } };
    return { type: 'put', object: marked, precondition };
  }
  return { type: 'delete', kind: obj.kind, namespace: m.namespace, name: m.name, precondition };
}

/**
 * Where the owner named by `ref` would live, as Kubernetes allows it: a namespaced
 * owner in the dependent's own namespace, a cluster-scoped one anywhere. 'unknown'
 * for a kind this cluster does not have (the reference cannot be judged, so it is
 * left alone, as Kubernetes' collector does); 'impossible' for a namespaced owner
 * of a cluster-scoped dependent (such an owner can never exist).
 */
export function ownerLocation(dependent: KObject, ref: OwnerReference): { kind: string; namespace: string | undefined } | 'unknown' | 'impossible' {
  const info = kindInfo(ref.kind);
  if (!info) return 'unknown';
  if (!info.namespaced) return { kind: info.kind, namespace: undefined };
  if (!dependent.metadata.namespace) return 'impossible';
  return { kind: info.kind, namespace: dependent.metadata.namespace };
}

/** The live owner that `ref` points at: same kind, name and uid. A recreated owner of the same name is another owner. */
export function liveOwner(state: StoreView, dependent: KObject, ref: OwnerReference): KObject | undefined | 'unknown' {
  const where = ownerLocation(dependent, ref);
  if (where === 'unknown') return 'unknown';
  if (where === 'impossible') return undefined;
  const owner = state.get(where.kind, where.namespace, ref.name);
  return owner && owner.metadata.uid === ref.uid ? owner : undefined;
}

/**
 * Every stored object with a reference to `owner`'s uid, read from the store itself
 * (not a cache), so a delete planned from it sees every dependent that exists now.
 * A scan of the owner's namespace (all namespaces for a cluster-scoped owner): a
 * bramble holds a few thousand objects, and a delete is rare.
 */
export function storedDependents(state: StoreView, owner: KObject): KObject[] {
  const uid = owner.metadata.uid;
  if (!uid) return [];
  const namespace = owner.metadata.namespace;
  const out: KObject[] = [];
  for (const k of KINDS) {
    if (namespace !== undefined && !k.namespaced) continue;
    for (const item of state.list(k.kind, namespace).items) {
      if ((item.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) out.push(item);
    }
  }
  return out;
}

/** The object without its references to the given owner uids (and without an empty list). */
export function withoutOwners(obj: KObject, uids: ReadonlySet<string>): KObject {
  const kept = (obj.metadata.ownerReferences ?? []).filter((r) => !uids.has(r.uid));
  const { ownerReferences: _r, ...meta } = obj.metadata;
  return { ...obj, metadata: kept.length > 0 ? { ...meta, ownerReferences: kept } : meta };
}

/** A put of `obj` without its references to `uids`, at the version read. */
export function dropOwnersOp(obj: KObject, uids: ReadonlySet<string>): Op {
  return { type: 'put', object: withoutOwners(obj, uids), precondition: { resourceVersion: obj.metadata.resourceVersion ?? '' } };
}
