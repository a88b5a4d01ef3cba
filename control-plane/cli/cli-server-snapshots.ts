// `bramble server --snapshot-schedule CRON --snapshot-retention N --snapshot-dir DIR`:
// the flags of scheduled store snapshots, checked before the server starts.
// Defaults are k3s's for etcd snapshots (every 12 hours, the newest 5 kept).
import path from 'node:path';
import { cronScheduleProblem } from '../../proto/util/cron-schedule.js';
import { UsageError } from './cli-errors.js';

/** k3s's defaults for etcd snapshots: every 12 hours, the newest 5 kept. */
export const DEFAULT_SNAPSHOT_SCHEDULE = '0 */12 * * *';
export const DEFAULT_SNAPSHOT_RETENTION = 5;

/** What --snapshot-schedule takes to turn scheduled snapshots off. */
export const NO_SNAPSHOTS = 'none';

export interface SnapshotFlags {
  snapshotSchedule?: string;
  snapshotRetention?: string;
  snapshotDir?: string;
}

/** The server's snapshot options from the flags as typed, or undefined when they are off. */
export function parseSnapshotFlags(input: SnapshotFlags, dataDir: string): { schedule: string; retention: number; dir: string } | undefined {
  const schedule = (input.snapshotSchedule ?? DEFAULT_SNAPSHOT_SCHEDULE).trim();
  let retention = DEFAULT_SNAPSHOT_RETENTION;
  if (input.snapshotRetention !== undefined) {
    const t = input.snapshotRetention.trim();
    if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t)) || Number(t) < 1) {
      throw new UsageError(`--snapshot-retention must be a whole number of snapshots, 1 or more: current value is "${input.snapshotRetention}"`);
    }
    retention = Number(t);
  }
  if (input.snapshotDir !== undefined && input.snapshotDir.trim() === '') {
    throw new UsageError('--snapshot-dir must name a directory: current value is empty');
  }
  if (schedule.toLowerCase() === NO_SNAPSHOTS) {
    const given = input.snapshotRetention !== undefined ? '--snapshot-retention' : input.snapshotDir !== undefined ? '--snapshot-dir' : undefined;
    if (given) throw new UsageError(`${given} has no effect with --snapshot-schedule ${NO_SNAPSHOTS}: leave one of them out`);
    return undefined;
  }
  const problem = cronScheduleProblem(schedule);
  if (problem) throw new UsageError(`--snapshot-schedule ${problem}, or "${NO_SNAPSHOTS}": current value is "${input.snapshotSchedule}"`);
  return { schedule, retention, dir: path.resolve(input.snapshotDir ?? path.join(dataDir, 'snapshots')) };
}
