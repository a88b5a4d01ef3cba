import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import { isBrambleError } from '../proto/util/errors.js';
import { containerLogPath, LOG_CHUNK_BYTES, podLogDir, pruneAttemptLogs, readLogs, removePodLogs, rotateIfNeeded, type PodLogRef } from './pod-logs.js';

const ref: PodLogRef = { namespace: 'default', name: 'web', uid: 'u-123' };

async function tmp(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-logs-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeLog(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.appendFile(file, text);
}

async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  let s = '';
  for await (const b of it) s += b.toString();
  return s;
}

/** Moves the fake clock until `p` settles: the follower schedules its next poll only after real file I/O. */
async function pump<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(() => (settled = true), () => (settled = true));
  // The reader alternates real file I/O with waits on the fake clock: advance only
  // while it waits on the clock, and otherwise let its I/O finish. Advancing
  // blindly could use up the advances while a slow stat runs, leaving the reader
  // waiting on a timer nobody moves (seen on a loaded machine).
  const deadline = Date.now() + 10_000;
  for (let advances = 0; advances < 50 && !settled && Date.now() < deadline;) {
    if (clock.pendingCount > 0) {
      await clock.advance(1000);
      advances++;
    } else {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  return p;
}

/** The bytes exactly, and the largest chunk they came in. */
async function collectBytes(it: AsyncIterable<Buffer>): Promise<{ data: Buffer; largestChunk: number }> {
  const parts: Buffer[] = [];
  let largestChunk = 0;
  for await (const b of it) {
    parts.push(b);
    largestChunk = Math.max(largestChunk, b.length);
  }
  return { data: Buffer.concat(parts), largestChunk };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Random bytes, bytes that are not UTF-8, and a 10 MB line without a newline: what a broken container may print. */
function garbage(): { all: Buffer; lastLine: Buffer } {
  const random = randomBytes(200_000);
  const invalidUtf8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc, 0x0a]);
  const lastLine = Buffer.alloc(10 * 1024 * 1024, 'x');
  return { all: Buffer.concat([random, Buffer.from('\n'), invalidUtf8, lastLine]), lastLine };
}

const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

describe('pod logs', () => {
  test('log paths follow <dataDir>/logs/<ns>_<pod>_<uid>/<container>/<restart>.log', () => {
    assert.equal(containerLogPath('/var/lib/bramble', ref, 'app', 2), '/var/lib/bramble/logs/default_web_u-123/app/2.log');
  });

  test('a log over the size limit is copy-truncated into .1 and at most N rotated files are kept', async (t) => {
    const dir = await tmp(t);
    const file = containerLogPath(dir, ref, 'app', 0);
    const policy = { maxBytes: 20, maxFiles: 2 };
    await writeLog(file, 'short\n');
    assert.equal(await rotateIfNeeded(file, policy), false);
    const handle = await fs.open(file, 'a');
    t.after(() => handle.close());
    for (const gen of ['first', 'second', 'third']) {
      await handle.write(`${gen} generation of lines\n`);
      assert.equal(await rotateIfNeeded(file, policy), true);
    }
    // The writer keeps its descriptor, as containerd's shim does, and keeps appending to the live file.
    await handle.write('after\n');
    assert.equal(await fs.readFile(file, 'utf8'), 'after\n');
    assert.equal(await fs.readFile(`${file}.1`, 'utf8'), 'third generation of lines\n');
    assert.equal(await fs.readFile(`${file}.2`, 'utf8'), 'second generation of lines\n');
    await assert.rejects(fs.stat(`${file}.3`));
  });

  test('tailLines returns the last lines across rotated files', async (t) => {
    const dir = await tmp(t);
    const file = containerLogPath(dir, ref, 'app', 0);
    await writeLog(`${file}.2`, lines(1, 3));
    await writeLog(`${file}.1`, lines(4, 6));
    await writeLog(file, lines(7, 8));
    assert.equal(await collect(readLogs(dir, ref, 'app', { tailLines: 4 })), lines(5, 8));
    assert.equal(await collect(readLogs(dir, ref, 'app', { tailLines: 1 })), lines(8, 8));
    assert.equal(await collect(readLogs(dir, ref, 'app', { tailLines: 100 })), lines(1, 8));
    assert.equal(await collect(readLogs(dir, ref, 'app')), lines(1, 8));
  });

  test('the latest attempt is read, and previous reads the one before', async (t) => {
    const dir = await tmp(t);
    await writeLog(containerLogPath(dir, ref, 'app', 0), 'zero\n');
    await writeLog(containerLogPath(dir, ref, 'app', 1), 'one\n');
    await writeLog(containerLogPath(dir, ref, 'app', 10), 'ten\n');
    assert.equal(await collect(readLogs(dir, ref, 'app')), 'ten\n');
    assert.equal(await collect(readLogs(dir, ref, 'app', { previous: true })), 'one\n');
    await assert.rejects(collect(readLogs(dir, ref, 'nope')), /container "nope" of pod default\/web must have a log/);
  });

  test('follow yields appended lines, survives a copy-truncate and stops when cancelled', async (t) => {
    const dir = await tmp(t);
    const clock = new FakeClock();
    const file = containerLogPath(dir, ref, 'app', 0);
    await writeLog(file, lines(1, 3));
    const abort = new AbortController();
    const it = readLogs(dir, ref, 'app', { tailLines: 2, follow: true, clock, pollMs: 1000, signal: abort.signal })[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.toString(), lines(2, 3));
    await writeLog(file, lines(4, 4));
    assert.equal((await pump(clock, it.next())).value?.toString(), lines(4, 4));
    await writeLog(file, lines(5, 5));
    await rotateIfNeeded(file, { maxBytes: 1, maxFiles: 1 });
    await writeLog(file, lines(6, 6));
    const got: string[] = [];
    got.push((await pump(clock, it.next())).value!.toString());
    got.push((await pump(clock, it.next())).value!.toString());
    assert.deepEqual(got, [lines(5, 5), lines(6, 6)]);
    const next = it.next();
    abort.abort();
    assert.equal((await next).done, true);
  });

  test('follow goes on with the next attempt when the container restarts, after the rest of the old one', async (t) => {
    const dir = await tmp(t);
    const clock = new FakeClock();
    const first = containerLogPath(dir, ref, 'app', 0);
    await writeLog(first, 'first 1\n');
    const abort = new AbortController();
    const it = readLogs(dir, ref, 'app', { follow: true, clock, pollMs: 1000, signal: abort.signal })[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.toString(), 'first 1\n');
    // The last words of the old attempt and the new attempt's first line appear between two polls.
    await writeLog(first, 'first 2\n');
    await writeLog(containerLogPath(dir, ref, 'app', 1), 'second 1\n');
    const got: string[] = [];
    got.push((await pump(clock, it.next())).value!.toString());
    got.push((await pump(clock, it.next())).value!.toString());
    await writeLog(containerLogPath(dir, ref, 'app', 1), 'second 2\n');
    got.push((await pump(clock, it.next())).value!.toString());
    assert.deepEqual(got, ['first 2\n', 'second 1\n', 'second 2\n']);
    const next = it.next();
    abort.abort();
    assert.equal((await next).done, true);
  });

  test('a follow of the previous attempt stays on that attempt', async (t) => {
    const dir = await tmp(t);
    const clock = new FakeClock();
    await writeLog(containerLogPath(dir, ref, 'app', 0), 'zero\n');
    await writeLog(containerLogPath(dir, ref, 'app', 1), 'one\n');
    const abort = new AbortController();
    const it = readLogs(dir, ref, 'app', { previous: true, follow: true, clock, pollMs: 1000, signal: abort.signal })[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.toString(), 'zero\n');
    await writeLog(containerLogPath(dir, ref, 'app', 2), 'two\n');
    const next = it.next();
    await clock.advance(5000);
    abort.abort();
    assert.equal((await next).done, true);
  });

  test('pruneAttemptLogs keeps the latest attempt and the one before', async (t) => {
    const dir = await tmp(t);
    for (const n of [0, 1, 2, 3]) await writeLog(containerLogPath(dir, ref, 'app', n), `${n}\n`);
    await writeLog(`${containerLogPath(dir, ref, 'app', 1)}.1`, 'rotated\n');
    assert.equal(await pruneAttemptLogs(dir, ref, 'app', 3), 2);
    assert.deepEqual((await fs.readdir(path.dirname(containerLogPath(dir, ref, 'app', 0)))).sort(), ['2.log', '3.log']);
  });

  test('removePodLogs removes the pod directory found by uid', async (t) => {
    const dir = await tmp(t);
    await writeLog(containerLogPath(dir, ref, 'app', 0), 'x\n');
    assert.equal(await removePodLogs(dir, 'u-123'), true);
    assert.equal(await removePodLogs(dir, 'u-123'), false);
    assert.deepEqual(await fs.readdir(path.join(dir, 'logs')), []);
  });
  test('binary garbage, invalid UTF-8 and a 10 MB line without a newline come out byte for byte, in bounded chunks', async (t) => {
    const dir = await tmp(t);
    const file = containerLogPath(dir, ref, 'app', 0);
    const { all, lastLine } = garbage();
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, all);
    const whole = await collectBytes(readLogs(dir, ref, 'app'));
    assert.equal(whole.data.length, all.length);
    assert.equal(sha(whole.data), sha(all));
    assert.ok(whole.largestChunk <= LOG_CHUNK_BYTES, `chunks must be at most ${LOG_CHUNK_BYTES} bytes: one was ${whole.largestChunk}`);
    const last = await collectBytes(readLogs(dir, ref, 'app', { tailLines: 1 }));
    assert.equal(last.data.length, lastLine.length);
    assert.equal(sha(last.data), sha(lastLine));
    assert.ok(last.largestChunk <= LOG_CHUNK_BYTES, 'a tail of one huge line must not be read into memory whole');
    const invalid = await collectBytes(readLogs(dir, ref, 'app', { tailLines: 2 }));
    assert.equal(sha(invalid.data), sha(all.subarray(200_001)));
    assert.equal((await collectBytes(readLogs(dir, ref, 'app', { tailLines: 0 }))).data.length, 0);
    assert.equal(sha((await collectBytes(readLogs(dir, ref, 'app', { tailLines: Number.MAX_SAFE_INTEGER }))).data), sha(all));
    assert.equal(sha((await collectBytes(readLogs(dir, ref, 'app', { tailLines: -5 }))).data), sha(all));
  });

  test('a tail counts lines across rotated files even when one line spans several files and chunks', async (t) => {
    const dir = await tmp(t);
    const file = containerLogPath(dir, ref, 'app', 0);
    const long = Buffer.alloc(LOG_CHUNK_BYTES * 3 + 17, 'y');
    await writeLog(`${file}.2`, 'old 1\nold 2\nstart of a long line ');
    await fs.appendFile(`${file}.1`, long);
    await writeLog(file, ' end of it\nlast\n');
    const want = Buffer.concat([Buffer.from('start of a long line '), long, Buffer.from(' end of it\nlast\n')]);
    assert.equal(sha((await collectBytes(readLogs(dir, ref, 'app', { tailLines: 2 }))).data), sha(want));
    assert.equal((await collect(readLogs(dir, ref, 'app', { tailLines: 1 }))), 'last\n');
    assert.equal((await collect(readLogs(dir, ref, 'app', { tailLines: 3 }))).slice(0, 12), 'old 2\nstart ');
  });

  test('a tail of a log whose live file is empty after a rotation reads the rotated file from its end', async (t) => {
    const dir = await tmp(t);
    const file = containerLogPath(dir, ref, 'app', 0);
    await writeLog(file, lines(1, 5));
    await rotateIfNeeded(file, { maxBytes: 1, maxFiles: 1 });
    assert.equal((await fs.stat(file)).size, 0);
    assert.equal(await collect(readLogs(dir, ref, 'app', { tailLines: 2 })), lines(4, 5));
  });

  test('rotating a large binary log keeps every byte', async (t) => {
    const dir = await tmp(t);
    const file = containerLogPath(dir, ref, 'app', 0);
    const { all } = garbage();
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, all);
    assert.equal(await rotateIfNeeded(file, { maxBytes: 1024 * 1024, maxFiles: 2 }), true);
    assert.equal(sha(await fs.readFile(`${file}.1`)), sha(all));
    assert.equal(sha((await collectBytes(readLogs(dir, ref, 'app'))).data), sha(all));
  });

  test('names with "/" or ".." never reach a path outside the log directory', async (t) => {
    const dir = await tmp(t);
    const secret = path.join(dir, 'secret.txt');
    await fs.writeFile(secret, 'do not show\n');
    await writeLog(containerLogPath(dir, ref, 'app', 0), 'fine\n');
    const invalid = (e: unknown): boolean => isBrambleError(e, 'INVALID_ARGUMENT');
    for (const bad of [
      { ref: { ...ref, namespace: '..' }, container: 'app' },
      { ref: { ...ref, namespace: '../..' }, container: 'app' },
      { ref: { ...ref, name: 'web/../../..' }, container: 'app' },
      { ref: { ...ref, name: '' }, container: 'app' },
      { ref: { ...ref, uid: '../../x' }, container: 'app' },
      { ref: { ...ref, uid: '' }, container: 'app' },
      { ref, container: '../../../../secret.txt' },
      { ref, container: '/etc/passwd' },
      { ref, container: '..' },
      { ref, container: 'App' },
      { ref, container: 'a\u0000b' },
    ]) {
      await assert.rejects(collect(readLogs(dir, bad.ref, bad.container)), invalid, JSON.stringify(bad));
    }
    assert.throws(() => podLogDir(dir, { ...ref, namespace: 'a_b' }), invalid, 'a "_" would make the directory name ambiguous');
    assert.throws(() => containerLogPath(dir, ref, 'app', -1), invalid);
    assert.throws(() => containerLogPath(dir, ref, 'app', 1.5), invalid);
    assert.equal(await collect(readLogs(dir, ref, 'app')), 'fine\n');
  });

  test('removePodLogs with an empty or odd uid removes nothing', async (t) => {
    const dir = await tmp(t);
    await writeLog(containerLogPath(dir, ref, 'app', 0), 'x\n');
    assert.equal(await removePodLogs(dir, ''), false);
    assert.equal(await removePodLogs(dir, '../logs'), false);
    assert.deepEqual(await fs.readdir(path.join(dir, 'logs')), ['default_web_u-123']);
  });
  test('a rotation in the middle of a read neither loses nor repeats bytes', async (t) => {
    const dir = await tmp(t);
    const file = containerLogPath(dir, ref, 'app', 0);
    const { all, lastLine } = garbage();
    await writeLog(`${file}.1`, 'older\n');
    await fs.writeFile(file, all);
    for (const tailLines of [undefined, 1]) {
      const it = readLogs(dir, ref, 'app', { tailLines })[Symbol.asyncIterator]();
      const parts = [(await it.next()).value as Buffer];
      // The reconciler copy-truncates the live file while the reader is part way through it.
      assert.equal(await rotateIfNeeded(file, { maxBytes: 1, maxFiles: 3 }), true);
      assert.equal((await fs.stat(file)).size, 0);
      for (let r = await it.next(); !r.done; r = await it.next()) parts.push(r.value);
      const want = tailLines === undefined ? Buffer.concat([Buffer.from('older\n'), all]) : lastLine;
      assert.equal(sha(Buffer.concat(parts)), sha(want), `tailLines ${tailLines}`);
      // Put it back as it was for the next round.
      await fs.rename(`${file}.1`, file);
      await fs.rename(`${file}.2`, `${file}.1`);
    }
  });
});
