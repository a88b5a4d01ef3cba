// Settable board figures for unit tests: a 4-core arm64 Pi 4 with 4 GiB unless told otherwise.
import type { NodeAddressInfo, NodeLiveFigures, NodeStats, NodeSystemInfo } from './stats.js';

const GiB = 1024 ** 3;

export class FakeNodeStats implements NodeStats {
  info: NodeSystemInfo;
  live: NodeLiveFigures;
  addressList: NodeAddressInfo[];
  /** How many times each method was called, to check what a heartbeat costs. */
  readonly calls = { nodeInfo: 0, figures: 0, addresses: 0 };

  constructor(overrides: { info?: Partial<NodeSystemInfo>; live?: Partial<NodeLiveFigures>; addresses?: NodeAddressInfo[] } = {}) {
    this.info = {
      architecture: 'arm64',
      operatingSystem: 'linux',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      kernelVersion: '6.6.31+rpt-rpi-v8',
      cpuModel: 'ARM Cortex-A72',
      cpuCount: 4,
      memoryTotalBytes: 4 * GiB,
      boardModel: 'Raspberry Pi 4 Model B Rev 1.4',
      hostname: 'pi-1',
      ...overrides.info,
    };
    this.live = {
      cpuPercent: 3.5,
      memoryTotalBytes: this.info.memoryTotalBytes,
      memoryAvailableBytes: 3 * GiB,
      memoryUsedBytes: this.info.memoryTotalBytes - 3 * GiB,
      load1: 0.1,
      load5: 0.05,
      load15: 0.01,
      temperatureCelsius: 48.2,
      ...overrides.live,
    };
    this.addressList = overrides.addresses ?? [
      { type: 'InternalIP', address: '192.168.1.21' },
      { type: 'Hostname', address: this.info.hostname },
    ];
  }

  async nodeInfo(): Promise<NodeSystemInfo> {
    this.calls.nodeInfo++;
    return { ...this.info };
  }

  async figures(): Promise<NodeLiveFigures> {
    this.calls.figures++;
    return { ...this.live };
  }

  async addresses(): Promise<NodeAddressInfo[]> {
    this.calls.addresses++;
    return this.addressList.map((a) => ({ ...a }));
  }
}
