// `bramble top nodes|pods`: the live figures the agents send with their
// heartbeats (kept in the leader's memory, never stored), as a table or as
// JSON/YAML for scripts.
import { stringify as toYaml } from 'yaml';
import type { NodeFigures__Output } from '../../proto/generated/bramble/v1/NodeFigures.js';
import type { PodFigures__Output } from '../../proto/generated/bramble/v1/PodFigures.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { renderTable, type Printed } from './cli-print.js';
import { DEFAULT_NAMESPACE } from '../../proto/model.js';

export const TOP_OUTPUT_FORMATS = ['json', 'yaml'] as const;
export type TopOutput = 'table' | (typeof TOP_OUTPUT_FORMATS)[number];

const MI = 1024 * 1024;

/** kubectl's CPU(cores) cell: millicores, e.g. "12m". */
export function formatMillicores(millicores: number): string {
  return `${Math.round(Math.max(0, millicores))}m`;
}

/** kubectl's MEMORY(bytes) cell: whole mebibytes, e.g. "34Mi". */
export function formatMebibytes(bytes: number): string {
  return `${Math.round(Math.max(0, bytes) / MI)}Mi`;
}

function structured(value: unknown, output: 'json' | 'yaml'): Printed {
  return { stdout: output === 'json' ? JSON.stringify(value, null, 2) + '\n' : toYaml(value), stderr: '' };
}

export function printTopNodes(nodes: NodeFigures__Output[], output: TopOutput): Printed {
  const sorted = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
  if (output !== 'table') return structured(sorted, output);
  if (sorted.length === 0) return { stdout: '', stderr: 'No node figures yet: no agent has reported since the server started.\n' };
  const rows = [
    ['NAME', 'CPU%', 'MEMORY', 'MEM%', 'TEMP', 'LOAD'],
    ...sorted.map((n) => [
      n.name,
      `${Math.round(n.cpuPercent)}%`,
      formatMebibytes(n.memoryUsedBytes),
      n.memoryTotalBytes > 0 ? `${Math.round((100 * n.memoryUsedBytes) / n.memoryTotalBytes)}%` : '<unknown>',
      n.hasTemperature ? `${n.temperatureCelsius.toFixed(1)}°C` : '<none>',
      n.load1.toFixed(2),
    ]),
  ];
  return { stdout: renderTable(rows), stderr: '' };
}

export interface TopPodsView {
  pods: PodFigures__Output[];
  output: TopOutput;
  allNamespaces: boolean;
  /** The namespace asked for, named when there is nothing to show. */
  namespace: string;
}

export function printTopPods(view: TopPodsView): Printed {
  const sorted = [...view.pods].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  if (view.output !== 'table') return structured(sorted, view.output);
  if (sorted.length === 0) {
    const where = view.allNamespaces ? '' : ` in ${view.namespace} namespace`;
    return { stdout: '', stderr: `No pod figures${where}: no running pod has been reported.\n` };
  }
  const header = ['NAME', 'NODE', 'CPU', 'MEMORY'];
  const row = (p: PodFigures__Output): string[] => [p.name, p.node || '<none>', formatMillicores(p.cpuMillicores), formatMebibytes(p.memoryBytes)];
  const rows = view.allNamespaces
    ? [['NAMESPACE', ...header], ...sorted.map((p) => [p.namespace, ...row(p)])]
    : [header, ...sorted.map(row)];
  return { stdout: renderTable(rows), stderr: '' };
}

export interface TopInput {
  what: 'nodes' | 'pods';
  namespace?: string;
  allNamespaces: boolean;
  output: TopOutput;
}

export async function runTop(ctx: CommandContext, input: TopInput): Promise<number> {
  const namespace = input.namespace ?? DEFAULT_NAMESPACE;
  const res = await withCluster(ctx.connect, (conn) =>
    conn.top({ what: input.what, namespace: input.what === 'pods' && !input.allNamespaces ? namespace : '' }),
  );
  const printed =
    input.what === 'nodes'
      ? printTopNodes(res.nodes, input.output)
      : printTopPods({ pods: res.pods, output: input.output, allNamespaces: input.allNamespaces, namespace });
  if (printed.stdout) ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  return 0;
}
