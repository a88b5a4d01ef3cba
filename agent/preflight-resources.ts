// The board's clock, free disk under the data dir, and available memory.
import path from 'node:path';
import { RELEASE_FLOOR_MS } from '../proto/util/clock-sanity.js';
import { finding, type Finding, type HostProbe, type PreflightOptions } from './preflight.js';

const MIB = 1024 * 1024;
/** Below this on the data dir's file system the agent cannot keep logs or volumes: fatal. */
export const DISK_FATAL_BYTES = 256 * MIB;
export const DISK_WARNING_BYTES = 2048 * MIB;
/** MemAvailable below this leaves a 1 GB board no room for Pods. */
export const MEMORY_WARNING_BYTES = 256 * MIB;

/**
 * A board without an RTC boots in 1970 (or at fake-hwclock's last save) until NTP answers, and
 * every certificate looks not yet valid until then. A warning, not fatal: the agent waits for the
 * clock before it judges a certificate (proto/util/clock-sanity.ts), where refusing to start would
 * crash-loop the service until NTP answers.
 */
export async function checkClock(_probe: HostProbe, opts: PreflightOptions): Promise<Finding> {
  const now = new Date(opts.now).toISOString();
  if (opts.now < RELEASE_FLOOR_MS) {
    return finding('clock', 'warning', 'CLOCK_BEHIND', `the clock says ${now}, before any Bramble release (${new Date(RELEASE_FLOOR_MS).toISOString()}): the agent waits for it before it judges certificates`,
      'wait for NTP: `timedatectl` shows "System clock synchronized: yes" (turn it on with `timedatectl set-ntp true`)');
  }
  return finding('clock', 'ok', 'CLOCK_OK', `the clock says ${now}`);
}

function mib(bytes: number): string {
  return `${Math.floor(bytes / MIB)} MiB`;
}

/** statfs of the data dir, or of its nearest existing parent when it is not made yet. */
async function statNearest(probe: HostProbe, dir: string): Promise<{ dir: string; availableBytes: number } | undefined> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const s = await probe.statfs(d);
    if (s) return { dir: d, availableBytes: s.availableBytes };
    if (path.dirname(d) === d) return undefined;
  }
}

export async function checkDisk(probe: HostProbe, opts: PreflightOptions): Promise<Finding> {
  const s = await statNearest(probe, opts.dataDir);
  if (!s) return finding('disk', 'warning', 'DISK_UNKNOWN', `no file system found for ${opts.dataDir}`, 'pass --data-dir DIR');
  const seen = `${mib(s.availableBytes)} free on the file system of ${s.dir}`;
  const fix = `free space there (old logs, images: ctr -n bramble images rm ...), or pass --data-dir on a larger disk`;
  if (s.availableBytes < DISK_FATAL_BYTES) return finding('disk', 'fatal', 'DISK_FULL', `${seen}, under ${mib(DISK_FATAL_BYTES)}`, fix);
  if (s.availableBytes < DISK_WARNING_BYTES) return finding('disk', 'warning', 'DISK_LOW', `${seen}, under ${mib(DISK_WARNING_BYTES)}`, fix);
  return finding('disk', 'ok', 'DISK_OK', seen);
}

/** /proc/meminfo's MemAvailable in bytes (the kernel writes kB). */
export function memAvailableBytes(meminfo: string): number | undefined {
  const m = meminfo.match(/^MemAvailable:\s+(\d+)\s*kB/m);
  return m ? Number(m[1]) * 1024 : undefined;
}

export async function checkMemory(probe: HostProbe): Promise<Finding> {
  const available = memAvailableBytes((await probe.readFile('/proc/meminfo')) ?? '');
  if (available === undefined) return finding('memory', 'warning', 'MEMORY_UNKNOWN', '/proc/meminfo has no MemAvailable', 'mount /proc');
  if (available < MEMORY_WARNING_BYTES) {
    return finding('memory', 'warning', 'MEMORY_LOW', `${mib(available)} available, under ${mib(MEMORY_WARNING_BYTES)}: Pods will be short of memory`,
      'stop services the board does not need (systemctl disable --now NAME)');
  }
  return finding('memory', 'ok', 'MEMORY_OK', `${mib(available)} available`);
}
