// UDP has no connection to close: once a flow to a Service was DNATed to an endpoint,
// conntrack keeps sending the client's datagrams there even after the rules changed,
// until the entry times out. So when a UDP endpoint goes away, its conntrack entries
// are deleted (and when a UDP Service gets its first endpoint, the entries of the
// rejected attempts), as kube-proxy does with the `conntrack` tool. TCP needs nothing:
// a removed endpoint's connections fail and the client reconnects through the new rules.
import type { ServiceSnapshot } from './service-rules.js';
import { readyEndpoints } from './service-rules.js';

export interface UdpPortTargets {
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** Ready endpoint IPs. */
  ips: Set<string>;
}

/** The UDP service ports of a snapshot, keyed "clusterIP:port", with their ready endpoint IPs. */
export function udpTargets(snap: ServiceSnapshot): Map<string, UdpPortTargets> {
  const out = new Map<string, UdpPortTargets>();
  const endpointsByKey = new Map(snap.endpoints.map((e) => [`${e.metadata.namespace ?? 'default'}/${e.metadata.name}`, e]));
  for (const svc of snap.services) {
    const ip = svc.spec.clusterIP;
    if (!ip || ip === 'None') continue;
    const endpoints = endpointsByKey.get(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`);
    for (const port of svc.spec.ports ?? []) {
      if (port.protocol !== 'UDP') continue;
      const type = svc.spec.type ?? 'ClusterIP';
      const nodePort = type !== 'ClusterIP' ? port.nodePort : undefined;
      out.set(`${ip}:${port.port}`, { clusterIP: ip, port: port.port, nodePort, ips: new Set(readyEndpoints(port, endpoints).map((e) => e.ip)) });
    }
  }
  return out;
}

/** `conntrack` argument lists deleting the UDP flows the change from `before` to `after` left stale. */
export function staleUdpFlows(before: Map<string, UdpPortTargets>, after: Map<string, UdpPortTargets>): string[][] {
  const commands: string[][] = [];
  for (const [key, prev] of before) {
    const next = after.get(key);
    for (const ip of prev.ips) {
      if (next?.ips.has(ip)) continue;
      commands.push(['-D', '-p', 'udp', '--orig-dst', prev.clusterIP, '--dst-nat', ip]);
      if (prev.nodePort) commands.push(['-D', '-p', 'udp', '--dport', String(prev.nodePort), '--dst-nat', ip]);
    }
  }
  for (const [key, next] of after) {
    const prev = before.get(key);
    // Datagrams sent while there was no endpoint are tracked as rejected flows to the VIP itself.
    if (next.ips.size > 0 && (!prev || prev.ips.size === 0)) commands.push(['-D', '-p', 'udp', '--orig-dst', next.clusterIP]);
  }
  return commands;
}
