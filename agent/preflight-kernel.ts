// The kernel's side of a board: cgroups (memory and cpu controllers), forwarding,
// bridge netfilter and the page size.
import { finding, type Finding, type HostProbe } from './preflight.js';

/** statfs f_type of a cgroup v2 mount (linux/magic.h CGROUP2_SUPER_MAGIC). */
export const CGROUP2_SUPER_MAGIC = 0x63677270;
const NEEDED_CONTROLLERS = ['cpu', 'memory'] as const;
const CMDLINE_FLAGS = 'cgroup_enable=cpuset cgroup_enable=memory cgroup_memory=1';

/** Bookworm moved the boot partition to /boot/firmware; name the file this board has. */
async function cmdlineFile(probe: HostProbe): Promise<string> {
  if ((await probe.readFile('/boot/firmware/cmdline.txt')) !== undefined) return '/boot/firmware/cmdline.txt';
  if ((await probe.readFile('/boot/cmdline.txt')) !== undefined) return '/boot/cmdline.txt';
  return '/boot/firmware/cmdline.txt (/boot/cmdline.txt before bookworm)';
}

/** /proc/cgroups: "#subsys_name hierarchy num_cgroups enabled"; the controllers whose enabled column is 1. */
export function enabledV1Controllers(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[3] === '1')
    .map((w) => w[0]!);
}

export async function checkCgroups(probe: HostProbe): Promise<Finding> {
  const fs = await probe.statfs('/sys/fs/cgroup');
  // Recent kernels no longer list memory in /proc/cgroups on v2: there, cgroup.controllers is the truth.
  const v2 = fs?.type === CGROUP2_SUPER_MAGIC;
  const source = v2 ? '/sys/fs/cgroup/cgroup.controllers' : '/proc/cgroups';
  const text = await probe.readFile(source);
  if (text === undefined) {
    return finding('cgroup', 'fatal', 'CGROUP_UNREADABLE', `cgroup ${v2 ? 'v2' : 'v1'}: ${source} cannot be read`, 'mount the cgroup file system at /sys/fs/cgroup (systemd does it at boot)');
  }
  const available = v2 ? text.trim().split(/\s+/) : enabledV1Controllers(text);
  const missing = NEEDED_CONTROLLERS.filter((c) => !available.includes(c));
  const version = v2 ? 'cgroup v2' : 'cgroup v1';
  if (missing.length > 0) {
    return finding(
      'cgroup', 'fatal', missing.includes('memory') ? 'CGROUP_MEMORY_DISABLED' : 'CGROUP_CPU_DISABLED',
      `${version}: the ${missing.join(' and ')} controller${missing.length > 1 ? 's are' : ' is'} not enabled (${source}: ${available.join(' ') || 'none'}); Pods' limits cannot be applied`,
      `append " ${CMDLINE_FLAGS}" to the single line of ${await cmdlineFile(probe)}, then reboot`,
    );
  }
  return finding('cgroup', 'ok', v2 ? 'CGROUP_V2' : 'CGROUP_V1', `${version}, memory and cpu controllers enabled`);
}

const SYSCTL_FILE = '/etc/sysctl.d/90-bramble.conf';

export async function checkForwarding(probe: HostProbe): Promise<Finding> {
  // Per network namespace: a board in a netns reads its own.
  const value = (await probe.readFile('/proc/sys/net/ipv4/ip_forward'))?.trim();
  if (value === '1') return finding('forwarding', 'ok', 'FORWARDING_ON', 'net.ipv4.ip_forward = 1');
  if (value === '0') {
    // routes-hostgw.ts turns it on before the first route: nothing for a person to do.
    return finding('forwarding', 'ok', 'FORWARDING_SET_BY_AGENT', 'net.ipv4.ip_forward = 0: the agent sets it to 1 when it starts');
  }
  return finding('forwarding', 'warning', 'FORWARDING_UNKNOWN', '/proc/sys/net/ipv4/ip_forward cannot be read', `echo 'net.ipv4.ip_forward = 1' >> ${SYSCTL_FILE} && sysctl --system`);
}

export async function checkBridgeNetfilter(probe: HostProbe): Promise<Finding> {
  // The agent loads no module and sets no bridge sysctl. Without it a Service's reply from a
  // Pod on the same bridge skips conntrack's un-DNAT: only same-board Service traffic breaks, so a warning.
  const value = (await probe.readFile('/proc/sys/net/bridge/bridge-nf-call-iptables'))?.trim();
  const consequence = 'a Pod reaching a Service whose endpoint is on the same board gets no replies';
  if (value === undefined) {
    return finding('bridge-netfilter', 'warning', 'BR_NETFILTER_NOT_LOADED', `the br_netfilter module is not loaded (no /proc/sys/net/bridge): ${consequence}`,
      `modprobe br_netfilter && echo br_netfilter > /etc/modules-load.d/bramble.conf`);
  }
  if (value !== '1') {
    return finding('bridge-netfilter', 'warning', 'BRIDGE_NF_CALL_IPTABLES_OFF', `net.bridge.bridge-nf-call-iptables = ${value}: ${consequence}`,
      `echo 'net.bridge.bridge-nf-call-iptables = 1' >> ${SYSCTL_FILE} && sysctl --system`);
  }
  return finding('bridge-netfilter', 'ok', 'BRIDGE_NETFILTER_ON', 'br_netfilter loaded, net.bridge.bridge-nf-call-iptables = 1');
}

export async function checkPageSize(probe: HostProbe): Promise<Finding> {
  let text = '';
  try {
    const r = await probe.run('getconf', ['PAGESIZE'], { timeoutMs: 5_000 });
    if (r.exitCode === 0) text = r.stdout.trim();
  } catch {
    // No getconf: reported below as unknown.
  }
  const size = Number(text);
  if (!Number.isInteger(size) || size <= 0) return finding('page-size', 'warning', 'PAGE_SIZE_UNKNOWN', `getconf PAGESIZE gave "${text}"`, 'apt install libc-bin');
  if (size === 4096) return finding('page-size', 'ok', 'PAGE_SIZE_4K', 'kernel page size 4096 bytes');
  // The Pi 5's default kernel_2712.img uses 16K pages; jemalloc builds (and others) made for 4K crash there.
  return finding('page-size', 'warning', 'PAGE_SIZE_LARGE', `kernel page size ${size} bytes: images built for 4K pages (jemalloc builds, some databases) crash`,
    'add the line "kernel=kernel8.img" to /boot/firmware/config.txt (a 4K-page kernel), then reboot');
}
