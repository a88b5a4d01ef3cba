// Which finished Jobs of a CronJob go (successfulJobsHistoryLimit and
// failedJobsHistoryLimit, Kubernetes' cleanupFinishedJobs): the oldest beyond
// each limit, oldest by start time, then creation, then name.
import { jobOutcome, type CronJobJob, type JobOutcome } from './cronjob-jobs.js';

function startOf(job: CronJobJob): number {
  const t = Date.parse(job.status?.startTime ?? job.metadata.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : 0;
}

function oldestBeyond(jobs: CronJobJob[], outcome: JobOutcome, limit: number): CronJobJob[] {
  const finished = jobs.filter((j) => jobOutcome(j) === outcome && !j.metadata.deletionTimestamp);
  if (finished.length <= limit) return [];
  finished.sort((a, b) => startOf(a) - startOf(b) || a.metadata.name.localeCompare(b.metadata.name));
  return finished.slice(0, finished.length - limit);
}

/** The Jobs to delete, successful ones first. */
export function pruneHistory(jobs: CronJobJob[], successfulLimit: number, failedLimit: number): CronJobJob[] {
  return [...oldestBeyond(jobs, 'Complete', successfulLimit), ...oldestBeyond(jobs, 'Failed', failedLimit)];
}
