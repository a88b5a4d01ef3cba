import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCronSchedule } from '../../proto/util/cron-schedule.js';
import { makeCronJob, T0 } from '../testing/cronjob-fixtures.js';
import { earliestTime, jobNameFor, planSchedule, TOO_MANY_MISSED } from './cronjob-schedule-plan.js';

const MIN = 60_000;
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('CronJob schedule plan', () => {
  test('nothing is owed before the first scheduled time; the next one is given', () => {
    const plan = planSchedule(parseCronSchedule('0 * * * *'), T0, T0 + 30 * MIN);
    assert.deepEqual({ mostRecent: iso(plan.mostRecent), missed: plan.missed, next: iso(plan.next) }, { mostRecent: undefined, missed: 0, next: '2026-01-01T01:00:00.000Z' });
  });

  test('a scheduled time equal to now is owed now', () => {
    const plan = planSchedule(parseCronSchedule('0 * * * *'), T0, T0 + 60 * MIN);
    assert.equal(iso(plan.mostRecent), '2026-01-01T01:00:00.000Z');
    assert.equal(plan.missed, 1);
  });

  test('several missed runs: the most recent is owed, the count says how many', () => {
    const plan = planSchedule(parseCronSchedule('*/10 * * * *'), T0, T0 + 35 * MIN);
    assert.deepEqual([iso(plan.mostRecent), plan.missed, iso(plan.next)], ['2026-01-01T00:30:00.000Z', 3, '2026-01-01T00:40:00.000Z']);
  });

  test('more than 100 missed runs of an irregular schedule still find the latest exactly', () => {
    // Every minute of hour 0 only: two days later at noon, the latest is 00:59 that day.
    const now = T0 + 2 * 24 * 60 * MIN + 12 * 60 * MIN;
    const plan = planSchedule(parseCronSchedule('* 0 * * *'), T0, now);
    assert.equal(plan.missed, TOO_MANY_MISSED + 1);
    assert.equal(iso(plan.mostRecent), '2026-01-03T00:59:00.000Z');
    assert.equal(iso(plan.next), '2026-01-04T00:00:00.000Z');
  });

  test('counting starts at lastScheduleTime, else creation, but no earlier than now - startingDeadlineSeconds', () => {
    const now = T0 + 60 * MIN;
    assert.equal(earliestTime(makeCronJob('a'), now), T0);
    assert.equal(earliestTime(makeCronJob('a', {}, { lastScheduleTime: '2026-01-01T00:30:00Z' }), now), T0 + 30 * MIN);
    assert.equal(earliestTime(makeCronJob('a', { startingDeadlineSeconds: 300 }), now), now - 5 * MIN);
    assert.equal(earliestTime(makeCronJob('a', { startingDeadlineSeconds: 7200 }), now), T0);
  });

  test('a Job is named after its scheduled minute since the epoch, as Kubernetes names them', () => {
    assert.equal(jobNameFor('backup', Date.UTC(2026, 0, 1, 0, 1)), `backup-${Date.UTC(2026, 0, 1, 0, 1) / MIN}`);
    assert.equal(jobNameFor('backup', Date.UTC(2026, 0, 1, 0, 1, 30)), `backup-${Date.UTC(2026, 0, 1, 0, 1) / MIN}`);
  });
});
