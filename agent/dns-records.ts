// The cluster half of the board's resolver: which records the cluster domain
// holds, computed from the Services and Endpoints the board watches
// (WatchNetwork). Pure: no sockets, no clock. Follows the Kubernetes DNS-based
// service discovery spec (kubernetes/dns docs/specification.md) as CoreDNS's
// kubernetes plugin implements it, for IPv4 only:
//   NAME.NS.svc.DOMAIN                 A    ClusterIP, or the ready endpoints of a headless Service
//   HOST.NAME.NS.svc.DOMAIN            A    one endpoint of a headless Service (hostname, or its dashed IP)
//   _PORT._PROTO.NAME.NS.svc.DOMAIN    SRV  per named port (ClusterIP: the Service name; headless: per endpoint)
//   A-B-C-D.NS.pod.DOMAIN              A    the dashed IP itself (CoreDNS "pods insecure", kubeadm's default)
//   D.C.B.A.in-addr.arpa               PTR  a ClusterIP or headless endpoint; other reverse names are forwarded
// A name the cluster does not hold is NXDOMAIN; a name it holds asked for another
// type (AAAA, TXT…) is NODATA; both carry the zone's SOA so clients cache the denial.
import { isIPv4 } from 'node:net';
import type { Answer, SoaAnswer } from 'dns-packet';
import { CLUSTER_DOMAIN, type EndpointAddress, type Endpoints, type KObject, type Service } from '../proto/model.js';

/** TTL of every cluster record, in seconds: short, so a changed Service is seen quickly (CoreDNS's default is 5 too). */
export const CLUSTER_TTL_SECONDS = 5;

/** A question as dns-packet decodes it; type and class are strings (UNKNOWN_65 for types it has no name for). */
export interface DnsQuestion {
  name: string;
  type: string;
  class?: string;
}

export type DnsRcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED';

export type ClusterLookup =
  | { kind: 'forward' }
  | { kind: 'answer'; rcode: DnsRcode; answers: Answer[]; authorities: Answer[]; additionals: Answer[] };

/** The events WatchNetwork delivers: SYNC objects are the initial list, then changes. */
export type NetworkEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNC';

const keyOf = (ns: string, name: string): string => `${ns}/${name}`.toLowerCase();
const nsOf = (o: KObject): string => o.metadata.namespace ?? 'default';

/** 10.42.0.5 → 10-42-0-5, the label CoreDNS gives an endpoint without a hostname. */
export const dashedIp = (ip: string): string => ip.replace(/\./g, '-');

function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

export function isHeadless(svc: Service): boolean {
  return svc.spec.clusterIP === 'None';
}

/**
 * Every Service and Endpoints the board knows, and the answers they make. One
 * instance per board, fed from the WatchNetwork stream through apply() (and
 * replaceAll() after a resync); Nodes and other kinds are ignored.
 */
export class ClusterDnsView {
  private readonly services = new Map<string, Service>();
  private readonly endpoints = new Map<string, Endpoints>();
  /** Services per namespace: "NS.svc.DOMAIN" exists while the namespace has one. */
  private readonly namespaceServices = new Map<string, number>();
  private serialNumber = 1;

  constructor(readonly domain: string = CLUSTER_DOMAIN) {
    this.domain = normalize(domain);
  }

  /** Bumped on every change: the SOA serial. */
  get serial(): number {
    return this.serialNumber;
  }

  get serviceCount(): number {
    return this.services.size;
  }

  /** One WatchNetwork event. Returns whether the view changed (false for other kinds). */
  apply(type: NetworkEventType, object: KObject): boolean {
    if (object.kind !== 'Service' && object.kind !== 'Endpoints') return false;
    if (type === 'DELETED') {
      if (object.kind === 'Service') this.deleteService(nsOf(object), object.metadata.name);
      else this.deleteEndpoints(nsOf(object), object.metadata.name);
    } else if (object.kind === 'Service') {
      this.upsertService(object as Service);
    } else {
      this.upsertEndpoints(object as Endpoints);
    }
    return true;
  }

  /** Replaces everything with this list (a fresh SYNC): objects absent from it are forgotten. */
  replaceAll(objects: readonly KObject[]): void {
    this.services.clear();
    this.endpoints.clear();
    this.namespaceServices.clear();
    for (const o of objects) this.apply('SYNC', o);
    this.serialNumber++;
  }

  upsertService(svc: Service): void {
    const key = keyOf(nsOf(svc), svc.metadata.name);
    if (!this.services.has(key)) {
      const ns = nsOf(svc).toLowerCase();
      this.namespaceServices.set(ns, (this.namespaceServices.get(ns) ?? 0) + 1);
    }
    this.services.set(key, svc);
    this.serialNumber++;
  }

  deleteService(namespace: string, name: string): void {
    const key = keyOf(namespace, name);
    if (!this.services.delete(key)) return;
    const ns = namespace.toLowerCase();
    const left = (this.namespaceServices.get(ns) ?? 1) - 1;
    if (left <= 0) this.namespaceServices.delete(ns);
    else this.namespaceServices.set(ns, left);
    this.serialNumber++;
  }

  upsertEndpoints(ep: Endpoints): void {
    this.endpoints.set(keyOf(nsOf(ep), ep.metadata.name), ep);
    this.serialNumber++;
  }

  deleteEndpoints(namespace: string, name: string): void {
    if (this.endpoints.delete(keyOf(namespace, name))) this.serialNumber++;
  }

  /** The cluster's answer to one question, or 'forward' when the name is not the cluster's. */
  lookup(question: DnsQuestion): ClusterLookup {
    const name = normalize(question.name);
    const type = question.type;
    if (name.endsWith('.in-addr.arpa')) return this.reverse(question, name);
    if (name !== this.domain && !name.endsWith(`.${this.domain}`)) return { kind: 'forward' };
    if ((question.class ?? 'IN') !== 'IN' && question.class !== 'ANY') return this.result('REFUSED', []);
    if (name === this.domain) return type === 'SOA' ? this.result('NOERROR', [this.soa(question.name)]) : this.nodata();
    const labels = name.slice(0, -(this.domain.length + 1)).split('.');
    const last = labels[labels.length - 1];
    if (last === 'svc') return this.svcName(question, labels.slice(0, -1));
    if (last === 'pod') return this.podName(question, labels.slice(0, -1));
    return this.nxdomain();
  }

  private svcName(q: DnsQuestion, labels: string[]): ClusterLookup {
    if (labels.length === 0) return this.nodata(); // svc.DOMAIN: an empty non-terminal
    if (labels.length === 1) return this.namespaceServices.has(labels[0]!) ? this.nodata() : this.nxdomain();
    if (labels.length === 2) {
      const [name, ns] = labels as [string, string];
      const svc = this.services.get(keyOf(ns, name));
      if (!svc) return this.nxdomain();
      const ips = isHeadless(svc) ? uniqueIps(this.addressesOf(svc)) : svc.spec.clusterIP && isIPv4(svc.spec.clusterIP) ? [svc.spec.clusterIP] : [];
      return ips.length === 0 || (q.type !== 'A' && q.type !== 'ANY') ? this.nodata() : this.result('NOERROR', ips.map((ip) => aRecord(q.name, ip)));
    }
    if (labels.length === 3) {
      const [host, name, ns] = labels as [string, string, string];
      const svc = this.services.get(keyOf(ns, name));
      if (!svc || !isHeadless(svc)) return this.nxdomain();
      const ips = uniqueIps(this.addressesOf(svc).filter((a) => endpointLabel(a) === host));
      if (ips.length === 0) return this.nxdomain();
      return q.type === 'A' || q.type === 'ANY' ? this.result('NOERROR', ips.map((ip) => aRecord(q.name, ip))) : this.nodata();
    }
    if (labels.length === 4 && labels[0]!.startsWith('_') && labels[1]!.startsWith('_')) {
      const [portLabel, protoLabel, name, ns] = labels as [string, string, string, string];
      return this.srv(q, portLabel.slice(1), protoLabel.slice(1), name, ns);
    }
    return this.nxdomain();
  }

  private srv(q: DnsQuestion, portName: string, proto: string, name: string, ns: string): ClusterLookup {
    const svc = this.services.get(keyOf(ns, name));
    if (!svc) return this.nxdomain();
    const matches = (p: { name?: string; protocol?: string }): boolean =>
      p.name !== undefined && p.name.toLowerCase() === portName && (p.protocol ?? 'TCP').toLowerCase() === proto;
    const serviceName = `${name}.${ns}.svc.${this.domain}`;
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    if (!isHeadless(svc)) {
      const port = svc.spec.ports.find(matches);
      if (!port) return this.nxdomain();
      const ip = svc.spec.clusterIP;
      if (!ip || !isIPv4(ip)) return this.nodata();
      answers.push(srvRecord(q.name, port.port, serviceName, 100));
      additionals.push(aRecord(serviceName, ip));
    } else {
      if (!svc.spec.ports.some(matches)) return this.nxdomain();
      // A headless Service has no port of its own to point at: each endpoint answers on its own port.
      const targets: { port: number; target: string; ip: string }[] = [];
      const ep = this.endpoints.get(keyOf(ns, name));
      for (const subset of ep?.subsets ?? []) {
        const port = subset.ports?.find(matches);
        if (!port) continue;
        for (const a of this.subsetAddresses(svc, subset)) targets.push({ port: port.port, target: `${endpointLabel(a)}.${serviceName}`, ip: a.ip });
      }
      // As CoreDNS: the endpoints share the weight equally.
      const weight = targets.length > 0 ? Math.max(1, Math.floor(100 / targets.length)) : 0;
      for (const t of targets) {
        answers.push(srvRecord(q.name, t.port, t.target, weight));
        additionals.push(aRecord(t.target, t.ip));
      }
    }
    if (q.type !== 'SRV' && q.type !== 'ANY') return this.nodata();
    if (answers.length === 0) return this.nodata();
    return this.result('NOERROR', answers, additionals);
  }

  private podName(q: DnsQuestion, labels: string[]): ClusterLookup {
    if (labels.length === 0) return this.nodata();
    if (labels.length === 1) return this.namespaceServices.has(labels[0]!) ? this.nodata() : this.nxdomain();
    if (labels.length !== 2) return this.nxdomain();
    const ip = labels[0]!.replace(/-/g, '.');
    if (!isIPv4(ip)) return this.nxdomain();
    return q.type === 'A' || q.type === 'ANY' ? this.result('NOERROR', [aRecord(q.name, ip)]) : this.nodata();
  }

  private reverse(q: DnsQuestion, name: string): ClusterLookup {
    if (q.type !== 'PTR') return { kind: 'forward' };
    const ip = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
    if (!isIPv4(ip)) return { kind: 'forward' };
    // Linear in the Services: PTR queries are rare and the view is at most a few thousand objects.
    for (const svc of this.services.values()) {
      const base = `${svc.metadata.name}.${nsOf(svc)}.svc.${this.domain}`.toLowerCase();
      if (!isHeadless(svc)) {
        if (svc.spec.clusterIP === ip) return this.result('NOERROR', [ptrRecord(q.name, base)]);
        continue;
      }
      const hit = this.addressesOf(svc).find((a) => a.ip === ip);
      if (hit) return this.result('NOERROR', [ptrRecord(q.name, `${endpointLabel(hit)}.${base}`)]);
    }
    return { kind: 'forward' };
  }

  /** The endpoints DNS publishes: ready ones, and the not-ready too when the Service asks for it. */
  private addressesOf(svc: Service): EndpointAddress[] {
    const ep = this.endpoints.get(keyOf(nsOf(svc), svc.metadata.name));
    return (ep?.subsets ?? []).flatMap((s) => this.subsetAddresses(svc, s));
  }

  private subsetAddresses(svc: Service, subset: NonNullable<Endpoints['subsets']>[number]): EndpointAddress[] {
    const ready = subset.addresses ?? [];
    return svc.spec.publishNotReadyAddresses ? [...ready, ...(subset.notReadyAddresses ?? [])] : ready;
  }

  private soa(owner: string = this.domain): SoaAnswer {
    return {
      type: 'SOA',
      name: owner,
      ttl: CLUSTER_TTL_SECONDS,
      class: 'IN',
      data: {
        mname: `ns.dns.${this.domain}`,
        rname: `hostmaster.${this.domain}`,
        serial: this.serialNumber >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: CLUSTER_TTL_SECONDS,
      },
    };
  }

  private result(rcode: DnsRcode, answers: Answer[], additionals: Answer[] = []): ClusterLookup {
    return { kind: 'answer', rcode, answers, authorities: [], additionals };
  }

  private nxdomain(): ClusterLookup {
    return { kind: 'answer', rcode: 'NXDOMAIN', answers: [], authorities: [this.soa()], additionals: [] };
  }

  private nodata(): ClusterLookup {
    return { kind: 'answer', rcode: 'NOERROR', answers: [], authorities: [this.soa()], additionals: [] };
  }
}

function endpointLabel(a: EndpointAddress): string {
  return (a.hostname ?? dashedIp(a.ip)).toLowerCase();
}

function uniqueIps(addresses: EndpointAddress[]): string[] {
  return [...new Set(addresses.map((a) => a.ip).filter((ip) => isIPv4(ip)))];
}

function aRecord(name: string, ip: string): Answer {
  return { type: 'A', name, ttl: CLUSTER_TTL_SECONDS, class: 'IN', data: ip };
}

function ptrRecord(name: string, target: string): Answer {
  return { type: 'PTR', name, ttl: CLUSTER_TTL_SECONDS, class: 'IN', data: target };
}

function srvRecord(name: string, port: number, target: string, weight: number): Answer {
  return { type: 'SRV', name, ttl: CLUSTER_TTL_SECONDS, class: 'IN', data: { priority: 0, weight, port, target } };
}
