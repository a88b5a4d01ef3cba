// A DaemonSet's status, computed from the nodes and its Pods on them (Kubernetes'
// updateDaemonSetStatus): each node that should run it is judged by its best Pod
// there, the one placement keeps.
import type { DaemonSet, DaemonSetStatus, Pod } from '../../proto/model.js';
import type { DaemonNode } from './daemonset-nodes.js';
import { isFinished, isUpdated, type DaemonPods } from './daemonset-placement.js';
import { comparePodsForDeletion, isPodAvailable, isPodReady } from './pod-ranking.js';

/** The node's most valuable live Pod (ready before not, then the longest ready, then the oldest). */
function bestPod(pods: readonly Pod[]): Pod | undefined {
  const live = pods.filter((p) => !isFinished(p));
  return live.length === 0 ? undefined : [...live].sort(comparePodsForDeletion)[live.length - 1];
}

export function daemonSetStatus(ds: DaemonSet, nodes: readonly DaemonNode[], pods: DaemonPods, hash: string, now: number): DaemonSetStatus {
  const minReady = ds.spec.minReadySeconds ?? 0;
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  for (const node of nodes) {
    const pod = bestPod(pods.byNode.get(node.name) ?? []);
    if (!node.shouldRun) {
      // Kubernetes' meaning: running where it should not be scheduled (a Pod kept past a NoSchedule taint counts).
      if (pod) misscheduled++;
      continue;
    }
    desired++;
    if (!pod) continue;
    current++;
    if (isPodReady(pod)) ready++;
    if (isPodAvailable(pod, minReady, now)) available++;
    if (isUpdated(pod, hash)) updated++;
  }
  return {
    desiredNumberScheduled: desired,
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
    observedGeneration: ds.metadata.generation ?? 1,
  };
}

const FIELDS = [
  'desiredNumberScheduled', 'currentNumberScheduled', 'numberMisscheduled', 'numberReady',
  'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'observedGeneration',
] as const;

export function sameDaemonSetStatus(a: DaemonSetStatus | undefined, b: DaemonSetStatus): boolean {
  if (!a) return false;
  return FIELDS.every((f) => (a[f] ?? 0) === (b[f] ?? 0)) && JSON.stringify(a.conditions ?? []) === JSON.stringify(b.conditions ?? []);
}
