// The board's DNS resolver for its Pods: UDP and TCP on one address (the board's
// bridge gateway, which only the board's Pods reach), cluster names answered from
// the ClusterDnsView, everything else through the DnsForwarder. It must never be
// an open resolver on the LAN, so it refuses wildcard addresses. Anything it
// cannot parse is dropped; a packet with QR set (a response, or a reflection
// attempt) is never answered.
import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import { BrambleError } from '../proto/util/errors.js';
import type { Clock, Timer } from '../proto/util/clock.js';
import type { ClusterDnsView, DnsQuestion } from './dns-records.js';
import { RCODE, type DnsForwarder } from './dns-forwarder.js';

export interface DnsServerOptions {
  /** The one address to listen on: the board's bridge gateway IP. Never a wildcard. */
  address: string;
  /** Default 53; 0 picks a free port (tests). */
  port?: number;
  /** The cluster's records (a ClusterDnsView fed from WatchNetwork). */
  view: Pick<ClusterDnsView, 'lookup'>;
  /** Names outside the cluster domain; without it they are SERVFAIL. */
  forwarder?: DnsForwarder;
  clock: Clock;
  /** TCP connections open at once; more are closed at once. Default 64. */
  maxTcpConnections?: number;
  /** A TCP connection that sends nothing this long is closed. Default 10 s (RFC 7766 suggests seconds). */
  tcpIdleTimeoutMs?: number;
  /** Queries waiting for an upstream at once; more are dropped (the client retries). Default 512. */
  maxPendingForwards?: number;
}

export interface DnsServerMetrics {
  queries: number;
  udpQueries: number;
  tcpQueries: number;
  clusterAnswers: number;
  forwarded: number;
  cacheHits: number;
  cacheMisses: number;
  nxdomain: number;
  servfail: number;
  truncated: number;
  malformed: number;
  /** Packets with QR set, not answered. */
  responsesDropped: number;
  /** Forwards dropped because maxPendingForwards were waiting. */
  overloadDropped: number;
  tcpConnectionsRejected: number;
  tcpConnectionsOpen: number;
}

/** RFC 1035's UDP limit for a client without EDNS. */
const PLAIN_UDP_SIZE = 512;
/** Largest UDP answer we send whatever the client's EDNS size (flag day 2020). */
const MAX_UDP_SIZE = 1232;
const OUR_EDNS_SIZE = 1232;
const MAX_TCP_PIPELINE = 32;

export function isWildcardAddress(address: string): boolean {
  const a = address.trim().toLowerCase();
  if (a === '' || a === '0.0.0.0' || a === '::' || a === '::0' || a === '[::]') return true;
  // Any spelling of the IPv6 unspecified address (0:0:…:0).
  return isIP(a) === 6 && /^[0:]+$/.test(a);
}

export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly connections = new Set<net.Socket>();
  private boundPort = 0;
  private pendingForwards = 0;
  private readonly counters: Omit<DnsServerMetrics, 'cacheHits' | 'cacheMisses' | 'tcpConnectionsOpen'> = {
    queries: 0, udpQueries: 0, tcpQueries: 0, clusterAnswers: 0, forwarded: 0, nxdomain: 0, servfail: 0,
    truncated: 0, malformed: 0, responsesDropped: 0, overloadDropped: 0, tcpConnectionsRejected: 0,
  };
  private readonly maxTcp: number;
  private readonly idleMs: number;
  private readonly maxPending: number;

  constructor(private readonly opts: DnsServerOptions) {
    if (isIP(opts.address) === 0) {
      throw new BrambleError('INVALID_ARGUMENT', `DNS listen address must be an IP address: current value is ${JSON.stringify(opts.address)}`);
    }
    if (isWildcardAddress(opts.address)) {
      throw new BrambleError('INVALID_ARGUMENT', `DNS listen address must be one address Pods reach, never a wildcard (it would be an open resolver on the LAN): current value is ${opts.address}`);
    }
    const port = opts.port ?? 53;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BrambleError('INVALID_ARGUMENT', `DNS port must be an integer from 0 to 65535: current value is ${port}`);
    if (opts.forwarder?.upstreamList.some((u) => u.address === opts.address && u.port === port)) {
      throw new BrambleError('INVALID_ARGUMENT', `DNS upstreams must not include the resolver's own address (it would forward to itself): current value is ${opts.address}:${port}`);
    }
    this.maxTcp = opts.maxTcpConnections ?? 64;
    this.idleMs = opts.tcpIdleTimeoutMs ?? 10_000;
    this.maxPending = opts.maxPendingForwards ?? 512;
  }

  /** The port listened on (the chosen one when the options said 0). */
  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return this.opts.address;
  }

  metrics(): DnsServerMetrics {
    const f = this.opts.forwarder?.metrics();
    return { ...this.counters, cacheHits: f?.cacheHits ?? 0, cacheMisses: f?.cacheMisses ?? 0, tcpConnectionsOpen: this.connections.size };
  }

  async start(): Promise<void> {
    if (this.udp) return;
    const wanted = this.opts.port ?? 53;
    // With port 0 the UDP socket picks a port and TCP must get the same one; another
    // process may hold it on TCP, so a few tries.
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(wanted);
      try {
        this.tcp = await this.listenTcp(udp.address().port);
        this.udp = udp;
        this.boundPort = udp.address().port;
        return;
      } catch (e) {
        await new Promise<void>((r) => udp.close(() => r()));
        if (wanted !== 0 || attempt >= 4) throw e;
      }
    }
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }

  private bindUdp(port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: isIP(this.opts.address) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
      socket.once('error', reject);
      socket.bind({ address: this.opts.address, port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', () => undefined); // a send to a vanished client: nothing to do
        socket.on('message', (msg, rinfo) => this.onUdp(socket, msg, rinfo));
        resolve(socket);
      });
    });
  }

  private listenTcp(port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((c) => this.onTcpConnection(c));
      server.once('error', reject);
      server.listen({ host: this.opts.address, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        resolve(server);
      });
    });
  }

  private onUdp(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    void this.handle(msg, false).then((reply) => {
      if (reply && this.udp === socket) socket.send(reply, rinfo.port, rinfo.address);
    });
  }

  private onTcpConnection(c: net.Socket): void {
    if (this.connections.size >= this.maxTcp) {
      this.counters.tcpConnectionsRejected++;
      c.destroy();
      return;
    }
    this.connections.add(c);
    let buf: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    let idle: Timer | undefined;
    const close = (): void => {
      idle?.cancel();
      this.connections.delete(c);
      c.destroy();
    };
    const arm = (): void => {
      idle?.cancel();
      idle = this.opts.clock.setTimeout(close, this.idleMs);
    };
    arm();
    c.on('error', close);
    c.on('close', close);
    c.on('data', (chunk: Buffer) => {
      arm();
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        // Shorter than a header: no DNS message, and the stream cannot be trusted after it.
        if (len < 12) {
          this.counters.malformed++;
          close();
          return;
        }
        // A huge prefix with no body just waits for the idle timeout; buf never grows past 2 + 65535.
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (inFlight >= MAX_TCP_PIPELINE) {
          close();
          return;
        }
        inFlight++;
        void this.handle(msg, true).then((reply) => {
          inFlight--;
          if (!reply || c.destroyed) return;
          const len2 = Buffer.alloc(2);
          len2.writeUInt16BE(reply.length);
          c.write(Buffer.concat([len2, reply]));
        });
      }
    });
  }

  /** One message in, one answer out (or none: dropped). Never throws. */
  async handle(msg: Buffer, viaTcp: boolean): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      this.counters.malformed++;
      return undefined;
    }
    if (query.flag_qr) {
      this.counters.responsesDropped++;
      return undefined;
    }
    this.counters.queries++;
    if (viaTcp) this.counters.tcpQueries++;
    else this.counters.udpQueries++;
    try {
      const reply = await this.answer(query, viaTcp);
      if (!reply) return undefined;
      return this.encode(query, reply, viaTcp);
    } catch {
      // A bug or an answer dns-packet cannot encode: the client gets SERVFAIL, the server lives on.
      this.counters.servfail++;
      try {
        return dnsPacket.encode(this.header(query, RCODE.SERVFAIL, 0, { questions: query.questions ?? [] }));
      } catch {
        return undefined;
      }
    }
  }

  private async answer(query: DecodedPacket, viaTcp: boolean): Promise<Packet | undefined> {
    const q = query.questions ?? [];
    const opcode = (query.flags ?? 0) >> 11 & 0xf;
    if (opcode !== 0) return this.header(query, RCODE.NOTIMP, 0, { questions: q });
    // Nobody implements several questions in one query (RFC 9619): FORMERR, as BIND and CoreDNS.
    if (q.length !== 1) return this.header(query, RCODE.FORMERR, 0, { questions: q });
    const question = q[0] as unknown as DnsQuestion;
    const cluster = this.opts.view.lookup(question);
    if (cluster.kind === 'answer') {
      this.counters.clusterAnswers++;
      const rcode = RCODE[cluster.rcode];
      if (rcode === RCODE.NXDOMAIN) this.counters.nxdomain++;
      return this.header(query, rcode, dnsPacket.AUTHORITATIVE_ANSWER, {
        questions: q, answers: cluster.answers, authorities: cluster.authorities, additionals: cluster.additionals,
      });
    }
    if (!this.opts.forwarder || this.opts.forwarder.upstreamList.length === 0) {
      this.counters.servfail++;
      return this.header(query, RCODE.SERVFAIL, 0, { questions: q });
    }
    if (this.pendingForwards >= this.maxPending) {
      this.counters.overloadDropped++;
      return undefined;
    }
    this.counters.forwarded++;
    this.pendingForwards++;
    try {
      const r = await this.opts.forwarder.resolve(question, {
        tcp: viaTcp, recursionDesired: query.flag_rd, checkingDisabled: query.flag_cd,
      });
      if (r.rcode === RCODE.SERVFAIL) this.counters.servfail++;
      if (r.rcode === RCODE.NXDOMAIN) this.counters.nxdomain++;
      return this.header(query, r.rcode, r.flags, { questions: q, answers: r.answers, authorities: r.authorities, additionals: r.additionals });
    } finally {
      this.pendingForwards--;
    }
  }

  private header(query: DecodedPacket, rcode: number, extraFlags: number, sections: Partial<Packet>): Packet {
    const flags = ((query.flags ?? 0) & (0xf << 11 | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED))
      | dnsPacket.RECURSION_AVAILABLE | extraFlags | (rcode & 0xf);
    return { type: 'response', id: query.id, flags, questions: [], answers: [], authorities: [], additionals: [], ...sections };
  }

  /** Encodes with an OPT when the client sent one; over UDP, fits the answer into the client's size. */
  private encode(query: DecodedPacket, reply: Packet, viaTcp: boolean): Buffer {
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    const additionals = [...(reply.additionals ?? [])];
    if (opt) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: OUR_EDNS_SIZE, flags: 0, options: [] } as unknown as Answer);
    const full: Packet = { ...reply, additionals };
    const bytes = dnsPacket.encode(full);
    const limit = viaTcp ? 65535 : opt ? Math.min(MAX_UDP_SIZE, Math.max(PLAIN_UDP_SIZE, opt.udpPayloadSize ?? PLAIN_UDP_SIZE)) : PLAIN_UDP_SIZE;
    if (bytes.length <= limit) return bytes;
    return this.fit(full, limit);
  }

  /**
   * An answer over the limit, as CoreDNS truncates: the additional and authority
   * records go first (leaving them out needs no TC, RFC 2181 9); if the answers
   * still do not fit, as many as fit are kept with TC set, so a client that never
   * retries over TCP (older musl) still gets addresses and the others retry.
   * dns-packet does not compress names, so this starts sooner than with a
   * compressing server: about 10 A records of a Service name fill 512 bytes.
   */
  private fit(full: Packet, limit: number): Buffer {
    const opt = (full.additionals ?? []).filter((a) => a.type === 'OPT');
    const lean: Packet = { ...full, authorities: [], additionals: opt };
    if (dnsPacket.encodingLength(lean) <= limit) return dnsPacket.encode(lean);
    this.counters.truncated++;
    const answers = full.answers ?? [];
    let lo = 0;
    let hi = answers.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (dnsPacket.encodingLength({ ...lean, answers: answers.slice(0, mid) }) <= limit) lo = mid;
      else hi = mid - 1;
    }
    return dnsPacket.encode({ ...lean, flags: (full.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: answers.slice(0, lo) });
  }
}
