// The Jobs a CronJob makes and reads, in the few fields the CronJob controller
// needs (the Job controller owns the rest of the Job's shape): building one from
// spec.jobTemplate, and telling a finished Job (a Complete or Failed condition
// with status True, as Kubernetes' IsJobFinished) from a running one.
import {
  CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, type Condition, type CronJob, type CronJobActiveRef, type KObject,
} from '../../proto/model.js';
import { controllerRef } from './owner-claims.js';

/** A Job as the CronJob controller sees it. */
export interface CronJobJob extends KObject {
  kind: 'Job';
  spec?: unknown;
  status?: { conditions?: Condition[]; startTime?: string; completionTime?: string };
}

export type JobOutcome = 'Complete' | 'Failed';

/** Complete or Failed once the Job has such a condition with status True; undefined while it runs. */
export function jobOutcome(job: CronJobJob): JobOutcome | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/** When a Complete Job finished: completionTime, else the condition's transition time. */
export function completedAt(job: CronJobJob): string | undefined {
  if (job.status?.completionTime) return job.status.completionTime;
  return job.status?.conditions?.find((c) => c.type === 'Complete' && c.status === 'True')?.lastTransitionTime;
}

/** A reference for status.active. */
export function activeRef(job: KObject): CronJobActiveRef {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace: job.metadata.namespace,
    name: job.metadata.name,
    // No resourceVersion: it changes with each Job status write, and the CronJob's status would follow.
    ...(job.metadata.uid ? { uid: job.metadata.uid } : {}),
  };
}

export interface JobFromCronJobOptions {
  name: string;
  uid: string;
  nowIso: string;
  /** The scheduled time the Job runs for (epoch ms); absent for a Job made by hand. */
  scheduled?: number;
  /** Added to the template's annotations (create job --from adds the instantiate one). */
  annotations?: Record<string, string>;
}

/** The Job spec.jobTemplate makes, owned by the CronJob (Kubernetes' getJobFromTemplate2). */
export function jobFromCronJob(cj: CronJob, opts: JobFromCronJobOptions): CronJobJob {
  const tpl = cj.spec.jobTemplate;
  const annotations: Record<string, string> = { ...(tpl.metadata?.annotations ?? {}), ...(opts.annotations ?? {}) };
  if (opts.scheduled !== undefined) annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION] = new Date(opts.scheduled).toISOString().replace('.000Z', 'Z');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: opts.name,
      namespace: cj.metadata.namespace,
      uid: opts.uid,
      creationTimestamp: opts.nowIso,
      generation: 1,
      ...(tpl.metadata?.labels ? { labels: { ...tpl.metadata.labels } } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ownerReferences: [controllerRef(cj)],
    },
    spec: structuredClone(tpl.spec),
  };
}
