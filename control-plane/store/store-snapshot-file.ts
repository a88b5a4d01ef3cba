// Snapshot files: the thin layer between store-snapshot.ts's byte streams and
// the disk. A snapshot is written to FILE.tmp, fsynced, read back and checked,
// and only then moved to FILE, so FILE is either a whole checked snapshot or
// absent; a crash or a bad disk leaves at most the .tmp behind.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BrambleError } from '../../proto/util/errors.js';
import type { StoreSnapshot } from './store-state.js';
import { readSnapshot, verifySnapshot, type SnapshotSummary } from './store-snapshot.js';

/** Snapshots hold every object of the cluster (Secrets, token hashes): only their owner reads them. */
export const SNAPSHOT_FILE_MODE = 0o600;

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return 'no such file';
  if (err?.code === 'EACCES' || err?.code === 'EPERM') return 'permission denied';
  if (err?.code === 'EISDIR') return 'it is a directory';
  return err instanceof Error ? err.message : String(e);
}

/** The bytes of a file, with read failures as BrambleErrors naming it. */
export async function* snapshotFileChunks(file: string): AsyncGenerator<Buffer> {
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code === 'ENOENT' ? 'NOT_FOUND' : 'STORE_FAILED';
    throw new BrambleError(code, `cannot read the snapshot ${file}: ${reason(e)}`);
  } finally {
    stream.destroy();
  }
}

export function verifySnapshotFile(file: string): Promise<SnapshotSummary> {
  return verifySnapshot(snapshotFileChunks(file), { source: file });
}

export function readSnapshotFile(file: string): Promise<{ snapshot: StoreSnapshot; summary: SnapshotSummary }> {
  return readSnapshot(snapshotFileChunks(file), { source: file });
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface WriteSnapshotOptions {
  /** Replace an existing file (default: refuse with ALREADY_EXISTS). */
  force?: boolean;
}

/**
 * Writes the chunks of an encoded snapshot to `file` (via file.tmp, fsynced and
 * checked) and returns what the check read. Without `force` an existing file is
 * never replaced, even one made while this was writing.
 */
export async function writeSnapshotFile(file: string, chunks: AsyncIterable<Uint8Array>, opts: WriteSnapshotOptions = {}): Promise<SnapshotSummary> {
  const target = path.resolve(file);
  if (!opts.force && (await exists(target))) {
    throw new BrambleError('ALREADY_EXISTS', `${target} already exists: choose another file name, or pass --force to replace it`);
  }
  const tmp = `${target}.tmp`;
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(tmp, 'w', SNAPSHOT_FILE_MODE);
  } catch (e) {
    throw new BrambleError('STORE_FAILED', `cannot write the snapshot ${tmp}: ${reason(e)}`);
  }
  let moved = false;
  try {
    try {
      // The umask may have narrowed the mode, and an old .tmp kept its own.
      await fh.chmod(SNAPSHOT_FILE_MODE);
      for await (const chunk of chunks) await fh.write(chunk);
      await fh.sync();
    } catch (e) {
      if (e instanceof BrambleError) throw e;
      throw new BrambleError('STORE_FAILED', `cannot write the snapshot ${tmp}: ${reason(e)}`);
    } finally {
      await fh.close();
    }
    // What is on the disk, not what we meant to write: this catches a bad disk as well as a bad sender.
    const summary = await verifySnapshot(snapshotFileChunks(tmp), { source: tmp });
    try {
      if (opts.force) {
        await fs.rename(tmp, target);
      } else {
        // link refuses an existing name, where rename would replace it.
        await fs.link(tmp, target);
        await fs.unlink(tmp);
      }
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new BrambleError('ALREADY_EXISTS', `${target} already exists (it was made while the snapshot was written): pass --force to replace it`);
      }
      throw new BrambleError('STORE_FAILED', `cannot move the snapshot ${tmp} to ${target}: ${reason(e)}`);
    }
    await fsyncDir(path.dirname(target));
    return summary;
  } finally {
    if (!moved) await fs.rm(tmp, { force: true });
  }
}
