// Container logs on the board: one file per attempt,
// <dataDir>/logs/<namespace>_<pod>_<uid>/<container>/<restart>.log, bounded by
// size. Rotation is copy-truncate because containerd's shim keeps the file open
// and appends to it: renaming would leave the shim writing to the rotated file.
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../proto/util/clock.js';
import { BrambleError } from '../proto/util/errors.js';

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

/** Bytes read or sent at a time: bounded memory whatever a container printed, and well under a gRPC message. */
export const LOG_CHUNK_BYTES = 64 * 1024;

/**
 * The names are joined into paths, and a logs request names them: anything but a plain
 * file name ("../x", "a/b", "") would reach outside the log directory, so it is refused.
 * The namespace and pod name are RFC 1123 names (no "_"), which keeps the directory name
 * <namespace>_<pod>_<uid> unambiguous.
 */
function checkSegment(what: string, value: string, pattern: RegExp): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 253 || !pattern.test(value)) {
    throw new BrambleError('INVALID_ARGUMENT', `${what} must be ${pattern === UID ? 'letters, digits and "-"' : 'a lowercase RFC 1123 name'}: current value is ${JSON.stringify(String(value).slice(0, 80))}`);
  }
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const UID = /^[A-Za-z0-9-]+$/;

export function podLogDir(dataDir: string, ref: PodLogRef): string {
  checkSegment('a log namespace', ref.namespace, DNS_NAME);
  checkSegment('a log pod name', ref.name, DNS_NAME);
  checkSegment('a log pod uid', ref.uid, UID);
  return path.join(dataDir, 'logs', `${ref.namespace}_${ref.name}_${ref.uid}`);
}

export function containerLogPath(dataDir: string, ref: PodLogRef, container: string, restart: number): string {
  checkSegment('a log container name', container, DNS_NAME);
  if (!Number.isSafeInteger(restart) || restart < 0) {
    throw new BrambleError('INVALID_ARGUMENT', `a log restart count must be a whole number from 0: current value is ${restart}`);
  }
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
  await copyUntilQuiet(file, `${file}.1`);
  await fs.truncate(file, 0);
  return true;
}

/**
 * Copies `from` to `to`, then appends whatever the writer added meanwhile, until a
 * look finds nothing new: what a busy container writes during the copy is kept, and
 * only bytes written between the last look and the truncate can be lost (the price
 * of copy-truncate with a writer that keeps its descriptor). A few looks at most: a
 * container that never pauses must not hold the reconciler's resync here.
 */
const COPY_PASSES = 4;

async function copyUntilQuiet(from: string, to: string): Promise<void> {
  const src = await fs.open(from, 'r');
  const dst = await fs.open(to, 'w');
  try {
    const buf = Buffer.allocUnsafe(LOG_CHUNK_BYTES);
    let offset = 0;
    for (let pass = 0, quiet = false; !quiet && pass < COPY_PASSES; pass++) {
      const size = (await src.stat()).size;
      quiet = size <= offset;
      while (offset < size) {
        const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, size - offset), offset);
        if (bytesRead === 0) break;
        await dst.write(buf, 0, bytesRead);
        offset += bytesRead;
      }
    }
  } finally {
    await src.close();
    await dst.close();
  }
}

/** Removes every log directory of the pod with this uid (the name and namespace need not be known). */
export async function removePodLogs(dataDir: string, uid: string): Promise<boolean> {
  // An empty or odd uid would match other pods' directories (every name ends in "_" + "").
  if (!UID.test(uid)) return false;
  const root = path.join(dataDir, 'logs');
  const dirs = (await fs.readdir(root).catch(() => [] as string[])).filter((d) => d.endsWith(`_${uid}`));
  for (const d of dirs) await fs.rm(path.join(root, d), { recursive: true, force: true });
  return dirs.length > 0;
}

/**
 * Removes the log files (rotated ones included) of attempts older than the one before
 * `latest`: `logs --previous` needs one dead attempt, and a container in a crash loop
 * must not fill the board's disk with one file per restart. Returns how many attempts went.
 */
export async function pruneAttemptLogs(dataDir: string, ref: PodLogRef, container: string, latest: number): Promise<number> {
  const dir = path.dirname(containerLogPath(dataDir, ref, container, 0));
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const gone = new Set<number>();
  for (const n of names) {
    const m = n.match(/^(\d+)\.log(\.\d+)?$/);
    if (!m || Number(m[1]) >= latest - 1) continue;
    await fs.rm(path.join(dir, n), { force: true });
    gone.add(Number(m[1]));
  }
  return gone.size;
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
  const picked = await pickAttempt(dataDir, ref, container, opts.previous ?? false);
  let file = picked.file;
  // Files are opened before reading and sizes fixed now: a rotation during a long read then
  // renames files this read already holds, and a container writing meanwhile cannot make
  // this read grow without end.
  const segments: Segment[] = [];
  try {
    for (const f of await rotatedFiles(file)) {
      const handle = await fs.open(f, 'r').catch(() => undefined);
      if (!handle) continue;
      segments.push({ file: f, handle, size: (await handle.stat()).size, live: false });
    }
    const handle = await fs.open(file, 'r');
    segments.push({ file, handle, size: (await handle.stat()).size, live: true });
    const tail = opts.tailLines;
    // Negative, fractional or beyond any file: everything retained, as the proto says for negative.
    const start = tail !== undefined && Number.isSafeInteger(tail) && tail >= 0 ? await tailStart(segments, tail) : { index: 0, offset: 0 };
    for (let i = start.index; i < segments.length; i++) yield* readSegment(segments[i]!, i === start.index ? start.offset : 0);
  } finally {
    for (const seg of segments) {
      await seg.handle.close().catch(() => undefined);
      await seg.rotated?.close().catch(() => undefined);
    }
  }
  const size = segments[segments.length - 1]!.size;
  if (!opts.follow) return;
  if (!opts.clock) throw new BrambleError('INVALID_ARGUMENT', 'readLogs must be given a clock to follow a log: none was given');
  let offset = size;
  let restart = picked.restart;
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
    // The container restarted: what the old attempt wrote is all read (its writer is gone), so the
    // follow goes on with the new attempt's file from its start. Not for --previous, which is one attempt.
    if (opts.previous) continue;
    const newer = (await attemptsOf(path.dirname(file)))[0];
    if (newer !== undefined && newer > restart) {
      const last = (await fs.stat(file).catch(() => undefined))?.size ?? 0;
      if (last > offset) yield* readRange(file, offset, last);
      restart = newer;
      file = path.join(path.dirname(file), `${newer}.log`);
      offset = 0;
    }
  }
}

/** A file of the log and how much of it this read covers, oldest first. */
interface Segment {
  file: string;
  handle: fs.FileHandle;
  size: number;
  /** The file the container writes to, which a rotation truncates in place. */
  live: boolean;
  /** The .1 that a rotation during this read copied the live file into. */
  rotated?: fs.FileHandle;
}

/**
 * Reads `length` bytes at `position` of the segment as it was when opened. The live file
 * may be copy-truncated meanwhile: what it held is then at the same offsets in the new .1.
 * Fewer bytes only when neither has them any more.
 */
async function readAt(seg: Segment, buf: Buffer, length: number, position: number): Promise<number> {
  const { bytesRead } = await seg.handle.read(buf, 0, length, position);
  if (bytesRead === length || !seg.live) return bytesRead;
  seg.rotated ??= await fs.open(`${seg.file}.1`, 'r').catch(() => undefined);
  if (!seg.rotated) return bytesRead;
  return (await seg.rotated.read(buf, 0, length, position)).bytesRead;
}

/** Bytes [start, size) of one segment, in chunks of at most LOG_CHUNK_BYTES. */
async function* readSegment(seg: Segment, start: number): AsyncGenerator<Buffer> {
  for (let offset = start; offset < seg.size;) {
    const chunk = Buffer.allocUnsafe(Math.min(LOG_CHUNK_BYTES, seg.size - offset));
    const bytesRead = await readAt(seg, chunk, chunk.length, offset);
    if (bytesRead === 0) return;
    offset += bytesRead;
    yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
  }
}

/**
 * Where the last `lines` lines begin, found by reading backwards one chunk at a time,
 * so a tail of a huge log (or of one huge line) costs one chunk of memory. A final
 * newline ends the last line rather than starting an empty one, as `tail -n` counts.
 */
async function tailStart(segments: Segment[], lines: number): Promise<{ index: number; offset: number }> {
  const all = { index: 0, offset: 0 };
  const last = segments.length - 1;
  if (lines === 0) return { index: last, offset: segments[last]!.size };
  const buf = Buffer.allocUnsafe(LOG_CHUNK_BYTES);
  let newlines = 0;
  let first = true;
  for (let i = last; i >= 0; i--) {
    const seg = segments[i]!;
    let end = seg.size;
    while (end > 0) {
      const from = Math.max(0, end - buf.length);
      const bytesRead = await readAt(seg, buf, end - from, from);
      // Gone from the live file and from .1 (rotated twice during this read): count from what is left.
      if (bytesRead < end - from) break;
      let scanEnd = bytesRead;
      if (first) {
        first = false;
        if (buf[scanEnd - 1] === 10) scanEnd--;
      }
      for (let j = scanEnd - 1; j >= 0; j--) {
        if (buf[j] === 10 && ++newlines === lines) return { index: i, offset: from + j + 1 };
      }
      end = from;
    }
  }
  return all;
}

/** The restart counts that have a log file in the container's directory, newest first. */
async function attemptsOf(dir: string): Promise<number[]> {
  return (await fs.readdir(dir).catch(() => [] as string[]))
    .map((n) => n.match(/^(\d+)\.log$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
}

async function pickAttempt(dataDir: string, ref: PodLogRef, container: string, previous: boolean): Promise<{ file: string; restart: number }> {
  const dir = path.dirname(containerLogPath(dataDir, ref, container, 0));
  const pick = (await attemptsOf(dir))[previous ? 1 : 0];
  if (pick === undefined) {
    const what = previous ? 'a previous attempt' : 'a log';
    throw new BrambleError('NOT_FOUND', `container "${container}" of pod ${ref.namespace}/${ref.name} must have ${what} on this node: none was found`);
  }
  return { file: path.join(dir, `${pick}.log`), restart: pick };
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

/** Bytes [start, end) of the file in chunks of at most LOG_CHUNK_BYTES; a file rotated away meanwhile yields what is left. */
async function* readRange(file: string, start: number, end: number): AsyncGenerator<Buffer> {
  if (end <= start) return;
  const stream = createReadStream(file, { start, end: end - 1, highWaterMark: LOG_CHUNK_BYTES });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  } finally {
    stream.destroy();
  }
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
