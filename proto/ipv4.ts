// IPv4 addresses and CIDRs as unsigned 32-bit numbers: what the control plane's
// allocators and the agent's rules and resolver both need to agree on (the cluster
// DNS Service's address above all).

export interface Cidr {
  /** The network address, as an unsigned 32-bit number. */
  base: number;
  bits: number;
  /** How many addresses the range holds, network and broadcast included. */
  size: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The address as a number, or undefined when `text` is not a dotted-quad IPv4 address. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** "10.43.0.0/16" → its range (host bits are ignored, as `ip route` does); throws an Error naming the value when it is not one. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const addr = m ? parseIPv4(m[1]!) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (addr === undefined || !(bits >= 0 && bits <= 32)) throw new Error(`must be an IPv4 CIDR such as "10.43.0.0/16": current value is ${JSON.stringify(text)}`);
  const size = 2 ** (32 - bits);
  return { base: addr - (addr % size), bits, size };
}

/** parseCidr, or undefined when `text` is not an IPv4 CIDR (for input that may be anything). */
export function tryParseCidr(text: string): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

/** "10.42.2.7/24" → "10.42.2.0/24": the network of a CIDR, as `ip route` prints it. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(cidr.base)}/${cidr.bits}`;
}

export function cidrContains(cidr: Cidr, addr: number): boolean {
  return addr >= cidr.base && addr < cidr.base + cidr.size;
}

/**
 * The cluster DNS Service's address: the first usable address of the service CIDR
 * (10.43.0.1 for the default 10.43.0.0/16). The control plane gives it to the
 * kube-system/kube-dns Service and never to another; Pods' resolv.conf names it.
 */
export function clusterDnsAddress(serviceCidr: string): string {
  return formatIPv4(parseCidr(serviceCidr).base + 1);
}

/** The Service that holds clusterDnsAddress, as Kubernetes names it. */
export const CLUSTER_DNS_SERVICE = { namespace: 'kube-system', name: 'kube-dns' } as const;
