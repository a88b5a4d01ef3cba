// Throwaway Debian 12 "hosts" for the fleet playbooks' tests: a root made by
// debootstrap (once, cached as a tarball keyed by DEBIAN_ROOT_VERSION), copied
// per host, with /proc, /sys, /dev and a fresh /run mounted in it, and a board
// network namespace on a test LAN. Ansible reaches it through its chroot
// connection; the test plays systemd by starting the units' commands inside the
// chroot and the namespace. destroy() kills every process rooted in the copy,
// releases every mount under it and only then deletes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execRunner, type RunResult } from '../../agent/exec-runner.js';
import type { Board } from './board.js';
import type { Lan } from './lan.js';
import { waitFor } from './cluster.js';

/** Change it when the root's recipe changes: a new tarball is then made. */
export const DEBIAN_ROOT_VERSION = 'bookworm-minbase-python3-v1';
export const DEBIAN_ROOT_CACHE = '/var/cache/bramble-test';
/** A Raspberry Pi OS cmdline.txt before Bramble's flags. */
export const PI_CMDLINE = 'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait';

async function must(file: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
  const r = await execRunner.run(file, args, { timeoutMs });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} must succeed: exited with ${r.exitCode}: ${r.stderr.trim().slice(-2000)}`);
  return r;
}

/** The cached root tarball, made with debootstrap the first time (python3 included: Ansible's modules need it). */
export async function debianRootTarball(): Promise<string> {
  const tarball = path.join(DEBIAN_ROOT_CACHE, `${DEBIAN_ROOT_VERSION}.tar.gz`);
  if (existsSync(tarball)) return tarball;
  await mkdir(DEBIAN_ROOT_CACHE, { recursive: true });
  const build = await mkdtemp(path.join(DEBIAN_ROOT_CACHE, 'build-'));
  try {
    await must('debootstrap', ['--variant=minbase', '--include=python3', 'bookworm', path.join(build, 'root'), 'http://deb.debian.org/debian'], 900_000);
    await must('tar', ['-C', path.join(build, 'root'), '-czf', path.join(build, 'root.tar.gz'), '.'], 300_000);
    // Atomic: a test that runs at the same time never sees half a tarball.
    await rename(path.join(build, 'root.tar.gz'), tarball);
  } finally {
    await rm(build, { recursive: true, force: true });
  }
  return tarball;
}

export interface ChrootHost {
  name: string;
  root: string;
  board: Board;
  /** For ansible_chroot_exe: chroot inside the board's network namespace. */
  chrootInNetns: string;
  /** Starts a long-running command in the chroot and the namespace; its output is kept in `output()`. */
  start(argv: string[], env: Record<string, string>): HostProcess;
  /** Runs a command in the chroot and the namespace and waits for it. */
  run(argv: string[], timeoutMs?: number): Promise<RunResult>;
  /** `path` inside the host, as seen from the test machine. */
  file(p: string): string;
  destroy(): Promise<void>;
}

export interface HostProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_TAIL = 100_000;

/** Every mount point at or under `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info.split('\n').filter(Boolean).map((l) => l.split(' ')[4]!.replace(/\\040/g, ' '));
  return points.filter((p) => p === dir || p.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
}

/** Processes whose root directory is `dir` or under it: the chroot's own, and its containers. */
async function pidsRootedIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const r = await readlink(`/proc/${name}/root`);
      if (r === dir || r.startsWith(dir + '/')) pids.push(Number(name));
    } catch {
      // Gone already, or a kernel thread.
    }
  }
  return pids;
}

function startProcess(file: string, args: string[]): HostProcess {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (d: Buffer): void => {
    output = (output + d.toString()).slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function createChrootHost(name: string, lan: Lan): Promise<ChrootHost> {
  const tarball = await debianRootTarball();
  const root = await mkdtemp(path.join('/var/tmp', `bramble-host-${name}-`));
  const exeDir = await mkdtemp(path.join(os.tmpdir(), `bramble-host-${name}-exe-`));
  let board: Board | undefined;
  const processes: HostProcess[] = [];
  const destroy = async (): Promise<void> => {
    for (const p of processes) await p.stop(2_000).catch(() => undefined);
    // containerd, its shims and the containers (rooted in their rootfs under the copy).
    await waitFor(`the processes of host ${name} to be gone`, async () => {
      const pids = await pidsRootedIn(root);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
      return pids.length === 0 ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    for (const m of await mountsUnder(root)) await execRunner.run('umount', ['-l', m], { timeoutMs: 30_000 });
    const left = await mountsUnder(root);
    await board?.destroy();
    await rm(exeDir, { recursive: true, force: true });
    // Never delete through a mount: /dev and /sys of the test machine are bound in here.
    if (left.length > 0) throw new Error(`host ${name}: mounts under ${root} must be released before it is deleted: ${left.join(', ')}`);
    await rm(root, { recursive: true, force: true });
  };
  try {
    await must('tar', ['-xzf', tarball, '-C', root]);
    await writeFile(path.join(root, 'etc/resolv.conf'), await readFile('/etc/resolv.conf'));
    await writeFile(path.join(root, 'etc/hostname'), `${name}\n`);
    await mkdir(path.join(root, 'boot/firmware'), { recursive: true });
    await writeFile(path.join(root, 'boot/firmware/cmdline.txt'), PI_CMDLINE + '\n');
    // A mount point of its own: `ip netns` (the agent runs it) makes / a slave mount in a new
    // mount namespace, which fails on a plain directory.
    await must('mount', ['--bind', root, root]);
    await must('mount', ['--make-private', root]);
    await must('mount', ['-t', 'proc', 'proc', path.join(root, 'proc')]);
    for (const d of ['sys', 'dev']) {
      await must('mount', ['--rbind', `/${d}`, path.join(root, d)]);
      // Mounts made in the copy (none expected under these) must not reach the test machine's.
      await must('mount', ['--make-rslave', path.join(root, d)]);
    }
    await must('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', path.join(root, 'run')]);
    board = await lan.addBoard(name);
    const chrootInNetns = path.join(exeDir, 'chroot-in-netns');
    await writeFile(chrootInNetns, `#!/bin/sh\nexec nsenter --net=${board.netnsPath} chroot "$@"\n`);
    await chmod(chrootInNetns, 0o755);
    const b = board;
    return {
      name, root, board: b, chrootInNetns,
      file: (p) => path.join(root, p),
      start: (argv, env) => {
        const p = startProcess('nsenter', [`--net=${b.netnsPath}`, 'chroot', root, '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]);
        processes.push(p);
        return p;
      },
      run: (argv, timeoutMs = 60_000) => execRunner.run('nsenter', [`--net=${b.netnsPath}`, 'chroot', root, ...argv], { timeoutMs }),
      destroy,
    };
  } catch (e) {
    await destroy().catch(() => undefined);
    throw e;
  }
}

/** A systemd unit's ExecStart= as argv and its Environment= as a map (the units Bramble's roles write: no quoting). */
export function unitCommand(unitText: string): { argv: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  let argv: string[] | undefined;
  for (const line of unitText.split('\n')) {
    const m = /^(ExecStart|Environment)=(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'ExecStart') argv = m[2]!.trim().split(/\s+/);
    else {
      const eq = m[2]!.indexOf('=');
      env[m[2]!.slice(0, eq)] = m[2]!.slice(eq + 1);
    }
  }
  if (!argv) throw new Error(`the unit must have an ExecStart= line:\n${unitText}`);
  return { argv, env };
}
