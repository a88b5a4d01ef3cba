import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/clock.js';
import { containerLogPath, readLogs, removePodLogs, rotateIfNeeded, type PodLogRef } from './pod-logs.js';

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
  for (let i = 0; i < 50 && !settled; i++) await clock.advance(1000);
  return p;
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

  test('removePodLogs removes the pod directory found by uid', async (t) => {
    const dir = await tmp(t);
    await writeLog(containerLogPath(dir, ref, 'app', 0), 'x\n');
    assert.equal(await removePodLogs(dir, 'u-123'), true);
    assert.equal(await removePodLogs(dir, 'u-123'), false);
    assert.deepEqual(await fs.readdir(path.join(dir, 'logs')), []);
  });
});
