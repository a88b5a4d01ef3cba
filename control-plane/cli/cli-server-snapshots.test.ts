import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseSnapshotFlags } from './cli-server-snapshots.js';

describe('server snapshot flags', () => {
  test('without flags snapshots are taken every 12 hours into <data-dir>/snapshots and 5 are kept, as k3s does', () => {
    assert.deepEqual(parseSnapshotFlags({}, '/var/lib/bramble'), { schedule: '0 */12 * * *', retention: 5, dir: '/var/lib/bramble/snapshots' });
  });

  test('a schedule, a retention and a directory are taken as given', () => {
    assert.deepEqual(parseSnapshotFlags({ snapshotSchedule: '@daily', snapshotRetention: '14', snapshotDir: 'backups' }, '/d'),
      { schedule: '@daily', retention: 14, dir: path.resolve('backups') });
  });

  test('"none" turns scheduled snapshots off, and then the other flags are refused as having no effect', () => {
    assert.equal(parseSnapshotFlags({ snapshotSchedule: 'none' }, '/d'), undefined);
    assert.throws(() => parseSnapshotFlags({ snapshotSchedule: 'none', snapshotRetention: '3' }, '/d'), {
      message: '--snapshot-retention has no effect with --snapshot-schedule none: leave one of them out',
    });
  });

  test('a schedule cron cannot run is refused with the reason and the value', () => {
    assert.throws(() => parseSnapshotFlags({ snapshotSchedule: '0 */12 * *' }, '/d'), {
      message: '--snapshot-schedule must be a cron schedule with 5 fields (minute hour day-of-month month day-of-week) or a macro such as "@hourly", or "none": current value is "0 */12 * *"',
    });
    assert.throws(() => parseSnapshotFlags({ snapshotSchedule: '0 25 * * *' }, '/d'), /--snapshot-schedule must be a valid cron schedule .*current value is "0 25 \* \* \*"/);
  });

  test('a retention that is not a whole number of at least 1 is refused', () => {
    for (const bad of ['0', '-1', '2.5', 'five', '']) {
      assert.throws(() => parseSnapshotFlags({ snapshotRetention: bad }, '/d'), {
        message: `--snapshot-retention must be a whole number of snapshots, 1 or more: current value is "${bad}"`,
      });
    }
  });
});
