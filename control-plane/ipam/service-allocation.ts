// Cluster IPs and node ports of Services, decided while an apply is planned. What
// is taken is read from the stored Services (allocation-lock.ts says why that and
// the lock are enough for uniqueness); a value asked for is given when it is free
// and in range, otherwise the lowest free one is. A stored Service keeps what it
// holds when a manifest leaves it out, as kubectl apply users do.
import { BrambleError, type FieldProblem } from '../../proto/util/errors.js';
import { cidrContains, formatIPv4, parseCidr, parseIPv4, CLUSTER_DNS_SERVICE, type Cidr } from '../../proto/ipv4.js';
import { NODE_PORT_RANGE, objectKey, type Service, type ServicePort, type ServiceSpec } from '../../proto/model.js';
import { describeValue } from '../schema/schema-errors.js';
import { HEADLESS } from '../schema/schema-service.js';
import type { Store } from '../store/store.js';

export interface ServiceRanges {
  /** The server's --service-cidr. */
  serviceCidr: string;
  nodePorts?: { min: number; max: number };
}

type StoreView = Pick<Store, 'get' | 'list'>;

/**
 * Node ports handed out without being asked for come from above the lowest part of
 * the range first, which is left to ports people pick by hand (Kubernetes' KEP-3668
 * static band: min(max(16, size/32), 128) ports), so a hand-picked 30080 rarely
 * finds itself taken by an earlier automatic one.
 */
export function staticBand(range: { min: number; max: number }): number {
  const size = range.max - range.min + 1;
  return Math.min(Math.max(16, Math.floor(size / 32)), 128);
}

export function needsNodePorts(type: ServiceSpec['type']): boolean {
  return type === 'NodePort' || type === 'LoadBalancer';
}

function requested(ip: string | undefined): string | undefined {
  return ip === undefined || ip === '' ? undefined : ip;
}

function portKey(p: Pick<ServicePort, 'protocol' | 'port'>): string {
  return `${p.protocol ?? 'TCP'}/${p.port}`;
}

function serviceName(key: string): string {
  // Store keys are Kind/namespace/name.
  const [, namespace, name] = key.split('/');
  return `service "${namespace}/${name}"`;
}

/**
 * One apply's allocations. Made once per plan: every Service of the plan goes
 * through allocate(), in document order, so two Services of one apply never get
 * the same value either.
 */
export class ServiceAllocator {
  private readonly cidr: Cidr;
  private readonly ports: { min: number; max: number };
  private readonly dnsIp: number;
  /** Address or port → the store key of the Service holding it. */
  private readonly ipHolders = new Map<number, string>();
  private readonly portHolders = new Map<number, string>();
  private tookAny = false;

  constructor(state: StoreView, private readonly ranges: ServiceRanges) {
    try {
      this.cidr = parseCidr(ranges.serviceCidr);
    } catch (e) {
      throw new BrambleError('INTERNAL', `the server's service CIDR ${e instanceof Error ? e.message : String(e)}`);
    }
    this.ports = ranges.nodePorts ?? NODE_PORT_RANGE;
    this.dnsIp = this.cidr.base + 1;
    for (const svc of state.list('Service').items as Service[]) this.hold(objectKey('Service', svc.metadata.namespace, svc.metadata.name), svc, true);
  }

  /** Whether anything new was taken: the command must then carry the services lock (lockOp). */
  get took(): boolean {
    return this.tookAny;
  }

  private hold(key: string, svc: Service, on: boolean): void {
    const ip = parseIPv4(svc.spec?.clusterIP ?? '');
    if (ip !== undefined) this.setHolder(this.ipHolders, ip, key, on);
    if (!needsNodePorts(svc.spec?.type)) return;
    for (const p of svc.spec.ports ?? []) if (typeof p.nodePort === 'number') this.setHolder(this.portHolders, p.nodePort, key, on);
  }

  private setHolder(map: Map<number, string>, value: number, key: string, on: boolean): void {
    if (on) map.set(value, key);
    else if (map.get(value) === key) map.delete(value);
  }

  private usableRange(): string {
    return `${formatIPv4(this.cidr.base + 1)} to ${formatIPv4(this.cidr.base + this.cidr.size - 2)}`;
  }

  /**
   * The Service as it will be stored: clusterIP, clusterIPs and node ports filled in.
   * Problems name the field (spec.clusterIP, spec.ports[i].nodePort) and document.
   * Throws LIMIT_EXCEEDED when a range has nothing free left.
   */
  allocate(document: number, desired: Service, stored: Service | undefined): { service: Service; problems: FieldProblem[] } {
    const key = objectKey('Service', desired.metadata.namespace, desired.metadata.name);
    const problems: FieldProblem[] = [];
    const problem = (path: string, message: string): void => {
      problems.push({ path, message, document });
    };
    const spec: ServiceSpec = { ...desired.spec, ports: desired.spec.ports.map((p) => ({ ...p })) };
    const storedSpec = stored?.spec;
    const isDns = desired.metadata.namespace === CLUSTER_DNS_SERVICE.namespace && desired.metadata.name === CLUSTER_DNS_SERVICE.name;

    // What this Service holds now is its own to keep or give back in this write.
    if (stored) this.hold(key, stored, false);

    // ---- cluster IP
    const asked = requested(spec.clusterIP) ?? requested(spec.clusterIPs?.[0]);
    const storedIp = requested(storedSpec?.clusterIP);
    let ip: string | undefined;
    if (storedIp !== undefined) {
      if (asked !== undefined && asked !== storedIp) {
        problem('spec.clusterIP', `field is immutable: the stored service has ${JSON.stringify(storedIp)}: current value is ${describeValue(asked)}; delete the service and apply it again to change it`);
      }
      ip = storedIp;
    } else if (asked === HEADLESS) {
      ip = HEADLESS;
    } else if (asked !== undefined) {
      const n = parseIPv4(asked);
      if (n === undefined || !cidrContains(this.cidr, n) || n === this.cidr.base || n === this.cidr.base + this.cidr.size - 1) {
        problem('spec.clusterIP', `must be inside the service CIDR ${this.ranges.serviceCidr} (${this.usableRange()}): current value is ${describeValue(asked)}`);
      } else if (n === this.dnsIp && !isDns) {
        problem('spec.clusterIP', `is reserved for the cluster DNS Service ${CLUSTER_DNS_SERVICE.namespace}/${CLUSTER_DNS_SERVICE.name}: current value is ${describeValue(asked)}`);
      } else if (this.ipHolders.has(n) && this.ipHolders.get(n) !== key) {
        problem('spec.clusterIP', `is already allocated to ${serviceName(this.ipHolders.get(n)!)}: current value is ${describeValue(asked)}`);
      } else {
        ip = asked;
        this.tookAny = true;
      }
    } else {
      ip = formatIPv4(this.freeIp());
      this.tookAny = true;
    }
    if (ip !== undefined) {
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
      const n = parseIPv4(ip);
      if (n !== undefined) this.ipHolders.set(n, key);
    }

    // ---- node ports
    if (needsNodePorts(spec.type)) {
      const storedPorts = needsNodePorts(storedSpec?.type) ? storedSpec!.ports ?? [] : [];
      const mine = new Set<number>();
      const wanted: (number | undefined)[] = spec.ports.map((p) => {
        if (p.nodePort !== undefined) return p.nodePort;
        // Left out: keep the one the stored port (same protocol and number, else same name) has.
        const same = storedPorts.find((s) => portKey(s) === portKey(p)) ?? (p.name ? storedPorts.find((s) => s.name === p.name) : undefined);
        return same?.nodePort;
      });
      const storedHeld = new Set(storedPorts.map((p) => p.nodePort).filter((n): n is number => n !== undefined));
      wanted.forEach((n, i) => {
        if (n === undefined) return;
        const holder = this.portHolders.get(n);
        if (holder !== undefined && holder !== key) {
          problem(`spec.ports[${i}].nodePort`, `is already allocated to ${serviceName(holder)}: current value is ${n}`);
          return;
        }
        if (n < this.ports.min || n > this.ports.max) {
          problem(`spec.ports[${i}].nodePort`, `must be in the node port range ${this.ports.min}-${this.ports.max}: current value is ${n}`);
          return;
        }
        spec.ports[i]!.nodePort = n;
        this.portHolders.set(n, key);
        mine.add(n);
        if (!storedHeld.has(n)) this.tookAny = true;
      });
      wanted.forEach((n, i) => {
        if (n !== undefined) return;
        const port = this.freePort();
        spec.ports[i]!.nodePort = port;
        this.portHolders.set(port, key);
        this.tookAny = true;
      });
    } else {
      // Type changed away from NodePort/LoadBalancer: the ports are given back.
      for (const p of spec.ports) delete p.nodePort;
    }

    if (problems.length > 0 && stored) this.hold(key, stored, true);
    return { service: { ...desired, spec } as Service, problems };
  }

  private freeIp(): number {
    // Network address, the DNS Service's first address and broadcast are never handed out.
    for (let n = this.cidr.base + 2; n < this.cidr.base + this.cidr.size - 1; n++) {
      if (!this.ipHolders.has(n)) return n;
    }
    throw new BrambleError(
      'LIMIT_EXCEEDED',
      `the service CIDR ${this.ranges.serviceCidr} has no free cluster IP left (${this.ipHolders.size} are allocated): delete a Service, use clusterIP: None for a headless one, or start the server with a larger --service-cidr`,
    );
  }

  private freePort(): number {
    const start = Math.min(this.ports.min + staticBand(this.ports), this.ports.max + 1);
    for (let n = start; n <= this.ports.max; n++) if (!this.portHolders.has(n)) return n;
    for (let n = this.ports.min; n < start; n++) if (!this.portHolders.has(n)) return n;
    throw new BrambleError(
      'LIMIT_EXCEEDED',
      `the node port range ${this.ports.min}-${this.ports.max} has no free port left: delete a NodePort or LoadBalancer Service, or make one a ClusterIP Service`,
    );
  }
}

