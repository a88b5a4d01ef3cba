// A Pod's /etc/resolv.conf, as kubelet makes it (pkg/kubelet/network/dns) and
// containerd writes it: the dnsPolicy picks the base (cluster DNS, the board's
// own resolv.conf, or nothing), dnsConfig is merged in, and the result is cut to
// the limits resolvers cope with. Pure: the board's resolv.conf comes in as text.
import { isIP } from 'node:net';
import {
  CLUSTER_DOMAIN, MAX_DNS_NAMESERVERS, MAX_DNS_SEARCH_LIST_CHARS, MAX_DNS_SEARCH_PATHS,
  type DNSPolicy, type PodDNSConfig, type PodSpec,
} from '../proto/model.js';

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  /** "name" or "name:value", as on an options line. */
  options: string[];
}

export interface PodDnsSettings extends ResolvConf {
  /** Which base the policy resolved to (ClusterFirst on a hostNetwork Pod is 'host', as kubelet). */
  source: 'cluster' | 'host' | 'none';
  /** What was cut or fell back, for an event on the Pod (kubelet's DNSConfigForming warnings). */
  warnings: string[];
}

export interface PodResolvConfOptions {
  /** The cluster DNS Service's ClusterIP; empty means unknown, and ClusterFirst falls back to the host's (as kubelet). */
  dnsServiceIP?: string;
  clusterDomain?: string;
  /** The board's /etc/resolv.conf text (what Default copies and ClusterFirst takes search domains from). */
  hostResolvConf: string;
}

export interface PodDnsInput {
  metadata: { namespace?: string };
  spec: Pick<PodSpec, 'hostNetwork' | 'dnsPolicy' | 'dnsConfig'>;
}

/** kubelet's defaultDNSOptions for cluster DNS: names with fewer than 5 dots try the search list first. */
const CLUSTER_OPTIONS = ['ndots:5'];
/** glibc 2.28 aborts on a search domain longer than this (kubelet filters them out). */
const MAX_SEARCH_DOMAIN_LENGTH = 253;

/** nameserver, search and options lines of a resolv.conf (kubelet's parseResolvConf). */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const fields = trimmed.split(/\s+/).filter(Boolean);
    if (fields.length === 0) continue;
    if (fields[0] === 'nameserver' && fields.length >= 2) out.nameservers.push(fields[1]!);
    // The last search line wins (resolv.conf(5)); "x." and "x" are one domain, "." is none.
    if (fields[0] === 'search') out.searches = fields.slice(1).filter((s) => s !== '.').map((s) => s.replace(/\.$/, ''));
    if (fields[0] === 'options') out.options = mergeOptions(out.options, fields.slice(1));
  }
  return out;
}

/** Options by name, a later one replacing an earlier one in its place. */
function mergeOptions(existing: readonly string[], added: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...existing, ...added]) byName.set(o.split(':')[0]!, o);
  return [...byName.values()];
}

const unique = (xs: readonly string[]): string[] => [...new Set(xs)];

/** kubelet's getPodDNSType: hostNetwork Pods keep the board's DNS unless they ask for ClusterFirstWithHostNet. */
function baseSource(policy: DNSPolicy, hostNetwork: boolean): PodDnsSettings['source'] {
  switch (policy) {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'ClusterFirst':
      return hostNetwork ? 'host' : 'cluster';
    case 'Default':
      return 'host';
  }
}

export function podDnsSettings(pod: PodDnsInput, opts: PodResolvConfOptions): PodDnsSettings {
  const warnings: string[] = [];
  const domain = (opts.clusterDomain ?? CLUSTER_DOMAIN).replace(/\.$/, '');
  const host = parseResolvConf(opts.hostResolvConf);
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  let source = baseSource(policy, pod.spec.hostNetwork === true);
  const dnsIP = opts.dnsServiceIP?.trim() ?? '';
  if (source === 'cluster' && isIP(dnsIP) === 0) {
    warnings.push(`dnsPolicy ${policy} needs the cluster DNS Service IP, which is not known: the board's resolv.conf is used instead`);
    source = 'host';
  }
  let conf: ResolvConf;
  if (source === 'cluster') {
    const ns = pod.metadata.namespace ?? 'default';
    const clusterSearch = domain === '' ? [] : [`${ns}.svc.${domain}`, `svc.${domain}`, domain];
    conf = { nameservers: [dnsIP], searches: unique([...clusterSearch, ...host.searches]), options: [...CLUSTER_OPTIONS] };
  } else if (source === 'host') {
    conf = { nameservers: [...host.nameservers], searches: [...host.searches], options: [...host.options] };
  } else {
    conf = { nameservers: [], searches: [], options: [] };
  }
  const extra: PodDNSConfig | undefined = pod.spec.dnsConfig;
  if (extra) {
    // kubelet's appendDNSConfig: dnsConfig's entries after the policy's, duplicates dropped, options by name.
    conf.nameservers = unique([...conf.nameservers, ...(extra.nameservers ?? [])]);
    conf.searches = unique([...conf.searches, ...(extra.searches ?? [])]);
    conf.options = mergeOptions(conf.options, (extra.options ?? []).map((o) => (o.value !== undefined && o.value !== '' ? `${o.name}:${o.value}` : o.name)));
  }
  return { ...fitLimits(conf, warnings), source, warnings };
}

/** kubelet's formDNSConfigFitsLimits: at most 3 nameservers, 32 search domains of ≤ 253 characters, 2048 characters in all. */
function fitLimits(conf: ResolvConf, warnings: string[]): ResolvConf {
  let { nameservers, searches } = conf;
  if (nameservers.length > MAX_DNS_NAMESERVERS) {
    warnings.push(`nameserver limits were exceeded: at most ${MAX_DNS_NAMESERVERS} are kept, the applied nameserver line is: ${nameservers.slice(0, MAX_DNS_NAMESERVERS).join(' ')}`);
    nameservers = nameservers.slice(0, MAX_DNS_NAMESERVERS);
  }
  let cut = false;
  if (searches.length > MAX_DNS_SEARCH_PATHS) {
    searches = searches.slice(0, MAX_DNS_SEARCH_PATHS);
    cut = true;
  }
  const short = searches.filter((s) => s.length <= MAX_SEARCH_DOMAIN_LENGTH);
  if (short.length !== searches.length) cut = true;
  searches = short;
  while (searches.length > 0 && searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) {
    searches = searches.slice(0, -1);
    cut = true;
  }
  if (cut) warnings.push(`search line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`);
  return { nameservers, searches, options: conf.options };
}

/** The file as containerd's CRI writes it: search, then nameservers, then options. */
export function formatResolvConf(conf: ResolvConf): string {
  let out = '';
  if (conf.searches.length > 0) out += `search ${conf.searches.join(' ')}\n`;
  for (const ns of conf.nameservers) out += `nameserver ${ns}\n`;
  if (conf.options.length > 0) out += `options ${conf.options.join(' ')}\n`;
  return out;
}

/** The text of the Pod's /etc/resolv.conf. */
export function podResolvConf(pod: PodDnsInput, opts: PodResolvConfOptions): string {
  return formatResolvConf(podDnsSettings(pod, opts));
}
