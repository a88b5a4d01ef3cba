// A Deployment's status and conditions (Kubernetes' deployment/sync.go
// calculateStatus and progress.go syncRolloutStatus): counts summed from its
// ReplicaSets, Available when enough Pods are, and Progressing, whose
// lastUpdateTime moves whenever the rollout makes progress so that a rollout
// making none for progressDeadlineSeconds turns Progressing=False.
import { stableJson } from '../../proto/util/json.js';
import { findCondition } from '../../proto/util/conditions.js';
import type { Condition, Deployment, DeploymentStatus, ReplicaSet } from '../../proto/model.js';
import { REPLICA_FAILURE } from './replicaset-status.js';
import {
  DEFAULT_PROGRESS_DEADLINE_SECONDS, desiredReplicas, fenceposts, sumActual, sumAvailable, sumReady, sumSpec,
} from './deployment-util.js';

export const AVAILABLE = 'Available';
export const PROGRESSING = 'Progressing';

/** The reasons kubectl's rollout status and describe know (deploymentutil's *Reason constants). */
export const REASONS = {
  newRSAvailable: 'NewReplicaSetAvailable',
  replicaSetUpdated: 'ReplicaSetUpdated',
  newRSCreated: 'NewReplicaSetCreated',
  foundNewRS: 'FoundNewReplicaSet',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  minimumAvailable: 'MinimumReplicasAvailable',
  minimumUnavailable: 'MinimumReplicasUnavailable',
} as const;

/**
 * Puts `next` in place of the condition of its type (Kubernetes'
 * SetDeploymentCondition): one with the same status and reason is kept as it is,
 * so a resync writes nothing; a status change dates lastTransitionTime now.
 */
export function setDeploymentCondition(conditions: readonly Condition[], next: Condition, nowIso: string): Condition[] {
  const i = conditions.findIndex((c) => c.type === next.type);
  const current = i >= 0 ? conditions[i] : undefined;
  if (current && current.status === next.status && current.reason === next.reason) return [...conditions];
  const dated: Condition = {
    ...next,
    lastUpdateTime: nowIso,
    lastTransitionTime: current?.status === next.status && current.lastTransitionTime ? current.lastTransitionTime : nowIso,
  };
  if (i < 0) return [...conditions, dated];
  return conditions.map((c, j) => (j === i ? dated : c));
}

export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

/** Counts from the ReplicaSets and the Available condition (calculateStatus). */
export function calculateStatus(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined, nowIso: string): DeploymentStatus {
  const available = sumAvailable(all);
  const want = desiredReplicas(d);
  let conditions = [...(d.status?.conditions ?? [])];
  const enough = available >= want - fenceposts(d).unavailable;
  conditions = setDeploymentCondition(conditions, enough
    ? { type: AVAILABLE, status: 'True', reason: REASONS.minimumAvailable, message: 'Deployment has minimum availability.' }
    : { type: AVAILABLE, status: 'False', reason: REASONS.minimumUnavailable, message: 'Deployment does not have minimum availability.' }, nowIso);
  return {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: sumActual(all),
    updatedReplicas: sumActual(newRS ? [newRS] : []),
    readyReplicas: sumReady(all),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sumSpec(all) - available),
    conditions,
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
  };
}

/** Every desired Pod updated, nothing else running, all available, and this generation seen (DeploymentComplete). */
export function isComplete(d: Deployment, s: DeploymentStatus): boolean {
  const want = desiredReplicas(d);
  return s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want
    && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1);
}

/** Progress since the status last written: more updated, ready or available Pods, or fewer old ones. */
export function isProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld
    || (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

export function progressDeadlineMs(d: Deployment): number {
  return (d.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
}

/** When the rollout times out if it makes no more progress; undefined when no deadline runs. */
export function deadlineAt(d: Deployment, s: DeploymentStatus): number | undefined {
  const cond = findCondition(s.conditions, PROGRESSING);
  if (!cond || cond.reason === REASONS.newRSAvailable || cond.reason === REASONS.timedOut || cond.status !== 'True') return undefined;
  const from = Date.parse(cond.lastUpdateTime ?? cond.lastTransitionTime ?? '');
  return Number.isNaN(from) ? undefined : from + progressDeadlineMs(d);
}

/**
 * The status after a rollout step (syncRolloutStatus): the counts, Progressing
 * moved on by completion, progress or the deadline, and a ReplicaFailure of any
 * ReplicaSet carried up. A paused Deployment's Progressing is left to the pause.
 */
export function rolloutStatus(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined, now: number, nowIso: string): DeploymentStatus {
  const next = calculateStatus(d, all, newRS, nowIso);
  let conditions = next.conditions ?? [];
  const current = findCondition(d.status?.conditions, PROGRESSING);
  const done = next.replicas === next.updatedReplicas && current?.reason === REASONS.newRSAvailable;
  if (!d.spec.paused && !done) {
    const rsName = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
    if (isComplete(d, next)) {
      conditions = setDeploymentCondition(conditions, { type: PROGRESSING, status: 'True', reason: REASONS.newRSAvailable, message: `${rsName} has successfully progressed.` }, nowIso);
    } else if (isProgressing(d, next)) {
      // Same reason again must still move lastUpdateTime: progress restarts the deadline.
      const kept = current?.status === 'True' ? current.lastTransitionTime : undefined;
      conditions = [...removeCondition(conditions, PROGRESSING), {
        type: PROGRESSING, status: 'True', reason: REASONS.replicaSetUpdated, message: `${rsName} is progressing.`,
        lastUpdateTime: nowIso, lastTransitionTime: kept ?? nowIso,
      }];
    } else {
      const at = deadlineAt(d, { ...next, conditions });
      if (at !== undefined && now > at) {
        conditions = setDeploymentCondition(conditions, { type: PROGRESSING, status: 'False', reason: REASONS.timedOut, message: `${rsName} has timed out progressing.` }, nowIso);
      }
    }
  }
  const failure = all.map((rs) => findCondition(rs.status?.conditions, REPLICA_FAILURE)).find((c) => c?.status === 'True');
  conditions = failure ? setDeploymentCondition(conditions, { ...failure }, nowIso) : removeCondition(conditions, REPLICA_FAILURE);
  return { ...next, conditions };
}

/**
 * Progressing=Unknown while paused, and once resumed (checkPausedConditions);
 * undefined when nothing changes. A timed-out rollout keeps saying so.
 */
export function pausedConditions(d: Deployment, nowIso: string): Condition[] | undefined {
  const conditions = d.status?.conditions ?? [];
  const cond = findCondition(conditions, PROGRESSING);
  if (cond?.reason === REASONS.timedOut) return undefined;
  const pausedShown = cond?.reason === REASONS.paused;
  if (d.spec.paused && !pausedShown) {
    return setDeploymentCondition(conditions, { type: PROGRESSING, status: 'Unknown', reason: REASONS.paused, message: 'Deployment is paused' }, nowIso);
  }
  if (!d.spec.paused && pausedShown) {
    return setDeploymentCondition(conditions, { type: PROGRESSING, status: 'Unknown', reason: REASONS.resumed, message: 'Deployment is resumed' }, nowIso);
  }
  return undefined;
}

export function sameDeploymentStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return a !== undefined && stableJson(a) === stableJson(b);
}
