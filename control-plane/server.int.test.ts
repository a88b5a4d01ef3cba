import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ERROR_CODE_METADATA_KEY, fromServiceError } from '../proto/util/errors.js';
import { loadProto, type ClusterClient, type WatchEvent__Output } from '../proto/load.js';
import { silentLogger } from '../proto/util/log.js';
import type { KObject } from '../proto/model.js';
import { clientCredentials, readClientConfig } from './pki/client-config.js';
import { startHttpServer } from './http/http-server.js';
import { createMetrics } from './http/metrics.js';
import { startServer, type RunningServer } from './server.js';

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;

function call<Req, Res>(client: ClusterClient, fn: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

function configMap(name: string, value: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'int' }, ...extra }, data: { k: value } });
}

function parse(text: string): KObject {
  return JSON.parse(text) as KObject;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('bramble server (in process, real TLS)', () => {
  let dir: string;
  let server: RunningServer;
  let client: ClusterClient;
  const Cluster = loadProto().bramble.v1.Cluster;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-server-int-'));
    server = await startServer({ dataDir: path.join(dir, 'data'), grpcAddr: '0.0.0.0:0', httpAddr: '127.0.0.1:0', logger: silentLogger() });
    const cfg = await readClientConfig(path.join(server.dataDir, 'admin.conf'));
    client = new Cluster(cfg.server, clientCredentials(cfg));
  });

  after(async () => {
    client?.close();
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('the first start makes a private data dir with admin.conf pointing at loopback and a token file', async () => {
    const st = await fs.stat(server.dataDir);
    assert.equal(st.mode & 0o777, 0o700);
    const cfg = await readClientConfig(path.join(server.dataDir, 'admin.conf'));
    assert.equal(cfg.server, `127.0.0.1:${server.grpcPort}`);
    assert.match(await fs.readFile(path.join(server.dataDir, 'token'), 'utf8'), /^B10[0-9a-f]{64}::/);
  });

  test('a new cluster has the default and kube-system namespaces', async () => {
    const listed = await call(client, client.list, { kind: 'namespaces' });
    assert.deepEqual(listed.objects.map((o) => parse(o).metadata.name).sort(), ['default', 'kube-system']);
  });

  test('apply, get, list and delete round-trip, and re-applying keeps the resourceVersion', async () => {
    const applied = await call(client, client.apply, { objects: [configMap('cfg-a', '1')] });
    assert.equal(applied.results[0]!.action, 'created');
    const rv = parse(applied.results[0]!.object).metadata.resourceVersion;

    const again = await call(client, client.apply, { objects: [configMap('cfg-a', '1')] });
    assert.equal(again.results[0]!.action, 'unchanged');
    assert.equal(parse(again.results[0]!.object).metadata.resourceVersion, rv);

    const got = await call(client, client.get, { kind: 'cm', name: 'cfg-a' });
    assert.deepEqual(parse(got.object).data, { k: '1' });

    const listed = await call(client, client.list, { kind: 'configmaps', labelSelector: 'app=int' });
    assert.ok(listed.objects.map((o) => parse(o).metadata.name).includes('cfg-a'));

    const deleted = await call(client, client.delete, { kind: 'configmap', name: 'cfg-a' });
    assert.equal(parse(deleted.object).metadata.name, 'cfg-a');
    await assert.rejects(call(client, client.get, { kind: 'cm', name: 'cfg-a' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });

  test('a multi-document apply with one invalid document writes nothing', async () => {
    const before = (await call(client, client.version, {})).revision;
    const bad = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg-bad' }, data: { k: 'v' }, nonsense: 1 });
    await assert.rejects(call(client, client.apply, { objects: [configMap('cfg-good', '1'), bad] }), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(fromServiceError(e).code, 'VALIDATION_FAILED');
      return true;
    });
    assert.equal((await call(client, client.version, {})).revision, before);
    await assert.rejects(call(client, client.get, { kind: 'cm', name: 'cfg-good' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });

  test('a stale resourceVersion is ABORTED with error code CONFLICT', async () => {
    const first = await call(client, client.apply, { objects: [configMap('cfg-rv', '1')] });
    const staleRv = parse(first.results[0]!.object).metadata.resourceVersion;
    await call(client, client.apply, { objects: [configMap('cfg-rv', '2')] });
    await assert.rejects(call(client, client.apply, { objects: [configMap('cfg-rv', '3', { resourceVersion: staleRv })] }), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.ABORTED);
      assert.deepEqual(e.metadata.get(ERROR_CODE_METADATA_KEY), ['CONFLICT']);
      return true;
    });
  });

  test('a watch streams changes after its revision until the client cancels', async () => {
    const from = (await call(client, client.version, {})).revision;
    const events: WatchEvent__Output[] = [];
    const stream = client.watch({ kind: 'configmaps', fromRevision: from, labelSelector: 'app=int' });
    stream.on('data', (e: WatchEvent__Output) => events.push(e));
    const ended = new Promise<void>((resolve) => {
      stream.on('error', () => resolve());
      stream.on('end', () => resolve());
    });
    try {
      await call(client, client.apply, { objects: [configMap('cfg-w', '1')] });
      await call(client, client.delete, { kind: 'cm', name: 'cfg-w' });
      await waitFor('two watch events', () => (events.length >= 2 ? true : undefined));
      assert.deepEqual(events.map((e) => [e.type, parse(e.object).metadata.name]), [['ADDED', 'cfg-w'], ['DELETED', 'cfg-w']]);
    } finally {
      stream.cancel();
      await ended;
    }
  });

  test('a client without a certificate is UNAUTHENTICATED', async () => {
    const cfg = await readClientConfig(path.join(server.dataDir, 'admin.conf'));
    const anon = new Cluster(cfg.server, grpc.credentials.createSsl(Buffer.from(cfg.ca), null, null, { checkServerIdentity: () => undefined }));
    try {
      await assert.rejects(call(anon, anon.version, {}), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    } finally {
      anon.close();
    }
  });

  test('healthz, readyz and metrics over HTTP show the store revision', async () => {
    const revision = (await call(client, client.version, {})).revision;
    const base = `http://127.0.0.1:${server.httpPort}`;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { revision: number }).revision, revision);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { store: true, grpc: true });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, new RegExp(`^bramble_store_revision ${revision}$`, 'm'));
    assert.match(metrics, /^bramble_grpc_requests_total\{method="Version",code="OK"\} \d+$/m);
    assert.match(metrics, /^bramble_store_disk_bytes \d+/m);
    assert.match(metrics, /^process_resident_memory_bytes /m);
  });

  test('a restart on the same data dir keeps objects, the system namespaces as they were and the admin config', async () => {
    await call(client, client.apply, { objects: [configMap('cfg-keep', '1')] });
    const namespaces = async (): Promise<string[]> =>
      (await call(client, client.list, { kind: 'namespaces' })).objects.map((o) => `${parse(o).metadata.name}@${parse(o).metadata.resourceVersion}`).sort();
    const namespacesBefore = await namespaces();
    const confBefore = await fs.readFile(path.join(server.dataDir, 'admin.conf'), 'utf8');
    const port = server.grpcPort;
    client.close();
    await server.close();
    server = await startServer({ dataDir: server.dataDir, grpcAddr: `127.0.0.1:${port}`, httpAddr: '127.0.0.1:0', logger: silentLogger() });
    const cfg = await readClientConfig(path.join(server.dataDir, 'admin.conf'));
    client = new Cluster(cfg.server, clientCredentials(cfg));
    assert.equal(await fs.readFile(path.join(server.dataDir, 'admin.conf'), 'utf8'), confBefore);
    const got = await call(client, client.get, { kind: 'cm', name: 'cfg-keep' });
    assert.deepEqual(parse(got.object).data, { k: '1' });
    assert.deepEqual(await namespaces(), namespacesBefore, 'a restart does not write the system namespaces again');
  });
});

describe('HTTP probes', () => {
  test('readyz is 503 naming the failing check while the store is not open', async () => {
    const metrics = createMetrics({ store: () => undefined, processMetrics: false });
    const http = await startHttpServer({ addr: '127.0.0.1:0', metrics, logger: silentLogger(), readiness: () => ({ checks: { store: false, grpc: true } }) });
    try {
      const res = await fetch(`http://127.0.0.1:${http.port}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(((await res.json()) as { checks: unknown }).checks, { store: false, grpc: true });
      assert.equal((await fetch(`http://127.0.0.1:${http.port}/healthz`)).status, 200);
    } finally {
      await http.close();
    }
  });
});
