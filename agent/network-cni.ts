// PodNetwork on the standard CNI plugins: one network namespace per Pod
// (`ip netns add`), attached to the board's bridge by calling the bridge plugin
// ourselves with host-local IPAM. We call ADD and DEL directly (not `ctr run
// --cni`) because the Pod's network outlives its containers and ctr never calls DEL.
// A Pod with hostPorts gets the portmap plugin chained after the bridge, as a
// conflist would: ADD with the bridge's result as prevResult and the mappings as
// runtimeConfig, DEL before the bridge's. The mappings are kept in the data dir
// (portmap/<uid>.json) so a DEL after an agent restart sees what ADD saw.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrambleError } from '../proto/util/errors.js';
import { execRunner, type CommandRunner, type RunResult } from './exec-runner.js';
import type { EnsurePodOptions, PodNetwork, PodNetworkConfig, PodSandbox, PortMapping } from './network.js';

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
  /**
   * The bridge plugin's ipMasq: masquerades everything leaving this node's Pod range, other
   * boards' Pods included, which hides the source Pod IP across boards. Default false: the
   * Service rules masquerade only what leaves the cluster CIDR (`-s podCIDR ! -d clusterCIDR`).
   */
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

/** Where Debian's containernetworking-plugins installs the plugins. */
export const DEFAULT_CNI_PATH = '/usr/lib/cni';

export class CniNetwork implements PodNetwork {
  private readonly runner: CommandRunner;
  private readonly cniPath: string;
  private readonly networkName: string;
  private readonly timeoutMs: number;
  private readonly netnsDir: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: CniNetworkOptions) {
    this.runner = opts.runner ?? execRunner;
    this.cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
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
      ipMasq: this.opts.ipMasq ?? false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: this.opts.config.podCIDR }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: this.leaseDir(),
      },
    };
  }

  /** The portmap plugin's configuration for one Pod, chained after the bridge's `prevResult`. */
  portmapConf(portMappings: PortMapping[], prevResult?: Record<string, unknown>): Record<string, unknown> {
    return {
      cniVersion: CNI_VERSION,
      name: this.networkName,
      type: 'portmap',
      capabilities: { portMappings: true },
      // Hairpin: a Pod reaching its own board's hostPort is masqueraded back through the bridge.
      snat: true,
      runtimeConfig: { portMappings },
      ...(prevResult ? { prevResult } : {}),
    };
  }

  private leaseDir(): string {
    return join(this.opts.dataDir, 'ipam');
  }

  private portmapFile(podUid: string): string {
    return join(this.opts.dataDir, 'portmap', `${podUid}.json`);
  }

  ensurePod(podUid: string, podName: string, namespace: string, opts: EnsurePodOptions = {}): Promise<PodSandbox> {
    return this.serialized(podUid, () => this.doEnsure(podUid, podName, namespace, opts.portMappings ?? []));
  }

  /**
   * `bramble agent --cleanup`: every Pod sandbox of this board (those with a lease in
   * this data dir: netns of other boards on the machine are not ours), then the bridge.
   */
  async cleanup(): Promise<{ pods: number; bridge: boolean }> {
    let pods = 0;
    for (const [podUid] of await this.leases()) if (await this.deletePod(podUid)) pods++;
    for (const f of await readdir(join(this.opts.dataDir, 'portmap')).catch(() => [] as string[])) {
      if (f.endsWith('.json') && (await this.deletePod(f.slice(0, -5)))) pods++;
    }
    await this.removePortmapChains();
    const bridge = this.opts.config.bridgeName || 'bramble0';
    const r = await this.ip(['link', 'delete', bridge, 'type', 'bridge']);
    if (r.exitCode !== 0 && !/Cannot find device|does not exist/i.test(r.stderr)) throw failure(`deleting bridge ${bridge}`, r);
    return { pods, bridge: r.exitCode === 0 };
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

  private async doEnsure(podUid: string, podName: string, namespace: string, portMappings: PortMapping[]): Promise<PodSandbox> {
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
    if (lease) {
      await this.portmapDel(podUid, netnsPath);
      await this.cni('DEL', podUid, netnsPath, 'IgnoreUnknown=1');
    }
    if (!hasNetns) {
      await this.ipOk(['netns', 'add', name]);
    }
    try {
      await this.ipOk(['-n', name, 'link', 'set', 'lo', 'up']);
      const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${podName};K8S_POD_INFRA_CONTAINER_ID=${podUid}${lease ? `;IP=${lease}` : ''}`;
      const result = await this.cni('ADD', podUid, netnsPath, args);
      const ip = resultIp(result);
      if (portMappings.length > 0) {
        // Written first: a DEL after a failure half-way (or a restart) must know to call portmap.
        await mkdir(join(this.opts.dataDir, 'portmap'), { recursive: true });
        await writeFile(this.portmapFile(podUid), JSON.stringify(portMappings));
        await this.cni('ADD', podUid, netnsPath, args, this.portmapConf(portMappings, result));
      }
      return { podUid, netnsPath, ip };
    } catch (e) {
      await this.portmapDel(podUid, netnsPath).catch(() => undefined);
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
    const hasPortmap = await this.portmapDel(podUid, netnsPath);
    if (!hasNetns && !hasLease) return hasPortmap;
    // DEL before the netns goes: the bridge plugin removes the veth from inside it.
    await this.cni('DEL', podUid, netnsPath, 'IgnoreUnknown=1');
    if (hasNetns) {
      const r = await this.ip(['netns', 'delete', name]);
      if (r.exitCode !== 0 && !/No such file/.test(r.stderr)) throw failure(`deleting netns ${name}`, r);
    }
    return true;
  }

  /**
   * portmap DEL leaves its shared chains (CNI-HOSTPORT-DNAT, -MASQ, -SETMARK) and their jumps
   * behind; once no DNAT rule of any Pod is in them, they are removed. Best effort: a board
   * without iptables has nothing to remove.
   */
  private async removePortmapChains(): Promise<void> {
    const ipt = (args: string[]): Promise<RunResult> => this.runner.run('iptables', ['-w', '5', '-t', 'nat', ...args], { timeoutMs: this.timeoutMs });
    const listed = await ipt(['-S']).catch(() => undefined);
    if (!listed || listed.exitCode !== 0) return;
    const lines = listed.stdout.split('\n');
    if (lines.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT '))) return;
    const chains = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'];
    for (const l of lines) {
      const m = /^-A (PREROUTING|OUTPUT|POSTROUTING) (.*-j (CNI-HOSTPORT-\S+))\s*$/.exec(l);
      if (m && chains.includes(m[3]!)) await ipt(['-D', m[1]!, ...splitRule(m[2]!)]);
    }
    for (const c of chains) {
      if (!lines.includes(`-N ${c}`)) continue;
      await ipt(['-F', c]);
      await ipt(['-X', c]);
    }
  }

  /** portmap DEL with what its ADD saw, when the Pod has hostPorts; whether there were any. */
  private async portmapDel(podUid: string, netnsPath: string): Promise<boolean> {
    const file = this.portmapFile(podUid);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    let mappings: PortMapping[] = [];
    try { mappings = JSON.parse(text) as PortMapping[]; } catch { mappings = []; }
    await this.cni('DEL', podUid, netnsPath, 'IgnoreUnknown=1', this.portmapConf(Array.isArray(mappings) ? mappings : []));
    await rm(file, { force: true });
    return true;
  }

  private async cni(command: 'ADD' | 'DEL', podUid: string, netnsPath: string, cniArgs: string, conf = this.netconf()): Promise<Record<string, unknown>> {
    const type = String(conf.type);
    const plugin = join(this.cniPath, type);
    const r = await this.runner.run(plugin, [], {
      input: JSON.stringify(conf),
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
      throw new BrambleError('RUNTIME_FAILED', `CNI ${command} for pod ${podUid} must succeed: ${type} plugin exited with ${r.exitCode}: ${msg}`);
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

/** An `iptables -S` rule back into arguments; quoted comments stay one argument. */
function splitRule(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
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
