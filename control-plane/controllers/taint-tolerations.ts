// When must a Pod leave a node with NoExecute taints? Kubernetes' taint manager
// rule: a taint the Pod does not tolerate evicts it at once; tolerated ones let
// it stay the shortest tolerationSeconds of the tolerations that match, counted
// from the taint's timeAdded; a toleration without tolerationSeconds, forever.
//
// Default tolerations (Kubernetes' DefaultTolerationSeconds admission) are applied
// here, in the decision, rather than written into every Pod at creation: Pods are
// made in two places (api-apply's planApply and pod-control's podFromTemplate) and
// this is the one place that reads them; a cluster-wide setting changed later
// applies to the Pods that already exist; and a Pod's spec stays what its author
// or template wrote, so template hashes and `get -o yaml` round trips are unchanged.
// As in Kubernetes, a Pod that has any toleration of its own for the taint's key
// and NoExecute (or a blanket Exists) gets no default for it.
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, type NodeObject, type Pod, type Taint, type Toleration } from '../../proto/model.js';
import { toleratesTaint } from './scheduler-filters.js';

/** Kubernetes' default is 300 s; a home lab would rather have its Pods back within a minute or so. */
export const DEFAULT_NOT_READY_TOLERATION_SECONDS = 60;
export const DEFAULT_UNREACHABLE_TOLERATION_SECONDS = 60;

export interface DefaultTolerations {
  notReadySeconds: number;
  unreachableSeconds: number;
}

export const DEFAULT_TOLERATIONS: DefaultTolerations = {
  notReadySeconds: DEFAULT_NOT_READY_TOLERATION_SECONDS,
  unreachableSeconds: DEFAULT_UNREACHABLE_TOLERATION_SECONDS,
};

/** Would DefaultTolerationSeconds leave this Pod's tolerations for `key` alone? It does when the Pod says anything about it. */
function hasOwnFor(tolerations: readonly Toleration[], key: string): boolean {
  return tolerations.some((t) => (t.effect === undefined || t.effect === 'NoExecute') && (t.key === key || (!t.key && t.operator === 'Exists')));
}

/** The Pod's tolerations with the defaults it would have been given at admission. */
export function effectiveTolerations(pod: Pod, defaults: DefaultTolerations): Toleration[] {
  const own = pod.spec?.tolerations ?? [];
  const out = [...own];
  if (!hasOwnFor(own, TAINT_NODE_NOT_READY)) {
    out.push({ key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: defaults.notReadySeconds });
  }
  if (!hasOwnFor(own, TAINT_NODE_UNREACHABLE)) {
    out.push({ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: defaults.unreachableSeconds });
  }
  return out;
}

export function noExecuteTaints(node: NodeObject | undefined): Taint[] {
  return (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
}

export interface EvictionDecision {
  /** Clock time (ms) at which the Pod must go: -Infinity for at once, Infinity for never. */
  at: number;
  /** The taint that decides it, for the event's message. */
  taint?: Taint;
}

/**
 * When the Pod must be evicted from a node with these NoExecute taints. A taint's
 * count starts at its timeAdded, but never before `notBefore` (the start of this
 * leadership term: a new leader gives every Pod its full toleration, as it gives
 * every node its full grace period). A taint without timeAdded counts from notBefore.
 */
export function evictionTime(pod: Pod, taints: readonly Taint[], defaults: DefaultTolerations, notBefore: number): EvictionDecision {
  const tolerations = effectiveTolerations(pod, defaults);
  let best: EvictionDecision = { at: Infinity };
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (matching.length === 0) return { at: -Infinity, taint };
    const seconds = matching.map((t) => t.tolerationSeconds).filter((s): s is number => s !== undefined);
    if (seconds.length === 0) continue;
    const added = Date.parse(taint.timeAdded ?? '');
    const from = Math.max(Number.isNaN(added) ? notBefore : added, notBefore);
    // Kubernetes reads a zero or negative tolerationSeconds as "evict at once".
    const at = from + Math.max(0, Math.min(...seconds)) * 1000;
    if (at < best.at) best = { at, taint };
  }
  return best;
}
