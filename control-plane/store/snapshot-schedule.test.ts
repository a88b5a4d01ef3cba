import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import { StoreState } from './store-state.js';
import { pruneSnapshots, snapshotFileName, SnapshotScheduler, type SnapshotScheduleOptions } from './snapshot-schedule.js';
import { readSnapshotFile } from './store-snapshot-file.js';

const HOUR = 3600_000;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-snapshot-schedule-'));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function state(): StoreState {
  const s = new StoreState();
  s.commit(s.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } } }] }));
  return s;
}

function scheduler(dir: string, clock: FakeClock, extra: Partial<SnapshotScheduleOptions> = {}): SnapshotScheduler {
  const s = state();
  return new SnapshotScheduler({
    schedule: '0 */12 * * *', retention: 2, dir, serverName: 'pi-1', source: () => s.snapshot(), clock, logger: silentLogger(), timeZone: 'UTC', ...extra,
  });
}

async function snapshotsIn(dir: string): Promise<string[]> {
  return (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('bramble-snapshot-')).sort();
}

describe('scheduled store snapshots', () => {
  test('file names carry the server and the UTC time, and sort in time order', () => {
    assert.equal(snapshotFileName('pi-1', Date.UTC(2026, 0, 1, 12)), 'bramble-snapshot-pi-1-20260101T120000Z.snap');
    assert.equal(snapshotFileName('a/b c', Date.UTC(2026, 11, 31, 23, 59, 58, 999)), 'bramble-snapshot-a_b_c-20261231T235958Z.snap');
  });

  test('retention keeps the newest of this server\'s files and deletes only files it would have written', () => withDir(async (dir) => {
    const mine = [1, 2, 3, 4].map((h) => snapshotFileName('pi-1', Date.UTC(2026, 0, 1, h)));
    const others = [snapshotFileName('pi-10', Date.UTC(2026, 0, 1, 0)), snapshotFileName('pi-2', Date.UTC(2026, 0, 1, 0)), 'notes.txt', 'bramble-snapshot-pi-1-manual.snap'];
    const leftover = `${snapshotFileName('pi-1', Date.UTC(2026, 0, 1, 5))}.tmp`;
    for (const f of [...mine, ...others, leftover]) await fs.writeFile(path.join(dir, f), 'x');
    const deleted = await pruneSnapshots(dir, 'pi-1', 2);
    assert.deepEqual(deleted.sort(), [mine[0], mine[1], leftover].sort());
    assert.deepEqual((await fs.readdir(dir)).sort(), [mine[2], mine[3], ...others].sort());
  }));

  test('snapshots are written at the scheduled times of the fake clock, and only the newest are kept', () => withDir(async (dir) => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0));
    const snaps = path.join(dir, 'snapshots');
    const s = scheduler(snaps, clock);
    s.start();
    assert.equal(s.nextRun(), Date.UTC(2026, 0, 1, 12));
    await clock.advance(12 * HOUR - 1);
    await s.idle();
    assert.deepEqual(await snapshotsIn(snaps), []);
    await clock.advance(1);
    await s.idle();
    assert.deepEqual(await snapshotsIn(snaps), ['bramble-snapshot-pi-1-20260101T120000Z.snap']);
    const { snapshot, summary } = await readSnapshotFile(path.join(snaps, 'bramble-snapshot-pi-1-20260101T120000Z.snap'));
    assert.equal(snapshot.revision, 1);
    assert.equal(summary.header.server, 'pi-1');
    assert.equal(summary.header.createdAt, '2026-01-01T12:00:00.000Z');
    assert.equal((await fs.stat(path.join(snaps, 'bramble-snapshot-pi-1-20260101T120000Z.snap'))).mode & 0o777, 0o600);
    for (let i = 0; i < 3; i++) {
      await clock.advance(12 * HOUR);
      await s.idle();
    }
    assert.deepEqual(await snapshotsIn(snaps), ['bramble-snapshot-pi-1-20260102T120000Z.snap', 'bramble-snapshot-pi-1-20260103T000000Z.snap']);
    await s.stop();
    assert.equal(clock.pendingCount, 0);
    await clock.advance(24 * HOUR);
    assert.equal((await snapshotsIn(snaps)).length, 2);
  }));

  test('a snapshot that cannot be written is logged and the next one is still taken', () => withDir(async (dir) => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0));
    const snaps = path.join(dir, 'snapshots');
    await fs.writeFile(snaps, 'a file where the directory should be');
    const errors: string[] = [];
    const logger = silentLogger();
    logger.error = ((_obj: unknown, msg: string) => { errors.push(msg); }) as typeof logger.error;
    const s = scheduler(snaps, clock, { logger });
    s.start();
    await clock.advance(12 * HOUR);
    await s.idle();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /the scheduled store snapshot could not be written to .*bramble-snapshot-pi-1-20260101T120000Z\.snap/);
    await fs.rm(snaps);
    await clock.advance(12 * HOUR);
    await s.idle();
    assert.deepEqual(await snapshotsIn(snaps), ['bramble-snapshot-pi-1-20260102T000000Z.snap']);
    await s.stop();
  }));

  test('a timer that fires before its time (the clock was set back) waits for the time', () => withDir(async (dir) => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0));
    const s = scheduler(dir, clock);
    s.start();
    // The timer fires at 12:00 by the fake clock, but the wall clock has been set back an hour.
    const realNow = clock.now.bind(clock);
    clock.now = () => realNow() - HOUR;
    await clock.advance(12 * HOUR);
    await s.idle();
    assert.deepEqual(await snapshotsIn(dir), []);
    clock.now = realNow;
    await clock.advance(HOUR);
    await s.idle();
    assert.deepEqual(await snapshotsIn(dir), ['bramble-snapshot-pi-1-20260101T130000Z.snap']);
    await s.stop();
  }));

  test('a schedule or retention that cannot work is refused', () => {
    const clock = new FakeClock();
    assert.throws(() => scheduler('/tmp/x', clock, { schedule: 'every day' }), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /"every day" is not valid: must be a cron schedule with 5 fields/.test(e.message));
    assert.throws(() => scheduler('/tmp/x', clock, { retention: 0 }), { message: 'the snapshot retention must be a whole number, 1 or more: current value is 0' });
  });
});
