// The resolver on real sockets on 127.0.0.1 (ports the kernel picks, so runs in
// parallel never collide): UDP and TCP framing, forwarding to a real upstream
// (with UDP truncation and a silent upstream), connection bounds, idle timeouts,
// and fuzzing with fast-check. Waits are polls with a deadline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import fc from 'fast-check';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import { realClock } from '../proto/util/clock.js';
import type { Endpoints, Service } from '../proto/model.js';
import { ClusterDnsView } from './dns-records.js';
import { DnsForwarder } from './dns-forwarder.js';
import { DnsServer } from './dns-server.js';

type Decoded = DecodedPacket & { rcode: string };

async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 5_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} must happen within ${deadlineMs} ms: it did not`);
    await new Promise((r) => setImmediate(r));
  }
}

function query(name: string, type = 'A', id = 1234, extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }], ...extra });
}

/** One UDP exchange from a fresh socket; rejects when no answer comes within the deadline. */
function udpAsk(port: number, msg: Buffer, deadlineMs = 3_000): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`an answer must come within ${deadlineMs} ms`));
    }, deadlineMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m) as Decoded);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

function udpSend(port: number, msg: Buffer, socket: dgram.Socket): Promise<void> {
  return new Promise((resolve, reject) => socket.send(msg, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
}

/** A TCP client that collects length-prefixed answers. */
async function tcpClient(port: number) {
  const c = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => c.once('connect', resolve).once('error', reject));
  const answers: Decoded[] = [];
  let buf = Buffer.alloc(0);
  let closed = false;
  c.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      answers.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Decoded);
      buf = buf.subarray(2 + buf.readUInt16BE(0));
    }
  });
  c.on('error', () => undefined);
  c.on('close', () => {
    closed = true;
  });
  const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);
  return { socket: c, answers, frame, isClosed: () => closed, close: () => c.destroy() };
}

function clusterView(): ClusterDnsView {
  const v = new ClusterDnsView();
  v.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.43.0.10', ports: [{ name: 'http', port: 80 }] } } satisfies Service);
  v.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'many', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } } satisfies Service);
  v.upsertEndpoints({
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'many', namespace: 'default' },
    subsets: [{ addresses: Array.from({ length: 100 }, (_, i) => ({ ip: `10.42.0.${i + 1}` })), ports: [{ port: 80 }] }],
  } satisfies Endpoints);
  return v;
}

/** A real upstream on 127.0.0.1: answers every A with 93.184.215.14, truncates "big.example" over UDP. */
async function startUpstream() {
  const seen: { via: 'udp' | 'tcp'; name: string }[] = [];
  const reply = (raw: Buffer, via: 'udp' | 'tcp'): Buffer => {
    const q = dnsPacket.decode(raw);
    const name = q.questions![0]!.name;
    seen.push({ via, name });
    const truncate = via === 'udp' && name === 'big.example';
    const answers: Answer[] = truncate ? [] : [{ type: 'A', name, ttl: 120, class: 'IN', data: '93.184.215.14' }];
    return dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | (truncate ? dnsPacket.TRUNCATED_RESPONSE : 0), questions: q.questions, answers });
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => udp.send(reply(m, 'udp'), r.port, r.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  const tcp = net.createServer((c) => {
    c.on('data', (d: Buffer) => {
      const out = reply(d.subarray(2, 2 + d.readUInt16BE(0)), 'tcp');
      c.end(Buffer.concat([Buffer.from([out.length >> 8, out.length & 255]), out]));
    });
  });
  await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return { port, seen, close: async () => { udp.close(); await new Promise((r) => tcp.close(r)); } };
}

describe('DnsServer on real sockets', () => {
  let server: DnsServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let silent: dgram.Socket;

  before(async () => {
    upstream = await startUpstream();
    // An upstream that never answers: the forwarder must time out on it and go on to the next.
    silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const forwarder = new DnsForwarder({
      upstreams: [{ address: '127.0.0.1', port: silent.address().port }, { address: '127.0.0.1', port: upstream.port }],
      clock: realClock,
      timeoutMs: 300,
    });
    server = new DnsServer({ address: '127.0.0.1', port: 0, view: clusterView(), forwarder, clock: realClock, maxTcpConnections: 4, tcpIdleTimeoutMs: 500 });
    await server.start();
  });

  after(async () => {
    await server?.stop();
    await upstream?.close();
    silent?.close();
  });

  test('it listens on the given address and a high port, UDP and TCP alike', () => {
    assert.equal(server.address, '127.0.0.1');
    assert.ok(server.port > 1024);
  });

  test('a cluster name is answered over UDP', async () => {
    const r = await udpAsk(server.port, query('web.default.svc.cluster.local'));
    assert.deepEqual([r.id, r.rcode, r.flag_aa], [1234, 'NOERROR', true]);
    assert.deepEqual(r.answers!.map((a) => (a as { data: unknown }).data), ['10.43.0.10']);
  });

  test('over TCP, queries pipelined in one write and a query split over two writes are all answered', async () => {
    const c = await tcpClient(server.port);
    try {
      c.socket.write(Buffer.concat([c.frame(query('web.default.svc.cluster.local', 'A', 1)), c.frame(query('_http._tcp.web.default.svc.cluster.local', 'SRV', 2))]));
      const third = c.frame(query('many.default.svc.cluster.local', 'A', 3));
      c.socket.write(third.subarray(0, 5));
      await until('two answers', () => c.answers.length === 2);
      c.socket.write(third.subarray(5));
      await until('three answers', () => c.answers.length === 3);
      assert.deepEqual(c.answers.map((a) => a.id).sort(), [1, 2, 3]);
      const many = c.answers.find((a) => a.id === 3)!;
      assert.deepEqual([many.flag_tc, many.answers!.length], [false, 100], 'TCP carries the whole answer');
    } finally {
      c.close();
    }
  });

  test('the same large answer over UDP is truncated to what fits, with TC so the client retries over TCP', async () => {
    const r = await udpAsk(server.port, query('many.default.svc.cluster.local'));
    assert.equal(r.flag_tc, true);
    assert.ok(r.answers!.length > 0 && r.answers!.length < 100, `${r.answers!.length} answers`);
  });

  test('other names go to the upstream past the one that does not answer, then come from the cache', async () => {
    const first = await udpAsk(server.port, query('example.com', 'A', 77));
    assert.deepEqual([first.id, first.rcode], [77, 'NOERROR']);
    assert.deepEqual(first.answers!.map((a) => (a as { data: unknown }).data), ['93.184.215.14']);
    const hitsBefore = server.metrics().cacheHits;
    const second = await udpAsk(server.port, query('example.com', 'A', 78));
    assert.equal(second.id, 78, 'the client id is restored on a cached answer');
    assert.equal(server.metrics().cacheHits, hitsBefore + 1);
    assert.equal(upstream.seen.filter((s) => s.name === 'example.com').length, 1);
  });

  test('an upstream answer truncated over UDP is fetched again over TCP', async () => {
    const r = await udpAsk(server.port, query('big.example'));
    assert.equal(r.answers!.length, 1);
    assert.deepEqual(upstream.seen.filter((s) => s.name === 'big.example').map((s) => s.via), ['udp', 'tcp']);
  });

  test('a message with QR set gets no answer', async () => {
    const s = dgram.createSocket('udp4');
    let answered = false;
    s.on('message', () => {
      answered = true;
    });
    try {
      const before = server.metrics().responsesDropped;
      await udpSend(server.port, dnsPacket.encode({ type: 'response', id: 5, questions: [{ name: 'web.default.svc.cluster.local', type: 'A' }] }), s);
      await until('the response to be dropped', () => server.metrics().responsesDropped === before + 1);
      // A query sent after it on the same socket is answered: had the first been answered, it would have come first.
      await udpSend(server.port, query('web.default.svc.cluster.local', 'A', 6), s);
      await until('the query after it to be answered', () => answered);
      assert.equal(server.metrics().responsesDropped, before + 1);
    } finally {
      s.close();
    }
  });

  test('TCP connections past the bound are closed at once, and an idle connection is closed after the timeout', async () => {
    const clients = await Promise.all([1, 2, 3, 4].map(() => tcpClient(server.port)));
    await until('four connections open', () => server.metrics().tcpConnectionsOpen === 4);
    const extra = await tcpClient(server.port);
    try {
      await until('the fifth connection to be closed', () => extra.isClosed());
      assert.ok(server.metrics().tcpConnectionsRejected >= 1);
      await until('idle connections to be closed', () => clients.every((c) => c.isClosed()));
      assert.equal(server.metrics().tcpConnectionsOpen, 0);
    } finally {
      for (const c of [...clients, extra]) c.close();
    }
  });

  test('a huge TCP length prefix with no body is held only until the idle timeout', async () => {
    const c = await tcpClient(server.port);
    try {
      c.socket.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
      await until('the connection to be closed', () => c.isClosed());
      assert.equal((await udpAsk(server.port, query('web.default.svc.cluster.local'))).rcode, 'NOERROR');
    } finally {
      c.close();
    }
  });

  test('a TCP frame shorter than a DNS header closes the connection', async () => {
    const c = await tcpClient(server.port);
    try {
      c.socket.write(Buffer.from([0, 3, 1, 2, 3]));
      await until('the connection to be closed', () => c.isClosed(), 2_000);
    } finally {
      c.close();
    }
  });

  test('fuzz: random datagrams, truncated queries and many-question queries never crash it', async () => {
    const s = dgram.createSocket('udp4');
    s.on('message', () => undefined);
    const counted = () => { const m = server.metrics(); return m.queries + m.malformed + m.responsesDropped; };
    let sent = 0;
    const start = counted();
    try {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 700 }), async (bytes) => {
        await udpSend(server.port, Buffer.from(bytes), s);
        sent++;
        // One at a time: a burst would overflow the socket's receive buffer, and a lost datagram proves nothing.
        await until('the datagram to be handled', () => counted() - start >= sent);
      }), { numRuns: 300 });
      const valid = query('_http._tcp.web.default.svc.cluster.local', 'SRV', 9, { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Answer] });
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat(), async (cut, byte, at) => {
        const truncated = valid.subarray(0, cut);
        await udpSend(server.port, truncated, s);
        const mutated = Buffer.from(valid);
        mutated[at % mutated.length] = byte;
        await udpSend(server.port, mutated, s);
        sent += 2;
        await until('both datagrams to be handled', () => counted() - start >= sent);
      }), { numRuns: 200 });
      await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 60 }), async (n) => {
        const many = dnsPacket.encode({ type: 'query', id: n, questions: Array.from({ length: n }, (_, i) => ({ name: `q${i}.example`, type: 'A' as const })) });
        assert.equal((await udpAsk(server.port, many)).rcode, 'FORMERR');
      }), { numRuns: 20 });
      const c = await tcpClient(server.port);
      try {
        await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 12, maxLength: 300 }), async (bytes) => {
          if (!c.isClosed()) c.socket.write(c.frame(Buffer.from(bytes)));
        }), { numRuns: 100 });
      } finally {
        c.close();
      }
      const r = await udpAsk(server.port, query('web.default.svc.cluster.local'));
      assert.equal(r.rcode, 'NOERROR', 'the server still answers after the fuzzing');
    } finally {
      s.close();
    }
  });
});

describe('DnsServer start and stop', () => {
  test('stop frees the port and a stopped server can be started again', async () => {
    const view = new ClusterDnsView();
    const first = new DnsServer({ address: '127.0.0.1', port: 0, view, clock: realClock });
    await first.start();
    const port = first.port;
    await first.stop();
    const again = new DnsServer({ address: '127.0.0.1', port, view, clock: realClock });
    try {
      await again.start();
      assert.equal(again.port, port);
      assert.equal((await udpAsk(port, query('nope.default.svc.cluster.local'))).rcode, 'NXDOMAIN');
    } finally {
      await again.stop();
    }
  });

  test('a port already taken is an error from start, not a crash', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
    try {
      const s = new DnsServer({ address: '127.0.0.1', port: holder.address().port, view: new ClusterDnsView(), clock: realClock });
      await assert.rejects(s.start(), /EADDRINUSE/);
    } finally {
      holder.close();
    }
  });
});
