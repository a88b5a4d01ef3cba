import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { BrambleError, fromServiceError } from '../../proto/util/errors.js';
import { FakeClock } from '../../proto/util/clock.js';
import { loadProto, type ClusterClient, type SnapshotChunk__Output } from '../../proto/load.js';
import { silentLogger } from '../../proto/util/log.js';
import { StoreState } from '../store/store-state.js';
import { readSnapshot } from '../store/store-snapshot.js';
import { snapshotHandler, type SnapshotSource } from './api-snapshot.js';

function bigState(n: number): StoreState {
  const s = new StoreState();
  for (let i = 0; i < n; i += 500) {
    s.commit(s.propose({ ops: Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i + j}`, namespace: 'default' }, data: { v: 'x'.repeat(100) } } })) }));
  }
  return s;
}

async function serve(t: TestContext, source: SnapshotSource | undefined, authorize: () => void = () => undefined): Promise<{ client: ClusterClient; done: () => number }> {
  const server = new grpc.Server();
  const { Cluster } = loadProto().bramble.v1;
  let finished = 0;
  const logger = silentLogger();
  logger.info = ((_o: unknown, msg: string) => { if (msg === 'store snapshot sent') finished++; }) as typeof logger.info;
  server.addService(Cluster.service, { SnapshotStore: snapshotHandler({ logger }, { authorize, source }) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.after(() => server.forceShutdown());
  const client = new Cluster(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  return { client, done: () => finished };
}

async function* bytes(stream: grpc.ClientReadableStream<SnapshotChunk__Output>): AsyncGenerator<Buffer> {
  for await (const chunk of stream as AsyncIterable<SnapshotChunk__Output>) yield chunk.data;
}

describe('Cluster.SnapshotStore', () => {
  test('streams the store at one revision, which later writes do not change', async (t) => {
    const state = bigState(10_000);
    const { client } = await serve(t, { snapshot: () => state.snapshot(), serverName: 'pi-1', clock: new FakeClock(Date.UTC(2026, 0, 1)) });
    const stream = client.SnapshotStore({});
    const first = await (stream as AsyncIterable<SnapshotChunk__Output>)[Symbol.asyncIterator]().next();
    // The snapshot was taken before the first byte left: this write is not in it.
    state.commit(state.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'cm-0' }] }));
    async function* all(): AsyncGenerator<Buffer> {
      yield (first.value as SnapshotChunk__Output).data;
      yield* bytes(stream);
    }
    const { snapshot, summary } = await readSnapshot(all(), { source: 'the test stream' });
    assert.equal(snapshot.revision, 20);
    assert.equal(snapshot.objects.length, 10_000);
    assert.deepEqual({ server: summary.header.server, createdAt: summary.header.createdAt }, { server: 'pi-1', createdAt: '2026-01-01T00:00:00.000Z' });
  });

  test('a client that goes away mid-stream ends the handler without sending the rest', async (t) => {
    const state = bigState(10_000);
    const { client, done } = await serve(t, { snapshot: () => state.snapshot(), serverName: 'pi-1', clock: new FakeClock() });
    const stream = client.SnapshotStore({});
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.cancel();
    // A second call on the same server still gets a whole snapshot: the first one holds nothing up.
    const { summary } = await readSnapshot(bytes(client.SnapshotStore({})), { source: 'the second stream' });
    assert.equal(summary.header.objectCount, 10_000);
    assert.equal(done(), 1, 'only the second stream was sent to the end');
  });

  test('the caller is authorized before anything is taken, and a server without a source refuses', async (t) => {
    let taken = 0;
    const source: SnapshotSource = { snapshot: () => { taken++; return new StoreState().snapshot(); }, serverName: 'pi-1', clock: new FakeClock() };
    const { client } = await serve(t, source, () => { throw new BrambleError('FORBIDDEN', 'node certificates cannot use the Cluster API'); });
    await assert.rejects(readSnapshot(bytes(client.SnapshotStore({})), { source: 's' }), (e) => fromServiceError(e).code === 'FORBIDDEN');
    assert.equal(taken, 0);
    const none = await serve(t, undefined);
    await assert.rejects(readSnapshot(bytes(none.client.SnapshotStore({})), { source: 's' }),
      (e) => fromServiceError(e).code === 'UNAVAILABLE' && /does not serve snapshots/.test(fromServiceError(e).message));
  });
});
