import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import { FakeClock } from '../proto/util/clock.js';
import { DnsForwarder, parseResolvConfNameservers, RCODE, type DnsTransport, type Upstream } from './dns-forwarder.js';

type Reply = { rcode?: number; answers?: Answer[]; authorities?: Answer[]; tc?: boolean; id?: number } | Error;

/** A scripted upstream: records every query and answers through `reply`. */
function fakeTransport(reply: (u: Upstream, q: DecodedPacket, via: 'udp' | 'tcp') => Reply) {
  const calls: { upstream: string; via: 'udp' | 'tcp'; name: string; type: string; rd: boolean; edns: boolean }[] = [];
  const answer = async (u: Upstream, raw: Buffer, via: 'udp' | 'tcp'): Promise<Buffer> => {
    const q = dnsPacket.decode(raw);
    calls.push({ upstream: u.address, via, name: q.questions![0]!.name, type: q.questions![0]!.type, rd: q.flag_rd, edns: (q.additionals ?? []).some((a) => a.type === 'OPT') });
    const r = reply(u, q, via);
    if (r instanceof Error) throw r;
    return dnsPacket.encode({
      type: 'response', id: r.id ?? q.id, flags: (r.rcode ?? 0) | (r.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions, answers: r.answers ?? [], authorities: r.authorities ?? [],
    });
  };
  const transport: DnsTransport = { udp: (u, raw) => answer(u, raw, 'udp'), tcp: (u, raw) => answer(u, raw, 'tcp') };
  return { transport, calls };
}

const a = (name: string, ip: string, ttl = 60): Answer => ({ type: 'A', name, ttl, class: 'IN', data: ip });
const soa = (minimum: number, ttl = 3600): Answer => ({ type: 'SOA', name: 'example.com', ttl, class: 'IN', data: { mname: 'ns1.example.com', rname: 'root.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } });
const UP1: Upstream = { address: '192.168.1.1', port: 53 };
const UP2: Upstream = { address: '1.1.1.1', port: 53 };
const q = (name: string, type = 'A') => ({ name, type, class: 'IN' });

describe('parseResolvConfNameservers', () => {
  test("takes the board's nameservers in order, never our own address, no duplicates and nothing that is not an IP", () => {
    const text = '# dhcp\nnameserver 192.168.1.1\nnameserver 10.42.0.1\nnameserver 192.168.1.1\nnameserver dns.home\nnameserver 127.0.0.53 # stub\nsearch lan\n';
    assert.deepEqual(parseResolvConfNameservers(text, ['10.42.0.1']), [{ address: '192.168.1.1', port: 53 }, { address: '127.0.0.53', port: 53 }]);
    assert.deepEqual(parseResolvConfNameservers('search lan\n'), []);
  });
});

describe('DnsForwarder', () => {
  test('forwards a question to the first upstream with recursion desired and EDNS, and returns its answer', async () => {
    const { transport, calls } = fakeTransport(() => ({ answers: [a('example.com', '93.184.215.14')] }));
    const f = new DnsForwarder({ upstreams: [UP1, UP2], clock: new FakeClock(), transport });
    const r = await f.resolve(q('example.com'));
    assert.equal(r.rcode, RCODE.NOERROR);
    assert.deepEqual(r.answers.map((x) => (x as { data: unknown }).data), ['93.184.215.14']);
    assert.equal(r.fromCache, false);
    assert.deepEqual(calls, [{ upstream: '192.168.1.1', via: 'udp', name: 'example.com', type: 'A', rd: true, edns: true }]);
  });

  test('a second query is a cache hit with the TTL counted down, and a different type or name is not', async () => {
    const clock = new FakeClock();
    const { transport, calls } = fakeTransport((_u, pq) => ({ answers: [a(pq.questions![0]!.name, '10.0.0.1', 60)] }));
    const f = new DnsForwarder({ upstreams: [UP1], clock, transport });
    await f.resolve(q('example.com'));
    await clock.advance(3_000);
    const hit = await f.resolve(q('EXAMPLE.com.'));
    assert.equal(hit.fromCache, true);
    assert.equal((hit.answers[0] as { ttl: number }).ttl, 57);
    await f.resolve(q('example.com', 'AAAA'));
    await f.resolve(q('example.org'));
    assert.equal(calls.length, 3);
    assert.deepEqual([f.metrics().cacheHits, f.metrics().cacheMisses, f.metrics().cacheEntries], [1, 3, 3]);
  });

  test('a cached answer expires after its smallest TTL, capped by maxTtlSeconds', async () => {
    const clock = new FakeClock();
    const { transport, calls } = fakeTransport(() => ({ answers: [a('x.example', '10.0.0.1', 30), a('x.example', '10.0.0.2', 10)] }));
    const f = new DnsForwarder({ upstreams: [UP1], clock, transport });
    await f.resolve(q('x.example'));
    await clock.advance(9_999);
    await f.resolve(q('x.example'));
    assert.equal(calls.length, 1, 'still cached before the 10 s TTL');
    await clock.advance(1);
    await f.resolve(q('x.example'));
    assert.equal(calls.length, 2, 'asked again once the smallest TTL passed');

    const capped = new DnsForwarder({ upstreams: [UP1], clock, transport: fakeTransport(() => ({ answers: [a('y.example', '10.0.0.3', 86400)] })).transport, maxTtlSeconds: 60 });
    await capped.resolve(q('y.example'));
    await clock.advance(60_000);
    assert.equal((await capped.resolve(q('y.example'))).fromCache, false);
  });

  test('NXDOMAIN is cached for the SOA minimum at most negativeTtlSeconds; SERVFAIL and a zero TTL are not cached', async () => {
    const clock = new FakeClock();
    let rcode: number = RCODE.NXDOMAIN;
    const { transport, calls } = fakeTransport(() => (rcode === RCODE.NXDOMAIN ? { rcode, authorities: [soa(600)] } : rcode === -1 ? { answers: [a('z.example', '1.2.3.4', 0)] } : { rcode }));
    const f = new DnsForwarder({ upstreams: [UP1], clock, transport, negativeTtlSeconds: 30 });
    assert.equal((await f.resolve(q('gone.example'))).rcode, RCODE.NXDOMAIN);
    await clock.advance(29_000);
    assert.equal((await f.resolve(q('gone.example'))).fromCache, true);
    await clock.advance(1_000);
    assert.equal((await f.resolve(q('gone.example'))).fromCache, false);
    rcode = RCODE.SERVFAIL;
    await f.resolve(q('broken.example'));
    await f.resolve(q('broken.example'));
    rcode = -1;
    await f.resolve(q('z.example'));
    await f.resolve(q('z.example'));
    assert.equal(calls.length, 6);
  });

  test('the cache holds at most maxCacheEntries, evicting the least recently used', async () => {
    const clock = new FakeClock();
    const { transport, calls } = fakeTransport((_u, pq) => ({ answers: [a(pq.questions![0]!.name, '10.0.0.1')] }));
    const f = new DnsForwarder({ upstreams: [UP1], clock, transport, maxCacheEntries: 2 });
    await f.resolve(q('a.example'));
    await f.resolve(q('b.example'));
    await f.resolve(q('a.example')); // a is now the most recently used
    await f.resolve(q('c.example')); // evicts b
    assert.equal(f.metrics().cacheEntries, 2);
    assert.equal((await f.resolve(q('a.example'))).fromCache, true);
    assert.equal((await f.resolve(q('b.example'))).fromCache, false);
    assert.deepEqual(calls.map((c) => c.name), ['a.example', 'b.example', 'c.example', 'b.example']);
  });

  test('an upstream that fails or times out is skipped for the next one', async () => {
    const { transport, calls } = fakeTransport((u) => (u === UP1 ? new Error('upstream 192.168.1.1:53 must answer within 2000 ms') : { answers: [a('example.com', '10.9.9.9')] }));
    const f = new DnsForwarder({ upstreams: [UP1, UP2], clock: new FakeClock(), transport });
    const r = await f.resolve(q('example.com'));
    assert.deepEqual(r.answers.map((x) => (x as { data: unknown }).data), ['10.9.9.9']);
    assert.deepEqual(calls.map((c) => c.upstream), ['192.168.1.1', '1.1.1.1']);
    assert.equal(f.metrics().upstreamFailures, 1);
  });

  test('SERVFAIL from one upstream tries the next; from the last one it is the answer', async () => {
    const { transport, calls } = fakeTransport(() => ({ rcode: RCODE.SERVFAIL }));
    const f = new DnsForwarder({ upstreams: [UP1, UP2], clock: new FakeClock(), transport });
    assert.equal((await f.resolve(q('example.com'))).rcode, RCODE.SERVFAIL);
    assert.equal(calls.length, 2);
  });

  test('all upstreams failing, or none configured, is SERVFAIL', async () => {
    const failing = new DnsForwarder({ upstreams: [UP1], clock: new FakeClock(), transport: fakeTransport(() => new Error('ECONNREFUSED')).transport });
    assert.equal((await failing.resolve(q('example.com'))).rcode, RCODE.SERVFAIL);
    const none = new DnsForwarder({ upstreams: [], clock: new FakeClock(), transport: fakeTransport(() => ({})).transport });
    assert.equal((await none.resolve(q('example.com'))).rcode, RCODE.SERVFAIL);
  });

  test('a truncated UDP answer is asked again over TCP, and a client on TCP is forwarded over TCP', async () => {
    const { transport, calls } = fakeTransport((_u, _q, via) => (via === 'udp' ? { tc: true } : { answers: [a('big.example', '10.1.1.1')] }));
    const f = new DnsForwarder({ upstreams: [UP1], clock: new FakeClock(), transport });
    assert.equal((await f.resolve(q('big.example'))).answers.length, 1);
    assert.deepEqual(calls.map((c) => c.via), ['udp', 'tcp']);
    await f.resolve(q('other.example'), { tcp: true });
    assert.deepEqual(calls.map((c) => c.via), ['udp', 'tcp', 'tcp']);
    assert.equal(f.metrics().tcpRetries, 1);
  });

  test('an answer with another id is not taken (a late or spoofed packet)', async () => {
    const { transport } = fakeTransport((_u, pq) => ({ id: (pq.id! + 1) % 65536, answers: [a('example.com', '6.6.6.6')] }));
    const f = new DnsForwarder({ upstreams: [UP1], clock: new FakeClock(), transport });
    assert.equal((await f.resolve(q('example.com'))).rcode, RCODE.SERVFAIL);
  });

  test('identical questions in flight share one upstream exchange', async () => {
    const { transport, calls } = fakeTransport(() => ({ answers: [a('example.com', '10.0.0.1')] }));
    const f = new DnsForwarder({ upstreams: [UP1], clock: new FakeClock(), transport });
    const rs = await Promise.all([f.resolve(q('example.com')), f.resolve(q('example.com')), f.resolve(q('example.com'))]);
    assert.equal(calls.length, 1);
    assert.ok(rs.every((r) => r.answers.length === 1));
  });
});
