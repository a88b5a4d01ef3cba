// The other half of the board's resolver: every name outside the cluster goes to
// the board's own upstream resolvers (its /etc/resolv.conf), with a small cache.
// The agent runs in the board's network namespace, so a systemd-resolved stub
// (127.0.0.53) upstream works here even though a Pod could not reach it.
// Upstream queries get a fresh random id and EDNS (so large answers come over UDP
// once and are cached whole); the server sets the client's id back.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Question } from 'dns-packet';
import type { Clock } from '../proto/util/clock.js';
import type { DnsQuestion } from './dns-records.js';

export interface Upstream {
  address: string;
  port: number;
}

/** Sends one query to one upstream and resolves with its raw answer; rejects on timeout or error. */
export interface DnsTransport {
  udp(upstream: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer>;
  tcp(upstream: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer>;
}

export interface ForwardResult {
  rcode: number;
  /** Header flags of the upstream answer that the client should see (AD, RA). */
  flags: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  fromCache: boolean;
}

export interface DnsForwarderOptions {
  upstreams: readonly Upstream[];
  clock: Clock;
  transport?: DnsTransport;
  /** Per attempt. */
  timeoutMs?: number;
  /** Cached answers, least recently used evicted first. */
  maxCacheEntries?: number;
  /** A positive answer is kept for its smallest TTL, at most this. */
  maxTtlSeconds?: number;
  /** NXDOMAIN and NODATA are kept for their SOA minimum, at most this. */
  negativeTtlSeconds?: number;
}

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Upstream answers are asked for at this EDNS size: the DNS flag day 2020 value, safe from fragmentation. */
const UPSTREAM_EDNS_SIZE = 1232;
const PASSED_FLAGS = dnsPacket.AUTHENTIC_DATA;

/**
 * The nameservers of a resolv.conf text, in order. `exclude` holds addresses that
 * would be ourselves (the resolver's listen address, the cluster DNS Service IP):
 * forwarding to them would loop.
 */
export function parseResolvConfNameservers(text: string, exclude: readonly string[] = [], port = 53): Upstream[] {
  const out: Upstream[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (fields[0] !== 'nameserver' || fields.length < 2) continue;
    // An IPv6 address may carry a zone (fe80::1%eth0); keep it, Node accepts it.
    const address = fields[1]!;
    if (isIP(address.split('%')[0]!) === 0 || exclude.includes(address)) continue;
    if (out.some((u) => u.address === address)) continue;
    out.push({ address, port });
  }
  return out;
}

function ttlOf(a: Answer): number {
  return a.type === 'OPT' ? 0 : (a.ttl ?? 0);
}

interface CacheEntry {
  storedAt: number;
  expiresAt: number;
  rcode: number;
  flags: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

export interface ForwarderMetrics {
  cacheHits: number;
  cacheMisses: number;
  cacheEntries: number;
  upstreamQueries: number;
  upstreamFailures: number;
  tcpRetries: number;
}

export class DnsForwarder {
  private readonly upstreams: Upstream[];
  private readonly clock: Clock;
  private readonly transport: DnsTransport;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly maxTtl: number;
  private readonly negativeTtl: number;
  private readonly cache = new Map<string, CacheEntry>();
  /** Identical questions in flight share one upstream exchange. */
  private readonly inflight = new Map<string, Promise<ForwardResult>>();
  private readonly counters = { cacheHits: 0, cacheMisses: 0, upstreamQueries: 0, upstreamFailures: 0, tcpRetries: 0 };

  constructor(opts: DnsForwarderOptions) {
    this.upstreams = [...opts.upstreams];
    this.clock = opts.clock;
    this.transport = opts.transport ?? createSocketTransport(opts.clock);
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxEntries = opts.maxCacheEntries ?? 1000;
    this.maxTtl = opts.maxTtlSeconds ?? 300;
    this.negativeTtl = opts.negativeTtlSeconds ?? 30;
  }

  get upstreamList(): readonly Upstream[] {
    return this.upstreams;
  }

  metrics(): ForwarderMetrics {
    return { ...this.counters, cacheEntries: this.cache.size };
  }

  /** The answer for one question: from the cache, or from the first upstream that answers; SERVFAIL when none does. */
  async resolve(question: DnsQuestion, opts: { tcp?: boolean; recursionDesired?: boolean; checkingDisabled?: boolean } = {}): Promise<ForwardResult> {
    const key = `${question.name.toLowerCase().replace(/\.$/, '')}|${question.type}|${question.class ?? 'IN'}${opts.checkingDisabled ? '|cd' : ''}`;
    const cached = this.fromCache(key);
    if (cached) {
      this.counters.cacheHits++;
      return cached;
    }
    this.counters.cacheMisses++;
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.exchange(question, opts).then((r) => {
      this.store(key, r);
      return r;
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private fromCache(key: string): ForwardResult | undefined {
    const e = this.cache.get(key);
    if (!e) return undefined;
    const now = this.clock.now();
    if (now >= e.expiresAt) {
      this.cache.delete(key);
      return undefined;
    }
    // Most recently used last: Map keeps insertion order, so the first key is the eviction victim.
    this.cache.delete(key);
    this.cache.set(key, e);
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    const age = (rrs: Answer[]): Answer[] => rrs.map((rr) => (rr.type === 'OPT' ? rr : { ...rr, ttl: Math.max(0, ttlOf(rr) - elapsed) }) as Answer);
    return { rcode: e.rcode, flags: e.flags, answers: age(e.answers), authorities: age(e.authorities), additionals: age(e.additionals), fromCache: true };
  }

  private store(key: string, r: ForwardResult): void {
    const ttl = this.cacheTtl(r);
    if (ttl <= 0) return;
    const now = this.clock.now();
    this.cache.delete(key);
    this.cache.set(key, { storedAt: now, expiresAt: now + ttl * 1000, rcode: r.rcode, flags: r.flags, answers: r.answers, authorities: r.authorities, additionals: r.additionals });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Seconds to keep an answer: its smallest TTL (RFC 2181), the SOA minimum for a denial (RFC 2308), capped. */
  private cacheTtl(r: ForwardResult): number {
    if (r.rcode !== RCODE.NOERROR && r.rcode !== RCODE.NXDOMAIN) return 0;
    if (r.rcode === RCODE.NOERROR && r.answers.length > 0) {
      return Math.min(this.maxTtl, ...r.answers.map(ttlOf));
    }
    const soa = r.authorities.find((a) => a.type === 'SOA');
    if (!soa || soa.type !== 'SOA') return Math.min(this.negativeTtl, 5);
    return Math.min(this.negativeTtl, soa.ttl ?? 0, soa.data.minimum ?? 0);
  }

  private async exchange(question: DnsQuestion, opts: { tcp?: boolean; recursionDesired?: boolean; checkingDisabled?: boolean }): Promise<ForwardResult> {
    for (const upstream of this.upstreams) {
      const id = randomInt(0, 65536);
      const query = dnsPacket.encode({
        type: 'query',
        id,
        flags: (opts.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED) | (opts.checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
        questions: [question as Question],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UPSTREAM_EDNS_SIZE, flags: 0, options: [] } as unknown as Answer],
      });
      try {
        this.counters.upstreamQueries++;
        let reply = await this.ask(upstream, query, id, question, opts.tcp === true);
        if (reply.flag_tc && !opts.tcp) {
          this.counters.tcpRetries++;
          reply = await this.ask(upstream, query, id, question, true);
        }
        const rcode = reply.flags! & 0xf;
        // SERVFAIL and REFUSED from one upstream: the next may do better (as glibc does).
        if ((rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) && upstream !== this.upstreams[this.upstreams.length - 1]) continue;
        return {
          rcode,
          flags: (reply.flags ?? 0) & PASSED_FLAGS,
          answers: reply.answers ?? [],
          authorities: reply.authorities ?? [],
          additionals: (reply.additionals ?? []).filter((a) => a.type !== 'OPT'),
          fromCache: false,
        };
      } catch {
        this.counters.upstreamFailures++;
      }
    }
    return { rcode: RCODE.SERVFAIL, flags: 0, answers: [], authorities: [], additionals: [], fromCache: false };
  }

  private async ask(upstream: Upstream, query: Buffer, id: number, question: DnsQuestion, tcp: boolean): Promise<DecodedPacket> {
    const raw = tcp ? await this.transport.tcp(upstream, query, this.timeoutMs) : await this.transport.udp(upstream, query, this.timeoutMs);
    const reply = dnsPacket.decode(raw);
    // An answer to something else (a late or spoofed packet) is not this answer.
    const q = reply.questions?.[0];
    if (reply.id !== id || !reply.flag_qr || !q || q.name.toLowerCase() !== question.name.toLowerCase().replace(/\.$/, '') || q.type !== question.type) {
      throw new Error('upstream answer must match the query id and question');
    }
    return reply;
  }
}

/** Real sockets: one UDP socket per query (a fresh source port each time), TCP with the 2-byte length prefix. */
export function createSocketTransport(clock: Clock): DnsTransport {
  return {
    udp(upstream, query, timeoutMs) {
      return new Promise<Buffer>((resolve, reject) => {
        const socket = dgram.createSocket(isIP(upstream.address.split('%')[0]!) === 6 ? 'udp6' : 'udp4');
        let done = false;
        const finish = (err: Error | undefined, msg?: Buffer): void => {
          if (done) return;
          done = true;
          timer.cancel();
          socket.close();
          if (err) reject(err);
          else resolve(msg!);
        };
        const timer = clock.setTimeout(() => finish(new Error(`upstream ${upstream.address}:${upstream.port} must answer within ${timeoutMs} ms`)), timeoutMs);
        socket.on('error', (e) => finish(e));
        socket.on('message', (msg, rinfo) => {
          // Only the upstream asked may answer this socket.
          if (rinfo.port === upstream.port && rinfo.address === upstream.address.split('%')[0]) finish(undefined, msg);
        });
        socket.send(query, upstream.port, upstream.address, (e) => {
          if (e) finish(e);
        });
      });
    },
    tcp(upstream, query, timeoutMs) {
      return new Promise<Buffer>((resolve, reject) => {
        const socket = net.connect({ host: upstream.address, port: upstream.port });
        let buf = Buffer.alloc(0);
        let done = false;
        const finish = (err: Error | undefined, msg?: Buffer): void => {
          if (done) return;
          done = true;
          timer.cancel();
          socket.destroy();
          if (err) reject(err);
          else resolve(msg!);
        };
        const timer = clock.setTimeout(() => finish(new Error(`upstream ${upstream.address}:${upstream.port} must answer over TCP within ${timeoutMs} ms`)), timeoutMs);
        socket.on('error', (e) => finish(e));
        socket.on('close', () => finish(new Error(`upstream ${upstream.address}:${upstream.port} closed the TCP connection before answering`)));
        socket.on('connect', () => {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(query.length);
          socket.write(Buffer.concat([len, query]));
        });
        socket.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
        });
      });
    },
  };
}
