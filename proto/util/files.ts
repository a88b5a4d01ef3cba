// Small file helpers both sides need. Credentials and state files are replaced
// atomically: a crash (or a board losing power) leaves the old file or the new
// one, never half of a key.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';

/**
 * Writes a temporary file created with the final mode (never world-readable,
 * even for an instant), optionally fsyncs it, then renames it over `file`.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode: number, opts: { fsync?: boolean } = {}): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await fs.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    // The umask may have narrowed the mode at creation; make it exact.
    await fh.chmod(mode);
    if (opts.fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Opens for reading without updating the access time (Linux): on ext4 with relatime the
 * first read of a file after it was written rewrites its inode, a 4 KiB page to the SD
 * card, which a server that looks at its CA files every minute would otherwise cost
 * after every start. Only the file's owner may ask for it: others get EPERM, and read
 * it the usual way.
 */
const NO_ATIME = fsConstants.O_NOATIME ?? 0;

async function readText(file: string): Promise<string> {
  if (NO_ATIME !== 0) {
    try {
      return await fs.readFile(file, { encoding: 'utf8', flag: fsConstants.O_RDONLY | NO_ATIME });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  }
  return fs.readFile(file, 'utf8');
}

/** The file's text, or undefined when it does not exist. */
export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readText(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
