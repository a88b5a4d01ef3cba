// `bramble store snapshot restore`: makes the store of a data dir from a snapshot
// file, offline. The file is checked whole before anything is touched; the new
// store is imported beside the data dir's, opened to prove it reads back, and
// only then put in place. An existing store is never deleted: without force the
// restore refuses, with it the old one is moved aside to store.old-<time>. A
// store a running server holds (its LevelDB lock) is never touched.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { writeFileAtomic } from '../../proto/util/files.js';
import { importLevelStore, openLevelStore } from './store-level.js';
import { readSnapshotFile, verifySnapshotFile } from './store-snapshot-file.js';
import type { SnapshotSummary } from './store-snapshot.js';

/** Where the Secrets-at-rest encryption keys live in a data dir. */
export const ENCRYPTION_KEYS_FILE = path.join('cred', 'encryption-keys.json');

export interface RestoreOptions {
  file: string;
  dataDir: string;
  /** Move an existing store (and encryption keys that differ) aside instead of refusing. */
  force?: boolean;
  /** The encryption keys of the cluster the snapshot comes from, copied into the data dir. */
  encryptionKeys?: string;
  clock?: Clock;
}

export interface RestoreReport {
  summary: SnapshotSummary;
  storeDir: string;
  /** Where the store that was there went (force). */
  movedAside?: string;
  /** Where the encryption keys were copied to, and where different ones that were there went. */
  keysCopiedTo?: string;
  keysMovedAside?: string;
  /**
   * Where the record of a replicated control plane's membership went: a restored store
   * starts as a single server (--cluster-init then makes it the first member of a new cluster).
   */
  membershipMovedAside?: string;
  /** Whether the data dir has the keys now (copied, or there before). */
  hasKeys: boolean;
  /** Whether the data dir has a cluster CA (tls/ca.crt), so joined agents keep working. */
  hasPki: boolean;
  secrets: number;
}

/** 20261202T060000Z: for the names of what is moved aside. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** `base`, or base.1, base.2, ... : the first name not taken. */
function freeName(base: string): string {
  let name = base;
  for (let i = 1; existsSync(name); i++) name = `${base}.${i}`;
  return name;
}

async function nonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length > 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Throws UNAVAILABLE when a process holds the LevelDB lock of `storeDir`. */
async function refuseIfLocked(storeDir: string, dataDir: string): Promise<void> {
  const db = new Level<string, string>(storeDir, { createIfMissing: false });
  try {
    await db.open();
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    if (e.code === 'LEVEL_LOCKED' || e.cause?.code === 'LEVEL_LOCKED') {
      throw new BrambleError('UNAVAILABLE',
        `the store in ${storeDir} is locked by another process: stop the bramble server using ${dataDir} before restoring into it (restore is done offline)`);
    }
    // Damaged or not a LevelDB at all: not in use, so it may be moved aside like any other.
    return;
  }
  await db.close();
}

/** The keys file as given, checked to be JSON before anything is changed. */
async function readKeys(file: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BrambleError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT',
      `cannot read the encryption keys file ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    JSON.parse(data.toString('utf8'));
  } catch {
    throw new BrambleError('INVALID_ARGUMENT', `the encryption keys file ${file} is not JSON: give the ${ENCRYPTION_KEYS_FILE} of the data dir the snapshot was taken from`);
  }
  return data;
}

export async function restoreSnapshot(opts: RestoreOptions): Promise<RestoreReport> {
  const clock = opts.clock ?? realClock;
  const file = path.resolve(opts.file);
  const dataDir = path.resolve(opts.dataDir);
  const storeDir = path.join(dataDir, 'store');
  const keysTarget = path.join(dataDir, ENCRYPTION_KEYS_FILE);
  const when = stamp(clock.now());

  // Everything that can refuse does so before the data dir is changed.
  const summary = await verifySnapshotFile(file);
  const keys = opts.encryptionKeys === undefined ? undefined : await readKeys(path.resolve(opts.encryptionKeys));
  const oldStore = await nonEmptyDir(storeDir);
  if (oldStore) {
    await refuseIfLocked(storeDir, dataDir);
    if (!opts.force) {
      throw new BrambleError('ALREADY_EXISTS',
        `${dataDir} already holds a store (${storeDir}): restore into a new directory, or pass --force to move it aside to ${storeDir}.old-${when}`);
    }
  }
  const oldKeys = keys !== undefined && existsSync(keysTarget) ? await fs.readFile(keysTarget) : undefined;
  const keysDiffer = oldKeys !== undefined && keys !== undefined && !oldKeys.equals(keys);
  if (keysDiffer && !opts.force) {
    throw new BrambleError('ALREADY_EXISTS',
      `${keysTarget} already exists and holds other keys: pass --force to move it aside to ${keysTarget}.old-${when}`);
  }

  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const staging = await fs.mkdtemp(path.join(dataDir, `.restore-${when}-`));
  const report: RestoreReport = { summary, storeDir, hasKeys: false, hasPki: false, secrets: 0 };
  try {
    // Read again, checked again: the file may have changed since the first pass.
    const { snapshot, summary: again } = await readSnapshotFile(file);
    if (again.sha256 !== summary.sha256) throw new BrambleError('STORE_FAILED', `the snapshot ${file} changed while it was being restored: restore it again`);
    report.secrets = snapshot.objects.filter((o) => o.kind === 'Secret').length;
    await importLevelStore({ dataDir: staging, snapshot });
    const reopened = await openLevelStore({ dataDir: staging });
    try {
      if (reopened.revision() !== snapshot.revision || reopened.objectCount() !== snapshot.objects.length) {
        throw new BrambleError('STORE_FAILED',
          `the restored store reads back at revision ${reopened.revision()} with ${reopened.objectCount()} objects, not ${snapshot.revision} with ${snapshot.objects.length}`);
      }
    } finally {
      await reopened.close();
    }
    if (oldStore) {
      // Checked again right before the move: a server may have started on the directory meanwhile.
      await refuseIfLocked(storeDir, dataDir);
      report.movedAside = freeName(`${storeDir}.old-${when}`);
      await fs.rename(storeDir, report.movedAside);
    } else {
      // An empty store directory (nothing to keep) makes way for the new one.
      await fs.rm(storeDir, { recursive: true, force: true });
    }
    await fs.rename(path.join(staging, 'store'), storeDir);
    // The store it named (with its Raft log) is gone: the old membership must not outlive it.
    const member = path.join(dataDir, 'member.json');
    if (existsSync(member)) {
      report.membershipMovedAside = freeName(`${member}.old-${when}`);
      await fs.rename(member, report.membershipMovedAside);
    }
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }

  if (keys !== undefined) {
    await fs.mkdir(path.dirname(keysTarget), { recursive: true, mode: 0o700 });
    await fs.chmod(path.dirname(keysTarget), 0o700);
    if (keysDiffer) {
      report.keysMovedAside = freeName(`${keysTarget}.old-${when}`);
      await fs.rename(keysTarget, report.keysMovedAside);
    }
    await writeFileAtomic(keysTarget, keys, 0o600, { fsync: true });
    report.keysCopiedTo = keysTarget;
  }
  report.hasKeys = existsSync(keysTarget);
  report.hasPki = existsSync(path.join(dataDir, 'tls', 'ca.crt'));
  return report;
}
