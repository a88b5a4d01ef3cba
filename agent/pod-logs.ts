// Container logs on the board: one file per attempt,
// <dataDir>/logs/<namespace>_<pod>_<uid>/<container>/<restart>.log, bounded by
// size. Rotation is copy-truncate because containerd's shim keeps the file open
// and appends to it: renaming would leave the shim writing to the rotated file.
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../proto/clock.js';
import { BrambleError } from '../proto/errors.js';

export interface PodLogRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface RotationPolicy {
  maxBytes: number;
  /** Rotated files kept beside the live one (.1 is the newest). */
  maxFiles: number;
}

export const DEFAULT_ROTATION: RotationPolicy = { maxBytes: 5 * 1024 * 1024, maxFiles: 2 };

export function podLogDir(dataDir: string, ref: PodLogRef): string {
  return path.join(dataDir, 'logs', `${ref.namespace}_${ref.name}_${ref.uid}`);
}

export function containerLogPath(dataDir: string, ref: PodLogRef, container: string, restart: number): string {
  return path.join(podLogDir(dataDir, ref), container, `${restart}.log`);
}

/** Copy-truncates `file` into `file.1` (older ones shift up, the oldest is dropped) once it exceeds maxBytes. */
export async function rotateIfNeeded(file: string, policy: RotationPolicy = DEFAULT_ROTATION): Promise<boolean> {
  const st = await fs.stat(file).catch(() => undefined);
  if (!st || st.size <= policy.maxBytes) return false;
  if (policy.maxFiles < 1) {
    await fs.truncate(file, 0);
    return true;
  }
  await fs.rm(`${file}.${policy.maxFiles}`, { force: true });
  for (let i = policy.maxFiles - 1; i >= 1; i--) {
    await fs.rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => undefined);
  }
  await fs.copyFile(file, `${file}.1`);
  await fs.truncate(file, 0);
  return true;
}

/** Removes every log directory of the pod with this uid (the name and namespace need not be known). */
export async function removePodLogs(dataDir: string, uid: string): Promise<boolean> {
  const root = path.join(dataDir, 'logs');
  const dirs = (await fs.readdir(root).catch(() => [] as string[])).filter((d) => d.endsWith(`_${uid}`));
  for (const d of dirs) await fs.rm(path.join(root, d), { recursive: true, force: true });
  return dirs.length > 0;
}

export interface ReadLogsOptions {
  tailLines?: number;
  follow?: boolean;
  /** The attempt before the latest, as `kubectl logs --previous`. */
  previous?: boolean;
  /** Needed with follow: polls are timed by it. */
  clock?: Clock;
  pollMs?: number;
  /** Ends a follow. */
  signal?: AbortSignal;
}

export async function* readLogs(dataDir: string, ref: PodLogRef, container: string, opts: ReadLogsOptions = {}): AsyncGenerator<Buffer> {
  const file = await pickAttempt(dataDir, ref, container, opts.previous ?? false);
  const size = (await fs.stat(file)).size;
  const files = [...(await rotatedFiles(file)), file];
  if (opts.tailLines !== undefined) {
    const tail = await tailOf(files, file, size, opts.tailLines);
    if (tail.length > 0) yield tail;
  } else {
    for (const f of files) {
      const end = f === file ? size : undefined;
      if (end === 0) continue;
      yield* readRange(f, 0, end);
    }
  }
  if (!opts.follow) return;
  if (!opts.clock) throw new BrambleError('INVALID_ARGUMENT', 'readLogs must be given a clock to follow a log: none was given');
  let offset = size;
  const pollMs = opts.pollMs ?? 1000;
  while (!opts.signal?.aborted) {
    await sleepUnlessAborted(opts.clock, pollMs, opts.signal);
    if (opts.signal?.aborted) return;
    const now = (await fs.stat(file).catch(() => undefined))?.size ?? 0;
    if (now < offset) {
      // Copy-truncated since the last poll: the unread end is now in .1.
      const rotated = `${file}.1`;
      const rsize = (await fs.stat(rotated).catch(() => undefined))?.size ?? 0;
      if (rsize > offset) yield* readRange(rotated, offset, rsize);
      offset = 0;
    }
    if (now > offset) {
      yield* readRange(file, offset, now);
      offset = now;
    }
  }
}

async function pickAttempt(dataDir: string, ref: PodLogRef, container: string, previous: boolean): Promise<string> {
  const dir = path.join(podLogDir(dataDir, ref), container);
  const restarts = (await fs.readdir(dir).catch(() => [] as string[]))
    .map((n) => n.match(/^(\d+)\.log$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  const pick = restarts[previous ? 1 : 0];
  if (pick === undefined) {
    const what = previous ? 'a previous attempt' : 'a log';
    throw new BrambleError('NOT_FOUND', `container "${container}" of pod ${ref.namespace}/${ref.name} must have ${what} on this node: none was found`);
  }
  return path.join(dir, `${pick}.log`);
}

/** Rotated files of `file`, oldest first. */
async function rotatedFiles(file: string): Promise<string[]> {
  const base = path.basename(file);
  const names = await fs.readdir(path.dirname(file));
  return names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a)
    .map((n) => `${file}.${n}`);
}

async function tailOf(files: string[], live: string, liveSize: number, lines: number): Promise<Buffer> {
  if (lines <= 0) return Buffer.alloc(0);
  let acc = Buffer.alloc(0);
  for (const f of [...files].reverse()) {
    const data = f === live ? await readAll(f, liveSize) : await fs.readFile(f).catch(() => Buffer.alloc(0));
    acc = Buffer.concat([data, acc]);
    if (countLines(acc) > lines) break;
  }
  return lastLines(acc, lines);
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return buf.length > 0 && buf[buf.length - 1] !== 10 ? n + 1 : n;
}

function lastLines(buf: Buffer, lines: number): Buffer {
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 10) end--;
  let start = end;
  for (let found = 0; found < lines; found++) {
    if (start === 0) return buf;
    const nl = buf.lastIndexOf(10, start - 1);
    if (nl === -1) return buf;
    start = nl;
  }
  return buf.subarray(start + 1);
}

async function readAll(file: string, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of readRange(file, 0, size)) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* readRange(file: string, start: number, end?: number): AsyncGenerator<Buffer> {
  if (end !== undefined && end <= start) return;
  const stream = createReadStream(file, { start, end: end === undefined ? undefined : end - 1 });
  for await (const chunk of stream) yield chunk as Buffer;
}

function sleepUnlessAborted(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return clock.sleep(ms);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    void clock.sleep(ms).then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
