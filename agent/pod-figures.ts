// Live CPU and memory of each Pod on the board, for `bramble top pods`. Read
// from the containers' cgroups (plain file reads) rather than one `ctr` process
// per container per heartbeat, which would cost more CPU than the figures are worth.
import { readFile } from 'node:fs/promises';
import type { Clock } from '../proto/util/clock.js';
import type { PodFigures } from '../proto/types.js';
import { LABEL_POD_NAME, LABEL_POD_NAMESPACE, type ContainerInfo } from './runtime.js';

export interface CgroupReader {
  /** Cumulative CPU time in ns and current memory in bytes, or undefined when the cgroup is gone. */
  read(containerId: string): Promise<{ cpuNanos: number; memoryBytes: number } | undefined>;
}

/** containerd puts each task under /<namespace>/<id> in every controller (v1) or the unified tree (v2). */
export function cgroupReader(namespace: string, root = '/sys/fs/cgroup'): CgroupReader {
  const num = async (file: string): Promise<number | undefined> => {
    try {
      return Number((await readFile(file, 'utf8')).trim());
    } catch {
      return undefined;
    }
  };
  return {
    async read(id) {
      const v1cpu = await num(`${root}/cpuacct/${namespace}/${id}/cpuacct.usage`);
      if (v1cpu !== undefined) {
        const mem = await num(`${root}/memory/${namespace}/${id}/memory.usage_in_bytes`);
        return { cpuNanos: v1cpu, memoryBytes: mem ?? 0 };
      }
      try {
        const stat = await readFile(`${root}/${namespace}/${id}/cpu.stat`, 'utf8');
        const usec = Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0);
        const mem = await num(`${root}/${namespace}/${id}/memory.current`);
        return { cpuNanos: usec * 1000, memoryBytes: mem ?? 0 };
      } catch {
        return undefined;
      }
    },
  };
}

export class PodFiguresSampler {
  private previous = new Map<string, { cpuNanos: number; at: number }>();

  constructor(
    private readonly nodeName: string,
    private readonly cgroups: CgroupReader,
    private readonly clock: Clock,
  ) {}

  /** Sums the running containers per Pod; CPU is the rate since the previous sample. */
  async sample(containers: readonly ContainerInfo[]): Promise<PodFigures[]> {
    const now = this.clock.now();
    const byPod = new Map<string, PodFigures>();
    const next = new Map<string, { cpuNanos: number; at: number }>();
    for (const c of containers) {
      const name = c.labels[LABEL_POD_NAME];
      const namespace = c.labels[LABEL_POD_NAMESPACE];
      if (c.state !== 'running' || !name || !namespace) continue;
      const usage = await this.cgroups.read(c.id);
      if (!usage) continue;
      next.set(c.id, { cpuNanos: usage.cpuNanos, at: now });
      const before = this.previous.get(c.id);
      const millicores = before && now > before.at ? ((usage.cpuNanos - before.cpuNanos) / 1e6 / (now - before.at)) * 1000 : 0;
      const key = `${namespace}/${name}`;
      const fig = byPod.get(key) ?? { namespace, name, node: this.nodeName, cpuMillicores: 0, memoryBytes: 0 };
      fig.cpuMillicores = (fig.cpuMillicores as number) + Math.max(0, millicores);
      fig.memoryBytes = (fig.memoryBytes as number) + usage.memoryBytes;
      byPod.set(key, fig);
    }
    this.previous = next;
    return [...byPod.values()];
  }
}
