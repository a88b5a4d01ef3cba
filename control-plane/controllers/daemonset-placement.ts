// One Pod on every node that should run the DaemonSet, none anywhere else
// (Kubernetes' daemon controller manage/podsShouldBeOnNode), as a plan of
// creates and deletes; the controller carries it out. Pure, so every rule
// is tested without a store.
import { CONTROLLER_REVISION_HASH_LABEL, type Pod } from '../../proto/model.js';
import type { DaemonNode } from './daemonset-nodes.js';
import { podsToDelete } from './pod-ranking.js';

/** The DaemonSet's Pods, sorted by the node they are bound to. */
export interface DaemonPods {
  /** Claimed Pods not being deleted, by spec.nodeName ('' for a Pod bound nowhere). */
  byNode: Map<string, Pod[]>;
  /**
   * Nodes where one of its Pods is still terminating. No new Pod goes there until
   * it is gone: one daemon a node, even for a moment (a hostPort, a device).
   */
  terminatingOn: Set<string>;
}

export interface PodPlan {
  /** Nodes to create a Pod on, from the current template. */
  createOn: string[];
  deletes: Pod[];
}

export function groupDaemonPods(claimed: readonly Pod[], terminating: readonly Pod[]): DaemonPods {
  const byNode = new Map<string, Pod[]>();
  for (const pod of claimed) {
    const node = pod.spec.nodeName ?? '';
    const list = byNode.get(node);
    if (list) list.push(pod);
    else byNode.set(node, [pod]);
  }
  const terminatingOn = new Set(terminating.map((p) => p.spec.nodeName ?? '').filter((n) => n !== ''));
  return { byNode, terminatingOn };
}

/** A Pod that ran to an end: a daemon should not, so it is deleted and then made again. */
export function isFinished(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Failed' || phase === 'Succeeded';
}

/** Whether the Pod was made from the template with this hash. */
export function isUpdated(pod: Pod, hash: string): boolean {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash;
}

/** The Pods to keep of several on one node, most valuable first; the rest go. */
function surplus(running: Pod[], keepOneOfEach: boolean, hash: string): Pod[] {
  if (!keepOneOfEach) return podsToDelete(running, running.length - 1);
  // A surging update has one old and one new Pod on a node for a while: keep the best of each.
  const updated = running.filter((p) => isUpdated(p, hash));
  const old = running.filter((p) => !isUpdated(p, hash));
  return [...podsToDelete(updated, updated.length - 1), ...podsToDelete(old, old.length - 1)];
}

/**
 * Creates for nodes that should run the DaemonSet and have no Pod, deletes for
 * Pods on nodes that should not (or are gone), for finished Pods and for all but
 * one Pod a node (the most available, then the oldest, stays). With `surging`,
 * an old and a new Pod may share a node; the rollout decides when the old goes.
 */
export function planPlacement(nodes: readonly DaemonNode[], pods: DaemonPods, hash: string, surging: boolean): PodPlan {
  const plan: PodPlan = { createOn: [], deletes: [] };
  const known = new Set<string>();
  for (const node of nodes) {
    known.add(node.name);
    const here = pods.byNode.get(node.name) ?? [];
    const exists = here.length > 0 || pods.terminatingOn.has(node.name);
    if (node.shouldRun && !exists) plan.createOn.push(node.name);
    if (!node.shouldContinueRunning) {
      plan.deletes.push(...here);
      continue;
    }
    const running = here.filter((p) => !isFinished(p));
    plan.deletes.push(...here.filter(isFinished));
    if (running.length > 1) plan.deletes.push(...surplus(running, surging, hash));
  }
  // Pods on nodes that are gone, or bound nowhere (an adopted orphan): no node of ours runs them.
  for (const [nodeName, here] of pods.byNode) if (!known.has(nodeName)) plan.deletes.push(...here);
  return plan;
}
