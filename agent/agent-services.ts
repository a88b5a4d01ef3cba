// What a board does for Services, fed from its network view: the iptables
// Service rules (ServiceProxy) and the cluster DNS resolver on the bridge
// gateway, which every Pod reaches as the cluster DNS Service's address (the
// rules DNAT it to the board's own resolver, as NodeLocal DNSCache does, so a
// board answers its Pods' lookups even while another board is down), and each
// Pod's resolv.conf. The bridge is made here, before any Pod exists, because
// the resolver must listen on its gateway address from the start.
import { readFile } from 'node:fs/promises';
import type { Clock } from '../proto/util/clock.js';
import type { Logger } from '../proto/util/log.js';
import { CLUSTER_DOMAIN, type Pod } from '../proto/model.js';
import { clusterDnsAddress, formatIPv4, parseCidr } from '../proto/ipv4.js';
import type { CommandRunner } from './exec-runner.js';
import { ClusterDnsView } from './dns-records.js';
import { DnsForwarder, parseResolvConfNameservers } from './dns-forwarder.js';
import { podResolvConf } from './dns-resolv-conf.js';
import { DnsServer } from './dns-server.js';
import { detectIptablesBackend } from './iptables-backend.js';
import type { NetworkSnapshot } from './network-view.js';
import { isLoadBalancerNode, type ServiceSnapshot } from './service-rules.js';
import { ServiceProxy } from './service-proxy.js';
import type { CleanupHook } from './agent-cleanup.js';
import { procListenerReader, type ListenerReader } from './port-listeners.js';
import { LbPortGuard, type LbPortConflict } from './lb-port-conflicts.js';

export interface BoardServicesOptions {
  nodeName: string;
  podCidr: string;
  clusterCidr: string;
  serviceCidr: string;
  /** The board's own IPv4 addresses: where NodePorts and LoadBalancer ports answer. */
  addresses: () => string[];
  runner: CommandRunner;
  clock: Clock;
  logger: Logger;
  bridgeName?: string;
  /** The board's /etc/resolv.conf: upstreams for names outside the cluster, and what dnsPolicy Default copies. */
  hostResolvConf?: string;
  /** Default 53. */
  dnsPort?: number;
  /** What holds ports on the board, for LoadBalancer port conflicts. Default: this netns's /proc/net. */
  listeners?: ListenerReader;
  /** How often held ports are checked again between network changes. Default 30 s. */
  portCheckIntervalMs?: number;
}

/** The bridge gateway: the first address of the node's pod range, as the CNI bridge plugin gives it. */
export function gatewayAddress(podCidr: string): string {
  return formatIPv4(parseCidr(podCidr).base + 1);
}

export class BoardServices {
  readonly dnsServiceIP: string;
  readonly gatewayIP: string;
  private readonly dnsView = new ClusterDnsView();
  private proxy: ServiceProxy | undefined;
  private dns: DnsServer | undefined;
  private readonly hostResolv: string;
  private readonly ports: LbPortGuard;
  private lastSnap: NetworkSnapshot | undefined;

  constructor(private readonly opts: BoardServicesOptions) {
    this.dnsServiceIP = clusterDnsAddress(opts.serviceCidr);
    this.gatewayIP = gatewayAddress(opts.podCidr);
    this.hostResolv = opts.hostResolvConf ?? '';
    this.ports = new LbPortGuard({
      listeners: opts.listeners ?? procListenerReader(), clock: opts.clock, intervalMs: opts.portCheckIntervalMs, logger: opts.logger,
      onBlockedChange: () => {
        if (this.lastSnap) this.sync(this.lastSnap);
      },
    });
  }

  /** The LoadBalancer Service ports this board leaves to a process that holds them: what the heartbeat reports. */
  portConflicts(): LbPortConflict[] {
    return this.ports.conflicts();
  }

  /** A Pod's /etc/resolv.conf, from its dnsPolicy. */
  resolvConf(pod: Pod): string {
    return podResolvConf(pod, { dnsServiceIP: this.dnsServiceIP, clusterDomain: CLUSTER_DOMAIN, hostResolvConf: this.hostResolv });
  }

  async start(): Promise<void> {
    const backend = await detectIptablesBackend(this.opts.runner);
    this.opts.logger.info({ mode: backend.mode, reason: backend.reason }, 'iptables backend chosen');
    this.proxy = new ServiceProxy({ runner: this.opts.runner, backend, clock: this.opts.clock, logger: this.opts.logger.child({ component: 'service-rules' }) });
    // Writes nothing until the first update: a restarted agent keeps the rules it left.
    await this.proxy.start();
    await ensureBridge(this.opts.runner, this.opts.bridgeName ?? 'bramble0', this.gatewayIP, parseCidr(this.opts.podCidr).bits);
    const upstreams = parseResolvConfNameservers(this.hostResolv, [this.gatewayIP, this.dnsServiceIP]);
    this.dns = new DnsServer({
      address: this.gatewayIP, port: this.opts.dnsPort, view: this.dnsView, clock: this.opts.clock,
      forwarder: new DnsForwarder({ upstreams, clock: this.opts.clock }),
    });
    await this.dns.start();
    // A process may take (or free) a port between network changes: check again now and then.
    this.ports.start();
    this.opts.logger.info({ address: this.gatewayIP, dnsServiceIP: this.dnsServiceIP, upstreams: upstreams.length }, 'cluster DNS resolver listening');
  }

  /** A new view of the cluster: the records now, the rules once the view is complete (only a complete view may remove a rule). */
  update(snap: NetworkSnapshot): void {
    this.dnsView.replaceAll([...snap.services, ...snap.endpoints]);
    if (!snap.synced || !this.proxy) return;
    this.lastSnap = snap;
    this.sync(snap);
  }

  private sync(snap: NetworkSnapshot): void {
    if (!this.proxy) return;
    const addresses = this.opts.addresses();
    const lbNode = isLoadBalancerNode(snap.nodes, this.opts.nodeName);
    // Ports a process on the board holds get no LoadBalancer rule: it keeps them, and the heartbeat says so.
    const check = this.ports.check(snap.services, addresses, lbNode);
    const rules: ServiceSnapshot = {
      services: snap.services,
      endpoints: snap.endpoints,
      node: { name: this.opts.nodeName, addresses, isLoadBalancerNode: lbNode, ...(check.blocked.length > 0 ? { blockedLoadBalancerPorts: check.blocked } : {}) },
      podCIDR: this.opts.podCidr,
      clusterCIDR: this.opts.clusterCidr,
      dnsServiceIP: this.dnsServiceIP,
      localDnsIP: this.gatewayIP,
    };
    this.proxy.update(rules);
  }

  /** Stops syncing and answering; the rules stay, so Services keep working through an agent restart. */
  async stop(): Promise<void> {
    this.ports.stop();
    await this.dns?.stop();
    await this.proxy?.stop();
  }
}

/** The bridge with its gateway address, up; what exists already is kept (the CNI bridge plugin makes the same). */
export async function ensureBridge(runner: CommandRunner, bridge: string, gateway: string, bits: number): Promise<void> {
  const run = async (args: string[]): Promise<{ exitCode: number; stderr: string }> => runner.run('ip', args, { timeoutMs: 10_000 });
  if ((await run(['link', 'show', bridge])).exitCode !== 0) {
    const made = await run(['link', 'add', bridge, 'type', 'bridge']);
    if (made.exitCode !== 0 && !/File exists/.test(made.stderr)) throw new Error(`creating bridge ${bridge} failed: ${made.stderr.trim()}`);
  }
  const addr = await run(['addr', 'add', `${gateway}/${bits}`, 'dev', bridge]);
  if (addr.exitCode !== 0 && !/File exists|already assigned/.test(addr.stderr)) throw new Error(`adding ${gateway}/${bits} to ${bridge} failed: ${addr.stderr.trim()}`);
  const up = await run(['link', 'set', bridge, 'up']);
  if (up.exitCode !== 0) throw new Error(`setting ${bridge} up failed: ${up.stderr.trim()}`);
}

/** `--cleanup`'s step for the Service rules: every Bramble chain and the jumps to them. */
export function serviceRulesCleanup(runner: CommandRunner, clock: Clock, logger: Logger): CleanupHook {
  return {
    name: 'service rules',
    cleanup: async () => {
      const backend = await detectIptablesBackend(runner);
      await new ServiceProxy({ runner, backend, clock, logger }).cleanup();
    },
  };
}

/** The board's resolv.conf, or empty when it has none. */
export async function readHostResolvConf(file = '/etc/resolv.conf'): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}
