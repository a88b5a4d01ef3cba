import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { FakeClock } from '../proto/util/clock.js';
import type { Container } from '../proto/model.js';
import { runProbe } from './pod-probes.js';
import { FakeRuntime } from './runtime-fake.js';
import { HEALTH_CHECK_METHOD, decodeHealthCheckResponse, grpcHealthCheck } from './probe-grpc.js';

/** A grpc-js server that speaks grpc.health.v1.Health/Check with statuses by service name. */
async function healthServer(statuses: Record<string, number>): Promise<{ port: number; asked: string[]; close(): Promise<void> }> {
  const server = new grpc.Server();
  const asked: string[] = [];
  // An object, not the bare name: grpc-js takes a falsy request ("") for a missing one.
  const decodeRequest = (buf: Buffer): { service: string } => ({ service: buf.length === 0 ? '' : buf.subarray(2, 2 + buf[1]!).toString('utf8') });
  server.addService(
    {
      Check: {
        path: HEALTH_CHECK_METHOD,
        requestStream: false,
        responseStream: false,
        requestDeserialize: decodeRequest,
        requestSerialize: (r: { service: string }) => Buffer.from(r.service),
        responseSerialize: (n: number) => (n === 0 ? Buffer.alloc(0) : Buffer.from([0x08, n])),
        responseDeserialize: decodeHealthCheckResponse,
      },
    },
    {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, number>, callback: grpc.sendUnaryData<number>) => {
        const service = call.request.service;
        asked.push(service);
        const status = statuses[service];
        if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
        else callback(null, status);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, asked, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

const container: Container = { name: 'app', image: 'x' };

describe('gRPC probes against a grpc-js health server on loopback', () => {
  test('SERVING is a success and names the service asked for', async (t) => {
    const srv = await healthServer({ '': 1, 'shop.Cart': 1 });
    t.after(() => srv.close());
    const clock = new FakeClock();
    const ctx = { runtime: new FakeRuntime(clock), transport: { httpGet: async () => ({ statusCode: 0 }), tcpConnect: async () => {} }, clock, container, containerId: 'c', podIP: '127.0.0.1' };
    const r = await runProbe({ grpc: { port: srv.port, service: 'shop.Cart' }, timeoutSeconds: 5 }, ctx);
    assert.deepEqual(r, { ok: true, message: 'gRPC health check answered SERVING' });
    assert.equal((await runProbe({ grpc: { port: srv.port }, timeoutSeconds: 5 }, ctx)).ok, true);
    assert.deepEqual(srv.asked, ['shop.Cart', '']);
  });

  test('NOT_SERVING and an unknown service are failures', async (t) => {
    const srv = await healthServer({ '': 2 });
    t.after(() => srv.close());
    assert.deepEqual(await grpcHealthCheck({ host: '127.0.0.1', port: srv.port, service: '', timeoutMs: 5000 }), { status: 'NOT_SERVING' });
    await assert.rejects(grpcHealthCheck({ host: '127.0.0.1', port: srv.port, service: 'nope', timeoutMs: 5000 }), /gRPC health check failed: unknown service nope/);
  });

  test('a port nobody listens on fails the probe without throwing', async () => {
    const srv = await healthServer({});
    const port = srv.port;
    await srv.close();
    const clock = new FakeClock();
    const ctx = { runtime: new FakeRuntime(clock), transport: { httpGet: async () => ({ statusCode: 0 }), tcpConnect: async () => {} }, clock, container, containerId: 'c', podIP: '127.0.0.1' };
    const r = await runProbe({ grpc: { port }, timeoutSeconds: 2 }, ctx);
    assert.equal(r.ok, false);
    assert.match(r.message, /gRPC health check failed/);
  });
});
