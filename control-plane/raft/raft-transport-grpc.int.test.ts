// Real transports on loopback over real TLS, with replica certificates from a
// test CA, each served by a grpc.Server set up as server.ts sets up its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { createNodeKeyAndCsr, joinChannelCredentials, nodeChannelCredentials } from '../../agent/join-tls.js';
import type { RaftClient } from '../../proto/generated/bramble/v1/Raft.js';
import { LIMITS } from '../../proto/limits.js';
import { loadProto } from '../../proto/load.js';
import type { RaftBatch, RaftMessage } from '../../proto/types.js';
import { FakeClock, type Clock } from '../../proto/util/clock.js';
import { ERROR_CODE_METADATA_KEY } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import { fuzzParams } from '../../test/support/fuzz.js';
import { ADMIN_COMMON_NAME, ADMIN_ORGANIZATION, requireReplica } from '../pki/auth.js';
import { clientCredentials } from '../pki/client-config.js';
import { ensureClusterPki, type ClusterPki, type IssuedCert } from '../pki/pki-ca.js';
import { GrpcRaftTransport, raftServiceHandlers, type GrpcRaftTransportTuning } from './raft-transport-grpc.js';
import type { SnapshotSource, TransportHandlers } from './raft-transport.js';
import { message, type Message, type SnapshotMeta } from './raft-types.js';
import { toWire } from './raft-wire.js';
import { MAX_STREAMS_PER_REPLICA } from './raft-service-grpc.js';

const proto = loadProto();

let dir: string;
let pki: ClusterPki;
const certs = new Map<string, IssuedCert>();

async function replicaCert(id: string): Promise<IssuedCert> {
  let c = certs.get(id);
  if (!c) {
    c = await pki.issueReplicaCert(id);
    certs.set(id, c);
  }
  return c;
}

// ------------------------------------------------------------------ harness

type SnapshotHandler = (m: Message, body: AsyncIterable<Uint8Array>) => Promise<void>;

/** Everything a transport told its host. */
class Host implements TransportHandlers {
  readonly messages: Message[] = [];
  readonly unreachable: string[] = [];
  readonly snapshotStatus: [string, boolean][] = [];
  snapshotHandler: SnapshotHandler = async (_m, body) => {
    for await (const chunk of body) void chunk;
  };

  onMessage(m: Message): void {
    this.messages.push(m);
  }

  onSnapshot(m: Message, body: AsyncIterable<Uint8Array>): Promise<void> {
    return this.snapshotHandler(m, body);
  }

  onUnreachable(id: string): void {
    this.unreachable.push(id);
  }

  onSnapshotStatus(id: string, ok: boolean): void {
    this.snapshotStatus.push([id, ok]);
  }
}

interface Replica {
  id: string;
  port: number;
  address: string;
  host: Host;
  transport: GrpcRaftTransport;
  server: grpc.Server;
  /** Closes the transport, then shuts the server down gracefully (which waits for every open call). */
  stop(): Promise<void>;
}

interface ReplicaOptions {
  port?: number;
  clock?: Clock;
  tuning?: Partial<GrpcRaftTransportTuning>;
  snapshots?: SnapshotSource;
}

const noSnapshots: SnapshotSource = {
  // eslint-disable-next-line require-yield
  async *open() {
    throw new Error('no snapshot in this test');
  },
};

async function startReplica(id: string, opts: ReplicaOptions = {}): Promise<Replica> {
  const cert = await replicaCert(id);
  const transport = new GrpcRaftTransport({
    id, tls: { caPem: pki.caPem, certPem: cert.certPem, keyPem: cert.keyPem }, authorize: requireReplica, clock: opts.clock, logger: silentLogger(),
    tuning: { backoffInitialMs: 20, backoffMaxMs: 200, ...opts.tuning },
  });
  const host = new Host();
  transport.start(host, opts.snapshots ?? noSnapshots);
  // As server.ts: the same limits, the same credentials, the Raft service beside the others.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': LIMITS.maxRequestBytes, 'grpc.max_concurrent_streams': 100 });
  server.addService(proto.bramble.v1.Raft.service, raftServiceHandlers(transport));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${opts.port ?? 0}`, pki.serverCredentials(), (err, p) => (err ? reject(err) : resolve(p))));
  const stop = async (): Promise<void> => {
    await transport.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  };
  return { id, port, address: `127.0.0.1:${port}`, host, transport, server, stop };
}

function connect(...replicas: Replica[]): void {
  const peers = replicas.map((r) => ({ id: r.id, address: r.address }));
  for (const r of replicas) r.transport.setPeers(peers);
}

/** Polls (real time) until the condition holds; the deadline turns a hang into a failure that says what was awaited. */
async function until(what: string, cond: () => boolean, ms = 15_000, step?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting until ${what}`);
    if (step) await step();
    await new Promise((r) => setTimeout(r, 5));
  }
}

const hb = (from: string, to: string, n: number): Message => message({ type: 'MsgHeartbeat', from, to, term: 1, commit: n, context: `hb-${n}` });
const app = (from: string, to: string, index: number, data = `{"n":${index}}`): Message => message({
  type: 'MsgApp', from, to, term: 2, index: index - 1, logTerm: index > 1 ? 2 : 0, commit: index - 1, entries: [{ term: 2, index, type: 'normal', data }],
});

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const s = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
  return port;
}

function rawClient(port: number, creds: grpc.ChannelCredentials): RaftClient {
  return new proto.bramble.v1.Raft(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'bramble' }) as RaftClient;
}

/** Sends the batches on one Send call as a peer would, then ends it; resolves with the call's error, if any. */
function sendRaw(client: RaftClient, batches: RaftBatch[]): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = client.Send({ deadline: Date.now() + 15_000 }, (err) => resolve(err));
    call.on('error', () => undefined);
    for (const b of batches) call.write(b);
    call.end();
  });
}

async function replicaCreds(id: string, port: number): Promise<grpc.ChannelCredentials> {
  const c = await replicaCert(id);
  return clientCredentials({ server: `127.0.0.1:${port}`, ca: pki.caPem, cert: c.certPem, key: c.keyPem });
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-raft-transport-'));
  pki = await ensureClusterPki(dir, {});
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ tests

describe('the gRPC Raft transport between real replicas over TLS', () => {
  test('messages arrive in the order they were sent on each lane, from each of two peers', async () => {
    const [a, b, c] = await Promise.all([startReplica('r1'), startReplica('r2'), startReplica('r3')]);
    try {
      connect(a, b, c);
      const n = 1000; // within the control lane's queue of 1024, all sent before the lanes are even open
      for (let i = 1; i <= n; i++) {
        a.transport.send([hb('r1', 'r3', i), app('r1', 'r3', i)]);
        b.transport.send([hb('r2', 'r3', i)]);
      }
      await until(`r3 has ${3 * n} messages`, () => c.host.messages.length >= 3 * n);
      const seq = (from: string, type: string) => c.host.messages.filter((m) => m.from === from && m.type === type);
      assert.deepEqual(seq('r1', 'MsgHeartbeat').map((m) => m.commit), Array.from({ length: n }, (_, i) => i + 1));
      assert.deepEqual(seq('r1', 'MsgApp').map((m) => m.entries[0]!.index), Array.from({ length: n }, (_, i) => i + 1));
      assert.deepEqual(seq('r2', 'MsgHeartbeat').map((m) => m.context), Array.from({ length: n }, (_, i) => `hb-${i + 1}`));
      assert.deepEqual(c.host.messages.find((m) => m.type === 'MsgApp' && m.entries[0]!.index === 7), app('r1', 'r3', 7));
      assert.equal(c.host.messages.length, 3 * n);
      assert.deepEqual(a.host.unreachable, []);
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  test('a heartbeat sent after megabytes of appends arrives before the appends are through', async () => {
    const [a, b] = await Promise.all([startReplica('r1', { tuning: { dataQueueBytes: 64 * 1024 * 1024 } }), startReplica('r2')]);
    try {
      connect(a, b);
      // Open both lanes first, so the race is between lanes, not between handshakes.
      a.transport.send([hb('r1', 'r2', 0), app('r1', 'r2', 1)]);
      await until('both lanes are open', () => b.host.messages.length === 2);
      const big = 'x'.repeat(1024 * 1024);
      for (let i = 2; i <= 24; i++) a.transport.send([app('r1', 'r2', i, big)]);
      a.transport.send([hb('r1', 'r2', 1)]);
      await until('every append arrived', () => b.host.messages.filter((m) => m.type === 'MsgApp').length === 24, 30_000);
      const at = b.host.messages.findIndex((m) => m.type === 'MsgHeartbeat' && m.commit === 1);
      const lastApp = b.host.messages.map((m) => m.type).lastIndexOf('MsgApp');
      assert.ok(at >= 0 && at < lastApp, `the heartbeat arrived at position ${at}, the last append at ${lastApp}`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('a peer that is down is reported unreachable, and reached once it starts, after a back-off on the injected clock', async () => {
    const clock = new FakeClock(Date.now());
    const port = await freePort();
    // Fake time runs fast here: a connect timeout in it would fire before a real handshake ends.
    const a = await startReplica('r1', { clock, tuning: { backoffInitialMs: 1000, backoffMaxMs: 1000, connectTimeoutMs: 3_600_000 } });
    let b: Replica | undefined;
    try {
      a.transport.setPeers([{ id: 'r1', address: a.address }, { id: 'r2', address: `127.0.0.1:${port}` }]);
      a.transport.send([hb('r1', 'r2', 1)]);
      await until('r2 is reported unreachable', () => a.host.unreachable.includes('r2'));
      b = await startReplica('r2', { port });
      // In back-off: queued, not sent, until the clock moves.
      a.transport.send([hb('r1', 'r2', 2), app('r1', 'r2', 1)]);
      assert.equal(a.transport.status()[0]!.connected.control, false);
      await until('r2 has the heartbeat and the append sent after it started', () => b!.host.messages.length === 2, 15_000, () => clock.advance(250));
      assert.deepEqual(b.host.messages.map((m) => m.type).sort(), ['MsgApp', 'MsgHeartbeat']);
      assert.equal(b.host.messages.find((m) => m.type === 'MsgHeartbeat')!.commit, 2);
      assert.ok(a.transport.status()[0]!.connected.control);
    } finally {
      await a.stop();
      await b?.stop();
    }
  });

  test('a full queue drops what does not fit and says the peer is unreachable', async () => {
    const clock = new FakeClock(Date.now());
    const port = await freePort();
    const a = await startReplica('r1', { clock, tuning: { controlQueueMessages: 10, backoffInitialMs: 60_000, backoffMaxMs: 60_000 } });
    try {
      a.transport.setPeers([{ id: 'r2', address: `127.0.0.1:${port}` }]);
      a.transport.send([hb('r1', 'r2', 0)]);
      await until('r2 is reported unreachable', () => a.host.unreachable.length === 1);
      // Back-off for a minute of fake time: everything queues, and the queue is bounded.
      for (let i = 1; i <= 50; i++) a.transport.send([hb('r1', 'r2', i)]);
      assert.equal(a.transport.status()[0]!.queued.control, 10);
      assert.equal(a.host.unreachable.length, 1, 'the failure was reported; the drops while it lasts are not reported one by one');
    } finally {
      await a.stop();
    }
  });

  test('a snapshot body of several MiB streams through in bounded chunks and arrives intact', async () => {
    const body = randomBytes(24 * 1024 * 1024 + 12345);
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    let opened: SnapshotMeta | undefined;
    const snapshots: SnapshotSource = {
      async *open(meta) {
        opened = meta;
        // Uneven pieces, as a store would hand them out.
        for (let at = 0; at < body.length;) {
          const size = Math.min(body.length - at, [1, 200_000, 65_536, 3_000][at % 4]!);
          produced += size;
          maxAhead = Math.max(maxAhead, produced - consumed);
          yield body.subarray(at, at + size);
          at += size;
        }
      },
    };
    const [a, b] = await Promise.all([startReplica('r1', { snapshots }), startReplica('r2')]);
    try {
      connect(a, b);
      const hash = createHash('sha256');
      let chunks = 0;
      let biggest = 0;
      let got: Message | undefined;
      b.host.snapshotHandler = async (m, stream) => {
        got = m;
        for await (const chunk of stream) {
          hash.update(chunk);
          consumed += chunk.length;
          chunks++;
          biggest = Math.max(biggest, chunk.length);
          // A slow restore: the sender must wait, not buffer.
          if (chunks % 16 === 0) await new Promise((r) => setImmediate(r));
        }
      };
      const meta = { index: 4200, term: 7, confState: { voters: ['r1', 'r2'], learners: ['r3'] } };
      a.transport.send([message({ type: 'MsgSnap', from: 'r1', to: 'r2', term: 7, snapshot: { meta, data: '' } })]);
      await until('the sender hears how the snapshot went', () => a.host.snapshotStatus.length === 1, 60_000);
      assert.deepEqual(a.host.snapshotStatus, [['r2', true]]);
      assert.deepEqual(opened, meta);
      assert.equal(consumed, body.length);
      assert.equal(hash.digest('hex'), createHash('sha256').update(body).digest('hex'));
      assert.ok(biggest <= 64 * 1024, `chunks of at most 64 KiB: the biggest was ${biggest}`);
      assert.deepEqual(got?.snapshot, { meta, data: '' });
      assert.equal(got?.from, 'r1');
      assert.ok(maxAhead < 4 * 1024 * 1024, `the sender ran ${maxAhead} bytes ahead of the receiver`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('a snapshot the receiver cannot restore, or one to a peer that is down, is reported as failed', async () => {
    const snapshots: SnapshotSource = {
      async *open() {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024, i);
      },
    };
    const port = await freePort();
    const [a, b] = await Promise.all([startReplica('r1', { snapshots }), startReplica('r2')]);
    try {
      connect(a, b);
      b.host.snapshotHandler = async (_m, stream) => {
        for await (const chunk of stream) if (chunk[0] === 3) throw new Error('checksum mismatch');
      };
      const snap = (to: string) => message({ type: 'MsgSnap', from: 'r1', to, term: 3, snapshot: { meta: { index: 9, term: 3, confState: { voters: ['r1'], learners: [] } }, data: '' } });
      a.transport.send([snap('r2')]);
      await until('the refused snapshot is reported', () => a.host.snapshotStatus.length === 1);
      assert.deepEqual(a.host.snapshotStatus, [['r2', false]]);
      // And then the peer leaves: its replacement address has nobody listening.
      a.transport.setPeers([{ id: 'r2', address: b.address }, { id: 'r9', address: `127.0.0.1:${port}` }]);
      a.transport.send([snap('r9')]);
      await until('the snapshot to the absent peer is reported', () => a.host.snapshotStatus.length === 2);
      assert.deepEqual(a.host.snapshotStatus[1], ['r9', false]);
      assert.ok(a.host.unreachable.includes('r9'));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('who may call the Raft service', () => {
  let b: Replica;
  before(async () => {
    b = await startReplica('r2');
  });
  after(async () => {
    await b.stop();
  });

  const valid = (from: string): RaftBatch => ({ messages: [toWire(hb(from, 'r2', 1)).wire] });

  test('a caller with a node or an admin certificate is refused as FORBIDDEN, and one without any as UNAUTHENTICATED', async () => {
    const admin = await pki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
    const { keyPem, csrPem } = await createNodeKeyAndCsr('r1');
    const node = nodeChannelCredentials({ keyPem, certPem: await pki.signNodeCsr(csrPem, 'r1'), caPem: pki.caPem });
    const callers: [string, grpc.ChannelCredentials, grpc.status][] = [
      ['admin', clientCredentials({ server: b.address, ca: pki.caPem, cert: admin.certPem, key: admin.keyPem }), grpc.status.PERMISSION_DENIED],
      ['node', node, grpc.status.PERMISSION_DENIED],
      ['anonymous', joinChannelCredentials(pki.caPem), grpc.status.UNAUTHENTICATED],
    ];
    for (const [who, creds, code] of callers) {
      const client = rawClient(b.port, creds);
      try {
        const err = await sendRaw(client, [valid('r1')]);
        assert.equal(err?.code, code, `${who}: ${err?.details}`);
        assert.ok(err?.metadata.get(ERROR_CODE_METADATA_KEY).length, `${who}: refused by the handler, not the transport`);
        const snap = await new Promise<grpc.ServiceError | null>((resolve) => {
          const call = client.SendSnapshot((e) => resolve(e));
          call.on('error', () => undefined);
          call.end();
        });
        assert.equal(snap?.code, code, `${who} SendSnapshot: ${snap?.details}`);
      } finally {
        client.close();
      }
    }
    assert.equal(b.host.messages.length, 0);
  });

  test('a replica sending a message from another replica is refused as FORBIDDEN, and what it sent under that name is not stepped', async () => {
    const client = rawClient(b.port, await replicaCreds('r3', b.port));
    try {
      const err = await sendRaw(client, [valid('r1')]);
      assert.equal(err?.code, grpc.status.PERMISSION_DENIED);
      assert.match(err!.details, /replica "r3" may not send messages from "r1"/);
      assert.equal(b.host.messages.length, 0);
      // Its own name is fine.
      assert.equal(await sendRaw(client, [valid('r3')]), null);
      assert.deepEqual(b.host.messages.map((m) => m.from), ['r3']);
    } finally {
      client.close();
      b.host.messages.splice(0);
    }
  });

  test('a replica holding more open streams than it needs loses the oldest, so dead connections cannot pile up', async () => {
    const client = rawClient(b.port, await replicaCreds('r3', b.port));
    try {
      const ends: Promise<grpc.ServiceError | null>[] = [];
      const calls: grpc.ClientWritableStream<RaftBatch>[] = [];
      for (let i = 0; i < MAX_STREAMS_PER_REPLICA + 2; i++) {
        let accepted!: () => void;
        const open = new Promise<void>((resolve) => { accepted = resolve; });
        ends.push(new Promise((resolve) => {
          const call = client.Send((err) => { accepted(); resolve(err); });
          call.on('error', () => undefined);
          call.on('metadata', () => accepted());
          calls.push(call);
        }));
        await open;
      }
      const first = await Promise.all(ends.slice(0, 2));
      for (const err of first) {
        assert.equal(err?.code, grpc.status.UNAVAILABLE);
        assert.match(err!.details, /opened a newer stream/);
      }
      // The newest still carry messages.
      calls.at(-1)!.write({ messages: [toWire(hb('r3', 'r2', 42)).wire] });
      await until('the newest stream delivers', () => b.host.messages.some((m) => m.commit === 42));
      for (const c of calls.slice(2)) c.end();
      assert.deepEqual(await Promise.all(ends.slice(2)), Array(MAX_STREAMS_PER_REPLICA).fill(null));
    } finally {
      client.close();
      b.host.messages.splice(0);
    }
  });

  test('a forwarded MsgTransferLeader may name another replica as its from: the transferee, not the sender', async () => {
    const client = rawClient(b.port, await replicaCreds('r3', b.port));
    try {
      const transfer = toWire(message({ type: 'MsgTransferLeader', from: 'r1', to: 'r2', term: 4 })).wire;
      assert.equal(await sendRaw(client, [{ messages: [transfer] }]), null);
      assert.deepEqual(b.host.messages.map((m) => [m.type, m.from]), [['MsgTransferLeader', 'r1']]);
    } finally {
      client.close();
      b.host.messages.splice(0);
    }
  });

  test('malformed messages are dropped one by one while the good ones around them are stepped', async () => {
    const client = rawClient(b.port, await replicaCreds('r3', b.port));
    const good = (n: number): RaftMessage => toWire(hb('r3', 'r2', n)).wire;
    try {
      const err = await sendRaw(client, [
        { messages: [good(1), { ...good(99), type: 'RAFT_MSG_HUP' }, { ...good(99), to: 'Not_A_Name' }, good(2)] },
        { messages: [{ ...good(99), term: '9007199254740993' }, { ...good(99), context: Buffer.from([0xff]) }, good(3)] },
        { messages: [{ ...good(99), to: 'r7' }, { ...good(99), entries: [{ term: 1, index: 1 }] }, good(4)] },
      ]);
      assert.equal(err, null);
      assert.deepEqual(b.host.messages.map((m) => m.commit), [1, 2, 3, 4]);
    } finally {
      client.close();
      b.host.messages.splice(0);
    }
  });

  test('random batches from a replica never stop the service: a good message after them is always stepped', async () => {
    const client = rawClient(b.port, await replicaCreds('r3', b.port));
    const num = fc.oneof(fc.nat(), fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant('18446744073709551615'));
    const name = fc.oneof(fc.constant('r3'), fc.constant('r2'), fc.string({ maxLength: 70 }));
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)));
    const entry = fc.record({ term: num, index: num, type: fc.integer({ min: 0, max: 3 }), data: bytes }, { requiredKeys: [] });
    const rawMessage = fc.record({
      type: fc.integer({ min: 0, max: 25 }), from: name, to: name, term: num, logTerm: num, index: num, commit: num, rejectHint: num,
      reject: fc.boolean(), context: bytes, entries: fc.array(entry, { maxLength: 4 }),
      snapshot: fc.option(fc.record({ index: num, term: num, confState: fc.record({ voters: fc.array(name, { maxLength: 3 }), learners: fc.array(name, { maxLength: 3 }) }) })),
    }, { requiredKeys: [] });
    let sentinel = 0;
    try {
      await fc.assert(fc.asyncProperty(fc.array(fc.array(rawMessage, { maxLength: 8 }), { minLength: 1, maxLength: 4 }), async (batches) => {
        sentinel++;
        b.host.messages.splice(0);
        const err = await sendRaw(client, [...batches.map((messages) => ({ messages: messages as RaftMessage[] })), { messages: [toWire(hb('r3', 'r2', sentinel)).wire] }]);
        // A `from` naming another replica ends the call (FORBIDDEN); nothing else may.
        if (err) {
          assert.equal(err.code, grpc.status.PERMISSION_DENIED, err.details);
          return;
        }
        assert.ok(b.host.messages.some((m) => m.commit === sentinel && m.from === 'r3'), 'the good message after the batch was stepped');
        for (const m of b.host.messages) if (m.type !== 'MsgTransferLeader') assert.equal(m.from, 'r3');
      }), fuzzParams(60));
    } finally {
      client.close();
      b.host.messages.splice(0);
    }
  });
});

describe('closing the transport', () => {
  test('close() leaves no open handles: a process that used two transports exits by itself', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const script = `
      import * as grpc from '@grpc/grpc-js';
      import { ensureClusterPki } from ${JSON.stringify(path.join(here, '../pki/pki-ca.js'))};
      import { loadProto } from ${JSON.stringify(path.join(here, '../../proto/load.js'))};
      import { silentLogger } from ${JSON.stringify(path.join(here, '../../proto/util/log.js'))};
      import { message } from ${JSON.stringify(path.join(here, 'raft-types.js'))};
      import { GrpcRaftTransport, raftServiceHandlers } from ${JSON.stringify(path.join(here, 'raft-transport-grpc.js'))};
      import { requireReplica } from ${JSON.stringify(path.join(here, '../pki/auth.js'))};
      const pki = await ensureClusterPki(process.argv[1], {});
      const got = { messages: 0, snapshots: 0, status: [] };
      const replicas = [];
      for (const id of ['r1', 'r2']) {
        const c = await pki.issueReplicaCert(id);
        const t = new GrpcRaftTransport({ id, tls: { caPem: pki.caPem, certPem: c.certPem, keyPem: c.keyPem }, authorize: requireReplica, logger: silentLogger() });
        t.start({
          onMessage: () => { got.messages++; },
          onSnapshot: async (_m, body) => { for await (const _ of body) void _; got.snapshots++; },
          onUnreachable: () => {},
          onSnapshotStatus: (_id, ok) => { got.status.push(ok); },
        }, { async *open() { yield Buffer.alloc(300000, 1); } });
        const server = new grpc.Server();
        server.addService(loadProto().bramble.v1.Raft.service, raftServiceHandlers(t));
        const port = await new Promise((res, rej) => server.bindAsync('127.0.0.1:0', pki.serverCredentials(), (e, p) => e ? rej(e) : res(p)));
        replicas.push({ id, t, server, address: '127.0.0.1:' + port });
      }
      for (const r of replicas) r.t.setPeers(replicas.map((x) => ({ id: x.id, address: x.address })));
      const [a] = replicas;
      for (let i = 0; i < 100; i++) a.t.send([message({ type: 'MsgHeartbeat', from: 'r1', to: 'r2', term: 1 }), message({ type: 'MsgApp', from: 'r1', to: 'r2', term: 1 })]);
      a.t.send([message({ type: 'MsgSnap', from: 'r1', to: 'r2', term: 1, snapshot: { meta: { index: 3, term: 1, confState: { voters: ['r1', 'r2'], learners: [] } }, data: '' } })]);
      const deadline = Date.now() + 20000;
      while ((got.messages < 200 || got.status.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      // A peer still dialing an address nobody listens on must not hold the process either.
      a.t.setPeers([...replicas.map((x) => ({ id: x.id, address: x.address })), { id: 'r9', address: '127.0.0.1:1' }]);
      a.t.send([message({ type: 'MsgHeartbeat', from: 'r1', to: 'r9', term: 1 })]);
      // A peer's stream that stays open (a replica that does not close): r2's close must end it.
      const c1 = await pki.issueReplicaCert('r1');
      const raw = new (loadProto().bramble.v1.Raft)(replicas[1].address, grpc.credentials.createSsl(Buffer.from(pki.caPem), Buffer.from(c1.keyPem), Buffer.from(c1.certPem), { checkServerIdentity: () => undefined }));
      let accepted;
      const rawAccepted = new Promise((res) => { accepted = res; });
      const rawEnded = new Promise((res) => {
        const call = raw.Send((e) => { accepted(); res(e ? e.code + ' ' + e.details : 'ok'); });
        call.on('error', () => {});
        call.on('metadata', () => accepted());
      });
      await rawAccepted;
      for (const r of replicas) await r.t.close();
      got.rawStream = await rawEnded;
      raw.close();
      // tryShutdown, not forceShutdown: it waits for every open call, so it proves the inbound streams ended.
      for (const r of replicas) await new Promise((res) => r.server.tryShutdown(res));
      process.stdout.write(JSON.stringify(got) + '\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, path.join(dir, 'exit-test')], { cwd: path.join(here, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exit = await new Promise<number | null | 'hung'>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 40_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(exit, 0, `the process ${exit === 'hung' ? 'did not exit within 40 s after closing' : `exited with ${exit}`}: ${out} ${err.slice(-2000)}`);
    // 14 is UNAVAILABLE: the closing replica ended the peer's stream itself.
    assert.deepEqual(JSON.parse(out.trim()), { messages: 200, snapshots: 1, status: [true], rawStream: '14 replica "r2" is shutting down its Raft transport' });
  });
});
