// Prometheus metrics of the control plane, in a registry of our own so tests
// (and several servers in one process) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store.js';

export interface Metrics {
  registry: Registry;
  /** Records one finished gRPC call. `code` is the gRPC status name ("OK", "ABORTED"). */
  observeGrpc(method: string, code: string, seconds: number): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
  contentType: string;
}

export interface MetricsOptions {
  /** The store to sample on scrape; undefined while it is not open. */
  store: () => Store | undefined;
  /** Process metrics (CPU, RSS, event loop); off in unit tests to keep them cheap. */
  processMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'bramble_grpc_requests_total',
    help: 'gRPC calls served, by method and status code.',
    labelNames: ['method', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'bramble_grpc_request_duration_seconds',
    help: 'Time to serve a gRPC call, by method (streams: until they end).',
    labelNames: ['method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Sampled on scrape rather than updated on every write: nothing to keep in sync.
  new Gauge({
    name: 'bramble_store_revision',
    help: 'Revision of the last committed store command.',
    registers: [registry],
    collect() {
      const s = opts.store();
      if (s) this.set(s.revision());
    },
  });
  new Gauge({
    name: 'bramble_store_objects',
    help: 'Objects in the store.',
    registers: [registry],
    collect() {
      const s = opts.store();
      if (s) this.set(s.objectCount());
    },
  });
  new Gauge({
    name: 'bramble_store_disk_bytes',
    help: 'Bytes the store uses on disk.',
    registers: [registry],
    async collect() {
      const s = opts.store();
      if (s) this.set(await s.diskBytes());
    },
  });
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  return {
    registry,
    observeGrpc(method, code, seconds) {
      requests.inc({ method, code });
      duration.observe({ method }, seconds);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
