// Which scheduled time a CronJob owes, computed from the store and the clock
// alone (Kubernetes' getMostRecentScheduleTime and nextScheduleTime in
// pkg/controller/cronjob/utils.go). Nothing is remembered between reconciles:
// a lost timer, a restart or a new leader computes the same answer.
import type { CronJob } from '../../proto/model.js';
import type { CronSchedule } from '../../proto/util/cron-schedule.js';

/** More missed runs than this are a warning (Kubernetes' figure); only the most recent is started anyway. */
export const TOO_MANY_MISSED = 100;

export interface SchedulePlan {
  /** The latest scheduled time in (earliest, now], if any: the run owed now. */
  mostRecent?: number;
  /** Scheduled times in (earliest, now], counted up to TOO_MANY_MISSED + 1. */
  missed: number;
  /** The first scheduled time after now, if the schedule has one. */
  next?: number;
}

/**
 * Where counting starts: the last scheduled time (or the CronJob's creation), but
 * no earlier than now - startingDeadlineSeconds, since a run older than that
 * may no longer start.
 */
export function earliestTime(cj: CronJob, now: number): number {
  const from = cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp;
  let earliest = from ? Date.parse(from) : now;
  if (!Number.isFinite(earliest)) earliest = now;
  const deadline = cj.spec.startingDeadlineSeconds;
  if (deadline !== undefined && now - deadline * 1000 > earliest) earliest = now - deadline * 1000;
  return earliest;
}

export function planSchedule(schedule: CronSchedule, earliest: number, now: number): SchedulePlan {
  let t = schedule.next(earliest);
  let mostRecent: number | undefined;
  let missed = 0;
  while (t !== undefined && t <= now) {
    mostRecent = t;
    missed++;
    if (missed > TOO_MANY_MISSED) {
      // Many missed (a long outage of a frequent schedule): find the latest without walking them all.
      return { mostRecent: latestAtOrBefore(schedule, now, t), missed, next: schedule.next(now) };
    }
    t = schedule.next(t);
  }
  return { mostRecent, missed, next: t };
}

/** The latest scheduled time ≤ now and ≥ known (itself a scheduled time ≤ now): look back in doubling windows. */
function latestAtOrBefore(schedule: CronSchedule, now: number, known: number): number {
  for (let window = 60_000; now - window > known; window *= 2) {
    const t = schedule.next(now - window);
    if (t !== undefined && t <= now) return walkTo(schedule, t, now);
  }
  return walkTo(schedule, known, now);
}

function walkTo(schedule: CronSchedule, from: number, now: number): number {
  let latest = from;
  for (let t = schedule.next(from); t !== undefined && t <= now; t = schedule.next(t)) latest = t;
  return latest;
}

/** Kubernetes' Job name for a scheduled time: deterministic, so a second try is ALREADY_EXISTS, never a second run. */
export function jobNameFor(cronJobName: string, scheduled: number): string {
  return `${cronJobName}-${Math.floor(scheduled / 60_000)}`;
}
