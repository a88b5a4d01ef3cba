import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError, ERROR_CODE_METADATA_KEY, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import { LIMITS } from '../../proto/limits.js';
import type { KObject } from '../../proto/model.js';
import type { GetRequest__Output, ObjectResponse, WatchEvent, WatchRequest__Output } from '../../proto/load.js';
import { ClusterApi, clusterHandlers } from './api-cluster.js';
import { MEMBERS_METADATA_KEY } from './members-metadata.js';
import { BoardApi } from './api-board.js';
import { NodeHeartbeats } from '../nodes/node-heartbeats.js';
import { TunnelRegistry } from '../nodes/node-tunnels.js';
import { createMetrics } from '../http/metrics.js';
import { validateObjects } from '../schema/schema.js';
import { ensureSystemNamespaces } from '../server.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { createTokenRegistry } from '../pki/token-registry.js';
import { standaloneMembers } from './api-members.js';
import { EncryptingStore } from '../secrets/encrypting-store.js';
import { EncryptionKey, EncryptionKeySet } from '../secrets/encryption-keys.js';

const CA_HASH = 'a'.repeat(64);

function boardFor(store: Store): BoardApi {
  return new BoardApi({ store, tunnels: new TunnelRegistry(), heartbeats: new NodeHeartbeats(new FakeClock()) });
}

async function setup(opts: { store?: Store; retainEvents?: number; writeBarrier?: () => Promise<void> } = {}): Promise<{ api: ClusterApi; store: Store; clock: FakeClock }> {
  const store = opts.store ?? createMemoryStore({ retainEvents: opts.retainEvents });
  const clock = new FakeClock();
  await ensureSystemNamespaces(store, clock);
  const api = new ClusterApi({
    store, clock, logger: silentLogger(), validate: validateObjects,
    tokens: createTokenRegistry({ store, caHash: CA_HASH, clock }),
    version: '9.9.9', nodeName: 'cp-1',
    ...(opts.writeBarrier ? { writeBarrier: opts.writeBarrier } : {}),
  });
  return { api, store, clock };
}

function deployment(name: string, replicas: number, labels: Record<string, string> = { app: name }, namespace?: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels, ...(namespace ? { namespace } : {}) },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } },
    },
  });
}

/** Watch events arrive on a later turn of the event loop: poll with a deadline. */
async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setImmediate(r));
    }
  }
}

function parse(text: string): KObject {
  return JSON.parse(text) as KObject;
}

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: BrambleError['code'], includes?: string): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (e: unknown) => {
    assert.ok(isBrambleError(e, code), `expected ${code}, got ${String(e)}`);
    if (includes) assert.ok(e.message.includes(includes), `"${e.message}" should mention ${includes}`);
    return true;
  });
}

describe('ClusterApi.apply', () => {
  test('creates objects, then reports them unchanged without a new revision', async () => {
    const { api } = await setup();
    const first = await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    assert.equal(first.results![0]!.action, 'created');
    const created = parse(first.results![0]!.object!);
    assert.equal(created.metadata.namespace, 'default');
    assert.equal(created.metadata.resourceVersion, String(first.revision));
    const again = await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    assert.equal(again.results![0]!.action, 'unchanged');
    assert.equal(parse(again.results![0]!.object!).metadata.resourceVersion, created.metadata.resourceVersion);
    assert.equal(again.revision, first.revision);
  });

  test('a document that is not JSON is INVALID_ARGUMENT naming its index', async () => {
    const { api } = await setup();
    await rejectsWith(api.apply({ objects: [deployment('web', 1), '{nope'], dryRun: false }), 'INVALID_ARGUMENT', 'document 1');
  });

  test('an apply of more objects than allowed is LIMIT_EXCEEDED before any is read', async () => {
    const { api, store } = await setup();
    const before = store.revision();
    const objects = Array(LIMITS.maxObjectsPerApply + 1).fill('{nope');
    await rejectsWith(api.apply({ objects, dryRun: false }), 'LIMIT_EXCEEDED', `no more than ${LIMITS.maxObjectsPerApply} objects: current count is ${objects.length}`);
    assert.equal(store.revision(), before);
  });

  test('one invalid document among several writes nothing', async () => {
    const { api, store } = await setup();
    const before = store.revision();
    const bad = JSON.stringify({ ...parse(deployment('bad', 1)), bogusField: true });
    await rejectsWith(api.apply({ objects: [deployment('good', 1), bad], dryRun: false }), 'VALIDATION_FAILED');
    assert.equal(store.revision(), before);
    assert.equal(store.get('Deployment', 'default', 'good'), undefined);
  });

  test('a changed Deployment selector is refused, on a dry run too, and nothing is written', async () => {
    const { api, store } = await setup();
    await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    const before = store.revision();
    const moved = parse(deployment('web', 1));
    (moved.spec as { selector: unknown }).selector = { matchLabels: { app: 'api' } };
    (moved.spec as { template: { metadata: unknown } }).template.metadata = { labels: { app: 'api' } };
    for (const dryRun of [true, false]) {
      await rejectsWith(api.apply({ objects: [deployment('other', 1), JSON.stringify(moved)], dryRun }), 'VALIDATION_FAILED', 'documents[1]: deployment "web" is invalid: spec.selector: field is immutable');
    }
    assert.equal(store.revision(), before);
    assert.equal(store.get('Deployment', 'default', 'other'), undefined);
  });

  test('a dry run plans without writing', async () => {
    const { api, store } = await setup();
    const before = store.revision();
    const res = await api.apply({ objects: [deployment('web', 1)], dryRun: true });
    assert.equal(res.results![0]!.action, 'created');
    assert.equal(store.revision(), before);
    assert.equal(store.get('Deployment', 'default', 'web'), undefined);
  });

  test('all objects of a request commit at one revision', async () => {
    const { api, store } = await setup();
    const before = store.revision();
    const res = await api.apply({ objects: [deployment('a', 1), deployment('b', 1)], dryRun: false });
    assert.equal(res.revision, before + 1);
    assert.deepEqual(res.results!.map((r) => parse(r.object!).metadata.resourceVersion), [String(before + 1), String(before + 1)]);
  });

  test('an object in a missing namespace is NOT_FOUND', async () => {
    const { api } = await setup();
    await rejectsWith(api.apply({ objects: [deployment('web', 1, { app: 'web' }, 'shop')], dryRun: false }), 'NOT_FOUND', 'namespace "shop" not found');
  });

  test('a concurrent write between plan and commit is retried against fresh state', async () => {
    const inner = createMemoryStore();
    let raced = false;
    const racing: Store = {
      ...inner,
      async propose(command) {
        const target = inner.get('Deployment', 'default', 'web');
        if (!raced && target) {
          raced = true;
          await inner.propose({ ops: [{ type: 'put', object: { ...target, metadata: { ...target.metadata, annotations: { by: 'someone' } } } }] });
        }
        return inner.propose(command);
      },
    };
    const { api } = await setup({ store: racing });
    await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    const res = await api.apply({ objects: [deployment('web', 2)], dryRun: false });
    assert.ok(raced, 'the racing write happened');
    assert.equal(res.results![0]!.action, 'configured');
    assert.equal((parse(res.results![0]!.object!).spec as { replicas: number }).replicas, 2);
  });

  test('a stale resourceVersion from the client is a CONFLICT naming both versions', async () => {
    const { api } = await setup();
    const first = parse((await api.apply({ objects: [deployment('web', 1)], dryRun: false })).results![0]!.object!);
    await api.apply({ objects: [deployment('web', 2)], dryRun: false });
    const stale = JSON.stringify({ ...parse(deployment('web', 3)), metadata: { name: 'web', labels: { app: 'web' }, resourceVersion: first.metadata.resourceVersion } });
    await rejectsWith(api.apply({ objects: [stale], dryRun: false }), 'CONFLICT', `"${first.metadata.resourceVersion}"`);
  });
});

describe('ClusterApi.get and list', () => {
  test('get resolves short kind names', async () => {
    const { api } = await setup();
    await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    assert.equal(parse(api.get({ kind: 'deploy', namespace: '', name: 'web' }).object!).metadata.name, 'web');
  });

  test('get of a missing object names kind, name and namespace', async () => {
    const { api } = await setup();
    await rejectsWith(async () => api.get({ kind: 'deployments', namespace: 'default', name: 'web' }), 'NOT_FOUND', 'deployment "web" not found in namespace "default"');
  });

  test('an unknown kind is UNKNOWN_KIND listing the known ones', async () => {
    const { api } = await setup();
    await rejectsWith(async () => api.list({ kind: 'widgets', namespace: '', labelSelector: '' }), 'UNKNOWN_KIND', 'deployments');
  });

  test('list filters by namespace and label selector', async () => {
    const { api } = await setup();
    await api.apply({
      objects: [
        JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }),
        deployment('web', 1, { app: 'web', tier: 'front' }),
        deployment('db', 1, { app: 'db', tier: 'back' }),
        deployment('cart', 1, { app: 'cart', tier: 'front' }, 'shop'),
      ],
      dryRun: false,
    });
    const names = (ns: string, sel: string): string[] => api.list({ kind: 'deploy', namespace: ns, labelSelector: sel }).objects!.map((o) => parse(o).metadata.name);
    assert.deepEqual(names('', '').sort(), ['cart', 'db', 'web']);
    assert.deepEqual(names('default', '').sort(), ['db', 'web']);
    assert.deepEqual(names('', 'tier=front').sort(), ['cart', 'web']);
    assert.deepEqual(names('', 'tier notin (front)'), ['db']);
  });

  test('a bad label selector is INVALID_ARGUMENT naming it', async () => {
    const { api } = await setup();
    await rejectsWith(async () => api.list({ kind: 'pods', namespace: '', labelSelector: 'a=(b' }), 'INVALID_ARGUMENT', '"a=(b"');
  });
});

describe('ClusterApi.delete', () => {
  test('returns the deleted object and removes it', async () => {
    const { api, store } = await setup();
    await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    const res = await api.delete({ kind: 'deployment', namespace: '', name: 'web', resourceVersion: '' });
    assert.equal(parse(res.object!).metadata.name, 'web');
    assert.equal(store.get('Deployment', 'default', 'web'), undefined);
  });

  test('deleting a namespace takes its objects along in one revision', async () => {
    const { api, store } = await setup();
    await api.apply({ objects: [JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }), deployment('cart', 1, { app: 'cart' }, 'shop')], dryRun: false });
    const before = store.revision();
    await api.delete({ kind: 'ns', namespace: '', name: 'shop', resourceVersion: '' });
    assert.equal(store.revision(), before + 1);
    assert.equal(store.get('Deployment', 'shop', 'cart'), undefined);
  });

  test('deleting the default or the kube-system namespace is FORBIDDEN', async () => {
    const { api } = await setup();
    await rejectsWith(api.delete({ kind: 'namespace', namespace: '', name: 'default', resourceVersion: '' }), 'FORBIDDEN', 'objects without a namespace go there');
    await rejectsWith(api.delete({ kind: 'namespace', namespace: '', name: 'kube-system', resourceVersion: '' }), 'FORBIDDEN', 'namespace "kube-system" cannot be deleted');
  });

  test('a stale resource_version precondition is a CONFLICT', async () => {
    const { api } = await setup();
    const created = parse((await api.apply({ objects: [deployment('web', 1)], dryRun: false })).results![0]!.object!);
    await api.apply({ objects: [deployment('web', 2)], dryRun: false });
    await rejectsWith(api.delete({ kind: 'deployment', namespace: '', name: 'web', resourceVersion: created.metadata.resourceVersion! }), 'CONFLICT');
  });
});

describe('ClusterApi.watch', () => {
  test('delivers matching events only, from the requested revision', async () => {
    const { api } = await setup();
    const from = (await api.apply({ objects: [deployment('other', 1, { app: 'other' })], dryRun: false })).revision as number;
    const events: WatchEvent[] = [];
    const watch = api.watch({ kind: 'deployments', namespace: 'default', fromRevision: from, labelSelector: 'app=web' }, (e) => events.push(e));
    try {
      await api.apply({ objects: [deployment('web', 1), deployment('other', 2, { app: 'other' })], dryRun: false });
      await api.delete({ kind: 'deployment', namespace: '', name: 'web', resourceVersion: '' });
      await eventually(() => assert.deepEqual(events.map((e) => [e.type, parse(e.object!).metadata.name]), [['ADDED', 'web'], ['DELETED', 'web']]));
    } finally {
      watch.cancel();
    }
  });

  test('a watch of every kind does not show join tokens', async () => {
    const { api } = await setup();
    const events: WatchEvent[] = [];
    const watch = api.watch({ kind: '', namespace: '', fromRevision: 0, labelSelector: '' }, (e) => events.push(e));
    try {
      await api.createToken({ ttlSeconds: 0, description: 'x' });
      await api.apply({ objects: [deployment('web', 1)], dryRun: false });
      await eventually(() => assert.deepEqual(events.map((e) => parse(e.object!).kind), ['Deployment']));
    } finally {
      watch.cancel();
    }
  });

  test('an object whose labels stop matching is DELETED and one whose labels start matching is ADDED, live and resumed', async () => {
    const { api } = await setup();
    const from = (await api.apply({ objects: [deployment('web', 1, { app: 'web' })], dryRun: false })).revision as number;
    const live: WatchEvent[] = [];
    const liveWatch = api.watch({ kind: 'deployments', namespace: 'default', fromRevision: 0, labelSelector: 'app=web' }, (e) => live.push(e));
    try {
      await api.apply({ objects: [deployment('web', 1, { app: 'web-old' })], dryRun: false });
      await api.apply({ objects: [deployment('web', 2, { app: 'web-old' })], dryRun: false });
      await api.apply({ objects: [deployment('web', 2, { app: 'web' })], dryRun: false });
      await api.apply({ objects: [deployment('web', 3, { app: 'web' })], dryRun: false });
      const want = [['DELETED', 'web-old', 1], ['ADDED', 'web', 2], ['MODIFIED', 'web', 3]];
      const view = (events: WatchEvent[]): unknown[] =>
        events.map((e) => { const o = parse(e.object!) as KObject & { spec: { replicas: number } }; return [e.type, o.metadata.labels?.app, o.spec.replicas]; });
      await eventually(() => assert.deepEqual(view(live), want));
      const resumed: WatchEvent[] = [];
      const resumedWatch = api.watch({ kind: 'deployments', namespace: '', fromRevision: from, labelSelector: 'app=web' }, (e) => resumed.push(e));
      try {
        await eventually(() => assert.deepEqual(view(resumed), want));
      } finally {
        resumedWatch.cancel();
      }
    } finally {
      liveWatch.cancel();
    }
  });

  test('a revision older than the retained window is STORE_REVISION_TOO_OLD', async () => {
    const { api } = await setup({ retainEvents: 2 });
    for (let i = 1; i <= 4; i++) await api.apply({ objects: [deployment('web', i)], dryRun: false });
    await rejectsWith(async () => api.watch({ kind: 'deploy', namespace: '', fromRevision: 1, labelSelector: '' }, () => undefined), 'STORE_REVISION_TOO_OLD');
  });
});

describe('ClusterApi other calls', () => {
  test('version reports the revision, object count and node name', async () => {
    const { api, store } = await setup();
    const v = api.version();
    assert.deepEqual([v.version, v.revision, v.objectCount, v.nodeName], ['9.9.9', store.revision(), store.objectCount(), 'cp-1']);
  });

  test('join tokens are created once in full, then listed and deleted by id', async () => {
    const { api } = await setup();
    const made = await api.createToken({ ttlSeconds: 3600, description: 'pi-2' });
    assert.ok(made.token!.includes(made.id!));
    const listed = api.listTokens().tokens!;
    assert.deepEqual(listed.map((t) => [t.id, t.description, t.token]), [[made.id, 'pi-2', undefined]]);
    assert.notEqual(listed[0]!.expires, '');
    await api.deleteToken({ id: made.id! });
    assert.deepEqual(api.listTokens().tokens, []);
  });

  test('logs of a scheduled pod say no agent is connected for its node', async () => {
    const { api, store } = await setup();
    await api.apply({ objects: [JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } })], dryRun: false });
    const pod = store.get('Pod', 'default', 'p')!;
    await store.propose({ ops: [{ type: 'put', object: { ...pod, spec: { ...(pod.spec as object), nodeName: 'pi-1' } } }] });
    await rejectsWith(async () => boardFor(store).logs({ namespace: '', pod: 'p', container: '', follow: false, tailLines: -1, previous: false }), 'NODE_UNREACHABLE', 'no agent connected for node "pi-1"');
  });
});

describe('clusterHandlers', () => {
  function fakeCall(request: GetRequest__Output): grpc.ServerUnaryCall<GetRequest__Output, ObjectResponse> {
    return { request, getAuthContext: () => ({}) } as unknown as grpc.ServerUnaryCall<GetRequest__Output, ObjectResponse>;
  }

  function callGet(handlers: ReturnType<typeof clusterHandlers>, request: GetRequest__Output): Promise<{ err: grpc.ServiceError | null; value?: ObjectResponse }> {
    return new Promise((resolve) => {
      handlers.Get(fakeCall(request), (err, value) => resolve({ err: err as grpc.ServiceError | null, value: value ?? undefined }));
    });
  }

  test('a caller without the admin identity is refused with UNAUTHENTICATED and counted', async () => {
    const { api } = await setup();
    const metrics = createMetrics({ store: () => undefined, processMetrics: false });
    const handlers = clusterHandlers(api, {
      board: boardFor(createMemoryStore()),
      logger: silentLogger(), metrics,
      members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0), authorize: () => { throw new BrambleError('UNAUTHENTICATED', 'no client certificate'); },
    });
    const { err } = await callGet(handlers, { kind: 'ns', namespace: '', name: 'default', consistency: '' });
    assert.equal(err?.code, grpc.status.UNAUTHENTICATED);
    assert.deepEqual(err?.metadata?.get(ERROR_CODE_METADATA_KEY), ['UNAUTHENTICATED']);
    assert.match(await metrics.render(), /bramble_grpc_requests_total\{method="Get",code="UNAUTHENTICATED"\} 1/);
  });

  test('an authorized call returns the object as JSON', async () => {
    const { api } = await setup();
    const handlers = clusterHandlers(api, { board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0), authorize: () => undefined });
    const { err, value } = await callGet(handlers, { kind: 'ns', namespace: '', name: 'default', consistency: '' });
    assert.equal(err, null);
    assert.equal(parse(value!.object as string).kind, 'Namespace');
  });

  test('RotateClusterCa: admin only, refused on a single server, the overlap bounded, seconds passed on as ms', async () => {
    const { api } = await setup();
    const asked: number[] = [];
    const base = { board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0) };
    const rotate = async (ms: number) => {
      asked.push(ms);
      return { previousHash: 'a', newHash: 'b', previousUntil: '2027-01-01T00:00:00.000Z', members: ['cp1', 'cp2'], resumed: false };
    };
    const callRotate = (h: ReturnType<typeof clusterHandlers>, overlapSeconds: number) => new Promise<{ err: grpc.ServiceError | null; value?: unknown }>((resolve) => {
      h.RotateClusterCa({ request: { overlapSeconds }, getAuthContext: () => ({}) } as never, (err, value) => resolve({ err: err as grpc.ServiceError | null, value: value ?? undefined }));
    });
    const codeOf = (r: { err: grpc.ServiceError | null }) => r.err?.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
    const denied = clusterHandlers(api, { ...base, rotateClusterCa: rotate, authorize: () => { throw new BrambleError('FORBIDDEN', 'a node may not rotate the CA'); } });
    assert.equal(codeOf(await callRotate(denied, 60)), 'FORBIDDEN');
    const single = clusterHandlers(api, { ...base, authorize: () => undefined });
    const r = await callRotate(single, 60);
    assert.equal(codeOf(r), 'FAILED_PRECONDITION');
    assert.match(r.err!.details, /not part of a replicated control plane: run `bramble certificate rotate-ca` on its machine/);
    const h = clusterHandlers(api, { ...base, rotateClusterCa: rotate, authorize: () => undefined });
    for (const bad of [0, -1, 3650 * 24 * 3600 + 1]) assert.equal(codeOf(await callRotate(h, bad)), 'INVALID_ARGUMENT', String(bad));
    assert.deepEqual(asked, []);
    const ok = await callRotate(h, 1.5);
    assert.equal(ok.err, null);
    assert.deepEqual(asked, [1500]);
  });

  test('a replicated server sends the members with an authorized answer\'s headers, and nothing to a refused caller or from a single server', async () => {
    const { api } = await setup();
    const sent: grpc.Metadata[] = [];
    const call = (request: GetRequest__Output) => ({ request, getAuthContext: () => ({}), sendMetadata: (md: grpc.Metadata) => { sent.push(md); } }) as unknown as grpc.ServerUnaryCall<GetRequest__Output, ObjectResponse>;
    const get = (handlers: ReturnType<typeof clusterHandlers>) => new Promise<grpc.ServiceError | null>((resolve) => {
      handlers.Get(call({ kind: 'ns', namespace: '', name: 'default', consistency: '' }), (err) => resolve(err as grpc.ServiceError | null));
    });
    let members = ['10.0.0.2:7443', '10.0.0.1:7443', '10.0.0.3:7443'];
    const base = { board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0) };
    const replicated = clusterHandlers(api, { ...base, authorize: () => undefined, memberAddresses: () => members });
    assert.equal(await get(replicated), null);
    assert.deepEqual(sent.map((md) => md.get(MEMBERS_METADATA_KEY)), [['10.0.0.2:7443,10.0.0.1:7443,10.0.0.3:7443']]);
    members = ['10.0.0.2:7443', '10.0.0.1:7443'];
    assert.equal(await get(replicated), null);
    assert.deepEqual(sent[1]!.get(MEMBERS_METADATA_KEY), ['10.0.0.2:7443,10.0.0.1:7443'], 'a change is sent with the next answer');
    const refusing = clusterHandlers(api, { ...base, authorize: () => { throw new BrambleError('FORBIDDEN', 'a node certificate'); }, memberAddresses: () => members });
    assert.equal((await get(refusing))?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(sent.length, 2, 'a refused caller learns nothing of the members');
    assert.equal(await get(clusterHandlers(api, { ...base, authorize: () => undefined })), null);
    assert.equal(sent.length, 2, 'a single server sends none');
  });

  test('on one connection the members are sent with its first answer and again only after they change', async () => {
    const { api } = await setup();
    const sent: Array<{ connection: string; members: unknown }> = [];
    const connections = { one: {}, two: {} };
    const call = (request: GetRequest__Output, connection: 'one' | 'two') => ({
      request, getAuthContext: () => ({}), call: { stream: { session: connections[connection] } },
      sendMetadata: (md: grpc.Metadata) => { sent.push({ connection, members: md.get(MEMBERS_METADATA_KEY)[0] }); },
    }) as unknown as grpc.ServerUnaryCall<GetRequest__Output, ObjectResponse>;
    let members = ['10.0.0.1:7443', '10.0.0.2:7443'];
    const handlers = clusterHandlers(api, {
      board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0),
      authorize: () => undefined, memberAddresses: () => members,
    });
    const get = (connection: 'one' | 'two') => new Promise<grpc.ServiceError | null>((resolve) => {
      handlers.Get(call({ kind: 'ns', namespace: '', name: 'default', consistency: '' }, connection), (err) => resolve(err as grpc.ServiceError | null));
    });
    for (let i = 0; i < 3; i++) assert.equal(await get('one'), null);
    assert.deepEqual(sent, [{ connection: 'one', members: '10.0.0.1:7443,10.0.0.2:7443' }]);
    assert.equal(await get('two'), null);
    assert.equal(sent.length, 2, 'another connection gets them with its first answer');
    members = ['10.0.0.1:7443'];
    assert.equal(await get('one'), null);
    assert.equal(await get('one'), null);
    assert.deepEqual(sent.slice(2), [{ connection: 'one', members: '10.0.0.1:7443' }], 'a change goes out once on that connection');
  });

  test('a read is linearizable unless it asks for serializable, and any other consistency is refused', async () => {
    const { api } = await setup();
    let barriers = 0;
    const handlers = clusterHandlers(api, {
      board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0),
      authorize: () => undefined, linearizableRead: async () => { barriers++; },
    });
    assert.equal((await callGet(handlers, { kind: 'ns', namespace: '', name: 'default', consistency: '' })).err, null);
    assert.equal((await callGet(handlers, { kind: 'ns', namespace: '', name: 'default', consistency: 'linearizable' })).err, null);
    assert.equal(barriers, 2);
    assert.equal((await callGet(handlers, { kind: 'ns', namespace: '', name: 'default', consistency: 'serializable' })).err, null);
    assert.equal(barriers, 2, 'a serializable read asks no one');
    const { err } = await callGet(handlers, { kind: 'ns', namespace: '', name: 'default', consistency: 'eventual' });
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err!.details, /consistency must be linearizable or serializable: current value is "eventual"/);
  });

  test('an apply and a delete wait for the write barrier before they plan, so a follower plans against every acknowledged write', async () => {
    let release: (() => void) | undefined;
    let holding = false;
    const { api } = await setup({ writeBarrier: () => (holding ? new Promise<void>((r) => { release = r; }) : Promise.resolve()) });
    holding = true;
    const handlers = clusterHandlers(api, {
      board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0),
      authorize: () => undefined,
    });
    const call = <Req, Res>(method: (c: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void, request: Req) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        method({ request, getAuthContext: () => ({}) } as unknown as grpc.ServerUnaryCall<Req, Res>, (err) => resolve(err as grpc.ServiceError | null));
      });
    const barrier = async (): Promise<() => void> => {
      for (let i = 0; i < 1000 && release === undefined; i++) await new Promise((r) => setImmediate(r));
      const r = release;
      release = undefined;
      assert.ok(r, 'the write waited for the barrier');
      return r;
    };
    const exists = (): boolean => { try { api.get({ kind: 'deploy', namespace: 'default', name: 'web' }); return true; } catch { return false; } };

    const applied = call(handlers.Apply, { objects: [deployment('web', 1)], dryRun: false });
    const openApply = await barrier();
    assert.equal(exists(), false, 'nothing is planned before the read returns');
    openApply();
    assert.equal(await applied, null);
    assert.equal(exists(), true);

    const deleted = call(handlers.Delete, { kind: 'deploy', namespace: 'default', name: 'web', resourceVersion: '', force: false, propagationPolicy: '', gracePeriodSeconds: 0 });
    const openDelete = await barrier();
    assert.equal(exists(), true, 'nothing is deleted before the read returns');
    openDelete();
    assert.equal(await deleted, null);
  });

  test('an apply and a delete that lose a race wait for the write barrier again before they plan again', async () => {
    const inner = createMemoryStore();
    const clock = new FakeClock();
    await ensureSystemNamespaces(inner, clock);
    let races = 0;
    const store: Store = {
      ...inner,
      get: (k, ns, n) => inner.get(k, ns, n),
      list: (k, ns) => inner.list(k, ns),
      revision: () => inner.revision(),
      propose: async (c) => {
        if (races > 0) {
          races--;
          throw new BrambleError('CONFLICT', 'a concurrent write won');
        }
        return inner.propose(c);
      },
    };
    let barriers = 0;
    const api = new ClusterApi({
      store, clock, logger: silentLogger(), validate: validateObjects,
      tokens: createTokenRegistry({ store, caHash: CA_HASH, clock }), version: '9.9.9', nodeName: 'cp-1',
      writeBarrier: async () => { barriers++; },
    });
    races = 1;
    await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    assert.equal(barriers, 2, 'one before the plan, one after the race');
    races = 2;
    await api.delete({ kind: 'deploy', namespace: 'default', name: 'web', resourceVersion: '' });
    assert.equal(barriers, 5, 'one before the plan, one after each race');
  });

  test('an apply plans on the cheap barrier when every object is created or changed, and confirms first when its answer rests on the state alone', async () => {
    // `behind` is this member's state before the full barrier; `log` decides the preconditions, as the Raft log does.
    const log = createMemoryStore();
    const behind = createMemoryStore();
    const clock = new FakeClock();
    await ensureSystemNamespaces(log, clock);
    await ensureSystemNamespaces(behind, clock);
    let lagging = true;
    const view = (): Store => (lagging ? behind : log);
    const store: Store = {
      ...log,
      get: (k, ns, n) => view().get(k, ns, n),
      list: (k, ns) => view().list(k, ns),
      revision: () => view().revision(),
      propose: (c) => log.propose(c),
    };
    const calls: string[] = [];
    const api = new ClusterApi({
      store, clock, logger: silentLogger(), validate: validateObjects,
      tokens: createTokenRegistry({ store, caHash: CA_HASH, clock }), version: '9.9.9', nodeName: 'cp-1',
      planBarrier: async () => { calls.push('plan'); },
      writeBarrier: async () => { calls.push('full'); lagging = false; },
    });

    // Created: the absent precondition is decided by the log, so no full barrier.
    const created = await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    assert.equal(created.results![0]!.action, 'created');
    assert.deepEqual(calls, ['plan']);

    // The log has web at 2 replicas; this member still sees 1. "Unchanged" would be a stale answer.
    await log.propose({ ops: [{ type: 'put', object: { ...parse(deployment('web', 2)), metadata: { ...parse(created.results![0]!.object!).metadata } }, precondition: { exists: true } }] });
    calls.length = 0;
    lagging = true;
    await behind.propose({ ops: [{ type: 'put', object: parse(created.results![0]!.object!) }] });
    const again = await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    assert.equal(again.results![0]!.action, 'configured', 'planned again after the full barrier, against the state that holds every write');
    assert.deepEqual(calls, ['plan', 'full']);

    // A namespace this member does not see yet: the error is confirmed before it is answered.
    await log.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late', uid: 'u-late', creationTimestamp: new Date(0).toISOString() } }, precondition: { absent: true } }] });
    calls.length = 0;
    lagging = true;
    const inLate = await api.apply({ objects: [deployment('api', 1, { app: 'api' }, 'late')], dryRun: false });
    assert.equal(inLate.results![0]!.action, 'created');
    assert.deepEqual(calls, ['plan', 'full']);

    // A real error is still answered, once confirmed; a dry run is confirmed too.
    calls.length = 0;
    lagging = true;
    await rejectsWith(api.apply({ objects: [deployment('x', 1, { app: 'x' }, 'missing')], dryRun: false }), 'NOT_FOUND', 'namespace "missing" not found');
    assert.deepEqual(calls, ['plan', 'full']);
    calls.length = 0;
    const dry = await api.apply({ objects: [deployment('dry', 1, { app: 'dry' })], dryRun: true });
    assert.equal(dry.results![0]!.action, 'created');
    assert.deepEqual(calls, ['plan', 'full']);
    assert.equal(log.get('Deployment', 'default', 'dry'), undefined);
  });

  /** Enough of a server stream for the Watch handler: events, writes and a status. */
  class FakeStream extends EventEmitter {
    cancelled = false;
    written: WatchEvent[] = [];
    ended = false;
    constructor(readonly request: WatchRequest__Output) { super(); }
    getAuthContext(): object { return {}; }
    write(e: WatchEvent): boolean { this.written.push(e); return true; }
    end(): void { this.ended = true; }
  }

  function watchCall(s: FakeStream): grpc.ServerWritableStream<WatchRequest__Output, WatchEvent> {
    return s as unknown as grpc.ServerWritableStream<WatchRequest__Output, WatchEvent>;
  }

  test('a watch from a compacted revision ends with OUT_OF_RANGE and code STORE_REVISION_TOO_OLD', async () => {
    const { api } = await setup({ retainEvents: 1 });
    for (let i = 1; i <= 3; i++) await api.apply({ objects: [deployment('web', i)], dryRun: false });
    const handlers = clusterHandlers(api, { board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0), authorize: () => undefined });
    const stream = new FakeStream({ kind: 'deploy', namespace: '', fromRevision: 1, labelSelector: '' });
    const failed = new Promise<grpc.ServiceError>((resolve) => stream.once('error', resolve));
    handlers.Watch(watchCall(stream));
    const err = await failed;
    assert.equal(err.code, grpc.status.OUT_OF_RANGE);
    assert.deepEqual(err.metadata.get(ERROR_CODE_METADATA_KEY), ['STORE_REVISION_TOO_OLD']);
  });

  test('a watch stops delivering once the client cancels', async () => {
    const { api } = await setup();
    const handlers = clusterHandlers(api, { board: boardFor(createMemoryStore()), logger: silentLogger(), members: standaloneMembers('cp', () => '127.0.0.1:7443', () => 0), authorize: () => undefined });
    const stream = new FakeStream({ kind: 'deploy', namespace: '', fromRevision: 0, labelSelector: '' });
    handlers.Watch(watchCall(stream));
    await api.apply({ objects: [deployment('web', 1)], dryRun: false });
    await eventually(() => assert.equal(stream.written.length, 1));
    stream.cancelled = true;
    stream.emit('cancelled');
    await api.apply({ objects: [deployment('web', 2)], dryRun: false });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(stream.written.length, 1);
    assert.equal(stream.ended, false, 'a cancelled stream is not ended by the server');
  });
});

describe('Cluster API over the encrypting store', () => {
  const secretManifest = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'pw-in-clear' } });

  async function encrypted(): Promise<{ api: ClusterApi; raw: Store }> {
    const raw = createMemoryStore();
    const store = new EncryptingStore(raw, new EncryptionKeySet([new EncryptionKey('k1', Buffer.alloc(32, 3), '')], 'k1'));
    const { api } = await setup({ store });
    return { api, raw };
  }

  test('a Secret applies, reads and watches in clear, re-applies unchanged, and is stored sealed', async () => {
    const { api, raw } = await encrypted();
    const events: WatchEvent[] = [];
    const w = api.watch({ kind: 'secrets', namespace: 'default', fromRevision: 0, labelSelector: '' }, (e) => events.push(e));
    const created = await api.apply({ objects: [secretManifest], dryRun: false });
    assert.equal(created.results![0]!.action, 'created');
    const got = JSON.parse(api.get({ kind: 'secret', namespace: 'default', name: 'db' }).object!) as KObject;
    assert.equal(Buffer.from((got.data as Record<string, string>).password!, 'base64').toString(), 'pw-in-clear');
    assert.equal((await api.apply({ objects: [secretManifest], dryRun: false })).results![0]!.action, 'unchanged');
    assert.ok(!JSON.stringify(raw.get('Secret', 'default', 'db')).includes(Buffer.from('pw-in-clear').toString('base64')));
    await eventually(() => assert.equal(events.length, 1));
    assert.ok(events[0]!.object!.includes(Buffer.from('pw-in-clear').toString('base64')));
    w.cancel();
  });

  test('a get of a Secret whose ciphertext was changed is STORE_FAILED naming it and the key id', async () => {
    const { api, raw } = await encrypted();
    await api.apply({ objects: [secretManifest], dryRun: false });
    const stored = raw.get('Secret', 'default', 'db')!;
    await raw.propose({ ops: [{ type: 'put', object: { ...stored, data: { 'bramble.io/encrypted': `v1:k1:${Buffer.alloc(40).toString('base64')}` } } }] });
    assert.throws(() => api.get({ kind: 'secret', namespace: 'default', name: 'db' }),
      (e: unknown) => isBrambleError(e, 'STORE_FAILED') && /^Secret default\/db cannot be decrypted: .*key "k1"/.test((e as Error).message));
  });

  test('without secrets encryption the status and rotate calls answer UNAVAILABLE', async () => {
    const { api } = await setup();
    assert.throws(() => api.secretsEncryptionStatus(), (e: unknown) => isBrambleError(e, 'UNAVAILABLE'));
    await assert.rejects(api.rotateSecretsEncryption({ keepOldKeys: false }), (e: unknown) => isBrambleError(e, 'UNAVAILABLE'));
  });
});
