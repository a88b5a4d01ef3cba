// What a Service's Endpoints should hold, from the Pods its selector matches: the
// pure half of the Endpoints controller (Kubernetes' pkg/controller/endpoint,
// syncService and RepackSubsets). Each Pod with an IP gives one address per
// Service port it can serve; addresses are then grouped by identical port sets and
// everything is sorted, so equal inputs give equal (JSON-identical) subsets and
// the controller rewrites the object only when something changed.
import { isConditionTrue } from '../../proto/util/conditions.js';
import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service, ServicePort } from '../../proto/model.js';

/** spec.hostname and spec.subdomain of a Pod (read loosely: not every Pod model has them yet). */
function hostnameFields(pod: Pod): { hostname?: string; subdomain?: string } {
  const spec = pod.spec as { hostname?: unknown; subdomain?: unknown };
  return {
    hostname: typeof spec.hostname === 'string' && spec.hostname !== '' ? spec.hostname : undefined,
    subdomain: typeof spec.subdomain === 'string' ? spec.subdomain : undefined,
  };
}

/**
 * Whether the Pod belongs in its Services' Endpoints at all (ShouldPodBeInEndpoints):
 * it has an IP, has not finished, and is not terminating, unless the Service
 * publishes not-ready addresses, which then include terminating ones.
 */
export function podServesEndpoints(pod: Pod, publishNotReady: boolean): boolean {
  if (!pod.status?.podIP) return false;
  const phase = pod.status.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (pod.metadata.deletionTimestamp && !publishNotReady) return false;
  return true;
}

/**
 * The Pod's port for a Service port (podutil.FindPort): a number is itself; a name
 * is the containerPort of the container port with that name and the Service
 * port's protocol; undefined when the Pod has no such named port.
 */
export function resolveTargetPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

function addressOf(pod: Pod, svc: Service): EndpointAddress {
  const addr: EndpointAddress = {
    ip: pod.status!.podIP!,
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid: pod.metadata.uid ?? '' },
  };
  if (pod.spec.nodeName) addr.nodeName = pod.spec.nodeName;
  // As Kubernetes: the hostname is published only for the Service the Pod names as its subdomain.
  const { hostname, subdomain } = hostnameFields(pod);
  if (hostname && subdomain === svc.metadata.name) addr.hostname = hostname;
  return addr;
}

function endpointPort(sp: ServicePort, port: number): EndpointPort {
  const out: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
  return sp.name ? { name: sp.name, ...out } : out;
}

const portKey = (p: EndpointPort): string => `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port}`;
const addressKey = (a: EndpointAddress): string => `${a.ip}/${a.targetRef?.uid ?? ''}/${a.targetRef?.name ?? ''}`;

function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function compareAddress(a: EndpointAddress, b: EndpointAddress): number {
  return compareIp(a.ip, b.ip) || (addressKey(a) < addressKey(b) ? -1 : addressKey(a) > addressKey(b) ? 1 : 0);
}

/**
 * The subsets of a selector Service's Endpoints for the given Pods (those of its
 * namespace its selector matches). Ready Pods (PodReady True) go to addresses,
 * others to notReadyAddresses; with publishNotReadyAddresses all go to addresses.
 */
export function endpointSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  /** Address key → the address, whether it is ready, and the ports it serves. */
  const byAddress = new Map<string, { addr: EndpointAddress; ready: boolean; ports: Map<string, EndpointPort> }>();
  for (const pod of pods) {
    if (!podServesEndpoints(pod, publishNotReady)) continue;
    const addr = addressOf(pod, svc);
    const ready = publishNotReady || (!pod.metadata.deletionTimestamp && isConditionTrue(pod.status?.conditions, 'Ready'));
    const ports = new Map<string, EndpointPort>();
    for (const sp of svc.spec.ports ?? []) {
      const port = resolveTargetPort(pod, sp);
      if (port === undefined) continue;
      const ep = endpointPort(sp, port);
      ports.set(portKey(ep), ep);
    }
    if (ports.size === 0) continue;
    byAddress.set(addressKey(addr), { addr, ready, ports });
  }
  // RepackSubsets: addresses with the same set of ports share one subset.
  const bySet = new Map<string, EndpointSubset>();
  for (const { addr, ready, ports } of byAddress.values()) {
    const sorted = [...ports.values()].sort((a, b) => (portKey(a) < portKey(b) ? -1 : portKey(a) > portKey(b) ? 1 : 0));
    const setKey = sorted.map(portKey).join(',');
    let subset = bySet.get(setKey);
    if (!subset) bySet.set(setKey, (subset = { ports: sorted }));
    const list = ready ? (subset.addresses ??= []) : (subset.notReadyAddresses ??= []);
    list.push(addr);
  }
  const subsets = [...bySet.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  for (const s of subsets) {
    s.addresses?.sort(compareAddress);
    s.notReadyAddresses?.sort(compareAddress);
  }
  // Key order fixed (addresses, notReadyAddresses, ports) so stored JSON compares equal.
  return subsets.map((s) => ({
    ...(s.addresses ? { addresses: s.addresses } : {}),
    ...(s.notReadyAddresses ? { notReadyAddresses: s.notReadyAddresses } : {}),
    ports: s.ports!,
  }));
}
