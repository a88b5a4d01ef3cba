// A Pod's name on the network: its hostname (spec.hostname, else its name) and,
// with spec.subdomain, its FQDN hostname.subdomain.NS.svc.cluster.local. The
// agent writes the Pod's /etc/hosts, /etc/hostname and /etc/resolv.conf under
// <dataDir>/pods/<uid>/etc/ and bind-mounts them read-only into every container,
// as the kubelet does with its etc-hosts file: the files are shared by the Pod's
// containers, need no change to the image, survive container restarts, and are
// rewritten in place (same inode) so a running container sees a change.
// The UTS hostname itself is the OCI spec's (runtime-ctr.ts edits it).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Container, Pod } from '../proto/model.js';
import { CLUSTER_DOMAIN, DEFAULT_NAMESPACE } from '../proto/model.js';
import type { Mount } from './runtime.js';
import { podDir } from './pod-volumes.js';

/** A kernel hostname is at most 64 bytes; Kubernetes cuts a Pod name to 63 and drops trailing '-' and '.'. */
export function podHostname(pod: Pod): string {
  const name = pod.spec.hostname || pod.metadata.name;
  return name.length <= 63 ? name : name.slice(0, 63).replace(/[-.]+$/, '');
}

/** "web-0.web.shop.svc.cluster.local" with spec.subdomain; undefined without. */
export function podFqdn(pod: Pod): string | undefined {
  const sub = pod.spec.subdomain;
  if (!sub) return undefined;
  return `${podHostname(pod)}.${sub}.${pod.metadata.namespace ?? DEFAULT_NAMESPACE}.svc.${CLUSTER_DOMAIN}`;
}

/** The kubelet's managed hosts file: localhost lines, then the Pod's own address with its names. */
export function hostsFile(pod: Pod, podIP: string | undefined): string {
  const lines = [
    '# Kubernetes-managed hosts file (Bramble).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  if (podIP) {
    const fqdn = podFqdn(pod);
    lines.push(fqdn ? `${podIP}\t${fqdn}\t${podHostname(pod)}` : `${podIP}\t${podHostname(pod)}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface EtcFilesInput {
  podIP?: string;
  /** The resolv.conf content; undefined: the image's own file stays. */
  resolvConf?: string;
}

/**
 * Writes the Pod's files (only what changed, to spare SD cards) and returns the mounts.
 * A hostNetwork Pod keeps the board's /etc/hosts and hostname (ctr's --net-host mounts
 * the board's hosts file), as in Kubernetes; it gets a resolv.conf only when given one.
 */
export async function ensurePodEtcFiles(dataDir: string, pod: Pod, input: EtcFilesInput): Promise<Mount[]> {
  const dir = path.join(podDir(dataDir, pod.metadata.uid ?? ''), 'etc');
  await fs.mkdir(dir, { recursive: true });
  const files: [string, string, string][] = [];
  if (!pod.spec.hostNetwork) {
    files.push(['hosts', '/etc/hosts', hostsFile(pod, input.podIP)]);
    files.push(['hostname', '/etc/hostname', `${podHostname(pod)}\n`]);
  }
  if (input.resolvConf !== undefined) files.push(['resolv.conf', '/etc/resolv.conf', input.resolvConf]);
  const mounts: Mount[] = [];
  for (const [name, destination, content] of files) {
    const file = path.join(dir, name);
    const current = await fs.readFile(file, 'utf8').catch(() => undefined);
    // writeFile truncates and writes the same inode: a bind mount of the file follows it.
    if (current !== content) await fs.writeFile(file, content, { mode: 0o644 });
    mounts.push({ source: file, destination, readOnly: true });
  }
  return mounts;
}

/** The Pod's files, less those a container mounts a volume over itself (its choice wins, as in Kubernetes). */
export function etcMountsFor(container: Container, mounts: readonly Mount[]): Mount[] {
  const own = new Set((container.volumeMounts ?? []).map((m) => path.posix.normalize(m.mountPath)));
  return mounts.filter((m) => !own.has(m.destination));
}
