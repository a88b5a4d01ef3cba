// What one pass of the Job controller decides (Kubernetes' syncJob, small), as
// a pure function of the Job as stored, its Pods and "now": the status to
// write, the Pods to make (by index for an Indexed Job) and to delete, whether
// the Job itself is due for deletion (ttlSecondsAfterFinished), and when to come
// back without any event (back-off, deadline, TTL).
import { isConditionTrue, setCondition } from '../../proto/util/conditions.js';
import { stableJson } from '../../proto/util/json.js';
import type { Condition, Job, JobStatus, Pod } from '../../proto/model.js';
import { isPodActive, isPodReady, podsToDelete } from './pod-ranking.js';
import {
  DEFAULT_BACKOFF_LIMIT, DEFAULT_COMPLETIONS, DEFAULT_PARALLELISM, countsAs, formatIndexes, isFinished, isIndexed,
  nextCreateAllowedAt, parseIndexes, podIndex, restartsOf,
} from './job-pods.js';

export interface JobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface JobPlan {
  status: JobStatus;
  /** One entry per Pod to make: its completion index, or undefined for a NonIndexed Job. */
  create: (number | undefined)[];
  delete: Pod[];
  events: JobEvent[];
  /** ttlSecondsAfterFinished has run out: delete the Job (its Pods go with it). */
  deleteJob: boolean;
  /** Come back after this many ms: a back-off, a deadline or a TTL ends then. */
  requeueAfterMs?: number;
}

/** The Job's finished condition (Complete or Failed, status True), if it has one. */
export function finishedCondition(status: JobStatus | undefined): Condition | undefined {
  return (status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/**
 * Adds the finished Pods not yet counted to the stored counts, each once (its uid
 * goes into countedPods in the same write), and forgets the uids of counted Pods
 * that are gone, so their counts stay. Indexed Jobs count indexes: a success adds
 * its index to completedIndexes, and succeeded is how many there are.
 */
export function countFinished(job: Job, pods: readonly Pod[]): { succeeded: number; failed: number; completed: Set<number>; counted: string[] } {
  const st = job.status ?? {};
  const completions = job.spec.completions ?? DEFAULT_COMPLETIONS;
  const counted = new Set(st.countedPods ?? []);
  const present = new Set(pods.map((p) => p.metadata.uid ?? ''));
  let succeeded = st.succeeded ?? 0;
  let failed = st.failed ?? 0;
  const completed = isIndexed(job) ? parseIndexes(st.completedIndexes, completions) : new Set<number>();
  for (const pod of pods) {
    const uid = pod.metadata.uid ?? '';
    const as = countsAs(pod);
    if (isIndexed(job) && as === 'succeeded') {
      // Set union: counting an index again changes nothing.
      const index = podIndex(pod, completions);
      if (index !== undefined) completed.add(index);
    }
    if (!as || counted.has(uid)) continue;
    counted.add(uid);
    if (as === 'succeeded') succeeded++;
    else failed++;
  }
  if (isIndexed(job)) succeeded = completed.size;
  return { succeeded, failed, completed, counted: [...counted].filter((u) => present.has(u)).sort() };
}

/** With restartPolicy OnFailure a failing container restarts in its Pod: Kubernetes counts those restarts against backoffLimit. */
function pastBackoffLimitOnFailure(job: Job, active: readonly Pod[], limit: number): boolean {
  if (job.spec.template.spec.restartPolicy !== 'OnFailure') return false;
  const restarts = active.reduce((n, p) => n + restartsOf(p), 0);
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

function cond(type: string, status: 'True' | 'False', reason: string, message: string): Condition {
  return { type, status, reason, message };
}

export function planJob(job: Job, pods: readonly Pod[], now: number): JobPlan {
  const nowIso = new Date(now).toISOString();
  const prev = job.status ?? {};
  const plan: JobPlan = { status: {}, create: [], delete: [], events: [], deleteJob: false };
  const { succeeded, failed, completed, counted } = countFinished(job, pods);
  const active = pods.filter(isPodActive);
  let conditions = prev.conditions ?? [];
  let startTime = prev.startTime;
  let completionTime = prev.completionTime;
  const after: number[] = [];
  const completions = job.spec.completions;
  const parallelism = job.spec.parallelism ?? DEFAULT_PARALLELISM;
  let finished = finishedCondition(prev);
  let stillActive = active;

  if (!finished && job.spec.suspend) {
    plan.delete.push(...active);
    stillActive = [];
    if (!isConditionTrue(conditions, 'Suspended')) {
      conditions = setCondition(conditions, cond('Suspended', 'True', 'JobSuspended', 'Job suspended'), nowIso);
      plan.events.push({ type: 'Normal', reason: 'Suspended', message: 'Job suspended' });
    }
  } else if (!finished) {
    if (isConditionTrue(conditions, 'Suspended')) {
      // Kubernetes restarts the deadline's clock on resume.
      conditions = setCondition(conditions, cond('Suspended', 'False', 'JobResumed', 'Job resumed'), nowIso);
      plan.events.push({ type: 'Normal', reason: 'Resumed', message: 'Job resumed' });
      startTime = nowIso;
    }
    startTime ??= nowIso;
    const limit = job.spec.backoffLimit ?? DEFAULT_BACKOFF_LIMIT;
    const deadline = job.spec.activeDeadlineSeconds;
    const deadlineAt = deadline !== undefined ? Date.parse(startTime) + deadline * 1000 : undefined;
    let failure: JobEvent | undefined;
    if (failed > limit || pastBackoffLimitOnFailure(job, active, limit)) {
      failure = { type: 'Warning', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    } else if (deadlineAt !== undefined && now >= deadlineAt) {
      failure = { type: 'Warning', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    }
    const complete = isIndexed(job)
      ? completed.size >= (completions ?? DEFAULT_COMPLETIONS)
      : completions !== undefined
        ? succeeded >= completions
        : succeeded > 0 && active.length === 0;
    if (failure && !complete) {
      conditions = setCondition(conditions, cond('Failed', 'True', failure.reason, failure.message), nowIso);
      plan.events.push(failure);
    } else if (complete) {
      conditions = setCondition(conditions, cond('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'), nowIso);
      completionTime = nowIso;
      plan.events.push({ type: 'Normal', reason: 'Completed', message: 'Job completed' });
    }
    finished = finishedCondition({ conditions });
    if (!finished) {
      const manage = manageActive(job, active, completed, succeeded, parallelism);
      plan.create = manage.create;
      // Kubernetes' Pod failure back-off: no new Pod until it has run out.
      const allowedAt = plan.create.length > 0 ? nextCreateAllowedAt(pods.filter(isFinished)) : undefined;
      if (allowedAt !== undefined && now < allowedAt) {
        plan.create = [];
        after.push(allowedAt - now);
      }
      plan.delete.push(...manage.delete);
      const gone = new Set(manage.delete);
      stillActive = active.filter((p) => !gone.has(p));
      if (deadlineAt !== undefined) after.push(deadlineAt - now);
    }
  }

  if (finished) {
    // A finished Job runs nothing: Pods still active (extra ones, or those cut off by a failure) go.
    plan.delete.push(...active);
    stillActive = [];
    const ttl = job.spec.ttlSecondsAfterFinished;
    const doneAt = Date.parse(finished.lastTransitionTime ?? nowIso);
    if (ttl !== undefined) {
      const expiresAt = doneAt + ttl * 1000;
      if (now >= expiresAt) plan.deleteJob = true;
      else after.push(expiresAt - now);
    }
  }

  plan.status = {
    ...(startTime !== undefined ? { startTime } : {}),
    ...(completionTime !== undefined ? { completionTime } : {}),
    active: stillActive.length,
    ready: stillActive.filter(isPodReady).length,
    succeeded,
    failed,
    ...(isIndexed(job) ? { completedIndexes: formatIndexes(completed) } : {}),
    ...(conditions.length > 0 ? { conditions } : {}),
    ...(counted.length > 0 ? { countedPods: counted } : {}),
  };
  if (after.length > 0) plan.requeueAfterMs = Math.max(0, Math.min(...after));
  return plan;
}

/**
 * Toward the Pods the Job should have running: parallelism at most, no more than
 * are still to succeed, none while a failure back-off runs. An Indexed Job runs
 * one Pod per index still to complete, lowest first; an extra Pod for an index
 * (or one without a valid index) is deleted.
 */
function manageActive(
  job: Job, active: readonly Pod[], completed: ReadonlySet<number>, succeeded: number, parallelism: number,
): { create: (number | undefined)[]; delete: Pod[] } {
  const completions = job.spec.completions;
  let wantActive = parallelism;
  if (completions !== undefined) wantActive = Math.max(0, Math.min(parallelism, completions - succeeded));
  else if (succeeded > 0) wantActive = Math.min(parallelism, active.length);
  const toDelete: Pod[] = [];
  let keep = [...active];
  const pendingIndexes: number[] = [];
  if (isIndexed(job)) {
    const total = completions ?? DEFAULT_COMPLETIONS;
    const byIndex = new Map<number, Pod>();
    keep = [];
    for (const p of active) {
      const i = podIndex(p, total);
      if (i === undefined || completed.has(i) || byIndex.has(i)) toDelete.push(p);
      else {
        byIndex.set(i, p);
        keep.push(p);
      }
    }
    for (let i = 0; i < total; i++) if (!completed.has(i) && !byIndex.has(i)) pendingIndexes.push(i);
  }
  if (keep.length > wantActive) {
    const extra = podsToDelete(keep, keep.length - wantActive);
    toDelete.push(...extra);
    return { create: [], delete: toDelete };
  }
  let count = wantActive - keep.length;
  if (isIndexed(job)) count = Math.min(count, pendingIndexes.length);
  if (count <= 0) return { create: [], delete: toDelete };
  return { create: isIndexed(job) ? pendingIndexes.slice(0, count) : Array.from({ length: count }, () => undefined), delete: toDelete };
}

/** Status equality for "write only when changed". */
export function sameJobStatus(a: JobStatus | undefined, b: JobStatus): boolean {
  return stableJson(a ?? {}) === stableJson(b);
}
