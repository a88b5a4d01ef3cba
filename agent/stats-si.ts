// Real board figures through systeminformation. A Pi's idle CPU matters, so the
// expensive calls run rarely: static facts (cpu, osInfo spawn processes) once
// per agent, the temperature probe (a few shell pipelines in systeminformation)
// at most every `temperatureEveryMs` and never again once it found no sensor.
// What runs every heartbeat is cheap: /proc/meminfo (si.mem reads it in-process),
// /proc/stat deltas, os.loadavg().
//
// The one figure not from systeminformation is the CPU percent: si.currentLoad()
// runs a shell (`cat /proc/stat | grep cpu`, blocking execSync) on every call, which
// on a Pi costs more than the heartbeat it serves. The same numbers come from one
// async read of /proc/stat (os.cpus() where there is none), compared between heartbeats.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import si from 'systeminformation';
import { realClock, type Clock } from '../proto/util/clock.js';
import { kubernetesArch, type NodeAddressInfo, type NodeLiveFigures, type NodeStats, type NodeSystemInfo } from './stats.js';

export interface SiStatsOptions {
  clock?: Clock;
  /** Where the board's model is; Raspberry Pi OS and Debian on a Pi both have it. */
  deviceTreeModelPath?: string;
  temperatureEveryMs?: number;
  /** Interface name prefixes whose addresses are not the node's (the pod bridge, veths). */
  ignoredInterfacePrefixes?: string[];
  /** The kernel's CPU counters; os.cpus() is used when it cannot be read. */
  procStatPath?: string;
}

const DEFAULT_IGNORED_PREFIXES = ['cni', 'veth', 'bramble', 'docker', 'flannel'];

/** Cumulative CPU time of the whole board, all cores, in any one unit (ticks or ms). */
export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal
 * (guest time is already inside user and nice). Waiting for I/O counts as idle.
 */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return undefined;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** Busy share of the time between two readings, 0..100 with one decimal; undefined when no time passed. */
export function cpuPercentBetween(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (!(total > 0)) return undefined;
  const pct = ((after.busy - before.busy) / total) * 100;
  return Math.round(Math.min(100, Math.max(0, pct)) * 10) / 10;
}

function osCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times: t } of os.cpus()) {
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/** The device tree's strings end with a NUL; undefined when there is no device tree. */
export async function readBoardModel(path: string): Promise<string | null> {
  try {
    const text = (await readFile(path, 'utf8')).replace(/\0+$/, '').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

export class SiNodeStats implements NodeStats {
  private readonly clock: Clock;
  private readonly modelPath: string;
  private readonly temperatureEveryMs: number;
  private readonly ignored: string[];
  private info: Promise<NodeSystemInfo> | undefined;
  private temperature: { at: number; value: number | null } | undefined;
  private hasSensor = true;
  private readonly procStatPath: string;
  /** The reading the next figures() compares with, and the last percent (kept when no tick passed since). */
  private cpuBefore: Promise<CpuTimes>;
  private cpuPercent: number | undefined;

  constructor(opts: SiStatsOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.modelPath = opts.deviceTreeModelPath ?? '/proc/device-tree/model';
    this.temperatureEveryMs = opts.temperatureEveryMs ?? 30_000;
    this.ignored = opts.ignoredInterfacePrefixes ?? DEFAULT_IGNORED_PREFIXES;
    this.procStatPath = opts.procStatPath ?? '/proc/stat';
    // The baseline of the first figures(): the load from agent start to the first heartbeat.
    this.cpuBefore = this.readCpuTimes();
  }

  private async readCpuTimes(): Promise<CpuTimes> {
    const text = await readFile(this.procStatPath, 'utf8').catch(() => '');
    return parseProcStat(text) ?? osCpuTimes();
  }

  /** CPU busy percent since the previous call (since boot when no tick has passed yet). */
  private async readCpuPercent(): Promise<number> {
    const [before, now] = await Promise.all([this.cpuBefore, this.readCpuTimes()]);
    this.cpuBefore = Promise.resolve(now);
    this.cpuPercent = cpuPercentBetween(before, now) ?? this.cpuPercent ?? cpuPercentBetween({ busy: 0, total: 0 }, now) ?? 0;
    return this.cpuPercent;
  }

  nodeInfo(): Promise<NodeSystemInfo> {
    this.info ??= this.readInfo().catch((err: unknown) => {
      this.info = undefined;
      throw err;
    });
    return this.info;
  }

  private async readInfo(): Promise<NodeSystemInfo> {
    const [cpu, osInfo, mem, boardModel] = await Promise.all([si.cpu(), si.osInfo(), si.mem(), readBoardModel(this.modelPath)]);
    const release = osInfo.codename ? `${osInfo.release} (${osInfo.codename})` : osInfo.release;
    return {
      architecture: kubernetesArch(osInfo.arch || os.arch()),
      operatingSystem: osInfo.platform || os.platform(),
      osImage: [osInfo.distro, release].filter((s) => s).join(' '),
      kernelVersion: osInfo.kernel || os.release(),
      cpuModel: [cpu.manufacturer, cpu.brand].filter((s) => s).join(' '),
      cpuCount: cpu.cores || os.cpus().length,
      memoryTotalBytes: mem.total,
      boardModel,
      hostname: osInfo.hostname || os.hostname(),
    };
  }

  async figures(): Promise<NodeLiveFigures> {
    const [mem, cpuPercent, temperatureCelsius] = await Promise.all([si.mem(), this.readCpuPercent(), this.readTemperature()]);
    const [load1, load5, load15] = os.loadavg() as [number, number, number];
    return {
      cpuPercent,
      memoryTotalBytes: mem.total,
      memoryAvailableBytes: mem.available,
      memoryUsedBytes: Math.max(0, mem.total - mem.available),
      load1,
      load5,
      load15,
      temperatureCelsius,
    };
  }

  private async readTemperature(): Promise<number | null> {
    if (!this.hasSensor) return null;
    const now = this.clock.now();
    if (this.temperature && now - this.temperature.at < this.temperatureEveryMs) return this.temperature.value;
    let value: number | null = null;
    try {
      const t = await si.cpuTemperature();
      value = typeof t.main === 'number' && Number.isFinite(t.main) ? t.main : null;
    } catch {
      value = null;
    }
    // A board without a sensor will not grow one: stop spawning the probe's shells.
    if (value === null && !this.temperature) this.hasSensor = false;
    this.temperature = { at: now, value };
    return value;
  }

  /** Cheap (os.networkInterfaces); systeminformation's version runs ethtool and friends per interface. */
  async addresses(): Promise<NodeAddressInfo[]> {
    const v4: NodeAddressInfo[] = [];
    const v6: NodeAddressInfo[] = [];
    for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
      if (this.ignored.some((p) => name.startsWith(p))) continue;
      for (const a of addrs ?? []) {
        if (a.internal) continue;
        if (a.family === 'IPv4') v4.push({ type: 'InternalIP', address: a.address });
        // Link-local IPv6 addresses are not reachable from other boards.
        else if (!a.address.toLowerCase().startsWith('fe80:')) v6.push({ type: 'InternalIP', address: a.address });
      }
    }
    const info = await this.nodeInfo();
    return [...v4, ...v6, { type: 'Hostname', address: info.hostname }];
  }
}
