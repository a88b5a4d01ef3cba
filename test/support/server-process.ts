// Real `bramble server` processes for integration tests: a temp data dir, free
// loopback ports, readiness by polling /readyz with a deadline, and a teardown
// that always kills the process. Also runs the compiled CLI as a child process.
// Servers run without their local agent unless asked: most tests have no containerd.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root: where package.json names "bramble" (from test/support or dist/test/support). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'bramble') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the bramble package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The executable tests run: bin/bramble.js, which loads the compiled dist/. */
export function brambleBin(): string {
  return path.join(repoRoot(), 'bin', 'bramble.js');
}

/** A port nothing listens on right now (the kernel picks it; it is released before use). */
export async function freePort(): Promise<number> {
  // Below Linux's ephemeral range (32768-60999): a port the kernel picked for us
  // would be handed out again to the next outgoing connection, and a server
  // started a moment later then fails with EADDRINUSE. Checked on every address,
  // as servers bind 0.0.0.0. Random, so parallel test processes rarely collide.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  return kernelPort();
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs `bin/bramble.js ...args` and collects its output; never throws on a non-zero exit. */
export async function runBramble(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const r = await runBrambleBytes(args, opts);
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr };
}

export interface CliBytesResult {
  code: number | null;
  /** Exactly the bytes the CLI wrote: container logs need not be text. */
  stdout: Buffer;
  stderr: string;
}

/** runBramble, with stdout kept as bytes (no UTF-8 decoding, which would replace invalid sequences). */
export function runBrambleBytes(args: string[], opts: CliOptions = {}): Promise<CliBytesResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(brambleBin(), args, {
      env: opts.env ?? { ...process.env, BRAMBLE_LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bramble ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export interface ServerProcess {
  readonly dataDir: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** <dataDir>/admin.conf, written by the server on its first start. */
  readonly configPath: string;
  readonly pid: number | undefined;
  /** How the current process ended, or undefined while it runs (fuzz tests check this after every batch). */
  exit(): ProcessExit | undefined;
  /** Everything the process wrote so far (pino logs, errors). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within the deadline. Resolves with how it ended. */
  stop(): Promise<ProcessExit>;
  /** SIGKILL: no chance to flush or close. */
  kill(): Promise<ProcessExit>;
  /** Starts the server again on the same data dir and ports, and waits until it is ready. */
  restart(): Promise<void>;
  /** Stops the process and removes the data dir if this helper created it. */
  close(): Promise<void>;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** An existing data dir; default a fresh temp dir removed by close(). */
  dataDir?: string;
  extraArgs?: string[];
  /** Run the server's own agent too (needs containerd); default: --disable-agent. */
  localAgent?: boolean;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** The gRPC port; default a free one (a test that puts a proxy in front of it must know it before the start). */
  grpcPort?: number;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitReady(child: ChildProcess, httpPort: number, configPath: string, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`bramble server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      last = `HTTP ${res.status}`;
      await res.arrayBuffer();
      if (res.ok && existsSync(configPath)) return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await delay(50);
  }
  throw new Error(`bramble server not ready within ${timeoutMs} ms (last /readyz: ${last}):\n${output()}`);
}

export async function startServerProcess(opts: StartOptions = {}): Promise<ServerProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-test-server-')));
  const grpcPort = opts.grpcPort ?? (await freePort());
  let httpPort = await freePort();
  while (httpPort === grpcPort) httpPort = await freePort();
  const configPath = path.join(dataDir, 'admin.conf');
  let log = '';
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      'server', '--data-dir', dataDir,
      '--grpc-addr', `127.0.0.1:${grpcPort}`, '--http-addr', `127.0.0.1:${httpPort}`,
      ...(opts.localAgent ? [] : ['--disable-agent']),
      ...(opts.extraArgs ?? []),
    ];
    const c = spawn(brambleBin(), args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const append = (d: string): void => {
      // Keep the tail only: a long test must not grow memory without bound.
      log = (log + d).slice(-200_000);
    };
    c.stdout!.setEncoding('utf8').on('data', append);
    c.stderr!.setEncoding('utf8').on('data', append);
    try {
      await waitReady(c, httpPort, configPath, opts.readyTimeoutMs ?? 30_000, () => log);
    } catch (e) {
      c.kill('SIGKILL');
      await exited(c);
      throw e;
    }
  };

  const signalAndWait = async (signal: NodeJS.Signals, timeoutMs: number): Promise<ProcessExit> => {
    const c = child;
    if (!c) return { code: null, signal: null };
    if (c.exitCode !== null || c.signalCode !== null) return { code: c.exitCode, signal: c.signalCode };
    c.kill(signal);
    // A plain timer, cleared on exit, so a finished test is not held open for the whole deadline.
    const escalate = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    await exited(c);
    clearTimeout(escalate);
    return { code: c.exitCode, signal: c.signalCode };
  };

  const stop = () => signalAndWait('SIGTERM', 10_000);
  const kill = () => signalAndWait('SIGKILL', 10_000);

  try {
    await launch();
  } catch (e) {
    if (ownDir) await fs.rm(dataDir, { recursive: true, force: true });
    throw e;
  }

  return {
    dataDir,
    grpcPort,
    httpPort,
    configPath,
    get pid() {
      return child?.pid;
    },
    exit: () => (child && (child.exitCode !== null || child.signalCode !== null) ? { code: child.exitCode, signal: child.signalCode } : undefined),
    output: () => log,
    stop,
    kill,
    restart: async () => {
      await stop();
      await launch();
    },
    close: async () => {
      await stop();
      if (ownDir) await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A CLI result spelled out for an assertion message. */
export function explain(r: CliResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** A temporary directory removed when the test ends, pass or fail. */
export async function tempDir(t: { after(fn: () => Promise<void>): void }, prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}
