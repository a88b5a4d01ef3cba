// A ReplicaSet's status, computed from the Pods it controls (Kubernetes'
// replica_set_utils.go calculateStatus): counts of the observed Pods, the
// generation they answer to, and a ReplicaFailure condition while creates or
// deletes fail.
import { findCondition } from '../../proto/util/conditions.js';
import type { Condition, Pod, ReplicaSet, ReplicaSetStatus } from '../../proto/model.js';
import { isPodAvailable, isPodReady } from './pod-ranking.js';

export const REPLICA_FAILURE = 'ReplicaFailure';

/** Whether every template label is on the Pod (fullyLabeledReplicas: the selector may ask for fewer). */
function fullyLabeled(pod: Pod, templateLabels: Record<string, string>): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(templateLabels).every(([k, v]) => labels[k] === v);
}

export function replicaSetStatus(rs: ReplicaSet, pods: readonly Pod[], now: number, nowIso: string, manageError: unknown): ReplicaSetStatus {
  const minReady = rs.spec.minReadySeconds ?? 0;
  const templateLabels = rs.spec.template.metadata?.labels ?? {};
  let conditions = (rs.status?.conditions ?? []).filter((c) => c.type !== REPLICA_FAILURE);
  const failure = findCondition(rs.status?.conditions, REPLICA_FAILURE);
  if (manageError !== undefined) {
    // Kept as first set while failures go on (as Kubernetes does): not a write per retry.
    const reason = (rs.spec.replicas ?? 1) > pods.length ? 'FailedCreate' : 'FailedDelete';
    const cond: Condition = failure ?? { type: REPLICA_FAILURE, status: 'True', reason, message: manageError instanceof Error ? manageError.message : String(manageError), lastTransitionTime: nowIso };
    conditions = [...conditions, cond];
  }
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: pods.filter((p) => fullyLabeled(p, templateLabels)).length,
    readyReplicas: pods.filter(isPodReady).length,
    availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
    observedGeneration: rs.metadata.generation ?? 1,
  };
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

export function sameStatus(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  if (!a) return false;
  return a.replicas === b.replicas
    && (a.fullyLabeledReplicas ?? 0) === (b.fullyLabeledReplicas ?? 0)
    && (a.readyReplicas ?? 0) === (b.readyReplicas ?? 0)
    && (a.availableReplicas ?? 0) === (b.availableReplicas ?? 0)
    && a.observedGeneration === b.observedGeneration
    && JSON.stringify(a.conditions ?? []) === JSON.stringify(b.conditions ?? []);
}
