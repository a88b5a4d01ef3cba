// Which Pods a workload controller owns (Kubernetes' controller_ref_manager.go
// ClaimPods), shared by the ReplicaSet and DaemonSet controllers: its own that
// still match its selector, and matching orphans it adopts; its own that stopped
// matching are released, so something else may claim them.
import { isBrambleError } from '../../proto/util/errors.js';
import { matchesSelector, selectorRequirements, type KObject, type LabelSelector, type Pod } from '../../proto/model.js';
import type { Store } from '../store/store.js';
import { controllerOf, type PodControl } from './pod-control.js';

/** A controller object that selects Pods (ReplicaSet, DaemonSet, …). */
export type PodOwner = KObject & { spec: { selector: LabelSelector } };

export interface ClaimDeps {
  store: Store;
  podControl: PodControl;
}

/**
 * The Pods among `pods` that `owner` controls once claimed. `adoptable` says
 * which orphans may be taken (checked again on the fresh Pod at adoption).
 */
export async function claimPods(deps: ClaimDeps, owner: PodOwner, pods: readonly Pod[], adoptable: (pod: Pod) => boolean): Promise<Pod[]> {
  const reqs = selectorRequirements(owner.spec.selector);
  const uid = owner.metadata.uid;
  const deleting = Boolean(owner.metadata.deletionTimestamp);
  // An empty selector would match everything; the schema refuses it, and so does this.
  const matches = (p: Pod): boolean => reqs.length > 0 && matchesSelector(p.metadata.labels, reqs);
  const claimed: Pod[] = [];
  for (const pod of pods) {
    const ref = controllerOf(pod);
    if (ref?.uid === uid) {
      if (matches(pod)) claimed.push(pod);
      else if (!deleting) await deps.podControl.releasePod(pod, owner);
      continue;
    }
    if (ref || !matches(pod) || !adoptable(pod) || deleting) continue;
    // Adopt only for an owner still there and not being deleted: the cache may lag the store.
    const fresh = deps.store.get(owner.kind, owner.metadata.namespace, owner.metadata.name);
    if (!fresh || fresh.metadata.uid !== uid || fresh.metadata.deletionTimestamp) continue;
    try {
      await deps.podControl.adoptPod(pod, owner, (p) => adoptable(p) && matches(p));
      claimed.push(pod);
    } catch (err) {
      // Lost to another controller, or the Pod is gone: it is not ours, and that is not our failure.
      if (!isBrambleError(err, 'CONFLICT') && !isBrambleError(err, 'NOT_FOUND')) throw err;
    }
  }
  return claimed;
}
