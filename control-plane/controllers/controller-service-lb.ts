// LoadBalancer Services without a cloud (k3s ServiceLB in spirit): the boards
// answer on the Service's own port on their addresses (the agents' rules do that),
// and this controller says which boards do in status.loadBalancer.ingress: the
// InternalIP of every Ready node labelled LB_NODE_LABEL="true" when any node has
// that label, otherwise of every Ready node. It follows nodes coming, going and
// turning (not) Ready; a Service that stops being a LoadBalancer loses its ingress.
import type { Clock } from '../../proto/util/clock.js';
import { isConditionTrue } from '../../proto/util/conditions.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { LB_NODE_LABEL, type NodeObject, type Service, type ServiceStatus } from '../../proto/model.js';
import { stableJson } from '../../proto/util/json.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import { splitKey, keyOf, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import { ControllerTerm, logRetry } from './controller-term.js';

export interface ServiceLbControllerOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
}

function internalIp(node: NodeObject): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** The boards answering on LoadBalancer ports, as ingress entries sorted by address. */
export function loadBalancerIngress(nodes: readonly NodeObject[]): { ip: string }[] {
  const labelled = nodes.filter((n) => n.metadata.labels?.[LB_NODE_LABEL] === 'true');
  const chosen = labelled.length > 0 ? labelled : nodes;
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

export class ServiceLbController implements Controller {
  readonly name = 'service-lb';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private queue: WorkQueue;
  private services: Informer<Service> | undefined;
  private nodes: Informer<NodeObject> | undefined;
  private term: ControllerTerm | undefined;

  constructor(opts: ServiceLbControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
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
    const ingress = loadBalancerIngress(this.nodes!.list());
    const { namespace, name } = splitKey(key);
    await retryOnConflict<Service>(this.store, { kind: 'Service', namespace, name }, (svc) => {
      const want = svc.spec?.type === 'LoadBalancer' ? ingress : [];
      const status = withIngress(svc.status, want);
      if (stableJson(status ?? {}) === stableJson(svc.status ?? {})) return undefined;
      const { status: _s, ...rest } = svc;
      return (status ? { ...rest, status } : rest) as Service;
    }).catch((err: unknown) => {
      // Deleted meanwhile: nothing to show an ingress on.
      if (!isBrambleError(err, 'NOT_FOUND')) throw err;
    });
  }
}
