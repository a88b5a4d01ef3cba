import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIfExists } from './files.js';

/** What this process has sent to be written to storage so far (/proc/self/io). */
function writeBytes(): number {
  return Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);
}

/**
 * A file written and synced, so the inode table block holding it is clean and a read's atime update would dirty it again.
 */
function cleanFile(path: string, text: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The block may hold other inodes written a moment ago (the directory's, other tests'): all of them to disk.
  execFileSync('sync');
}

test('a file that does not exist reads as undefined', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bramble-files-'));
  try {
    assert.equal(await readIfExists(join(dir, 'missing')), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('reading a file just written does not write its inode back (no atime update)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bramble-files-'));
  try {
    // The usual read, as a control: on a file system that records atime it costs a page.
    cleanFile(join(dir, 'control'), 'control');
    const c0 = writeBytes();
    readFileSync(join(dir, 'control'), 'utf8');
    if (writeBytes() === c0) {
      t.skip('this file system writes nothing for an access time');
      return;
    }
    cleanFile(join(dir, 'ca.crt'), 'certificate');
    const before = writeBytes();
    assert.equal(await readIfExists(join(dir, 'ca.crt')), 'certificate');
    assert.equal(writeBytes() - before, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
