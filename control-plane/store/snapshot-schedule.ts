// Scheduled store snapshots, as k3s takes etcd snapshots: on a cron schedule (in
// this machine's time zone, as k3s reads its own), a snapshot file goes to a
// directory and only the newest `retention` of this server's files are kept.
// Only files whose names this code makes are ever deleted, so a directory shared
// with other files, or with other members' snapshots, is safe.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock, Timer } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { parseCronSchedule, type CronSchedule } from '../../proto/util/cron-schedule.js';
import type { Logger } from '../../proto/util/log.js';
import type { StoreSnapshot } from './store-state.js';
import { encodeSnapshot, type SnapshotSummary } from './store-snapshot.js';
import { writeSnapshotFile } from './store-snapshot-file.js';

const PREFIX = 'bramble-snapshot-';
const SUFFIX = '.snap';

/** A server name as it may appear in a file name. */
function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'server';
}

/** 2026-12-02T06:00:00.000Z as 20261202T060000Z: sorts as it reads, and is safe in any file system. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function snapshotFileName(server: string, takenAtMs: number): string {
  return `${PREFIX}${fileSafe(server)}-${stamp(takenAtMs)}${SUFFIX}`;
}

function ownFile(server: string): RegExp {
  const escaped = fileSafe(server).replace(/[.]/g, '\\.');
  return new RegExp(`^${PREFIX}${escaped}-(\\d{8}T\\d{6}Z)${SUFFIX.replace('.', '\\.')}(\\.tmp)?$`);
}

/**
 * Deletes this server's snapshot files in `dir` beyond the newest `retention`, and
 * any .tmp left by a write that a crash cut short. Returns the names deleted.
 * Call it only while no snapshot of this server is being written.
 */
export async function pruneSnapshots(dir: string, server: string, retention: number): Promise<string[]> {
  const pattern = ownFile(server);
  const own: { name: string; stamp: string }[] = [];
  const stale: string[] = [];
  for (const name of await fs.readdir(dir)) {
    const m = pattern.exec(name);
    if (!m) continue;
    if (m[2]) stale.push(name);
    else own.push({ name, stamp: m[1]! });
  }
  own.sort((a, b) => (a.stamp < b.stamp ? 1 : a.stamp > b.stamp ? -1 : 0));
  const doomed = [...own.slice(retention).map((f) => f.name), ...stale];
  for (const name of doomed) await fs.rm(path.join(dir, name), { force: true });
  return doomed;
}

export function validateRetention(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new BrambleError('INVALID_ARGUMENT', `the snapshot retention must be a whole number, 1 or more: current value is ${n}`);
  }
  return n;
}

/** The machine's own time zone, as cron reads a crontab. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export interface SnapshotScheduleOptions {
  /** A five-field cron schedule or a macro such as @daily (proto/util/cron-schedule.ts). */
  schedule: string;
  /** How many of this server's snapshots to keep, the newest; at least 1. */
  retention: number;
  dir: string;
  serverName: string;
  /** The raw store's committed state (LevelStore.snapshot). */
  source: () => StoreSnapshot;
  clock: Clock;
  logger: Logger;
  /** IANA name; default the machine's. */
  timeZone?: string;
}

export interface TakenSnapshot {
  file: string;
  summary: SnapshotSummary;
  /** Older files of this server deleted after it was written. */
  pruned: string[];
}

export class SnapshotScheduler {
  private readonly cron: CronSchedule;
  private timer: Timer | undefined;
  private running: Promise<TakenSnapshot | undefined> | undefined;
  private stopped = false;

  constructor(private readonly opts: SnapshotScheduleOptions) {
    validateRetention(opts.retention);
    try {
      this.cron = parseCronSchedule(opts.schedule, opts.timeZone ?? localTimeZone());
    } catch (e) {
      throw new BrambleError('INVALID_ARGUMENT', `the snapshot schedule ${JSON.stringify(opts.schedule)} is not valid: ${(e as Error).message}`);
    }
  }

  /** When the next scheduled snapshot is due (epoch ms), or undefined when none is. */
  nextRun(): number | undefined {
    return this.cron.next(this.opts.clock.now());
  }

  start(): void {
    if (this.stopped || this.timer) return;
    const next = this.nextRun();
    const { schedule, dir, retention } = this.opts;
    this.opts.logger.info({ schedule, dir, retention, next: next === undefined ? undefined : new Date(next).toISOString() }, 'store snapshots scheduled');
    this.arm();
  }

  /** Cancels the schedule and waits for a snapshot being written. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  /** Resolves once no snapshot is being written (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Takes one snapshot now and prunes. Never rejects: a failure (disk full, a
   * directory that cannot be made) is logged and the schedule goes on.
   */
  takeNow(): Promise<TakenSnapshot | undefined> {
    if (this.running) {
      this.opts.logger.warn({ dir: this.opts.dir }, 'a store snapshot is still being written: this scheduled one is skipped');
      return this.running;
    }
    const run = this.write().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private arm(): void {
    const due = this.nextRun();
    if (due === undefined) {
      this.opts.logger.warn({ schedule: this.opts.schedule }, 'the snapshot schedule has no future run: no more store snapshots are taken');
      return;
    }
    this.timer = this.opts.clock.setTimeout(() => this.fire(due), due - this.opts.clock.now());
  }

  private fire(due: number): void {
    this.timer = undefined;
    if (this.stopped) return;
    // A board without a real-time clock may set its clock back after boot: wait for the time, not the timer.
    if (this.opts.clock.now() < due) {
      this.timer = this.opts.clock.setTimeout(() => this.fire(due), due - this.opts.clock.now());
      return;
    }
    void this.takeNow().then(() => {
      if (!this.stopped && !this.timer) this.arm();
    });
  }

  private async write(): Promise<TakenSnapshot | undefined> {
    const { dir, serverName, clock, logger } = this.opts;
    const takenAt = clock.now();
    const file = path.join(dir, snapshotFileName(serverName, takenAt));
    try {
      // Taken before the first await: the state at one revision.
      const snapshot = this.opts.source();
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const summary = await writeSnapshotFile(file, encodeSnapshot(snapshot, { createdAt: new Date(takenAt).toISOString(), server: serverName }));
      const pruned = await pruneSnapshots(dir, serverName, this.opts.retention);
      logger.info({ file, revision: summary.header.revision, objects: summary.header.objectCount, bytes: summary.bytes, pruned }, 'store snapshot written');
      return { file, summary, pruned };
    } catch (err) {
      logger.error({ err, file }, `the scheduled store snapshot could not be written to ${file}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }
}
