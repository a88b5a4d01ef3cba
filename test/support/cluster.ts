// A whole Bramble cluster on one machine for end-to-end tests: a real
// `bramble server` process on the host (bound to 0.0.0.0, no embedded agent)
// and N boards, each a network namespace with its own containerd and its own
// `bramble agent` process (started with `nsenter --net`). The busybox test image
// reaches each board through the agent's air-gap directory. close() tears down
// everything it made, step by step, even when a step (or the bring-up) failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execRunner, type RunResult } from '../../agent/exec-runner.js';
import { podNetnsName } from '../../agent/network-cni.js';
import { realClock } from '../../proto/util/clock.js';
import type { KObject } from '../../proto/model.js';
import { createBoard, pickFreeBoardIndex, type Board } from './board.js';
import { createLan, type Lan } from './lan.js';
import { buildBusyboxImage, BUSYBOX_IMAGE_NAME } from './busybox-image.js';
import { startContainerd, type RunningContainerd } from './containerd.js';
import { startRegistry, type RunningRegistry } from './registry.js';
import { brambleBin, freePort, runBramble, startServerProcess, type CliResult, type ServerProcess } from './server-process.js';

export const TEST_IMAGE = BUSYBOX_IMAGE_NAME;
/** The namespace agents run containers in (the agent's default). */
export const CONTAINERD_NAMESPACE = 'bramble';

export interface BoardSpec {
  /** Short: it becomes part of the node name and the board's netns name. */
  name: string;
  labels?: Record<string, string>;
  /** Run a docker-registry inside this board's netns (on its 127.0.0.1) holding the busybox image. */
  registry?: boolean;
  /** Leave the agent stopped: the test starts it (a board that joins later). */
  deferAgent?: boolean;
  /** The agent's --server value from the server's address as the board reaches it (default: that address alone). */
  serverArg?: (address: string) => string;
  /** More `bramble agent` flags, e.g. ['--shim-group', 'container']. */
  agentArgs?: string[];
}

export interface ClusterOptions {
  boards: BoardSpec[];
  /** More `bramble server` flags, e.g. a shorter --node-monitor-grace-period. */
  serverArgs?: string[];
  /**
   * Put the boards on one LAN (test/support/lan.ts): one bridge, one /24, so they reach
   * each other directly (host-gw routes) and the host reaches each. Default: each board
   * has a veth of its own to the host.
   */
  lan?: boolean;
  /**
   * Merged into the server's and the agents' environment (not the CLI's): the
   * emulated ARM check puts a `node` that runs under qemu-user first on PATH.
   */
  env?: NodeJS.ProcessEnv;
  /** How long the server may take to answer /readyz (default startServerProcess's); emulated, it is slower. */
  serverReadyTimeoutMs?: number;
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

export interface ClusterBoard {
  /** The Node name, e.g. "a-1f2e3d". */
  nodeName: string;
  labels: Record<string, string>;
  board: Board;
  containerd: RunningContainerd;
  /** The agent's --data-dir. */
  dataDir: string;
  registry?: RunningRegistry;
  /** The pid of the running agent process (nsenter execs node, so this is node's pid). */
  readonly agentPid: number | undefined;
  /** Everything the current and earlier agent processes of this board wrote (tail). */
  agentOutput(): string;
  /** Starts the agent process; does not wait for it to join. */
  startAgent(): void;
  /** Sends a signal to the agent and waits until it has exited. */
  stopAgent(signal?: NodeJS.Signals): Promise<void>;
  /** `ctr --address <this containerd> -n bramble ...args`, run inside the board. */
  ctr(args: string[]): Promise<RunResult>;
}

export interface TestCluster {
  server: ServerProcess;
  /** The port the server's gRPC API listens on, on every host address. */
  grpcPort: number;
  /** The boards' LAN, with `lan: true`. */
  lan?: Lan;
  /** The default join token from <server data dir>/token. */
  token: string;
  boards: ClusterBoard[];
  board(name: string): ClusterBoard;
  /** Runs the CLI against this cluster's admin.conf. */
  bramble(args: string[], input?: string): Promise<CliResult>;
  /** `bramble apply -f -` of the objects; throws with the CLI output when it fails. */
  apply(objects: unknown[]): Promise<void>;
  /** `bramble get <kind> <name> -o json`; undefined when the object does not exist. */
  get<T extends KObject = KObject>(kind: string, name: string, namespace?: string): Promise<T | undefined>;
  /** Runs `bramble agent` once more in a board's netns with the given arguments, and waits for it to exit. */
  runAgent(board: ClusterBoard, args: string[], timeoutMs: number): Promise<AgentExit>;
  /** The tails of the server's and agents' logs, for failure messages. */
  diagnostics(): string;
  close(): Promise<void>;
}

const OUTPUT_TAIL = 200_000;

/** Polls `fn` until it returns a value other than undefined; the timeout error names `what` and the last observation. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {},
): Promise<T> {
  const deadline = realClock.now() + (opts.timeoutMs ?? 30_000);
  let lastError = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (realClock.now() > deadline) {
      const extra = opts.describe ? `\n${opts.describe()}` : '';
      throw new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${extra}`);
    }
    await realClock.sleep(opts.intervalMs ?? 250);
  }
}

function labelArg(labels: Record<string, string>): string[] {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return pairs.length > 0 ? ['--labels', pairs.join(',')] : [];
}

function exitedOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Pod uids with a host-local lease in an agent's data dir: those Pods' netns are this test's. */
async function leasedPodUids(agentDataDir: string): Promise<string[]> {
  const dir = join(agentDataDir, 'ipam', 'bramble');
  const uids: string[] = [];
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(f)) continue;
    const id = (await readFile(join(dir, f), 'utf8').catch(() => '')).split(/\r?\n/)[0]?.trim();
    if (id) uids.push(id);
  }
  return uids;
}

export async function startCluster(opts: ClusterOptions): Promise<TestCluster> {
  const suffix = randomBytes(3).toString('hex');
  // Short: containerd's socket path must stay under 108 bytes.
  const root = await mkdtemp(join(tmpdir(), 'bce-'));
  const teardown: { what: string; run: () => Promise<void> }[] = [];
  const boards: ClusterBoard[] = [];
  const agents = new Set<ChildProcess>();
  const podUids = new Set<string>();
  let server: ServerProcess | undefined;
  let closed: Promise<void> | undefined;

  // A test process that dies without running close() must not leave agents running.
  const killAgentsOnExit = (): void => {
    for (const a of agents) a.kill('SIGKILL');
  };
  process.once('exit', killAgentsOnExit);

  const diagnostics = (): string => {
    const parts = [`--- server log (tail) ---\n${(server?.output() ?? '').slice(-4000)}`];
    for (const b of boards) parts.push(`--- agent ${b.nodeName} log (tail) ---\n${b.agentOutput().slice(-4000)}`);
    return parts.join('\n');
  };

  const bramble = (args: string[], input?: string): Promise<CliResult> => {
    if (!server) throw new Error('the cluster has no server');
    return runBramble(['--config', server.configPath, ...args], { input, timeoutMs: 30_000 });
  };

  const close = (): Promise<void> =>
    (closed ??= (async () => {
      const failures: string[] = [];
      const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
        try {
          await fn();
        } catch (e) {
          failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
        }
      };
      // Pods the control plane knows, and Pods with a lease on a board: their netns are ours to delete.
      await step('listing pods', async () => {
        if (!server) return;
        const r = await bramble(['get', 'pods', '-A', '-o', 'json']);
        if (r.code !== 0) return;
        const parsed = JSON.parse(r.stdout) as { items?: KObject[] } | KObject;
        const items = 'items' in parsed && Array.isArray(parsed.items) ? parsed.items : [];
        for (const p of items) if (p.metadata.uid) podUids.add(p.metadata.uid);
      });
      for (const b of boards) {
        await step(`stopping agent ${b.nodeName}`, () => b.stopAgent('SIGKILL'));
        await step(`reading leases of ${b.nodeName}`, async () => {
          for (const uid of await leasedPodUids(b.dataDir)) podUids.add(uid);
        });
      }
      for (const t of teardown.reverse()) await step(t.what, t.run);
      teardown.length = 0;
      await step('deleting pod network namespaces', async () => {
        const names = new Set((await execRunner.run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]));
        for (const uid of podUids) {
          const name = podNetnsName(uid);
          if (names.has(name)) {
            const r = await execRunner.run('ip', ['netns', 'delete', name]);
            if (r.exitCode !== 0) throw new Error(`ip netns delete ${name} exited with ${r.exitCode}: ${r.stderr.trim()}`);
          }
        }
      });
      await step('removing temp dirs', () => rm(root, { recursive: true, force: true }));
      process.removeListener('exit', killAgentsOnExit);
      if (failures.length > 0) throw new Error(`cluster teardown had failures:\n${failures.join('\n')}`);
    })());

  try {
    const image = await buildBusyboxImage();
    const grpcPort = await freePort();
    // The helper binds loopback; the later flag wins, so the API listens where boards reach it (10.200.<i>.1).
    server = await startServerProcess({
      dataDir: join(root, 'server'),
      extraArgs: ['--grpc-addr', `0.0.0.0:${grpcPort}`, '--disable-agent', ...(opts.serverArgs ?? [])],
      env: { ...process.env, BRAMBLE_LOG_LEVEL: 'info', ...opts.env },
      readyTimeoutMs: opts.serverReadyTimeoutMs,
    });
    const s = server;
    teardown.push({ what: 'stopping the server', run: async () => { await s.stop(); } });
    const token = (await readFile(join(s.dataDir, 'token'), 'utf8')).trim();

    let lan: Lan | undefined;
    if (opts.lan) {
      const l = (lan = await createLan(suffix, await pickFreeBoardIndex()));
      // Pushed before the boards: torn down after them.
      teardown.push({ what: 'destroying the LAN', run: () => l.destroy() });
    }
    for (const [i, spec] of opts.boards.entries()) {
      const nodeName = `${spec.name}-${suffix}`;
      const dir = join(root, `b${i}`);
      const dataDir = join(dir, 'agent');
      await mkdir(join(dataDir, 'images'), { recursive: true });
      const board = lan ? await lan.addBoard(nodeName) : await createBoard(nodeName, await pickFreeBoardIndex());
      teardown.push({ what: `destroying board ${nodeName}`, run: () => board.destroy() });
      const containerd = await startContainerd({ dir: join(dir, 'ctd'), netnsPath: board.netnsPath });
      teardown.push({ what: `stopping containerd of ${nodeName}`, run: () => containerd.stop() });
      const ctr = (args: string[]): Promise<RunResult> =>
        board.runner.run('ctr', ['--address', containerd.address, '--namespace', CONTAINERD_NAMESPACE, ...args], { timeoutMs: 30_000 });
      // Containers first, explicitly, so a leak shows up here rather than inside containerd.stop().
      teardown.push({
        what: `deleting the pod containers of ${nodeName}`,
        run: async () => {
          for (const id of (await ctr(['tasks', 'ls', '-q'])).stdout.split('\n').map((x) => x.trim()).filter(Boolean)) {
            await ctr(['tasks', 'delete', '--force', id]);
          }
          for (const id of (await ctr(['containers', 'ls', '-q'])).stdout.split('\n').map((x) => x.trim()).filter(Boolean)) {
            const r = await ctr(['containers', 'delete', id]);
            if (r.exitCode !== 0) throw new Error(`ctr containers delete ${id} exited with ${r.exitCode}: ${r.stderr.trim()}`);
          }
        },
      });
      let registry: RunningRegistry | undefined;
      if (spec.registry) {
        // Pushed through a separate containerd namespace, so the agent's namespace starts without the pushed name.
        registry = await startRegistry({ dir: join(dir, 'reg'), containerdAddress: containerd.address, netnsPath: board.netnsPath, namespace: 'push' });
        const r = registry;
        teardown.push({ what: `stopping the registry of ${nodeName}`, run: () => r.stop() });
      }
      await copyFile(image.tarPath, join(dataDir, 'images', 'busybox.tar'));

      const labels = spec.labels ?? {};
      let child: ChildProcess | undefined;
      let output = '';
      const agentArgs = (): string[] => [
        'agent',
        '--server', spec.serverArg?.(`${board.hostIp}:${grpcPort}`) ?? `${board.hostIp}:${grpcPort}`,
        '--token', token,
        '--node-name', nodeName,
        '--data-dir', dataDir,
        '--containerd-address', containerd.address,
        ...labelArg(labels),
        ...(registry ? ['--insecure-registry', registry.address] : []),
        ...(spec.agentArgs ?? []),
      ];
      const clusterBoard: ClusterBoard = {
        nodeName, labels, board, containerd, dataDir, registry,
        get agentPid() {
          return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
        },
        agentOutput: () => output,
        startAgent: () => {
          if (child && child.exitCode === null && child.signalCode === null) throw new Error(`agent ${nodeName} is already running`);
          const c = spawn('nsenter', [`--net=${board.netnsPath}`, brambleBin(), ...agentArgs()], {
            env: { ...process.env, BRAMBLE_LOG_LEVEL: 'info', ...opts.env },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          child = c;
          agents.add(c);
          c.once('exit', () => agents.delete(c));
          const append = (d: string): void => {
            output = (output + d).slice(-OUTPUT_TAIL);
          };
          c.stdout!.setEncoding('utf8').on('data', append);
          c.stderr!.setEncoding('utf8').on('data', append);
        },
        stopAgent: async (signal: NodeJS.Signals = 'SIGTERM') => {
          const c = child;
          if (!c || c.exitCode !== null || c.signalCode !== null) return;
          c.kill(signal);
          const escalate = realClock.setTimeout(() => c.kill('SIGKILL'), 10_000);
          await exitedOf(c);
          escalate.cancel();
        },
        ctr,
      };
      boards.push(clusterBoard);
    }
    for (const [i, b] of boards.entries()) if (!opts.boards[i]!.deferAgent) b.startAgent();

    const get = async <T extends KObject = KObject>(kind: string, name: string, namespace = 'default'): Promise<T | undefined> => {
      const r = await bramble(['get', kind, name, '-n', namespace, '-o', 'json']);
      if (r.code === 0) return JSON.parse(r.stdout) as T;
      if (/not found/i.test(r.stderr)) return undefined;
      throw new Error(`bramble get ${kind} ${name} failed (exit ${r.code}): ${r.stderr.trim()}`);
    };

    return {
      server: s,
      grpcPort,
      lan,
      token,
      boards,
      board: (name) => {
        const b = boards.find((x) => x.nodeName === `${name}-${suffix}`);
        if (!b) throw new Error(`no board named ${name} in this cluster`);
        return b;
      },
      bramble,
      apply: async (objects) => {
        const r = await bramble(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
        if (r.code !== 0) throw new Error(`bramble apply failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      },
      get,
      runAgent: (b, args, timeoutMs) =>
        new Promise<AgentExit>((resolve, reject) => {
          const c = spawn('nsenter', [`--net=${b.board.netnsPath}`, brambleBin(), 'agent', ...args], {
            env: { ...process.env, BRAMBLE_LOG_LEVEL: 'info', ...opts.env },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          agents.add(c);
          let out = '';
          c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
          c.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
          const timer = realClock.setTimeout(() => {
            c.kill('SIGKILL');
            reject(new Error(`bramble agent ${args.join(' ')} must exit within ${timeoutMs} ms; output:\n${out}`));
          }, timeoutMs);
          c.once('exit', (code, signal) => {
            timer.cancel();
            agents.delete(c);
            resolve({ code, signal, output: out });
          });
        }),
      diagnostics,
      close,
    };
  } catch (e) {
    await close().catch((te: unknown) => {
      process.stderr.write(`${te instanceof Error ? te.message : String(te)}\n`);
    });
    throw e;
  }
}
