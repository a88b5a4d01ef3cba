// A HostProbe over maps, for the checks' unit tests: a board that is fine by
// default (cgroup v2 with cpu and memory, containerd answering, ...) that each test
// breaks in one place.
import type { RunOptions, RunResult } from './exec-runner.js';
import type { FsStats, HostProbe } from './preflight.js';
import { CGROUP2_SUPER_MAGIC } from './preflight-kernel.js';

export type FakeCommand = RunResult | 'missing';

export class FakeHostProbe implements HostProbe {
  files = new Map<string, string>([
    ['/sys/fs/cgroup/cgroup.controllers', 'cpuset cpu io memory pids\n'],
    ['/proc/sys/net/ipv4/ip_forward', '1\n'],
    ['/proc/sys/net/bridge/bridge-nf-call-iptables', '1\n'],
    ['/proc/meminfo', 'MemTotal:        948304 kB\nMemFree:          409600 kB\nMemAvailable:     700000 kB\n'],
  ]);
  filesystems = new Map<string, FsStats>([
    ['/sys/fs/cgroup', { type: CGROUP2_SUPER_MAGIC, availableBytes: 0 }],
    ['/', { type: 0xef53, availableBytes: 20 * 1024 ** 3 }],
  ]);
  executables = new Set(['/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/portmap']);
  /** Socket path → why it does not answer; absent: it answers. */
  refusedSockets = new Map<string, string>();
  /** "file arg1 arg2" → answer; absent commands exit 127 (not installed). */
  commands = new Map<string, FakeCommand>([
    ['getconf PAGESIZE', ok('4096\n')],
    ['iptables --version', ok('iptables v1.8.9 (nf_tables)\n')],
    ['iptables-nft-save', ok('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n')],
    ['ctr --version', ok('ctr github.com/containerd/containerd 1.6.20~ds1\n')],
    ['ctr --address /run/containerd/containerd.sock version', ok('Client:\n  Version:  1.6.20~ds1\n\nServer:\n  Version:  1.6.20~ds1\n  UUID: 0c6f\n')],
    ['runc --version', ok('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\n')],
  ]);
  readonly calls: string[] = [];

  async run(file: string, args: string[], _opts?: RunOptions): Promise<RunResult> {
    const key = [file, ...args].join(' ');
    this.calls.push(key);
    const answer = this.commands.get(key);
    if (answer === 'missing') throw Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT' });
    return answer ?? { stdout: '', stderr: `${file}: not found`, exitCode: 127 };
  }

  async readFile(file: string): Promise<string | undefined> {
    return this.files.get(file);
  }

  async statfs(file: string): Promise<FsStats | undefined> {
    return this.filesystems.get(file);
  }

  async isExecutable(file: string): Promise<boolean> {
    return this.executables.has(file);
  }

  async connect(socketPath: string): Promise<string | undefined> {
    return this.refusedSockets.get(socketPath);
  }
}

export function ok(stdout: string): RunResult {
  return { stdout, stderr: '', exitCode: 0 };
}
