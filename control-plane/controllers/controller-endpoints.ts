// The Endpoints controller (Kubernetes' pkg/controller/endpoint, small): for each
// Service with a selector, an Endpoints object of the same name listing the
// matching Pods' addresses and ports (endpoints-subsets.ts). Handlers only enqueue
// Service keys; reconcile(key) recomputes the subsets from the informer caches and
// writes only when they (or the copied labels) changed. A Service without a
// selector is left to whoever writes its Endpoints (a person, for a machine
// outside the cluster); deleting a Service deletes its Endpoints, whoever wrote
// them, as Kubernetes does. Endpoints left over from a Service deleted while no
// controller ran are deleted when the controller starts.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { stableJson } from '../../proto/util/json.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import { matchesSelector, selectorRequirements, type Endpoints, type Pod, type Service } from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import type { Store } from '../store/store.js';
import { errorMessage, NOOP_RECORDER, type EventRecorder } from './event-recorder.js';
import { endpointSubsets } from './endpoints-subsets.js';
import { INDEX_NAMESPACE, keyOf, splitKey, type Informer } from './informer.js';
import type { Controller, ControllerContext } from './manager.js';
import { ControllerTerm, logRetry } from './controller-term.js';
import { ownKindHandlers } from './object-changes.js';

export interface EndpointsControllerOptions {
  store: Store;
  clock: Clock;
  logger?: Logger;
  workers?: number;
  newUid?: () => string;
  /** Warning FailedToUpdateEndpoint on the Service when a write fails. */
  recorder?: EventRecorder;
}

/** A Service whose Endpoints this controller writes: one with a non-empty selector. */
export function hasSelector(svc: Service): boolean {
  return svc.spec?.selector !== undefined && Object.keys(svc.spec.selector).length > 0;
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly newUid: () => string;
  private readonly recorder: EventRecorder;
  private queue: WorkQueue;
  private services: Informer<Service> | undefined;
  private pods: Informer<Pod> | undefined;
  private endpoints: Informer<Endpoints> | undefined;
  private term: ControllerTerm | undefined;

  constructor(opts: EndpointsControllerOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 2;
    this.newUid = opts.newUid ?? randomUUID;
    this.recorder = opts.recorder ?? NOOP_RECORDER;
    this.queue = new WorkQueue(this.clock);
  }

  start(ctx?: ControllerContext, opts: { runWorkers?: boolean } = {}): void {
    if (this.term) return;
    this.queue = new WorkQueue(this.clock);
    const term = (this.term = new ControllerTerm({ store: this.store, clock: this.clock, logger: this.logger }, ctx, this.queue));
    const services = (this.services = term.informers.informer<Service>('Service'));
    const pods = (this.pods = term.informers.informer<Pod>('Pod'));
    const endpoints = (this.endpoints = term.informers.informer<Endpoints>('Endpoints'));
    // The service-lb controller's status writes change nothing here.
    term.handle(services.addEventHandler(ownKindHandlers<Service>((key) => this.queue.add(key))));
    term.handle(pods.addEventHandler({
      onAdd: (p) => this.enqueueServicesOf(p),
      onUpdate: (old, p) => {
        this.enqueueServicesOf(old);
        if (old !== p) this.enqueueServicesOf(p);
      },
      onDelete: (p) => this.enqueueServicesOf(p),
    }));
    term.handle(endpoints.addEventHandler({
      // A hand edit or delete of a selector Service's Endpoints is repaired.
      onUpdate: (_old, e) => this.enqueueIfManaged(keyOf(e)),
      onDelete: (e) => this.enqueueIfManaged(keyOf(e)),
    }));
    const queue = this.queue;
    term.run(async () => {
      // checkLeftoverEndpoints: Endpoints of Services deleted while no controller ran go.
      for (const e of endpoints.list()) if (!services.get(keyOf(e))) queue.add(keyOf(e));
      if (opts.runWorkers === false) return;
      await runWorkers(queue, (key) => this.reconcile(key), this.workers, logRetry(this.logger, 'service', 'syncing endpoints failed'));
    });
  }

  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    await term?.stop();
  }

  whenSynced(): Promise<boolean> {
    return Promise.all([this.services!.whenSynced(), this.pods!.whenSynced(), this.endpoints!.whenSynced()]).then((s) => s.every(Boolean));
  }

  private enqueueIfManaged(key: string): void {
    const svc = this.services?.get(key);
    if (svc && hasSelector(svc)) this.queue.add(key);
  }

  private enqueueServicesOf(pod: Pod): void {
    const namespace = pod.metadata.namespace;
    if (!namespace || !this.services) return;
    for (const svc of this.services.byIndex(INDEX_NAMESPACE, namespace)) {
      if (hasSelector(svc) && matchesSelector(pod.metadata.labels, selectorRequirements(svc.spec.selector))) this.queue.add(keyOf(svc));
    }
  }

  async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services?.get(key);
    // The store, not the cache: a write of ours the cache has not seen yet must not be repeated at a stale version.
    const current = this.store.get('Endpoints', namespace, name) as Endpoints | undefined;
    if (!svc) {
      if (!current) return;
      try {
        await this.store.propose({ ops: [{ type: 'delete', kind: 'Endpoints', namespace, name, precondition: { resourceVersion: current.metadata.resourceVersion ?? '' } }] });
        this.logger.debug({ endpoints: key }, 'deleted the endpoints of a deleted service');
      } catch (err) {
        if (!isBrambleError(err, 'NOT_FOUND')) throw err;
      }
      return;
    }
    if (!hasSelector(svc)) return;
    const reqs = selectorRequirements(svc.spec.selector);
    const pods = this.pods!.byIndex(INDEX_NAMESPACE, namespace!).filter((p) => matchesSelector(p.metadata.labels, reqs));
    const subsets = endpointSubsets(svc, pods);
    const labels = svc.metadata.labels;
    if (current && stableJson(current.subsets ?? []) === stableJson(subsets) && stableJson(current.metadata.labels ?? {}) === stableJson(labels ?? {})) return;
    const metadata: Endpoints['metadata'] = current
      ? { ...current.metadata, ...(labels ? { labels } : {}) }
      : { name: name, namespace, uid: this.newUid(), creationTimestamp: new Date(this.clock.now()).toISOString(), ...(labels ? { labels } : {}) };
    if (!labels) delete metadata.labels;
    const object: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata, ...(subsets.length > 0 ? { subsets } : {}) };
    try {
      await this.store.propose({
        ops: [{ type: 'put', object, precondition: current ? { resourceVersion: current.metadata.resourceVersion ?? '' } : { absent: true } }],
      });
    } catch (err) {
      if (!isBrambleError(err, 'CONFLICT') && !isBrambleError(err, 'ALREADY_EXISTS')) {
        this.recorder.event(svc, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${key}: ${errorMessage(err)}`);
      }
      throw err;
    }
  }
}
