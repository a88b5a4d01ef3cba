// Helpers shared by the benchmark sections: percentiles, /proc readings of a
// process (RSS, CPU time, bytes written), free ports, temp dirs, and a real
// `bramble server` child process in a temp data dir.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, lstat, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TestCluster } from '../test/support/cluster.js';

// ------------------------------------------------------------------ statistics

/** Nearest-rank percentile (p in 0..100) of unsorted values; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100: current value is ${p}`);
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  mean: number;
  max: number;
  samples: number;
  unit: 'ms';
}

export function summarizeMs(samplesMs: readonly number[]): LatencySummary {
  const mean = samplesMs.length === 0 ? 0 : samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length;
  return {
    p50: round(percentile(samplesMs, 50), 2),
    p99: round(percentile(samplesMs, 99), 2),
    mean: round(mean, 2),
    max: round(samplesMs.length === 0 ? 0 : Math.max(...samplesMs), 2),
    samples: samplesMs.length,
    unit: 'ms',
  };
}

export interface Figure {
  value: number;
  unit: string;
}

export const figure = (value: number, unit: string, digits = 1): Figure => ({ value: round(value, digits), unit });

// ------------------------------------------------------------------ /proc parsing

/** VmRSS of a /proc/<pid>/status text, in bytes. */
export function parseVmRssBytes(statusText: string): number {
  const m = statusText.match(/^VmRSS:\s+(\d+)\s+kB\s*$/m);
  if (!m) throw new Error('/proc status has no "VmRSS: <n> kB" line (is the process a zombie?)');
  return Number(m[1]) * 1024;
}

/** utime + stime of a /proc/<pid>/stat text, in clock ticks. */
export function parseStatCpuTicks(statText: string): number {
  // The command name (field 2) is in parentheses and may itself hold spaces and
  // parentheses, so the fields are counted from the last ')'.
  const close = statText.lastIndexOf(')');
  if (close < 0) throw new Error('/proc stat has no ")" closing the command name');
  const fields = statText.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('/proc stat has no numeric utime and stime (fields 14 and 15)');
  return utime + stime;
}

/** write_bytes of a /proc/<pid>/io text: bytes this process caused to be sent to storage. */
export function parseIoWriteBytes(ioText: string): number {
  const m = ioText.match(/^write_bytes:\s+(\d+)\s*$/m);
  if (!m) throw new Error('/proc io has no "write_bytes: <n>" line');
  return Number(m[1]);
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux nearly everywhere). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export async function readRssBytes(pid: number): Promise<number> {
  return parseVmRssBytes(await readFile(`/proc/${pid}/status`, 'utf8'));
}

export async function readCpuSeconds(pid: number): Promise<number> {
  return parseStatCpuTicks(await readFile(`/proc/${pid}/stat`, 'utf8')) / clockTicksPerSecond();
}

/** utime and stime (seconds) of each thread of a process, by "tid:name" (node, libuv, V8 workers). */
export async function readThreadCpuSeconds(pid: number): Promise<Map<string, { user: number; system: number }>> {
  const out = new Map<string, { user: number; system: number }>();
  const hz = clockTicksPerSecond();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const text = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const open = text.indexOf('(');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 1).trim().split(/\s+/);
    out.set(`${tid}:${text.slice(open + 1, close)}`, { user: Number(fields[11]) / hz, system: Number(fields[12]) / hz });
  }
  return out;
}

/** Where a process's CPU went between two readThreadCpuSeconds: the main thread's user and system time, and the other threads by name. */
export function threadCpuDelta(
  before: Map<string, { user: number; system: number }>, after: Map<string, { user: number; system: number }>, mainTid: number,
): { mainUser: number; mainSystem: number; otherThreads: Record<string, number> } {
  let mainUser = 0;
  let mainSystem = 0;
  const otherThreads: Record<string, number> = {};
  for (const [key, t] of after) {
    const b = before.get(key) ?? { user: 0, system: 0 };
    const du = t.user - b.user;
    const ds = t.system - b.system;
    if (key.startsWith(`${mainTid}:`)) {
      mainUser = round(du, 3);
      mainSystem = round(ds, 3);
    } else if (du + ds > 0) {
      const name = key.slice(key.indexOf(':') + 1);
      otherThreads[name] = round((otherThreads[name] ?? 0) + du + ds, 3);
    }
  }
  return { mainUser, mainSystem, otherThreads };
}

export async function readWriteBytes(pid: number): Promise<number> {
  return parseIoWriteBytes(await readFile(`/proc/${pid}/io`, 'utf8'));
}

export const MB = 1024 * 1024;

// ------------------------------------------------------------------ files, ports, time

/** Total size in bytes of the regular files under `dir` (symlinks not followed). */
export async function dirSizeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await dirSizeBytes(p);
    else if (entry.isFile()) total += (await lstat(p)).size;
  }
  return total;
}

export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `bramble-bench-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A port the kernel just handed out on 127.0.0.1; free again when this resolves. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('the kernel returned no port'))));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined, or fails naming `what` at the deadline. */
export async function waitFor<T>(what: string, deadlineMs: number, check: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const end = performance.now() + deadlineMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() >= end) {
      const why = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`${what} did not happen within ${deadlineMs} ms${why}`);
    }
    await sleep(everyMs);
  }
}

/** Milliseconds taken by `fn`. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// ------------------------------------------------------------------ the repository and the CLI

export { repoRoot } from '../test/support/server-process.js';
import { repoRoot } from '../test/support/server-process.js';

export function cliPath(): string {
  return path.join(repoRoot(), 'bin', 'bramble.js');
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `bin/bramble.js ARGS`; rejects with its stderr when it exits non-zero. */
export function runCli(args: string[], timeoutMs = 60_000): Promise<ExecResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(cliPath(), args, { timeout: timeoutMs, maxBuffer: 32 * MB }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      if (err) reject(new Error(`bramble ${args.join(' ')} failed (${err.message.split('\n')[0]}): ${stderr.trim().slice(-2000)}`));
      else resolve({ stdout, stderr, ms });
    });
  });
}

// ------------------------------------------------------------------ children that must not outlive the bench

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills children still running when the bench process exits for any reason. */
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const c of liveChildren) c.kill('SIGKILL');
      process.exit(130);
    });
  }
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed by a signal). */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

// ------------------------------------------------------------------ a real bramble server

export interface ServerProcess {
  pid: number;
  dataDir: string;
  grpcPort: number;
  httpPort: number;
  adminConf: string;
  /** Extra flags the server was started with (e.g. --disable-agent when the CLI has it). */
  flags: string[];
  /** Milliseconds from spawn to /readyz answering 200. */
  readyMs: number;
  httpGet(pathname: string): Promise<{ status: number; body: string }>;
  /** The last lines the server logged, for error messages. */
  logTail(): string;
  /** SIGTERM and wait; the exit code (0 is a clean close). */
  stop(): Promise<number | null>;
}

/** Whether `bramble server --help` lists `flag`. */
export async function serverHasFlag(flag: string): Promise<boolean> {
  const help = await runCli(['server', '--help'], 30_000);
  return new RegExp(`(^|\\s)${flag.replace(/[-]/g, '\\-')}(\\s|,|$)`, 'm').test(help.stdout);
}

const LOG_TAIL_BYTES = 8192;

/** Starts `bin/bramble.js server` on loopback with free ports in `dataDir` and waits for /readyz. */
export async function startServerProcess(dataDir: string, readyDeadlineMs = 30_000): Promise<ServerProcess> {
  const flags = (await serverHasFlag('--disable-agent')) ? ['--disable-agent'] : [];
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const args = [
    'server', '--data-dir', dataDir,
    '--grpc-addr', `127.0.0.1:${grpcPort}`, '--http-addr', `127.0.0.1:${httpPort}`, ...flags,
  ];
  const t0 = performance.now();
  const child = spawn(cliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-LOG_TAIL_BYTES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`bramble server exited before it was ready (code ${code}, signal ${signal}): ${tail.slice(-2000)}`)));
  });
  exited.catch(() => undefined);

  const base = `http://127.0.0.1:${httpPort}`;
  const httpGet = async (pathname: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(base + pathname, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  };
  const adminConf = path.join(dataDir, 'admin.conf');
  try {
    await Promise.race([
      exited,
      waitFor('bramble server /readyz answering 200 with admin.conf written', readyDeadlineMs, async () =>
        (await httpGet('/readyz')).status === 200 && existsSync(adminConf) ? true : undefined),
    ]);
  } catch (e) {
    await stopChild(child, 2000);
    throw e;
  }
  return {
    pid: child.pid!,
    dataDir,
    grpcPort,
    httpPort,
    adminConf,
    flags,
    readyMs: performance.now() - t0,
    httpGet,
    logTail: () => tail,
    stop: () => stopChild(child),
  };
}

/** Tears the cluster down; after a failure, a teardown failure is logged rather than hiding the first one. */
export async function closeBenchCluster(cluster: TestCluster | undefined, failed: boolean, log: (m: string) => void): Promise<void> {
  if (!cluster) return;
  log('tearing down the cluster');
  await cluster.close().catch((e: unknown) => {
    if (!failed) throw e;
    log(`teardown after a failure also failed: ${(e as Error).message}`);
  });
}
