// The server's message handling without sockets (handle()); the sockets
// themselves are in dns-server.int.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { FakeClock } from '../proto/util/clock.js';
import type { Endpoints, Service } from '../proto/model.js';
import { ClusterDnsView } from './dns-records.js';
import { DnsForwarder, RCODE, type DnsTransport } from './dns-forwarder.js';
import { DnsServer, isWildcardAddress } from './dns-server.js';

function clusterWith(endpointCount: number): ClusterDnsView {
  const v = new ClusterDnsView();
  v.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.43.0.10', ports: [{ port: 80 }] } } satisfies Service);
  v.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'many', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } } satisfies Service);
  v.upsertEndpoints({
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'many', namespace: 'default' },
    subsets: [{ addresses: Array.from({ length: endpointCount }, (_, i) => ({ ip: `10.42.${i >> 8}.${i & 255}` })), ports: [{ port: 80 }] }],
  } satisfies Endpoints);
  return v;
}

const upstream: DnsTransport = {
  async udp(_u, raw) {
    const q = dnsPacket.decode(raw);
    return dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 300, class: 'IN', data: '93.184.215.14' }] });
  },
  async tcp(u, raw, t) {
    return this.udp(u, raw, t);
  },
};

function server(opts: { forwarder?: boolean; endpoints?: number } = {}): DnsServer {
  const clock = new FakeClock();
  const forwarder = opts.forwarder === false ? undefined : new DnsForwarder({ upstreams: [{ address: '192.168.1.1', port: 53 }], clock, transport: upstream });
  return new DnsServer({ address: '127.0.0.1', port: 0, view: clusterWith(opts.endpoints ?? 3), forwarder, clock });
}

function query(name: string, type = 'A', extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }], ...extra });
}

const edns = (size: number): Partial<Packet> => ({ additionals: [{ type: 'OPT', name: '.', udpPayloadSize: size, flags: 0, options: [] } as unknown as Answer] });

async function ask(s: DnsServer, msg: Buffer, tcp = false) {
  const raw = await s.handle(msg, tcp);
  assert.ok(raw, 'the query must be answered');
  return { raw, packet: dnsPacket.decode(raw) as ReturnType<typeof dnsPacket.decode> & { rcode: string } };
}

describe('DnsServer message handling', () => {
  test('a cluster name is answered authoritatively with the query id, RD copied and RA set', async () => {
    const { packet } = await ask(server(), query('web.default.svc.cluster.local'));
    assert.equal(packet.id, 4242);
    assert.deepEqual([packet.flag_qr, packet.flag_aa, packet.flag_rd, packet.flag_ra, packet.rcode], [true, true, true, true, 'NOERROR']);
    assert.deepEqual(packet.answers!.map((x) => (x as { data: unknown }).data), ['10.43.0.10']);
  });

  test('an unknown cluster name is NXDOMAIN with the SOA', async () => {
    const { packet } = await ask(server(), query('nope.default.svc.cluster.local'));
    assert.equal(packet.rcode, 'NXDOMAIN');
    assert.equal(packet.authorities![0]!.type, 'SOA');
  });

  test('other names are forwarded, not authoritative, and the second time come from the cache', async () => {
    const s = server();
    const first = await ask(s, query('example.com'));
    assert.deepEqual([first.packet.flag_aa, first.packet.id, first.packet.answers!.length], [false, 4242, 1]);
    await ask(s, query('example.com'));
    assert.deepEqual([s.metrics().forwarded, s.metrics().cacheHits, s.metrics().cacheMisses], [2, 1, 1]);
  });

  test('without upstreams a forwarded name is SERVFAIL', async () => {
    const { packet } = await ask(server({ forwarder: false }), query('example.com'));
    assert.equal(packet.rcode, 'SERVFAIL');
  });

  test('a message with QR set is never answered', async () => {
    const s = server();
    const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'web.default.svc.cluster.local', type: 'A' }] });
    assert.equal(await s.handle(response, false), undefined);
    assert.equal(s.metrics().responsesDropped, 1);
  });

  test('bytes that are not a DNS message are dropped and counted', async () => {
    const s = server();
    for (const junk of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.concat([query('web.default.svc.cluster.local').subarray(0, 20)])]) {
      assert.equal(await s.handle(junk, false), undefined);
    }
    assert.equal(s.metrics().malformed, 3);
  });

  test('several questions in one query are FORMERR, no question too', async () => {
    const s = server();
    const two = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'a.example', type: 'A' }, { name: 'b.example', type: 'A' }] });
    assert.equal((await ask(s, two)).packet.rcode, 'FORMERR');
    const none = dnsPacket.encode({ type: 'query', id: 8, questions: [] });
    assert.equal((await ask(s, none)).packet.rcode, 'FORMERR');
  });

  test('an opcode other than QUERY is NOTIMP', async () => {
    const notify = query('web.default.svc.cluster.local');
    notify.writeUInt16BE(notify.readUInt16BE(2) | (4 << 11), 2);
    assert.equal((await ask(server(), notify)).packet.rcode, 'NOTIMP');
  });

  test('an answer over 512 bytes to a client without EDNS keeps the answers that fit, with TC set', async () => {
    const s = server({ endpoints: 60 });
    const { raw, packet } = await ask(s, query('many.default.svc.cluster.local'));
    assert.ok(raw.length <= 512, `size ${raw.length}`);
    assert.equal(packet.flag_tc, true);
    assert.ok(packet.answers!.length > 0 && packet.answers!.length < 60, `${packet.answers!.length} answers`);
    assert.equal(s.metrics().truncated, 1);
  });

  test('additional records that do not fit are left out without TC: the answers are whole', async () => {
    const v = clusterWith(3);
    // 5 headless endpoints: the SRV answers fit in 512 bytes, with their A records in the additional section they do not.
    v.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'h', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'p', port: 1 }] } });
    v.upsertEndpoints({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'h', namespace: 'default' }, subsets: [{ addresses: Array.from({ length: 5 }, (_, i) => ({ ip: `10.42.0.${i + 1}`, hostname: `h${i}` })), ports: [{ name: 'p', port: 1 }] }] });
    const clock = new FakeClock();
    const s = new DnsServer({ address: '127.0.0.1', port: 0, view: v, clock });
    const { raw, packet } = await ask(s, query('_p._tcp.h.default.svc.cluster.local', 'SRV'));
    const full = await ask(s, query('_p._tcp.h.default.svc.cluster.local', 'SRV'), true);
    assert.ok(full.raw.length > 512, `the whole answer must be over 512 bytes for this test: ${full.raw.length}`);
    assert.ok(raw.length <= 512);
    assert.deepEqual([packet.flag_tc, packet.answers!.length, packet.additionals!.length], [false, 5, 0]);
  });

  test("with EDNS the client's UDP size is honoured, up to 1232 bytes, and the answer carries an OPT", async () => {
    // dns-packet does not compress names: 15 A records of this name take about 700 bytes.
    const s = server({ endpoints: 15 });
    const { raw, packet } = await ask(s, query('many.default.svc.cluster.local', 'A', edns(4096)));
    assert.ok(raw.length > 512 && raw.length <= 1232, `size ${raw.length}`);
    assert.equal(packet.flag_tc, false);
    assert.equal(packet.answers!.length, 15);
    assert.equal((await ask(s, query('many.default.svc.cluster.local'))).packet.flag_tc, true, 'the same answer without EDNS is over 512 bytes');
    assert.ok(packet.additionals!.some((x) => x.type === 'OPT'));
    const big = await ask(server({ endpoints: 200 }), query('many.default.svc.cluster.local', 'A', edns(4096)));
    assert.equal(big.packet.flag_tc, true, 'past 1232 bytes even an EDNS client gets TC');
  });

  test('over TCP the whole answer is sent, however large', async () => {
    const { packet } = await ask(server({ endpoints: 200 }), query('many.default.svc.cluster.local'), true);
    assert.deepEqual([packet.flag_tc, packet.answers!.length], [false, 200]);
  });

  test('the forwarder result code reaches the client', async () => {
    const clock = new FakeClock();
    const nx: DnsTransport = {
      async udp(_u, raw) {
        const q = dnsPacket.decode(raw);
        return dnsPacket.encode({ type: 'response', id: q.id, flags: RCODE.NXDOMAIN, questions: q.questions });
      },
      async tcp() {
        throw new Error('unused');
      },
    };
    const s = new DnsServer({ address: '127.0.0.1', port: 0, view: new ClusterDnsView(), clock, forwarder: new DnsForwarder({ upstreams: [{ address: '192.168.1.1', port: 53 }], clock, transport: nx }) });
    assert.equal((await ask(s, query('gone.example'))).packet.rcode, 'NXDOMAIN');
  });
});

describe('DnsServer listen address', () => {
  test('a wildcard address is refused: the resolver must never be open on the LAN', () => {
    for (const address of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0']) {
      assert.ok(isWildcardAddress(address), address);
      assert.throws(() => new DnsServer({ address, view: new ClusterDnsView(), clock: new FakeClock() }), /never a wildcard/);
    }
    assert.throws(() => new DnsServer({ address: 'localhost', view: new ClusterDnsView(), clock: new FakeClock() }), /must be an IP address/);
    assert.equal(isWildcardAddress('10.42.0.1'), false);
  });

  test('a forwarder whose upstreams include our own address and port is refused: it would loop', () => {
    const clock = new FakeClock();
    const forwarder = new DnsForwarder({ upstreams: [{ address: '10.42.0.1', port: 53 }], clock, transport: upstream });
    assert.throws(() => new DnsServer({ address: '10.42.0.1', view: new ClusterDnsView(), clock, forwarder }), /must not include the resolver's own address/);
  });

  test('a port outside 0-65535 is refused', () => {
    assert.throws(() => new DnsServer({ address: '127.0.0.1', port: 70000, view: new ClusterDnsView(), clock: new FakeClock() }), /from 0 to 65535/);
  });
});
