// The documented limits (docs/limits.md) against a real `bramble server`
// process: each refusal is coded and names the limit, and the server serves on.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createNodeKeyAndCsr, joinChannelCredentials } from '../../agent/join-tls.js';
import { fromServiceError, type BrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import { loadProto, type ClusterClient, type NodeClient } from '../../proto/load.js';
import { startServerProcess, type ServerProcess } from '../../test/support/server-process.js';
import { channelOptions } from '../cli/cli-client.js';
import { clientCredentials, readClientConfig } from '../pki/client-config.js';

const proto = loadProto().bramble.v1;

function unary<Req, Res>(fn: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => unknown, client: object, req: Req): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + 15_000 }, (e, r) => (e ? reject(e) : resolve(r as Res))),
  );
}

async function refusal(p: Promise<unknown>): Promise<BrambleError> {
  try {
    await p;
  } catch (e) {
    return fromServiceError(e);
  }
  throw new Error('the call was accepted');
}

describe('limits of a real server', () => {
  let server: ServerProcess;
  let cluster: ClusterClient;
  let join: NodeClient;
  let token: string;

  before(async () => {
    server = await startServerProcess();
    const cfg = await readClientConfig(server.configPath);
    cluster = new proto.Cluster(cfg.server, clientCredentials(cfg), channelOptions(cfg.server));
    join = new proto.Node(cfg.server, joinChannelCredentials(cfg.ca), channelOptions(cfg.server));
    token = (await fs.readFile(path.join(server.dataDir, 'token'), 'utf8')).trim();
  });
  after(async () => {
    cluster?.close();
    join?.close();
    await server?.close();
  });

  async function alive(): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/healthz`);
    assert.equal(res.status, 200, server.output());
  }

  async function objectCount(): Promise<number> {
    return (await unary<object, { objectCount: number }>(cluster.Version, cluster, {})).objectCount;
  }

  test('an apply of more objects than allowed is refused as a whole with LIMIT_EXCEEDED', async () => {
    const before = await objectCount();
    const objects = Array.from({ length: LIMITS.maxObjectsPerApply + 1 }, (_, i) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` } }));
    const err = await refusal(unary(cluster.Apply, cluster, { objects, dryRun: false }));
    assert.equal(err.code, 'LIMIT_EXCEEDED');
    assert.match(err.message, /no more than 500 objects: current count is 501/);
    assert.equal(await objectCount(), before);
    await alive();
  });

  test('an object over 1 MiB and a request over 4 MiB are refused with LIMIT_EXCEEDED', async () => {
    const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(400_000), b: 'y'.repeat(400_000), c: 'z'.repeat(400_000) } });
    const err = await refusal(unary(cluster.Apply, cluster, { objects: [big], dryRun: false }));
    assert.equal(err.code, 'LIMIT_EXCEEDED');
    assert.match(err.message, /document 0 must be no more than 1 MiB of JSON/);
    const huge = await refusal(unary(cluster.Apply, cluster, { objects: Array(5).fill(big), dryRun: false }));
    assert.equal(huge.code, 'LIMIT_EXCEEDED');
    await alive();
  });

  test('a client may hold only so many open watches; closing one makes room', async () => {
    const open: grpc.ClientReadableStream<unknown>[] = [];
    try {
      for (let i = 0; i < LIMITS.maxStreamsPerClient; i++) {
        const w = cluster.Watch({ kind: 'configmap', fromRevision: 0 });
        // Cancelling a stream surfaces as an error event on the client.
        w.on('error', () => undefined);
        open.push(w);
      }
      // The server counts a stream once its handler runs: the 33rd is refused once all are in.
      const deadline = Date.now() + 10_000;
      let err: BrambleError | undefined;
      while (!err && Date.now() < deadline) {
        const extra = cluster.Watch({ kind: 'configmap', fromRevision: 0 });
        err = await new Promise<BrambleError | undefined>((resolve) => {
          extra.on('error', (e: grpc.ServiceError) => resolve(e.code === grpc.status.CANCELLED ? undefined : fromServiceError(e)));
          setTimeout(() => {
            extra.cancel();
            resolve(undefined);
          }, 200);
        });
      }
      assert.equal(err?.code, 'RATE_LIMITED');
      assert.match(err!.message, /admin must hold no more than 32 open streams/);
      open.pop()!.cancel();
      // The server frees the place when it sees the cancel, which may come after a new call: poll.
      const tryOnce = (): Promise<boolean> => new Promise<boolean>((resolve) => {
        const w = cluster.Watch({ kind: 'configmap', fromRevision: 0 });
        let refused = false;
        w.on('error', (e: grpc.ServiceError) => {
          if (e.code === grpc.status.CANCELLED) return;
          refused = fromServiceError(e).code === 'RATE_LIMITED';
          if (refused) resolve(false);
        });
        // Accepted watches stay silent: no refusal within half a second means it is open.
        setTimeout(() => {
          if (!refused) open.push(w);
          else w.cancel();
          resolve(!refused);
        }, 500);
      });
      let room = false;
      for (const until = Date.now() + 10_000; !room && Date.now() < until;) room = await tryOnce();
      assert.ok(room, 'a new watch is accepted once one was closed');
    } finally {
      for (const w of open) w.cancel();
    }
    await alive();
  });

  test('after ten wrong tokens from one address even the right token is refused for the rest of the minute', async () => {
    const { csrPem } = await createNodeKeyAndCsr('pi-guess');
    const wrong = token.replace(/\.[^.]+$/, '.0000000000000000');
    for (let i = 0; i < LIMITS.maxFailedJoinsPerMinute; i++) {
      const err = await refusal(unary(join.Join, join, { token: wrong, nodeName: 'pi-guess', csrPem }));
      assert.equal(err.code, 'TOKEN_INVALID', err.message);
    }
    const err = await refusal(unary(join.Join, join, { token, nodeName: 'pi-guess', csrPem }));
    assert.equal(err.code, 'RATE_LIMITED');
    assert.match(err.message, /too many failed join attempts from 127\.0\.0\.1: must be no more than 10 a minute/);
    assert.equal((await refusal(unary(cluster.Get, cluster, { kind: 'node', name: 'pi-guess' }))).code, 'NOT_FOUND');
    assert.match(server.output(), /join refused: wrong token/);
    assert.doesNotMatch(server.output(), new RegExp(token.split('.').at(-1)!), 'the token never reaches the log');
    await alive();
  });
});
