// An in-memory PodNetwork for unit tests: hands out addresses from the node's
// pod CIDR as host-local IPAM would (.1 is the bridge's gateway) and records calls.
import { BrambleError } from '../proto/util/errors.js';
import type { EnsurePodOptions, PodNetwork, PodSandbox, PortMapping } from './network.js';

export class FakeNetwork implements PodNetwork {
  readonly calls: { method: string; podUid: string }[] = [];
  /** The port mappings each Pod's sandbox was made with. */
  readonly portMappings = new Map<string, PortMapping[]>();
  private readonly sandboxes = new Map<string, PodSandbox>();
  private readonly base: number;
  private readonly size: number;

  constructor(readonly podCIDR = '10.42.0.0/24') {
    const m = podCIDR.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/);
    const prefix = m ? Number(m[5]) : NaN;
    if (!m || !(prefix >= 8 && prefix <= 30) || m.slice(1, 5).some((o) => Number(o) > 255)) {
      throw new BrambleError('INVALID_ARGUMENT', `pod CIDR must be an IPv4 range with a prefix of 8 to 30: current value is "${podCIDR}"`);
    }
    const addr = m.slice(1, 5).reduce((acc, o) => acc * 256 + Number(o), 0);
    this.size = 2 ** (32 - prefix);
    this.base = addr - (addr % this.size);
  }

  async ensurePod(podUid: string, _podName: string, _namespace: string, opts: EnsurePodOptions = {}): Promise<PodSandbox> {
    this.calls.push({ method: 'ensurePod', podUid });
    const existing = this.sandboxes.get(podUid);
    if (existing) return { ...existing };
    if (opts.portMappings?.length) this.portMappings.set(podUid, opts.portMappings.map((m) => ({ ...m })));
    const used = new Set([...this.sandboxes.values()].map((s) => s.ip));
    // Skip the network address, the gateway (.1) and the broadcast address.
    for (let i = 2; i < this.size - 1; i++) {
      const ip = toDotted(this.base + i);
      if (used.has(ip)) continue;
      const sandbox: PodSandbox = { podUid, netnsPath: `/var/run/netns/bramble-${podUid}`, ip };
      this.sandboxes.set(podUid, sandbox);
      return { ...sandbox };
    }
    throw new BrambleError('RUNTIME_FAILED', `pod CIDR must have a free address for pod ${podUid}: all of ${this.podCIDR} are in use`);
  }

  async deletePod(podUid: string): Promise<boolean> {
    this.calls.push({ method: 'deletePod', podUid });
    this.portMappings.delete(podUid);
    return this.sandboxes.delete(podUid);
  }

  async listPods(): Promise<PodSandbox[]> {
    return [...this.sandboxes.values()].map((s) => ({ ...s }));
  }
}

function toDotted(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
