// Which nodes a DaemonSet runs on (Kubernetes' NodeShouldRunDaemonPod) and the
// template its Pods are made from. A node is judged with the Pod the controller
// would create there: the template plus the tolerations every DaemonSet Pod gets,
// so a cordoned, not-ready or unreachable node is still one of its nodes.
import {
  CONTROLLER_REVISION_HASH_LABEL, TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, TAINT_NODE_UNSCHEDULABLE,
  type NodeObject, type Pod, type PodTemplateSpec, type Toleration,
} from '../../proto/model.js';
import { filterArchitecture, filterNodeSelector, filterTaints, podFacts, toleratesTaint, type PodFacts } from './scheduler-filters.js';

/**
 * Added to every DaemonSet Pod, as Kubernetes does, so the node lifecycle's taints
 * never evict a node's daemon (its log shipper, its network agent): the daemon is
 * the node's own, and is wanted there most when the node is in trouble.
 */
export const DAEMON_TOLERATIONS: readonly Toleration[] = Object.freeze([
  { key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute' },
  { key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
  { key: TAINT_NODE_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' },
] as const);

/**
 * The template a DaemonSet's Pods are made from: its own, labelled with the
 * revision hash and with DAEMON_TOLERATIONS in place of any of the user's for
 * the same key and effect (a tolerationSeconds there would evict after all).
 */
export function daemonPodTemplate(template: PodTemplateSpec, hash: string): PodTemplateSpec {
  const own = (template.spec.tolerations ?? []).filter((t) => !DAEMON_TOLERATIONS.some((d) => d.key === t.key && d.effect === t.effect));
  return {
    ...template,
    metadata: { ...template.metadata, labels: { ...template.metadata?.labels, [CONTROLLER_REVISION_HASH_LABEL]: hash } },
    spec: { ...template.spec, tolerations: [...own, ...DAEMON_TOLERATIONS.map((t) => ({ ...t }))] },
  };
}

/** What a node means to a DaemonSet. */
export interface DaemonNode {
  name: string;
  /** A Pod should be created here if there is none. */
  shouldRun: boolean;
  /**
   * A Pod already here may stay. Wider than shouldRun: a NoSchedule taint added
   * later keeps new Pods off but evicts nobody; only NoExecute does.
   */
  shouldContinueRunning: boolean;
}

/** The Pod side of the node checks, worked out once per reconcile from the daemon template. */
export function daemonPodFacts(template: PodTemplateSpec): PodFacts {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: '', ...template.metadata }, spec: template.spec } as Pod;
  return podFacts(pod);
}

function toleratesNoExecute(facts: PodFacts, node: NodeObject): boolean {
  return (node.spec?.taints ?? []).every((taint) => taint.effect !== 'NoExecute' || facts.tolerations.some((t) => toleratesTaint(t, taint)));
}

/**
 * The scheduler's own filters, minus node state: spec.unschedulable and readiness
 * do not keep a daemon off its node (Kubernetes' DaemonSets tolerate both).
 * The image-architecture annotation counts, as it does for the scheduler: an
 * arm64-only daemon has nothing to run on an armv7 board.
 */
export function daemonNode(facts: PodFacts, node: NodeObject): DaemonNode {
  const placed = filterNodeSelector(facts, node) === undefined && filterArchitecture(facts, node) === undefined;
  return {
    name: node.metadata.name,
    shouldRun: placed && filterTaints(facts, node) === undefined,
    shouldContinueRunning: placed && toleratesNoExecute(facts, node),
  };
}
