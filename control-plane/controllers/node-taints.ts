// The NoExecute taints that say a node is not ready (Kubernetes' taint-based
// eviction): node.kubernetes.io/unreachable while the node's Ready condition is
// Unknown (its agent went quiet), node.kubernetes.io/not-ready while it is False,
// neither once it is True. The taint eviction controller deletes the Pods that do
// not tolerate them for long enough, counting from the taint's timeAdded.
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, type NodeObject, type Taint } from '../../proto/model.js';
import { findCondition } from '../../proto/util/conditions.js';

const READINESS_TAINTS = [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE];

function isReadinessTaint(t: Taint): boolean {
  return t.effect === 'NoExecute' && READINESS_TAINTS.includes(t.key);
}

/** The readiness taint the node's Ready condition calls for, if any. */
export function wantedReadinessTaint(node: NodeObject): string | undefined {
  const ready = findCondition(node.status?.conditions, 'Ready')?.status;
  if (ready === 'Unknown') return TAINT_NODE_UNREACHABLE;
  if (ready === 'False') return TAINT_NODE_NOT_READY;
  return undefined;
}

/**
 * The node's taints with the readiness taints made to match its Ready condition,
 * or undefined when they already do. A taint that stays keeps its timeAdded, so
 * the tolerations counting from it are not restarted by a rewrite.
 */
export function taintsForReadiness(node: NodeObject, nowIso: string): Taint[] | undefined {
  const taints = node.spec?.taints ?? [];
  const want = wantedReadinessTaint(node);
  const present = taints.filter(isReadinessTaint);
  if (present.length === (want ? 1 : 0) && (want === undefined || present[0]!.key === want)) return undefined;
  const kept = taints.filter((t) => !isReadinessTaint(t) || t.key === want);
  if (want && !kept.some((t) => t.key === want && t.effect === 'NoExecute')) kept.push({ key: want, effect: 'NoExecute', timeAdded: nowIso });
  return kept;
}

/** The node with these taints (and no empty list). */
export function withTaints(node: NodeObject, taints: Taint[]): NodeObject {
  const { taints: _t, ...spec } = node.spec ?? {};
  return { ...node, spec: taints.length > 0 ? { ...spec, taints } : spec };
}
