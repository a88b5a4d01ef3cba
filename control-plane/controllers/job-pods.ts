// The pure pieces of Kubernetes' Job controller that concern its Pods: the
// labels and (for Indexed Jobs) the index a new Pod is stamped with, which
// finished Pods count, the completion indexes as "0-2,4", and the back-off
// before a Pod is made again after failures. No store, no clock: the
// controller passes "now" in.
import {
  JOB_BATCH_CONTROLLER_UID_LABEL, JOB_BATCH_NAME_LABEL, JOB_COMPLETION_INDEX_ANNOTATION, JOB_COMPLETION_INDEX_ENV,
  JOB_CONTROLLER_UID_LABEL, JOB_NAME_LABEL, type Container, type Job, type Pod, type PodTemplateSpec,
} from '../../proto/model.js';

export const DEFAULT_PARALLELISM = 1;
export const DEFAULT_COMPLETIONS = 1;
export const DEFAULT_BACKOFF_LIMIT = 6;
/** Kubernetes' DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 6 * 60_000;

export function isIndexed(job: Job): boolean {
  return job.spec.completionMode === 'Indexed';
}

/** The labels Kubernetes puts on every Pod of a Job (the apiserver puts them on the template). */
export function jobPodLabels(job: Job): Record<string, string> {
  const uid = job.metadata.uid ?? '';
  return {
    [JOB_BATCH_CONTROLLER_UID_LABEL]: uid,
    [JOB_BATCH_NAME_LABEL]: job.metadata.name,
    [JOB_CONTROLLER_UID_LABEL]: uid,
    [JOB_NAME_LABEL]: job.metadata.name,
  };
}

function withIndexEnv(c: Container, index: number): Container {
  const env = (c.env ?? []).filter((e) => e.name !== JOB_COMPLETION_INDEX_ENV);
  // From the annotation, as Kubernetes does (a downward-API fieldRef); a literal
  // value says the same and needs no downward API support in the agent.
  return { ...c, env: [...env, { name: JOB_COMPLETION_INDEX_ENV, value: String(index) }] };
}

/** The template a Pod of the Job is made from: the Job's labels, and for an index its annotation, label and env. */
export function jobPodTemplate(job: Job, index?: number): PodTemplateSpec {
  const t = job.spec.template;
  const labels = { ...(t.metadata?.labels ?? {}), ...jobPodLabels(job) };
  const annotations = { ...(t.metadata?.annotations ?? {}) };
  let spec = t.spec;
  if (index !== undefined) {
    labels[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    annotations[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    spec = {
      ...spec,
      containers: spec.containers.map((c) => withIndexEnv(c, index)),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map((c) => withIndexEnv(c, index)) } : {}),
    };
  }
  return {
    metadata: { labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec,
  };
}

/** An Indexed Job's Pod's index, when it has a valid one below `completions`. */
export function podIndex(pod: Pod, completions: number): number | undefined {
  const text = pod.metadata.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n < completions ? n : undefined;
}

export function isFinished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * Whether a finished Pod counts for the Job. A success always does; a failure
 * only when nobody was deleting the Pod: the agent reports a Pod it stopped on
 * a delete as Failed, and a Pod the controller removed (suspend, deadline, an
 * extra one) is not a failure of the Job's work.
 */
export function countsAs(pod: Pod): 'succeeded' | 'failed' | undefined {
  if (pod.status?.phase === 'Succeeded') return 'succeeded';
  if (pod.status?.phase === 'Failed' && !pod.metadata.deletionTimestamp) return 'failed';
  return undefined;
}

/** "0-2,4" from a set of indexes (Kubernetes' completedIndexes format). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The indexes "0-2,4" names, those at or above `completions` left out; malformed parts are skipped. */
export function parseIndexes(text: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = Math.min(m[2] === undefined ? from : Number(m[2]), completions - 1);
    for (let i = from; i <= to; i++) out.add(i);
  }
  return out;
}

/** Container restarts of a Pod that still runs: with restartPolicy OnFailure these are the Job's failures. */
export function restartsOf(pod: Pod): number {
  const status = pod.status as { containerStatuses?: { restartCount?: number }[]; initContainerStatuses?: { restartCount?: number }[] } | undefined;
  let n = 0;
  for (const s of [...(status?.containerStatuses ?? []), ...(status?.initContainerStatuses ?? [])]) n += s.restartCount ?? 0;
  return n;
}

/** When a finished Pod finished, in ms: its last container's finishedAt, else its Ready condition's last change. */
export function finishedAt(pod: Pod): number | undefined {
  let latest: number | undefined;
  for (const s of pod.status?.containerStatuses ?? []) {
    const t = s.state.terminated?.finishedAt ? Date.parse(s.state.terminated.finishedAt) : NaN;
    if (!Number.isNaN(t)) latest = Math.max(latest ?? t, t);
  }
  if (latest !== undefined) return latest;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  const t = ready ? Date.parse(ready) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** 10 s after the first failure in a row, doubling, at most 6 min (Kubernetes' Pod failure back-off). */
export function failureBackoffMs(failuresInARow: number): number {
  if (failuresInARow <= 0) return 0;
  return Math.min(POD_FAILURE_BACKOFF_MS * 2 ** Math.min(failuresInARow - 1, 30), MAX_POD_FAILURE_BACKOFF_MS);
}

/**
 * When the next Pod may be made, given the Job's finished Pods (Kubernetes'
 * backoffRecord): the failures since the last success, counted back from the
 * latest failure. Undefined when there is nothing to wait for.
 */
export function nextCreateAllowedAt(finished: readonly Pod[]): number | undefined {
  let lastSuccess = -Infinity;
  for (const p of finished) if (p.status?.phase === 'Succeeded') lastSuccess = Math.max(lastSuccess, finishedAt(p) ?? -Infinity);
  const failures = finished
    .filter((p) => countsAs(p) === 'failed')
    .map((p) => finishedAt(p))
    .filter((t): t is number => t !== undefined && t > lastSuccess);
  if (failures.length === 0) return undefined;
  return Math.max(...failures) + failureBackoffMs(failures.length);
}
