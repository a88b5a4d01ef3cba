// Starts a private containerd for a test: its own root, state, socket and config
// under `dir`, optionally inside a board's network namespace. stop() leaves the
// machine as it was: tasks killed, shims gone, mounts under `dir` released.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execRunner, type CommandRunner } from '../../agent/exec-runner.js';
import { realClock } from '../../proto/util/clock.js';

export interface StartContainerdOptions {
  /** A short directory (unix socket paths are limited to 108 bytes). */
  dir: string;
  /** Run containerd (and so its shims and containers) in this network namespace. */
  netnsPath?: string;
  startTimeoutMs?: number;
}

export interface RunningContainerd {
  address: string;
  dir: string;
  logPath: string;
  pid: number;
  stop(): Promise<void>;
}

const CREATED = ['root', 'state', 'opt', 'config.toml', 'containerd.sock', 'containerd.sock.ttrpc', 'containerd.log'];

export async function startContainerd(opts: StartContainerdOptions): Promise<RunningContainerd> {
  const dir = opts.dir;
  await mkdir(dir, { recursive: true });
  const address = join(dir, 'containerd.sock');
  if (Buffer.byteLength(address) > 100) throw new Error(`containerd dir must be short (socket path ≤ 100 bytes): ${address}`);
  const configPath = join(dir, 'config.toml');
  await writeFile(configPath, [
    'version = 2',
    `root = ${JSON.stringify(join(dir, 'root'))}`,
    `state = ${JSON.stringify(join(dir, 'state'))}`,
    // The CRI plugin is Kubernetes' entry point; Bramble drives containerd through ctr only.
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]',
    '[grpc]',
    `  address = ${JSON.stringify(address)}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(address + '.ttrpc')}`,
    '[debug]',
    '  address = ""',
    '  level = "info"',
    '[metrics]',
    '  address = ""',
    '[plugins]',
    '  [plugins."io.containerd.internal.v1.opt"]',
    `    path = ${JSON.stringify(join(dir, 'opt'))}`,
    '',
  ].join('\n'));
  const logPath = join(dir, 'containerd.log');
  const logFd = openSync(logPath, 'a');
  const [file, args] = opts.netnsPath
    ? ['nsenter', [`--net=${opts.netnsPath}`, 'containerd', '--config', configPath]]
    : ['containerd', ['--config', configPath]];
  const child = spawn(file, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    await killWorkloads(address);
    await terminate(child, exited);
    await killShims(address);
    await unmountUnder(dir);
    for (const name of CREATED) await rm(join(dir, name), { recursive: true, force: true });
  };

  const deadline = realClock.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      await stop();
      throw new Error(`containerd must stay up: it exited with ${child.exitCode}\n${log.slice(-2000)}`);
    }
    if (existsSync(address)) {
      const v = await execRunner.run('ctr', ['--address', address, 'version'], { timeoutMs: 5000 }).catch(() => undefined);
      if (v?.exitCode === 0 && v.stdout.includes('Server:')) break;
    }
    if (realClock.now() > deadline) {
      await stop();
      throw new Error(`containerd must answer on ${address} within ${opts.startTimeoutMs ?? 20_000} ms`);
    }
    await realClock.sleep(50);
  }
  return { address, dir, logPath, pid: child.pid ?? -1, stop };
}

/** Containers outlive containerd (their shims are daemons), so kill them while containerd still answers. */
async function killWorkloads(address: string, runner: CommandRunner = execRunner): Promise<void> {
  const ctr = (args: string[]) => runner.run('ctr', ['--address', address, ...args], { timeoutMs: 20_000 }).catch(() => undefined);
  const namespaces = await ctr(['namespaces', 'ls', '-q']);
  if (!namespaces || namespaces.exitCode !== 0) return;
  for (const ns of namespaces.stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
    const tasks = await ctr(['--namespace', ns, 'tasks', 'ls', '-q']);
    for (const id of (tasks?.stdout ?? '').split('\n').map((s) => s.trim()).filter(Boolean)) {
      await ctr(['--namespace', ns, 'tasks', 'delete', '--force', id]);
    }
    const containers = await ctr(['--namespace', ns, 'containers', 'ls', '-q']);
    for (const id of (containers?.stdout ?? '').split('\n').map((s) => s.trim()).filter(Boolean)) {
      await ctr(['--namespace', ns, 'containers', 'delete', id]);
    }
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = realClock.setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  timer.cancel();
}

/** The shim processes serving the containerd at `address`: each names its socket on its command line. */
export async function shimPidsOf(address: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.includes('containerd-shim') && argv.includes(address)) pids.push(Number(pid));
  }
  return pids;
}

/** Anything of this containerd's left after killWorkloads is ours. */
async function killShims(address: string): Promise<void> {
  for (const pid of await shimPidsOf(address)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await execRunner.run('umount', ['-l', p]).catch(() => undefined);
}
