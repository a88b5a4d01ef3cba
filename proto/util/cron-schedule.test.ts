import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cronScheduleProblem, parseCronSchedule, timeZoneProblem } from './cron-schedule.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
/** The first n scheduled instants after `from`. */
function runs(schedule: string, from: string, n: number, timeZone?: string): (string | undefined)[] {
  const s = parseCronSchedule(schedule, timeZone);
  const out: (string | undefined)[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i++) {
    const next = s.next(t);
    out.push(iso(next));
    if (next === undefined) break;
    t = next;
  }
  return out;
}

describe('cron schedules', () => {
  test('next is strictly after the given instant, on whole minutes', () => {
    assert.deepEqual(runs('* * * * *', '2026-01-01T00:00:00Z', 2), ['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']);
    assert.deepEqual(runs('* * * * *', '2026-01-01T00:00:30.500Z', 1), ['2026-01-01T00:01:00.000Z']);
  });

  test('every macro means what robfig/cron says it means', () => {
    const from = '2026-01-01T00:30:00Z';
    assert.deepEqual(runs('@hourly', from, 1), ['2026-01-01T01:00:00.000Z']);
    assert.deepEqual(runs('@daily', from, 1), ['2026-01-02T00:00:00.000Z']);
    assert.deepEqual(runs('@midnight', from, 1), ['2026-01-02T00:00:00.000Z']);
    assert.deepEqual(runs('@weekly', from, 1), ['2026-01-04T00:00:00.000Z']);
    assert.deepEqual(runs('@monthly', from, 1), ['2026-02-01T00:00:00.000Z']);
    assert.deepEqual(runs('@yearly', from, 1), ['2027-01-01T00:00:00.000Z']);
    assert.deepEqual(runs('@annually', from, 1), ['2027-01-01T00:00:00.000Z']);
  });

  test('names, ranges and steps are read', () => {
    assert.deepEqual(runs('0 9 * JAN MON-FRI', '2026-01-02T10:00:00Z', 2), ['2026-01-05T09:00:00.000Z', '2026-01-06T09:00:00.000Z']);
    assert.deepEqual(runs('*/20 1-2 * * *', '2026-01-01T00:00:00Z', 3), ['2026-01-01T01:00:00.000Z', '2026-01-01T01:20:00.000Z', '2026-01-01T01:40:00.000Z']);
  });

  test('day-of-month and day-of-week are ORed when both are restricted, as in Vixie cron', () => {
    // The 13th, or any Friday: 2026-01-02 is a Friday.
    assert.deepEqual(runs('0 0 13 * 5', '2026-01-01T00:00:00Z', 3), ['2026-01-02T00:00:00.000Z', '2026-01-09T00:00:00.000Z', '2026-01-13T00:00:00.000Z']);
    // A wildcard day-of-month ("*", "?", "*/1") leaves only the weekday.
    for (const dom of ['*', '?', '*/1']) {
      assert.deepEqual(runs(`0 0 ${dom} * 5`, '2026-01-01T00:00:00Z', 2), ['2026-01-02T00:00:00.000Z', '2026-01-09T00:00:00.000Z'], dom);
    }
  });

  test('a schedule that never fires has no next time', () => {
    assert.deepEqual(runs('0 0 31 2 *', '2026-01-01T00:00:00Z', 1), [undefined]);
  });

  test('a time zone moves the wall-clock time: 02:00 in Berlin is 01:00 UTC in winter, 00:00 UTC in summer', () => {
    assert.deepEqual(runs('0 2 * * *', '2026-01-01T00:00:00Z', 1, 'Europe/Berlin'), ['2026-01-01T01:00:00.000Z']);
    assert.deepEqual(runs('0 2 * * *', '2026-07-01T00:00:00Z', 1, 'Europe/Berlin'), ['2026-07-02T00:00:00.000Z']);
  });

  test('a time skipped when clocks spring forward is skipped, as robfig/cron does (Berlin, 2026-03-29)', () => {
    // 02:00 CET becomes 03:00 CEST: 02:30 does not exist that day.
    assert.deepEqual(runs('30 2 * * *', '2026-03-27T12:00:00Z', 2, 'Europe/Berlin'), ['2026-03-28T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  test('the repeated hour when clocks fall back runs once, at its second occurrence (Berlin, 2026-10-25)', () => {
    assert.deepEqual(runs('30 2 * * *', '2026-10-24T12:00:00Z', 2, 'Europe/Berlin'), ['2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  test('seconds, croner extras and CRON_TZ prefixes are refused with the rule', () => {
    assert.match(cronScheduleProblem('* * * * * *')!, /5 fields/);
    assert.match(cronScheduleProblem('0 0 * * 5#2')!, /day-of-week field "5#2"/);
    assert.match(cronScheduleProblem('0 0 1W * *')!, /must be a valid cron schedule/);
    assert.match(cronScheduleProblem('TZ=UTC 0 0 * * *')!, /set spec.timeZone instead/);
    assert.match(cronScheduleProblem('@reboot')!, /known macros are @yearly/);
    assert.match(cronScheduleProblem('5-3 * * * *')!, /From value is larger than to value/);
    assert.match(cronScheduleProblem('0 0 * * 0-7')!, /day-of-week 7 is above 6/);
    assert.equal(cronScheduleProblem('0 0 * * */7'), undefined);
  });

  test('time zones must be IANA names', () => {
    assert.equal(timeZoneProblem('Europe/Berlin'), undefined);
    assert.equal(timeZoneProblem('UTC'), undefined);
    assert.match(timeZoneProblem('Mars/Olympus')!, /IANA time zone name/);
    assert.match(timeZoneProblem('+01:00')!, /IANA time zone name/);
    assert.match(timeZoneProblem('europe/berlin')!, /IANA time zone name/, 'Kubernetes reads zone names as file names: case counts');
    assert.equal(timeZoneProblem('Asia/Calcutta'), undefined, 'an alias is a zone name too');
    assert.throws(() => parseCronSchedule('* * * * *', 'Mars/Olympus'), /IANA/);
  });
});
