// PodNetwork on the standard CNI plugins: one network namespace per Pod
// (`ip netns add`), attached to the board's bridge by calling the bridge plugin
// ourselves with host-local IPAM. We call ADD and DEL directly (not `ctr run
// --cni`) because the Pod's network outlives its containers and ctr never calls DEL.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BrambleError } from '../proto/util/errors.js';
import { execRunner, type CommandRunner, type RunResult } from './exec-runner.js';
import type { PodNetwork, PodNetworkConfig, PodSandbox } from './network.js';

export const NETNS_DIR = '/var/run/netns';
const CNI_VERSION = '1.0.0';

export interface CniNetworkOptions {
  config: PodNetworkConfig;
  /** Board-private state: IPAM leases live in <dataDir>/ipam/<networkName>/, so boards on one machine never share them. */
  dataDir: string;
  runner?: CommandRunner;
  /** Where the plugin binaries are. */
  cniPath?: string;
  networkName?: string;
  /** Masquerade Pod traffic leaving the Pod range (the bridge plugin's ipMasq). */
  ipMasq?: boolean;
  timeoutMs?: number;
  /**
   * Where `ip netns add` mounts the namespaces (NETNS_DIR). It is read directly, not through
   * `ip netns list`, to spare a process per Pod start; unit tests point it at a temp dir.
   */
  netnsDir?: string;
}

/** The netns a Pod gets: short enough for `ip netns`, unique enough for one cluster. */
export function podNetnsName(podUid: string): string {
  return `bramble-${podUid.slice(0, 12)}`;
}

export class CniNetwork implements PodNetwork {
  private readonly runner: CommandRunner;
  private readonly cniPath: string;
  private readonly networkName: string;
  private readonly timeoutMs: number;
  private readonly netnsDir: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: CniNetworkOptions) {
    this.runner = opts.runner ?? execRunner;
    this.cniPath = opts.cniPath ?? '/usr/lib/cni';
    this.networkName = opts.networkName ?? 'bramble';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.netnsDir = opts.netnsDir ?? NETNS_DIR;
  }

  /** The network configuration passed to both ADD and DEL; DEL must see what ADD saw. */
  netconf(): Record<string, unknown> {
    return {
      cniVersion: CNI_VERSION,
      name: this.networkName,
      type: 'bridge',
      bridge: this.opts.config.bridgeName || 'bramble0',
      isGateway: true,
      ipMasq: this.opts.ipMasq ?? true,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: this.opts.config.podCIDR }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: this.leaseDir(),
      },
    };
  }

  private leaseDir(): string {
    return join(this.opts.dataDir, 'ipam');
  }

  ensurePod(podUid: string, podName: string, namespace: string): Promise<PodSandbox> {
    return this.serialized(podUid, () => this.doEnsure(podUid, podName, namespace));
  }

  deletePod(podUid: string): Promise<boolean> {
    return this.serialized(podUid, () => this.doDelete(podUid));
  }

  async listPods(): Promise<PodSandbox[]> {
    const names = await this.netnsNames();
    const out: PodSandbox[] = [];
    for (const [podUid, ip] of await this.leases()) {
      const name = podNetnsName(podUid);
      // Other boards on this machine share /var/run/netns; a lease in our dataDir makes the Pod ours.
      if (names.has(name)) out.push({ podUid, netnsPath: join(this.netnsDir, name), ip });
    }
    return out.sort((a, b) => a.podUid.localeCompare(b.podUid));
  }

  private async doEnsure(podUid: string, podName: string, namespace: string): Promise<PodSandbox> {
    if (!podUid) throw new BrambleError('INVALID_ARGUMENT', 'pod uid must not be empty: current value is ""');
    const name = podNetnsName(podUid);
    const netnsPath = join(this.netnsDir, name);
    const hasNetns = await this.hasNetns(name);
    const lease = (await this.leases()).get(podUid);
    if (hasNetns && lease) return { podUid, netnsPath, ip: lease };
    // A lease whose netns is gone (the netns was deleted behind our back) is released
    // first, since host-local refuses a second lease for one id; the Pod then asks for
    // the same address again, which also keeps the bridge plugin's masquerade rules
    // (keyed by address, left behind by a DEL without netns) from piling up.
    if (lease) await this.cni('DEL', podUid, netnsPath, 'IgnoreUnknown=1');
    if (!hasNetns) {
      await this.ipOk(['netns', 'add', name]);
    }
    try {
      await this.ipOk(['-n', name, 'link', 'set', 'lo', 'up']);
      const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${podName};K8S_POD_INFRA_CONTAINER_ID=${podUid}${lease ? `;IP=${lease}` : ''}`;
      const result = await this.cni('ADD', podUid, netnsPath, args);
      const ip = resultIp(result);
      return { podUid, netnsPath, ip };
    } catch (e) {
      await this.cni('DEL', podUid, netnsPath, 'IgnoreUnknown=1').catch(() => undefined);
      await this.ip(['netns', 'delete', name]).catch(() => undefined);
      throw e;
    }
  }

  private async doDelete(podUid: string): Promise<boolean> {
    const name = podNetnsName(podUid);
    const netnsPath = join(this.netnsDir, name);
    const hasNetns = await this.hasNetns(name);
    const hasLease = (await this.leases()).has(podUid);
    if (!hasNetns && !hasLease) return false;
    // DEL before the netns goes: the bridge plugin removes the veth from inside it.
    await this.cni('DEL', podUid, netnsPath, 'IgnoreUnknown=1');
    if (hasNetns) {
      const r = await this.ip(['netns', 'delete', name]);
      if (r.exitCode !== 0 && !/No such file/.test(r.stderr)) throw failure(`deleting netns ${name}`, r);
    }
    return true;
  }

  private async cni(command: 'ADD' | 'DEL', podUid: string, netnsPath: string, cniArgs: string): Promise<Record<string, unknown>> {
    const plugin = join(this.cniPath, 'bridge');
    const r = await this.runner.run(plugin, [], {
      input: JSON.stringify(this.netconf()),
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: podUid,
        CNI_NETNS: netnsPath,
        CNI_IFNAME: 'eth0',
        CNI_PATH: this.cniPath,
        CNI_ARGS: cniArgs,
      },
      timeoutMs: this.timeoutMs,
    });
    let parsed: Record<string, unknown> = {};
    try { parsed = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {}; } catch { parsed = {}; }
    if (r.exitCode !== 0) {
      const msg = [parsed.msg, parsed.details].filter((x) => typeof x === 'string' && x).join(': ') || r.stderr.trim() || r.stdout.trim();
      throw new BrambleError('RUNTIME_FAILED', `CNI ${command} for pod ${podUid} must succeed: bridge plugin exited with ${r.exitCode}: ${msg}`);
    }
    return parsed;
  }

  /** What `ip netns list` prints, read from its directory (missing until the first `ip netns add`). */
  private async netnsNames(): Promise<Set<string>> {
    return new Set(await readdir(this.netnsDir).catch(() => [] as string[]));
  }

  private hasNetns(name: string): Promise<boolean> {
    return stat(join(this.netnsDir, name)).then(() => true, () => false);
  }

  /** host-local keeps one file per leased IP, holding the container id (our Pod uid) on its first line. */
  private async leases(): Promise<Map<string, string>> {
    const dir = join(this.leaseDir(), this.networkName);
    const out = new Map<string, string>();
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const f of files) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(f)) continue;
      const content = await readFile(join(dir, f), 'utf8').catch(() => '');
      const id = content.split(/\r?\n/)[0]?.trim();
      if (id) out.set(id, f);
    }
    return out;
  }

  private ip(args: string[]): Promise<RunResult> {
    return this.runner.run('ip', args, { timeoutMs: this.timeoutMs });
  }

  private async ipOk(args: string[]): Promise<RunResult> {
    const r = await this.ip(args);
    if (r.exitCode !== 0) throw failure(`ip ${args.join(' ')}`, r);
    return r;
  }

  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => { if (this.locks.get(key) === tail) this.locks.delete(key); });
    return next;
  }
}

function resultIp(result: Record<string, unknown>): string {
  const ips = (result.ips ?? []) as { address?: string }[];
  const address = ips.find((i) => i.address && !i.address.includes(':'))?.address ?? ips[0]?.address;
  if (!address) throw new BrambleError('RUNTIME_FAILED', `CNI ADD result must hold an IP address: it was ${JSON.stringify(result)}`);
  return address.split('/')[0] ?? address;
}

function failure(what: string, r: RunResult): BrambleError {
  return new BrambleError('RUNTIME_FAILED', `${what} must succeed: exited with ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
}
