// Pod-to-pod traffic across boards, as flannel's host-gw backend does it: boards
// on one home LAN need no overlay, only a route on each board to every other
// board's pod CIDR via that board's LAN address. Our routes carry a protocol
// number of their own (ROUTE_PROTO), so they are told apart from everyone
// else's: a route of another protocol is never replaced or removed, and
// cleanup() takes exactly ours away. A node whose address is not on a directly
// connected subnet gets no route (a host-gw route through a router would send
// Pod traffic to a gateway that knows nothing of pod CIDRs): that is logged.
import type { Clock, Timer } from '../proto/util/clock.js';
import { BrambleError } from '../proto/util/errors.js';
import { silentLogger, type Logger } from '../proto/util/log.js';
import type { NodeObject } from '../proto/model.js';
import { cidrContains, formatCidr, parseCidr, parseIPv4, tryParseCidr } from '../proto/ipv4.js';
import { execRunner, type CommandRunner, type RunResult } from './exec-runner.js';

/** Bramble's route protocol number (unassigned in /etc/iproute2/rt_protos): `ip route show proto 66` lists ours. */
export const ROUTE_PROTO = 66;

export interface HostGwRoute {
  /** The other node's pod CIDR, e.g. "10.42.2.0/24". */
  dst: string;
  /** Its InternalIP. */
  via: string;
  dev: string;
}

export interface RouteEntry {
  dst: string;
  via?: string;
  dev?: string;
  /** As `ip` prints it: "66", "kernel", "static", "boot", … */
  proto: string;
}

export interface ConnectedSubnet {
  /** e.g. "192.168.1.0/24". */
  cidr: string;
  dev: string;
}

/** The board's main routing table and forwarding switch; real: IpRouteTable, fake: routes-hostgw-fake.ts. */
export interface RouteTable {
  /** Every IPv4 route of the main table. */
  routes(): Promise<RouteEntry[]>;
  /** The IPv4 subnets of the board's own addresses. */
  connected(): Promise<ConnectedSubnet[]>;
  /** Adds or replaces one of our routes. */
  replace(route: HostGwRoute): Promise<void>;
  /** Removes one of our routes; a route already gone is not an error. */
  remove(route: { dst: string }): Promise<void>;
  /** net.ipv4.ip_forward=1. */
  enableForwarding(): Promise<void>;
}

export class IpRouteTable implements RouteTable {
  constructor(private readonly runner: CommandRunner = execRunner, private readonly timeoutMs = 10_000) {}

  async routes(): Promise<RouteEntry[]> {
    return parseRoutes((await this.ok(['-4', '-o', 'route', 'show', 'table', 'main'])).stdout);
  }

  async connected(): Promise<ConnectedSubnet[]> {
    return parseAddresses((await this.ok(['-4', '-o', 'addr', 'show'])).stdout);
  }

  async replace(r: HostGwRoute): Promise<void> {
    await this.ok(['route', 'replace', r.dst, 'via', r.via, 'dev', r.dev, 'proto', String(ROUTE_PROTO)]);
  }

  async remove(r: { dst: string }): Promise<void> {
    const res = await this.run(['route', 'del', r.dst, 'proto', String(ROUTE_PROTO)]);
    if (res.exitCode !== 0 && !/No such process|not found/i.test(res.stderr)) throw failure(`ip route del ${r.dst}`, res);
  }

  async enableForwarding(): Promise<void> {
    const r = await this.runner.run('sysctl', ['-w', 'net.ipv4.ip_forward=1'], { timeoutMs: this.timeoutMs });
    if (r.exitCode !== 0) throw failure('sysctl -w net.ipv4.ip_forward=1', r);
  }

  private run(args: string[]): Promise<RunResult> {
    return this.runner.run('ip', args, { timeoutMs: this.timeoutMs });
  }

  private async ok(args: string[]): Promise<RunResult> {
    const r = await this.run(args);
    if (r.exitCode !== 0) throw failure(`ip ${args.join(' ')}`, r);
    return r;
  }
}

/** `ip -4 -o route show`: "10.42.2.0/24 via 192.168.1.12 dev eth0 proto 66 …"; a route without "proto" is a boot route. */
export function parseRoutes(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/).filter(Boolean);
    // Typed routes ("local", "broadcast", "unreachable"…) begin with their type; only unicast ones matter here.
    if (words.length === 0 || !/^[\d.]+(\/\d+)?$|^default$/.test(words[0]!)) continue;
    const at = (k: string): string | undefined => {
      const i = words.indexOf(k);
      return i >= 0 ? words[i + 1] : undefined;
    };
    const dst = words[0] === 'default' ? '0.0.0.0/0' : words[0]!.includes('/') ? words[0]! : `${words[0]}/32`;
    out.push({ dst, via: at('via'), dev: at('dev'), proto: at('proto') ?? 'boot' });
  }
  return out;
}

/** `ip -4 -o addr show`: "2: eth0    inet 192.168.1.11/24 brd … scope global eth0\ …" → the subnets. */
export function parseAddresses(text: string): ConnectedSubnet[] {
  const out: ConnectedSubnet[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line.trim());
    if (!m || m[3] === '32') continue;
    const dev = m[1]!.split('@')[0]!;
    const subnet = tryParseCidr(`${m[2]!}/${m[3]}`);
    if (subnet) out.push({ cidr: formatCidr(subnet), dev });
  }
  return out;
}

export type SkipReason = 'no pod CIDR' | 'no InternalIP' | 'not on a connected subnet';

export interface RoutePlan {
  routes: HostGwRoute[];
  skipped: { node: string; reason: SkipReason; address?: string }[];
}

/**
 * The routes this board wants: one per other node with a pod CIDR and an InternalIP on
 * one of `connected` (ignoring `ignoreDevs`, e.g. the Pod bridge). Pure.
 */
export function planRoutes(nodes: readonly NodeObject[], self: string, connected: readonly ConnectedSubnet[], ignoreDevs: readonly string[] = []): RoutePlan {
  const plan: RoutePlan = { routes: [], skipped: [] };
  const lan = connected.filter((c) => !ignoreDevs.includes(c.dev));
  for (const n of nodes) {
    const name = n.metadata.name;
    if (name === self) continue;
    const podCIDR = n.spec?.podCIDR;
    if (!podCIDR || !tryParseCidr(podCIDR)) {
      plan.skipped.push({ node: name, reason: 'no pod CIDR' });
      continue;
    }
    const address = (n.status?.addresses ?? []).find((a) => a.type === 'InternalIP' && parseIPv4(a.address) !== undefined)?.address;
    if (!address) {
      plan.skipped.push({ node: name, reason: 'no InternalIP' });
      continue;
    }
    const addr = parseIPv4(address)!;
    const subnet = lan.find((c) => cidrContains(parseCidr(c.cidr), addr));
    if (!subnet) {
      plan.skipped.push({ node: name, reason: 'not on a connected subnet', address });
      continue;
    }
    plan.routes.push({ dst: formatCidr(parseCidr(podCIDR)), via: address, dev: subnet.dev });
  }
  plan.routes.sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
  return plan;
}

export interface HostGwRoutesOptions {
  table: RouteTable;
  /** This node: its own pod CIDR is on its bridge, not routed. */
  nodeName: string;
  clock: Clock;
  logger?: Logger;
  /** Devices whose subnets are not the LAN (the Pod bridge). Default ["bramble0"]. */
  ignoreDevs?: string[];
  /** Full re-sync against the table, to repair routes someone removed; default 60 s. */
  resyncMs?: number;
}

export class HostGwRoutes {
  private nodes: readonly NodeObject[] | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: Timer | undefined;
  private forwarding = false;
  private stopped = false;
  private readonly reported = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly opts: HostGwRoutesOptions) {
    this.log = opts.logger ?? silentLogger();
  }

  /** Periodic re-sync; the first sync comes with the first update(). */
  start(): void {
    this.stopped = false;
    this.timer ??= this.opts.clock.setInterval(() => void this.syncQuietly(), this.opts.resyncMs ?? 60_000);
  }

  /** Stops syncing and leaves the routes: Pods keep reaching each other while the agent is away. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  /** The cluster's nodes changed (a complete view only: a partial one would remove routes). */
  update(nodes: readonly NodeObject[]): Promise<void> {
    this.nodes = nodes;
    return this.syncQuietly();
  }

  /** Brings the table to the plan; concurrent calls coalesce into one more pass. */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.again = false;
          await this.syncOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    this.running = run;
    return run;
  }

  /** Removes every route of ours (`bramble agent --cleanup`); returns how many. */
  async cleanup(): Promise<number> {
    await this.stop();
    const ours = (await this.opts.table.routes()).filter((r) => r.proto === String(ROUTE_PROTO));
    for (const r of ours) await this.opts.table.remove(r);
    if (ours.length > 0) this.log.info({ routes: ours.map((r) => r.dst) }, 'removed host-gw routes');
    return ours.length;
  }

  private syncQuietly(): Promise<void> {
    if (this.stopped || !this.nodes) return Promise.resolve();
    return this.sync().catch((err: unknown) => this.log.warn({ err: String(err) }, 'host-gw route sync failed; retrying at the next change or resync'));
  }

  private async syncOnce(): Promise<void> {
    const nodes = this.nodes;
    if (!nodes || this.stopped) return;
    const { table } = this.opts;
    if (!this.forwarding) {
      await table.enableForwarding();
      this.forwarding = true;
    }
    const plan = planRoutes(nodes, this.opts.nodeName, await table.connected(), this.opts.ignoreDevs ?? ['bramble0']);
    this.reportSkipped(plan);
    const routes = await table.routes();
    const ours = new Map(routes.filter((r) => r.proto === String(ROUTE_PROTO)).map((r) => [r.dst, r]));
    const foreign = new Set(routes.filter((r) => r.proto !== String(ROUTE_PROTO)).map((r) => r.dst));
    const wanted = new Set<string>();
    for (const r of plan.routes) {
      if (foreign.has(r.dst)) {
        this.reportOnce(`foreign:${r.dst}`, r.via, () => this.log.warn({ dst: r.dst, via: r.via }, 'host-gw route not added: the board already has a route to that pod CIDR that is not Bramble\'s'));
        continue;
      }
      wanted.add(r.dst);
      const have = ours.get(r.dst);
      if (have && have.via === r.via && have.dev === r.dev) continue;
      await table.replace(r);
      this.log.info({ dst: r.dst, via: r.via, dev: r.dev }, have ? 'host-gw route changed' : 'host-gw route added');
    }
    for (const r of ours.values()) {
      if (wanted.has(r.dst)) continue;
      await table.remove(r);
      this.log.info({ dst: r.dst, via: r.via }, 'host-gw route removed');
    }
  }

  private reportSkipped(plan: RoutePlan): void {
    const now = new Set<string>();
    for (const s of plan.skipped) {
      const key = `skip:${s.node}`;
      now.add(key);
      const fn = s.reason === 'no pod CIDR' ? 'debug' : 'warn';
      this.reportOnce(key, `${s.reason}:${s.address ?? ''}`, () =>
        this.log[fn]({ node: s.node, address: s.address }, `no host-gw route to node ${s.node}: ${s.reason === 'not on a connected subnet' ? `its InternalIP ${s.address} is not on a subnet this board is directly connected to` : `it has ${s.reason}`}`));
    }
    for (const key of [...this.reported.keys()]) if (key.startsWith('skip:') && !now.has(key)) this.reported.delete(key);
  }

  /** Logs a condition once until it changes, not at every sync. */
  private reportOnce(key: string, value: string, log: () => void): void {
    if (this.reported.get(key) === value) return;
    this.reported.set(key, value);
    log();
  }
}

function failure(what: string, r: RunResult): BrambleError {
  return new BrambleError('RUNTIME_FAILED', `${what} must succeed: exited with ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
}
