// A label-filtered watch through a real `bramble server` process: an object
// whose labels stop matching leaves the watcher's view (DELETED) and comes back
// (ADDED) when they match again, live and after a restart of the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { loadProto, type ClusterClient, type WatchEvent__Output } from '../../proto/load.js';
import type { KObject } from '../../proto/model.js';
import { clientCredentials, readClientConfig } from '../pki/client-config.js';
import { startServerProcess } from '../../test/support/server-process.js';

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;

function call<Req, Res>(client: ClusterClient, fn: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

function configMap(app: string, value: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', labels: { app } }, data: { k: value } });
}

async function connect(configPath: string): Promise<ClusterClient> {
  const cfg = await readClientConfig(configPath);
  return new (loadProto().bramble.v1.Cluster)(cfg.server, clientCredentials(cfg));
}

/** Collects a watch's events as [type, app label, data.k] until stopped. */
function watchView(client: ClusterClient, fromRevision: number): { seen: string[][]; stop(): Promise<void> } {
  const seen: string[][] = [];
  const stream = client.watch({ kind: 'configmaps', namespace: 'default', fromRevision, labelSelector: 'app=web' });
  stream.on('data', (e: WatchEvent__Output) => {
    const o = JSON.parse(e.object) as KObject & { data: { k: string } };
    seen.push([e.type, o.metadata.labels?.app ?? '', o.data.k]);
  });
  const ended = new Promise<void>((resolve) => {
    stream.on('error', () => resolve());
    stream.on('end', () => resolve());
  });
  return { seen, stop: async () => { stream.cancel(); await ended; } };
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a label-filtered watch on a real server sees objects leave and enter its selection, live and resumed after a restart', async (t) => {
  const server = await startServerProcess();
  t.after(() => server.close());
  let client = await connect(server.configPath);
  t.after(() => client.close());

  const first = await call(client, client.apply, { objects: [configMap('web', '1')] });
  const live = watchView(client, first.revision);
  const want = [['DELETED', 'db', '2'], ['ADDED', 'web', '3'], ['MODIFIED', 'web', '4']];
  try {
    await call(client, client.apply, { objects: [configMap('db', '2')] });
    await call(client, client.apply, { objects: [configMap('web', '3')] });
    await call(client, client.apply, { objects: [configMap('web', '4')] });
    await until('three events', () => live.seen.length >= 3);
    assert.deepEqual(live.seen, want);
  } finally {
    await live.stop();
  }

  // The previous labels are part of the stored events: a watch resumed after a restart maps them the same way.
  client.close();
  await server.restart();
  client = await connect(server.configPath);
  const resumed = watchView(client, first.revision);
  try {
    await until('the replayed events', () => resumed.seen.length >= 3);
    assert.deepEqual(resumed.seen, want);
  } finally {
    await resumed.stop();
  }
});
