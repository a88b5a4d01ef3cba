// Bramble's Service rules for one board, as kube-proxy's iptables mode writes them
// (pkg/proxy/iptables/proxier.go, syncProxyRules), with Bramble chain names. A PURE
// function of a snapshot of the cluster's Services and Endpoints: the same input
// gives the same text, which is what the golden tests and the partial sync rely on.
//
// Packet paths (nat):
//   PREROUTING/OUTPUT → BRAMBLE-SERVICES: cluster DNS DNAT, one rule per service port
//     `-d clusterIP --dport port -j BRAMBLE-SVC-…`, and last the jump to
//     BRAMBLE-NODEPORTS for traffic to the board's own addresses.
//   BRAMBLE-SVC-… marks traffic from outside the cluster CIDR for masquerade, then picks
//     an endpoint: ClientIP affinity first (`-m recent --rcheck`), then random balancing.
//   BRAMBLE-EXT-… (NodePort / LoadBalancer): Cluster policy masquerades and goes to SVC;
//     Local policy keeps the source and goes to BRAMBLE-SVL-… (this board's endpoints).
//   BRAMBLE-SEP-… DNATs to ip:port (and masquerades hairpin traffic of a Pod to itself).
//   POSTROUTING → BRAMBLE-POSTROUTING: egress masquerade of Pods leaving the cluster CIDR,
//     and masquerade of whatever BRAMBLE-MARK-MASQ marked.
// filter: REJECT for service ports without endpoints (BRAMBLE-SERVICES), REJECT/DROP for
// node ports without (local) endpoints (BRAMBLE-EXTERNAL-SERVICES), and BRAMBLE-FORWARD
// accepting marked and established traffic when FORWARD's policy is DROP.
import { loadBalancerNodes, type Endpoints, type Service, type ServicePort } from '../proto/model.js';
import {
  FILTER_BASE_CHAINS, FILTER_EXTERNAL_SERVICES, FILTER_FORWARD, FILTER_SERVICES, MASQ_MARK, NAT_BASE_CHAINS, NAT_MARK_MASQ, NAT_NODEPORTS,
  NAT_POSTROUTING, NAT_SERVICES, endpointChain, externalChain, protoOf, serviceChain, serviceLocalChain,
  servicePortName,
} from './service-rules-names.js';

export interface ServiceSnapshotNode {
  name: string;
  /** The board's own IPv4 addresses: where LoadBalancer ports answer. */
  addresses: string[];
  /** Whether this board answers on LoadBalancer ports (all boards, unless some carry LB_NODE_LABEL=true). */
  isLoadBalancerNode: boolean;
  /**
   * LoadBalancer ports a process on the board already holds (agent/port-listeners.ts):
   * no LoadBalancer rule for them here, so that process keeps its port. Node ports and
   * cluster IPs of the same Services are unaffected.
   */
  blockedLoadBalancerPorts?: { protocol: 'TCP' | 'UDP'; port: number }[];
}

/**
 * The cluster as one board sees it. Its Service and Endpoints objects are treated as
 * immutable (as informer caches hand them out): a changed object is a new object.
 */
export interface ServiceSnapshot {
  services: Service[];
  endpoints: Endpoints[];
  node: ServiceSnapshotNode;
  /** This board's pod range: the source of egress masquerade. Absent or empty: no egress rule. */
  podCIDR?: string;
  /** The whole cluster's pod range: inside it, traffic keeps its source address. */
  clusterCIDR: string;
  /** The cluster DNS Service address, DNATed to localDnsIP:53 when both are given. */
  dnsServiceIP?: string;
  localDnsIP?: string;
}

/**
 * Whether `nodeName` answers on LoadBalancer ports, as k3s ServiceLB chooses: when any
 * node carries LB_NODE_LABEL=true only those do, otherwise every node does.
 */
export function isLoadBalancerNode(nodes: { metadata: { name: string; labels?: Record<string, string> } }[], nodeName: string): boolean {
  return loadBalancerNodes(nodes).some((n) => n.metadata.name === nodeName);
}

/** Rules of one table: chain name → its `-A CHAIN …` lines, in writing order (base chains first). */
export type TableRules = Map<string, string[]>;

export interface ServiceRuleSet {
  filter: TableRules;
  nat: TableRules;
}

export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

/** kube-proxy's computeProbability: `%0.10f` of 1/n. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

const q = (comment: string): string => `"${comment}"`;

interface Endpoint {
  ip: string;
  port: number;
  nodeName?: string;
  /** "ip:port", the endpoint's identity in chain names and comments. */
  key: string;
}

/** An endpoint of one service port, with its BRAMBLE-SEP- chain. */
interface PortEndpoint extends Endpoint {
  chain: string;
}

function isServiceIP(ip: string | undefined): ip is string {
  return !!ip && ip !== 'None' && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
}

/**
 * The ready endpoints of one service port, deduplicated and sorted by "ip:port" (as
 * kube-proxy sorts them, so the rule text does not depend on the order of subsets).
 * Named targetPorts are already resolved per Pod: the EndpointPort with the ServicePort's
 * name (both unnamed for a single-port Service) and protocol carries the number.
 */
export function readyEndpoints(port: ServicePort, endpoints: Endpoints | undefined): Endpoint[] {
  const proto = port.protocol ?? 'TCP';
  const byKey = new Map<string, Endpoint>();
  for (const subset of endpoints?.subsets ?? []) {
    const ep = (subset.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP') === proto);
    if (!ep) continue;
    for (const a of subset.addresses ?? []) {
      const key = `${a.ip}:${ep.port}`;
      if (!byKey.has(key)) byKey.set(key, { ip: a.ip, port: ep.port, nodeName: a.nodeName, key });
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

class Tables {
  readonly filter: TableRules = new Map();
  readonly nat: TableRules = new Map();

  chain(table: 'filter' | 'nat', name: string): string[] {
    const t = this[table];
    let rules = t.get(name);
    if (!rules) t.set(name, (rules = []));
    return rules;
  }

  add(table: 'filter' | 'nat', chain: string, ...args: string[]): void {
    this.chain(table, chain).push(['-A', chain, ...args].join(' '));
  }
}

/**
 * One rule from its text after `-A CHAIN `. Joined, not concatenated: a template
 * literal leaves a tree of string pieces (V8's cons strings), eight or so objects per
 * rule that every young-generation GC copies while the rule set is alive and that the
 * restore text must walk again; a join makes one flat string. With 11,000 rules that is
 * a quarter of a full build's CPU.
 */
function rule(rules: string[], chain: string, spec: string): void {
  rules.push(['-A', chain, spec].join(' '));
}

function writeBaseRules(t: Tables, snap: ServiceSnapshot): void {
  for (const c of [FILTER_SERVICES, FILTER_EXTERNAL_SERVICES, FILTER_FORWARD]) t.chain('filter', c);
  for (const c of [NAT_SERVICES, NAT_NODEPORTS, NAT_POSTROUTING, NAT_MARK_MASQ]) t.chain('nat', c);
  // FORWARD may have a DROP policy (Docker sets one): let Service traffic and its replies through.
  t.add('filter', FILTER_FORWARD, '-m comment --comment', q('bramble forwarding rules'), `-m mark --mark ${MASQ_MARK}/${MASQ_MARK}`, '-j ACCEPT');
  t.add('filter', FILTER_FORWARD, '-m comment --comment', q('bramble forwarding conntrack rule'), '-m conntrack --ctstate RELATED,ESTABLISHED', '-j ACCEPT');
  if (snap.podCIDR) {
    // Pod-to-Pod across boards keeps its source (host-gw routes); only leaving the cluster is NATed.
    t.add('nat', NAT_POSTROUTING, '-m comment --comment', q('pod traffic leaving the cluster'), `-s ${snap.podCIDR}`, `! -d ${snap.clusterCIDR}`, '-j MASQUERADE');
  }
  t.add('nat', NAT_POSTROUTING, `-m mark ! --mark ${MASQ_MARK}/${MASQ_MARK}`, '-j RETURN');
  // The mark is cleared so a packet that is re-routed (e.g. through a tunnel) is not masqueraded twice.
  t.add('nat', NAT_POSTROUTING, `-j MARK --xor-mark ${MASQ_MARK}`);
  t.add('nat', NAT_POSTROUTING, '-m comment --comment', q('bramble service traffic requiring SNAT'), '-j MASQUERADE');
  t.add('nat', NAT_MARK_MASQ, `-j MARK --or-mark ${MASQ_MARK}`);
  if (isServiceIP(snap.dnsServiceIP) && isServiceIP(snap.localDnsIP)) {
    // Each board's own resolver answers the cluster DNS address, whatever the DNS Service's endpoints.
    for (const proto of ['udp', 'tcp']) {
      t.add('nat', NAT_SERVICES, '-m comment --comment', q('cluster DNS to this board\'s resolver'), `-m ${proto} -p ${proto}`,
        `-d ${snap.dnsServiceIP}`, '--dport 53', `-j DNAT --to-destination ${snap.localDnsIP}:53`);
    }
  }
}

/**
 * Above this many endpoints (SEP chains) the per-endpoint rules carry no comment, as
 * kube-proxy's largeClusterMode (largeClusterEndpointsThreshold): a comment match is 288
 * bytes of each rule in the kernel, about half of the nat table at that size, and the
 * legacy backend copies the whole table out and back in on every restore, so it is half
 * the cost of a one-endpoint change. The dispatch and masquerade rules keep theirs.
 */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

/** How one build writes: settings of the whole snapshot that every Service's rules depend on. */
interface WriteContext {
  snap: ServiceSnapshot;
  /** Comments on the per-endpoint rules (false above LARGE_CLUSTER_ENDPOINTS). */
  endpointComments: boolean;
}

/** The endpoint-picking rules of a SVC or SVL chain (kube-proxy's writeServiceToEndpointRules). */
function writeBalancing(t: Tables, ctx: WriteContext, chain: string, spn: string, eps: PortEndpoint[], affinitySeconds: number | undefined): void {
  const rules = t.chain('nat', chain);
  const comment = (ep: PortEndpoint): string => (ctx.endpointComments ? `-m comment --comment "${spn} -> ${ep.key}" ` : '');
  if (affinitySeconds !== undefined) {
    for (const ep of eps) {
      rule(rules, chain, `${comment(ep)}-m recent --name ${ep.chain} --rcheck --seconds ${affinitySeconds} --reap -j ${ep.chain}`);
    }
  }
  const n = eps.length;
  for (let i = 0; i < n; i++) {
    const ep = eps[i]!;
    const random = i < n - 1 ? `-m statistic --mode random --probability ${probability(n - i)} ` : '';
    rule(rules, chain, `${comment(ep)}${random}-j ${ep.chain}`);
  }
}

function writeServicePort(t: Tables, ctx: WriteContext, svc: Service, port: ServicePort, endpoints: Endpoints | undefined): void {
  const snap = ctx.snap;
  const ns = svc.metadata.namespace ?? 'default';
  const spn = servicePortName(ns, svc.metadata.name, port.name);
  const proto = protoOf(port.protocol);
  const clusterIP = svc.spec.clusterIP!;
  const type = svc.spec.type ?? 'ClusterIP';
  const eps: PortEndpoint[] = readyEndpoints(port, endpoints) as PortEndpoint[];
  for (const e of eps) e.chain = endpointChain(spn, proto, e.key);
  const local = eps.filter((e) => e.nodeName === snap.node.name);
  const nodePort = (type === 'NodePort' || type === 'LoadBalancer') && port.nodePort ? port.nodePort : undefined;
  const blocked = snap.node.blockedLoadBalancerPorts?.some((b) => b.port === port.port && protoOf(b.protocol) === proto) ?? false;
  const lbAddresses = type === 'LoadBalancer' && snap.node.isLoadBalancerNode && !blocked ? snap.node.addresses : [];
  const external = nodePort !== undefined || lbAddresses.length > 0;
  const policyLocal = external && svc.spec.externalTrafficPolicy === 'Local';
  const hasEndpoints = eps.length > 0;
  const hasExternalEndpoints = policyLocal ? local.length > 0 : hasEndpoints;
  const affinitySeconds = svc.spec.sessionAffinity === 'ClientIP'
    ? svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS
    : undefined;
  const match = `-m ${proto} -p ${proto}`;
  const svcChain = serviceChain(spn, proto);
  const extChain = external ? externalChain(spn, proto) : '';
  const svlChain = policyLocal ? serviceLocalChain(spn, proto) : '';
  const portal = `-m comment --comment "${spn} cluster IP" ${match} -d ${clusterIP} --dport ${port.port}`;

  if (hasEndpoints) {
    rule(t.chain('nat', NAT_SERVICES), NAT_SERVICES, `${portal} -j ${svcChain}`);
    // Off-cluster clients of a VIP may be answered from another board: masquerade them.
    rule(t.chain('nat', svcChain), svcChain, `${portal} ! -s ${snap.clusterCIDR} -j ${NAT_MARK_MASQ}`);
    writeBalancing(t, ctx, svcChain, spn, eps, affinitySeconds);
  } else {
    t.add('filter', FILTER_SERVICES, '-m comment --comment', q(`${spn} has no endpoints`), match, `-d ${clusterIP}`, `--dport ${port.port}`, '-j REJECT');
  }

  if (external && hasEndpoints) {
    t.chain('nat', extChain);
    if (!policyLocal) {
      t.add('nat', extChain, '-m comment --comment', q(`masquerade traffic for ${spn} external destinations`), `-j ${NAT_MARK_MASQ}`);
    } else {
      // Pods and the board itself are not subject to the Local policy (kube-proxy's short-circuits).
      t.add('nat', extChain, '-m comment --comment', q(`pod traffic for ${spn} external destinations`), `-s ${snap.clusterCIDR}`, `-j ${svcChain}`);
      t.add('nat', extChain, '-m comment --comment', q(`masquerade LOCAL traffic for ${spn} external destinations`), '-m addrtype --src-type LOCAL', `-j ${NAT_MARK_MASQ}`);
      t.add('nat', extChain, '-m comment --comment', q(`route LOCAL traffic for ${spn} external destinations`), '-m addrtype --src-type LOCAL', `-j ${svcChain}`);
    }
    if (hasExternalEndpoints) t.add('nat', extChain, `-j ${policyLocal ? svlChain : svcChain}`);
    if (nodePort !== undefined) {
      t.add('nat', NAT_NODEPORTS, '-m comment --comment', q(spn), match, `--dport ${nodePort}`, `-j ${extChain}`);
    }
    for (const addr of lbAddresses) {
      t.add('nat', NAT_NODEPORTS, '-m comment --comment', q(`${spn} loadbalancer IP`), match, `-d ${addr}`, `--dport ${port.port}`, `-j ${extChain}`);
    }
  }
  if (nodePort !== undefined && !hasExternalEndpoints) {
    // No endpoints at all: REJECT; endpoints but none on this board (Local): DROP, as kube-proxy.
    // LoadBalancer ports on the board's own addresses get no filter rule: the board may have
    // its own listener there, which a REJECT would cut off.
    const comment = hasEndpoints ? `${spn} has no local endpoints` : `${spn} has no endpoints`;
    t.add('filter', FILTER_EXTERNAL_SERVICES, '-m comment --comment', q(comment), '-m addrtype --dst-type LOCAL', match, `--dport ${nodePort}`, `-j ${hasEndpoints ? 'DROP' : 'REJECT'}`);
  }
  if (policyLocal && local.length > 0) writeBalancing(t, ctx, svlChain, spn, local, affinitySeconds);

  const sepComment = ctx.endpointComments ? `-m comment --comment "${spn}" ` : '';
  for (const ep of eps) {
    const sep = ep.chain;
    const rules = t.chain('nat', sep);
    // A Pod reaching itself through its Service: masquerade so the reply comes back through the DNAT.
    rule(rules, sep, `${sepComment}-s ${ep.ip} -j ${NAT_MARK_MASQ}`);
    const recent = affinitySeconds !== undefined ? `-m recent --name ${sep} --set ` : '';
    rule(rules, sep, `${sepComment}${recent}${match} -j DNAT --to-destination ${ep.key}`);
  }
}

/** What one Service contributes: its own chains, and lines appended to the shared base chains. */
type ServiceWrites = Tables;

function writeService(ctx: WriteContext, svc: Service, endpoints: Endpoints | undefined): ServiceWrites {
  const t = new Tables();
  for (const port of svc.spec.ports ?? []) writeServicePort(t, ctx, svc, port, endpoints);
  return t;
}

/**
 * Remembers each Service's rules between syncs, so a sync after one endpoint change
 * regenerates one Service, not 1,000. An entry is reused only for the very same
 * Service and Endpoints objects (informer caches replace an object when it changes;
 * callers must not mutate them in place) and the same board settings.
 */
export class ServiceRulesCache {
  private entries = new Map<string, { svc: Service; endpoints: Endpoints | undefined; context: string; writes: ServiceWrites }>();

  get(key: string, svc: Service, endpoints: Endpoints | undefined, context: string): ServiceWrites | undefined {
    const e = this.entries.get(key);
    return e && e.svc === svc && e.endpoints === endpoints && e.context === context ? e.writes : undefined;
  }

  set(key: string, svc: Service, endpoints: Endpoints | undefined, context: string, writes: ServiceWrites): void {
    this.entries.set(key, { svc, endpoints, context, writes });
  }

  /** Drops the Services not seen in the last build. */
  retain(keys: Set<string>): void {
    for (const k of this.entries.keys()) if (!keys.has(k)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}

const BASE_CHAINS = { filter: new Set<string>(FILTER_BASE_CHAINS), nat: new Set<string>(NAT_BASE_CHAINS) };

function merge(into: Tables, from: ServiceWrites): void {
  for (const table of ['filter', 'nat'] as const) {
    for (const [chain, lines] of from[table]) {
      if (BASE_CHAINS[table].has(chain)) into.chain(table, chain).push(...lines);
      // A per-service chain belongs to one Service: its array is shared, never copied or changed.
      else into[table].set(chain, lines);
    }
  }
}

/** Ready addresses times ports: the SEP chains the Endpoints give, counted without building them. */
function countEndpoints(endpoints: Endpoints | undefined): number {
  let n = 0;
  for (const subset of endpoints?.subsets ?? []) n += (subset.addresses?.length ?? 0) * (subset.ports?.length ?? 0);
  return n;
}

/** Every Bramble chain of both tables, with their rules, for this snapshot. */
export function buildServiceRules(snap: ServiceSnapshot, cache?: ServiceRulesCache): ServiceRuleSet {
  const t = new Tables();
  writeBaseRules(t, snap);
  const endpointsByKey = new Map(snap.endpoints.map((e) => [`${e.metadata.namespace ?? 'default'}/${e.metadata.name}`, e]));
  const keyed = snap.services.map((svc) => ({ svc, key: `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}` }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const included: { svc: Service; key: string; endpoints: Endpoints | undefined }[] = [];
  let endpointCount = 0;
  for (const { svc, key } of keyed) {
    // Headless Services are DNS only; a Service without an address yet has nothing to match.
    if (!isServiceIP(svc.spec.clusterIP)) continue;
    const endpoints = endpointsByKey.get(key);
    // Without a selector the Endpoints are written by hand: none written yet means no rules (not a REJECT).
    if (!svc.spec.selector && !endpoints) continue;
    included.push({ svc, key, endpoints });
    endpointCount += countEndpoints(endpoints);
  }
  const ctx: WriteContext = { snap, endpointComments: endpointCount <= LARGE_CLUSTER_ENDPOINTS };
  const context = JSON.stringify([snap.node, snap.clusterCIDR, ctx.endpointComments]);
  const seen = new Set<string>();
  for (const { svc, key, endpoints } of included) {
    seen.add(key);
    let writes = cache?.get(key, svc, endpoints, context);
    if (!writes) {
      writes = writeService(ctx, svc, endpoints);
      cache?.set(key, svc, endpoints, context, writes);
    }
    merge(t, writes);
  }
  cache?.retain(seen);
  // Last rule: node ports (and LoadBalancer ports) on the board's own addresses. Loopback is
  // left out: DNAT of a 127.0.0.1 source to a Pod would need route_localnet.
  t.add('nat', NAT_SERVICES, '-m comment --comment', q('bramble service nodeports; NOTE: this must be the last rule in this chain'),
    '! -d 127.0.0.0/8', '-m addrtype --dst-type LOCAL', `-j ${NAT_NODEPORTS}`);
  return { filter: t.filter, nat: t.nat };
}
