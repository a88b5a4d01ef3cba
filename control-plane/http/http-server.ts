// The plain-HTTP side of the control plane: probes for supervisors and load
// balancers, and Prometheus metrics. Nothing here reads or changes objects.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Router } from '@koa/router';
import { splitHostPort } from '../../proto/names.js';
import type { Logger } from '../../proto/util/log.js';
import type { Metrics } from './metrics.js';

export interface Readiness {
  /** Each named check; ready only when all pass. */
  checks: Record<string, boolean>;
  /** The store revision, when the store is open. */
  revision?: number;
}

export interface HttpServerOptions {
  addr: string;
  metrics: Metrics;
  readiness: () => Readiness;
  logger: Logger;
}

export interface RunningHttp {
  port: number;
  close(): Promise<void>;
}


export function createHttpApp(opts: Omit<HttpServerOptions, 'addr'>): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok', revision: opts.readiness().revision };
  });
  router.get('/readyz', (ctx) => {
    const r = opts.readiness();
    const ready = Object.values(r.checks).every(Boolean);
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready, checks: r.checks, revision: r.revision };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = opts.metrics.contentType;
    ctx.body = await opts.metrics.render();
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.on('error', (err: unknown) => opts.logger.warn({ err }, 'http request failed'));
  return app;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttp> {
  const { host, port } = splitHostPort(opts.addr, 'the HTTP address');
  // Probes and scrapes are tiny: a client that dribbles its headers or opens
  // hundreds of sockets is cut off rather than allowed to hold the board's memory.
  const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 10_000 }, createHttpApp(opts).callback());
  server.maxConnections = 256;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Scrapers keep connections alive; do not wait for them to go.
        server.closeAllConnections();
      }),
  };
}
