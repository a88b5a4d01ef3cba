// What the agent knows about its board: static facts (architecture, OS, CPU,
// board model), live figures (CPU load, memory, temperature) and addresses, behind
// one interface so unit tests use stats-fake.ts and the agent uses stats-si.ts.
// Also the capacity/allocatable arithmetic the heartbeat reports.
import { BrambleError } from '../proto/util/errors.js';
import { parseQuantity } from '../proto/model.js';
import type { NodeFigures, NodeInfo, Resources } from '../proto/types.js';

export interface NodeSystemInfo {
  /** Kubernetes' name: amd64, arm64, arm. */
  architecture: string;
  /** "linux". */
  operatingSystem: string;
  /** "Debian GNU/Linux 12 (bookworm)". */
  osImage: string;
  kernelVersion: string;
  cpuModel: string;
  cpuCount: number;
  memoryTotalBytes: number;
  /** "Raspberry Pi 4 Model B Rev 1.4", from the device tree; null on boards without one. */
  boardModel: string | null;
  hostname: string;
}

export interface NodeLiveFigures {
  /** 0..100 over all cores since the previous call. */
  cpuPercent: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  memoryUsedBytes: number;
  load1: number;
  load5: number;
  load15: number;
  /** Null when the board has no CPU temperature sensor. */
  temperatureCelsius: number | null;
}

export interface NodeAddressInfo {
  type: 'InternalIP' | 'Hostname';
  address: string;
}

export interface NodeStats {
  nodeInfo(): Promise<NodeSystemInfo>;
  figures(): Promise<NodeLiveFigures>;
  addresses(): Promise<NodeAddressInfo[]>;
}

/** Node's os.arch() names to the names Kubernetes (and image manifests) use. */
export function kubernetesArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

export const DEFAULT_MAX_PODS = 110;
/** Left for the OS, containerd and the agent itself, as kubelet's system-reserved. */
export const DEFAULT_SYSTEM_RESERVED = 'cpu=100m,memory=256Mi';

export interface ResourceReserve {
  cpuMillis: number;
  memoryBytes: number;
}

/** Parses "cpu=100m,memory=256Mi" (either part optional; "" reserves nothing). */
export function parseReserve(text: string): ResourceReserve {
  const out: ResourceReserve = { cpuMillis: 0, memoryBytes: 0 };
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const m = term.match(/^(cpu|memory)=(.+)$/);
    if (!m) {
      throw new BrambleError('INVALID_ARGUMENT',
        `reserved resources must be a list like "cpu=100m,memory=256Mi": current term is "${term}"`);
    }
    let value: number;
    try {
      value = parseQuantity(m[2]!.trim(), m[1] === 'cpu');
    } catch (e) {
      throw new BrambleError('INVALID_ARGUMENT', `reserved ${m[1]} ${(e as Error).message}`);
    }
    if (value < 0) throw new BrambleError('INVALID_ARGUMENT', `reserved ${m[1]} must not be negative: current value is "${m[2]}"`);
    if (m[1] === 'cpu') out.cpuMillis = value;
    else out.memoryBytes = value;
  }
  return out;
}

export interface NodeResources {
  capacity: Required<Resources>;
  allocatable: Required<Resources>;
}

/** Capacity is the whole board; allocatable is what is left for Pods after the reserve (never below zero). */
export function nodeResources(
  info: Pick<NodeSystemInfo, 'cpuCount' | 'memoryTotalBytes'>,
  reserve: ResourceReserve = parseReserve(DEFAULT_SYSTEM_RESERVED),
  maxPods = DEFAULT_MAX_PODS,
): NodeResources {
  if (!Number.isInteger(maxPods) || maxPods < 1) {
    throw new BrambleError('INVALID_ARGUMENT', `max pods must be a positive integer: current value is ${maxPods}`);
  }
  const cpuMillis = info.cpuCount * 1000;
  const memKi = Math.floor(info.memoryTotalBytes / 1024);
  const allocCpu = Math.max(0, cpuMillis - reserve.cpuMillis);
  const allocMemKi = Math.max(0, Math.floor((info.memoryTotalBytes - reserve.memoryBytes) / 1024));
  return {
    capacity: { cpu: String(info.cpuCount), memory: `${memKi}Ki`, pods: String(maxPods) },
    allocatable: { cpu: `${allocCpu}m`, memory: `${allocMemKi}Ki`, pods: String(maxPods) },
  };
}

/** The heartbeat's NodeInfo; versions are the agent's to fill in. */
export function toProtoNodeInfo(info: NodeSystemInfo, versions: { agentVersion: string; containerRuntimeVersion: string }): NodeInfo {
  return {
    architecture: info.architecture,
    operatingSystem: info.operatingSystem,
    osImage: info.osImage,
    kernelVersion: info.kernelVersion,
    cpuModel: info.cpuModel,
    cpuCount: info.cpuCount,
    boardModel: info.boardModel ?? '',
    ...versions,
  };
}

export function toProtoFigures(nodeName: string, f: NodeLiveFigures): NodeFigures {
  return {
    name: nodeName,
    cpuPercent: f.cpuPercent,
    memoryUsedBytes: f.memoryUsedBytes,
    memoryTotalBytes: f.memoryTotalBytes,
    temperatureCelsius: f.temperatureCelsius ?? 0,
    hasTemperature: f.temperatureCelsius !== null,
    load1: f.load1,
  };
}
