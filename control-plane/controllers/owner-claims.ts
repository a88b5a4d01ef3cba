// Adopting and releasing a dependent (client-go's ControllerRefManager writes):
// the same for a Pod claimed by a ReplicaSet as for a ReplicaSet claimed by a
// Deployment. Each is one read-modify-write on the stored object, checked
// against the uid the controller saw, so a same-named newcomer is left alone.
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { KObject, OwnerReference } from '../../proto/model.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';

/** The ownerReference a controller puts on what it makes or adopts. */
export function controllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid!,
    controller: true,
    // Foreground deletion of the owner waits for this Pod (the garbage collector's business).
    blockOwnerDeletion: true,
  };
}

/** The ownerReference marked controller: true, if any. */
export function controllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/**
 * Makes `owner` the controller of `obj`, unless `stillWanted` (run on the fresh
 * object) says no. Another controller already holding it is a CONFLICT.
 */
export async function adoptObject<T extends KObject>(store: Store, obj: T, owner: KObject, stillWanted: (fresh: T) => boolean): Promise<void> {
  const ref = controllerRef(owner);
  await retryOnConflict<T>(store, { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, (current) => {
    // The object read from the cache may be another by now (same name, new uid).
    if (current.metadata.uid !== obj.metadata.uid) return undefined;
    const other = controllerOf(current);
    if (other?.uid === ref.uid) return undefined;
    if (other) throw new BrambleError('CONFLICT', `${obj.kind.toLowerCase()} "${obj.metadata.name}" is already controlled by ${other.kind.toLowerCase()} "${other.name}"`);
    if (!stillWanted(current)) return undefined;
    const kept = (current.metadata.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
    return { ...current, metadata: { ...current.metadata, ownerReferences: [...kept, ref] } };
  });
}

/** Removes `owner`'s ownerReference from `obj`, if it is still there; an object gone needs no releasing. */
export async function releaseObject<T extends KObject>(store: Store, obj: T, owner: KObject): Promise<void> {
  const uid = owner.metadata.uid;
  try {
    await retryOnConflict<T>(store, { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }, (current) => {
      if (current.metadata.uid !== obj.metadata.uid) return undefined;
      const refs = current.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === uid)) return undefined;
      const kept = refs.filter((r) => r.uid !== uid);
      const { ownerReferences: _refs, ...meta } = current.metadata;
      return { ...current, metadata: kept.length > 0 ? { ...meta, ownerReferences: kept } : meta };
    });
  } catch (e) {
    if (!isBrambleError(e, 'NOT_FOUND')) throw e;
  }
}
