// Builders for the CronJob controller's tests: a CronJob, Jobs it owns in the
// states it tells apart (running, Complete, Failed), and writes that finish one.
import type { CronJob, CronJobSpec, CronJobStatus } from '../../proto/model.js';
import type { CronJobJob } from '../controllers/cronjob-jobs.js';
import type { Store } from '../store/store.js';

export const T0 = Date.UTC(2026, 0, 1);

export function makeCronJob(name: string, spec: Partial<CronJobSpec> = {}, status?: CronJobStatus, created = new Date(T0).toISOString()): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default', uid: `uid-cj-${name}`, generation: 1, creationTimestamp: created },
    spec: {
      schedule: '* * * * *',
      jobTemplate: {
        metadata: { labels: { app: name } },
        spec: { template: { metadata: { labels: { app: name } }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } },
      },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

export type JobState = 'running' | 'Complete' | 'Failed';

export function makeOwnedJob(cj: CronJob, name: string, state: JobState, startTime: string): CronJobJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-job-${name}`,
      creationTimestamp: startTime,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name, uid: cj.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(cj.spec.jobTemplate.spec),
    status: state === 'running'
      ? { startTime }
      : { startTime, ...(state === 'Complete' ? { completionTime: startTime } : {}), conditions: [{ type: state, status: 'True', lastTransitionTime: startTime }] },
  };
}

/** Writes a Complete or Failed condition on a stored Job, as the Job controller would. */
export async function finishJob(store: Store, name: string, outcome: 'Complete' | 'Failed', at: string): Promise<void> {
  const job = store.get('Job', 'default', name) as CronJobJob;
  const status = { ...(job.status ?? {}), ...(outcome === 'Complete' ? { completionTime: at } : {}), conditions: [{ type: outcome, status: 'True' as const, lastTransitionTime: at }] };
  await store.propose({ ops: [{ type: 'put', object: { ...job, status }, precondition: { resourceVersion: job.metadata.resourceVersion! } }] });
}
