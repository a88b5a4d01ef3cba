// Which ports a process on this board already holds: TCP sockets in LISTEN and
// unconnected (bound) UDP sockets, read from /proc/net/{tcp,tcp6,udp,udp6}.
// /proc/net is the reading process's own network namespace, which is the
// board's: the agent runs there. A LoadBalancer port's DNAT would take such a
// port away from its process, so the agent leaves those ports alone.
//
// What counts as taken: a socket on a wildcard address (0.0.0.0 or ::, which
// also receives IPv4 unless it is v6-only — /proc does not say, so a :: socket
// counts) or on one of the board's own addresses (the ones the LoadBalancer
// rules match). A socket on 127.0.0.0/8 (or ::1) only, or on another address
// (the bridge gateway, where the cluster DNS resolver listens), does not clash:
// the rules DNAT only traffic to the board's addresses.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type PortProtocol = 'TCP' | 'UDP';

export interface PortListener {
  protocol: PortProtocol;
  /** Dotted IPv4, or IPv6 as 8 groups of 4 hex digits (lower case), or a v4-mapped IPv6 address as dotted IPv4. */
  address: string;
  port: number;
  /** Whether the socket is bound to every address of its family. */
  wildcard: boolean;
}

/** TCP_LISTEN and TCP_CLOSE in the kernel's numbering (include/net/tcp_states.h), as /proc prints them. */
const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/** One 32-bit word of /proc's hex address, as the kernel printed it (%08X of the word in host order). */
function wordBytes(hex: string, endianness: 'LE' | 'BE'): number[] {
  const n = Number.parseInt(hex, 16);
  const bytes = [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return endianness === 'LE' ? bytes.reverse() : bytes;
}

/** The address of a /proc/net line's "ADDR:PORT" field, as network-order bytes; undefined when malformed. */
export function parseProcAddress(field: string, endianness: 'LE' | 'BE' = os.endianness()): { bytes: number[]; port: number } | undefined {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(field);
  if (!m) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < m[1]!.length; i += 8) bytes.push(...wordBytes(m[1]!.slice(i, i + 8), endianness));
  return { bytes, port: Number.parseInt(m[2]!, 16) };
}

function formatAddress(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16).padStart(4, '0'));
  return groups.join(':');
}

/**
 * The held ports in the text of one /proc/net file (its header line is skipped,
 * malformed lines too): TCP sockets in LISTEN, UDP sockets not connected to a peer
 * (a connected one, e.g. a DNS client's, only hears its peer).
 */
export function parseProcNet(text: string, protocol: PortProtocol, endianness: 'LE' | 'BE' = os.endianness()): PortListener[] {
  const out: PortListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const state = f[3]!.toUpperCase();
    if (state !== (protocol === 'TCP' ? TCP_LISTEN : UDP_UNCONNECTED)) continue;
    const local = parseProcAddress(f[1]!, endianness);
    if (!local || local.port === 0) continue;
    out.push({ protocol, address: formatAddress(local.bytes), port: local.port, wildcard: local.bytes.every((b) => b === 0) });
  }
  return out;
}

/** Whether a listener holds `port` where the LoadBalancer rules would DNAT it: a wildcard or one of `addresses`. */
export function clashesWithBoard(listener: PortListener, addresses: readonly string[]): boolean {
  return listener.wildcard || addresses.includes(listener.address);
}

/** "TCP/80": the identity of a held port. */
export function portKey(protocol: string, port: number): string {
  return `${protocol}/${port}`;
}

/** The ports held on the board's addresses, as portKey strings. */
export function heldPorts(listeners: readonly PortListener[], addresses: readonly string[]): Set<string> {
  return new Set(listeners.filter((l) => clashesWithBoard(l, addresses)).map((l) => portKey(l.protocol, l.port)));
}

/** Reads the listeners now; synchronous so a rule sync sees one consistent answer (the files are small). */
export type ListenerReader = () => PortListener[];

/** The real reader of `dir` (default /proc/net, this network namespace); a missing file (no IPv6) adds nothing. */
export function procListenerReader(dir = '/proc/net'): ListenerReader {
  const read = (file: string): string => {
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return '';
    }
  };
  return () => [
    ...parseProcNet(read('tcp'), 'TCP'), ...parseProcNet(read('tcp6'), 'TCP'),
    ...parseProcNet(read('udp'), 'UDP'), ...parseProcNet(read('udp6'), 'UDP'),
  ];
}
