// LoadBalancer Services without a cloud (k3s ServiceLB in spirit): the boards
// answer on the Service's own port on their addresses (the agents' rules do that),
// and this controller says which boards do in status.loadBalancer.ingress: the
// InternalIP of every Ready node labelled LB_NODE_LABEL="true" when any node has
// that label, otherwise of every Ready node. It follows nodes coming, going and
// turning (not) Ready; a Service that stops being a LoadBalancer loses its ingress.
//
// A board where a process already holds one of the Service's ports leaves that
// port to it (the agent writes no DNAT rule) and says so in its heartbeat; this
// controller then leaves the board out of the Service's ingress, sets the
// LoadBalancerPortsAvailable condition False (reason PortInUse) and records a
// Warning Event, so a taken port is seen, not a silent failure. Heartbeats are
// in memory only: the controller follows their conflicts through a listener.
import type { Clock } from '../../proto/util/clock.js';
import { findCondition, isConditionTrue, setCondition } from '../../proto/util/conditions.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { LB_NODE_LABEL, loadBalancerNodes, type NodeObject, type Service, type ServiceStatus } from '../../proto/model.js';
import { stableJson } from '../../proto/util/json.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import { splitKey, keyOf, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { NOOP_RECORDER, type EventRecorder } from './event-recorder.js';

export const LB_PORTS_CONDITION = 'LoadBalancerPortsAvailable';

/** One Service port a board leaves to a process that holds it, as the board's heartbeat reports it. */
export interface ServicePortConflict {
  namespace: string;
  service: string;
  protocol: string;
  port: number;
}

/** The boards' current port conflicts (NodeHeartbeats is one). */
export interface PortConflictSource {
  portConflicts(): ReadonlyMap<string, readonly ServicePortConflict[]>;
  onPortConflictsChange(listener: (nodeName: string) => void): () => void;
}

export interface ServiceLbControllerOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  /** None: no board reports a conflict (every chosen board is in the ingress). */
  portConflicts?: PortConflictSource;
  recorder?: EventRecorder;
}

function internalIp(node: NodeObject): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/**
 * The boards answering on LoadBalancer ports, as ingress entries sorted by address;
 * boards named in `excluded` (a port of the Service is taken there) are left out
 * after the choice, so they do not change which boards are chosen.
 */
export function loadBalancerIngress(nodes: readonly NodeObject[], excluded: ReadonlySet<string> = new Set()): { ip: string }[] {
  const chosen = loadBalancerNodes(nodes).filter((n) => !excluded.has(n.metadata.name));
  const ips = new Set<string>();
  for (const n of chosen) {
    const ip = internalIp(n);
    if (ip && isConditionTrue(n.status?.conditions, 'Ready')) ips.add(ip);
  }
  return [...ips].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).map((ip) => ({ ip }));
}

function withIngress(status: ServiceStatus | undefined, ingress: { ip: string }[]): ServiceStatus | undefined {
  const { loadBalancer: _lb, ...rest } = status ?? {};
  const next: ServiceStatus = ingress.length > 0 ? { ...rest, loadBalancer: { ingress } } : { ...rest };
  return Object.keys(next).length > 0 ? next : undefined;
}

/** The Service's ports taken on some board: "TCP/80" → the boards, both sorted. */
export function conflictsOf(svc: Service, byNode: ReadonlyMap<string, readonly ServicePortConflict[]>, known: (node: string) => boolean): Map<string, string[]> {
  const ns = svc.metadata.namespace ?? 'default';
  const out = new Map<string, string[]>();
  for (const [nodeName, conflicts] of byNode) {
    if (!known(nodeName)) continue;
    for (const c of conflicts) {
      if (c.namespace !== ns || c.service !== svc.metadata.name) continue;
      const key = `${c.protocol}/${c.port}`;
      const nodes = out.get(key) ?? [];
      if (!nodes.includes(nodeName)) nodes.push(nodeName);
      out.set(key, nodes);
    }
  }
  for (const nodes of out.values()) nodes.sort();
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}

/** "port TCP/80 is in use on node a, b; …": what the condition and the event say. */
export function portInUseMessage(conflicts: ReadonlyMap<string, string[]>): string {
  const parts = [...conflicts].map(([port, nodes]) => `port ${port} is in use on node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')}`);
  return `${parts.join('; ')}: another process holds it there, so ${conflicts.size > 1 ? 'those nodes do' : 'that node does'} not answer for this Service and ${conflicts.size > 1 ? 'are' : 'is'} left out of its ingress`;
}

function withPortsCondition(status: ServiceStatus | undefined, conflicts: ReadonlyMap<string, string[]>, nowIso: string): ServiceStatus {
  const condition = conflicts.size > 0
    ? { type: LB_PORTS_CONDITION, status: 'False' as const, reason: 'PortInUse', message: portInUseMessage(conflicts) }
    : { type: LB_PORTS_CONDITION, status: 'True' as const, reason: 'Available', message: 'every load-balancer node answers on the Service\'s ports' };
  return { ...status, conditions: setCondition(status?.conditions, condition, nowIso) };
}

function withoutPortsCondition(status: ServiceStatus | undefined): ServiceStatus | undefined {
  if (!findCondition(status?.conditions, LB_PORTS_CONDITION)) return status;
  const { conditions, ...rest } = status!;
  const left = conditions!.filter((c) => c.type !== LB_PORTS_CONDITION);
  const next: ServiceStatus = left.length > 0 ? { ...rest, conditions: left } : rest;
  return Object.keys(next).length > 0 ? next : undefined;
}

export class ServiceLbController implements Controller {
  readonly name = 'service-lb';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private queue: WorkQueue;
  private services: Informer<Service> | undefined;
  private nodes: Informer<NodeObject> | undefined;
  private term: ControllerTerm | undefined;
  private readonly portConflicts: PortConflictSource | undefined;
  private readonly recorder: EventRecorder;

  constructor(opts: ServiceLbControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.portConflicts = opts.portConflicts;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.queue = new WorkQueue(this.clock);
  }

  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const services = (this.services = term.informers.informer<Service>('Service'));
    const nodes = (this.nodes = term.informers.informer<NodeObject>('Node'));
    const enqueue = (s: Service): void => {
      // Only a LoadBalancer Service, or one that still shows an ingress from being one, has anything to change.
      if (s.spec?.type === 'LoadBalancer' || s.status?.loadBalancer?.ingress?.length) this.queue.add(keyOf(s));
    };
    term.handle(services.addEventHandler({ onAdd: enqueue, onUpdate: (_o, s) => enqueue(s), onDelete: () => undefined }));
    const allServices = (): void => {
      for (const s of services.list()) enqueue(s);
    };
    term.handle(nodes.addEventHandler({
      onAdd: allServices,
      onUpdate: (old, n) => {
        if (old === n || stableJson(loadBalancerIngress([old])) !== stableJson(loadBalancerIngress([n])) || old.metadata.labels?.[LB_NODE_LABEL] !== n.metadata.labels?.[LB_NODE_LABEL]) allServices();
      },
      onDelete: allServices,
    }));
    // A board's conflicts changed (heartbeats only call on a change): every LoadBalancer Service may be concerned.
    if (this.portConflicts) term.handle(this.portConflicts.onPortConflictsChange(allServices));
    const queue = this.queue;
    term.run(async () => {
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), 1, logRetry(this.logger, 'service', 'updating the load balancer status failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  whenSynced(): Promise<boolean> {
    return Promise.all([this.services!.whenSynced(), this.nodes!.whenSynced()]).then((s) => s.every(Boolean));
  }

  async reconcile(key: string): Promise<void> {
    if (!this.services?.get(key)) return;
    const nodes = this.nodes!.list();
    const nodeNames = new Set(nodes.map((n) => n.metadata.name));
    const byNode = this.portConflicts?.portConflicts() ?? new Map<string, readonly ServicePortConflict[]>();
    const { namespace, name } = splitKey(key);
    let warn: { svc: Service; message: string } | undefined;
    await retryOnConflict<Service>(this.store, { kind: 'Service', namespace, name }, (svc) => {
      warn = undefined;
      let status: ServiceStatus | undefined;
      if (svc.spec?.type === 'LoadBalancer') {
        const conflicts = conflictsOf(svc, byNode, (n) => nodeNames.has(n));
        const excluded = new Set([...conflicts.values()].flat());
        status = withPortsCondition(withIngress(svc.status, loadBalancerIngress(nodes, excluded)), conflicts, new Date(this.clock.now()).toISOString());
        const before = findCondition(svc.status?.conditions, LB_PORTS_CONDITION);
        const after = findCondition(status.conditions, LB_PORTS_CONDITION)!;
        // An event per new conflict, not per heartbeat: only a changed False condition records one.
        if (after.status === 'False' && (before?.status !== 'False' || before.message !== after.message)) warn = { svc, message: after.message! };
      } else {
        status = withoutPortsCondition(withIngress(svc.status, []));
      }
      if (stableJson(status ?? {}) === stableJson(svc.status ?? {})) return undefined;
      const { status: _s, ...rest } = svc;
      return (status ? { ...rest, status } : rest) as Service;
    }).then(() => {
      if (warn) this.recorder.event(warn.svc, 'Warning', 'PortInUse', warn.message);
    }).catch((err: unknown) => {
      // Deleted meanwhile: nothing to show an ingress on.
      if (!isBrambleError(err, 'NOT_FOUND')) throw err;
    });
  }
}
