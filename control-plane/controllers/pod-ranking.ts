// Which Pods count and which go first: the pure pieces of Kubernetes'
// controller_utils.go (FilterActivePods, IsPodReady/IsPodAvailable and the
// ActivePods ordering) that the ReplicaSet controller, and later the Deployment
// and Job controllers, decide with.
import { findCondition } from '../../proto/util/conditions.js';
import type { Pod } from '../../proto/model.js';

/**
 * A Pod that is, or will be, running for its owner: not being deleted and not
 * finished. A terminating Pod is already going away, so counting it would keep
 * a replacement from being made while it shuts down (its grace period).
 */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

export function isPodReady(pod: Pod): boolean {
  return findCondition(pod.status?.conditions, 'Ready')?.status === 'True';
}

/** When the Pod last became Ready, in ms; undefined when it is not Ready or the time is unknown. */
export function readySince(pod: Pod): number | undefined {
  const ready = findCondition(pod.status?.conditions, 'Ready');
  if (ready?.status !== 'True' || !ready.lastTransitionTime) return undefined;
  const at = Date.parse(ready.lastTransitionTime);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * Ready for at least minReadySeconds (Kubernetes' IsPodAvailable). A Ready Pod
 * without a transition time counts as available only when no wait is asked for.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(pod);
  return since !== undefined && since + minReadySeconds * 1000 <= now;
}

/** When a Ready Pod not yet available becomes so; undefined when that is not ahead of `now`. */
export function becomesAvailableAt(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  const since = readySince(pod);
  if (minReadySeconds <= 0 || since === undefined) return undefined;
  const at = since + minReadySeconds * 1000;
  return at > now ? at : undefined;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, s) => n + (s.restartCount ?? 0), 0);
}

function created(pod: Pod): number {
  const at = Date.parse(pod.metadata.creationTimestamp ?? '');
  return Number.isNaN(at) ? 0 : at;
}

/**
 * Orders Pods from the least valuable to the most (Kubernetes' ActivePods Less),
 * so a scale-down deletes from the front: the ones that would take longest to
 * serve, or have served least, go first and the healthy old ones stay.
 */
export function comparePodsForDeletion(a: Pod, b: Pod): number {
  // 1. Not yet on a node before on one: nothing of it runs anywhere yet.
  const assigned = Number(Boolean(a.spec.nodeName)) - Number(Boolean(b.spec.nodeName));
  if (assigned !== 0) return assigned;
  // 2. Pending < Unknown < Running.
  const phase = (PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0) - (PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0);
  if (phase !== 0) return phase;
  // 3. Not ready before ready.
  const ready = Number(isPodReady(a)) - Number(isPodReady(b));
  if (ready !== 0) return ready;
  // 4. Of two ready Pods, the one ready for less time first (a later transition).
  const aSince = readySince(a);
  const bSince = readySince(b);
  if (aSince !== undefined && bSince !== undefined && aSince !== bSince) return bSince - aSince;
  // 5. More restarts first: a crashing Pod is worth less.
  const restartsDiff = restarts(b) - restarts(a);
  if (restartsDiff !== 0) return restartsDiff;
  // 6. Newer first: an old Pod has warmed caches and proven itself.
  const age = created(b) - created(a);
  if (age !== 0) return age;
  // Names break the last tie so the choice never depends on cache order.
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** The `count` Pods a scale-down should delete, least valuable first. */
export function podsToDelete(pods: readonly Pod[], count: number): Pod[] {
  if (count <= 0) return [];
  return [...pods].sort(comparePodsForDeletion).slice(0, count);
}
