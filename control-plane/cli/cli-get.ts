// `bramble get KIND [NAME]`: one object or a list, printed by cli-print.
import { parseSelector, type KObject } from '../../proto/model.js';
import { withCluster, type ClusterConnection } from './cli-client.js';
import { namespaceFor, splitKindName, type CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { matchesFields, parseFieldSelector, sortEvents } from './cli-events.js';
import { printObjects, type NodeFiguresView, type OutputFormat } from './cli-print.js';

export interface GetInput {
  kind: string;
  name?: string;
  namespace?: string;
  /** --consistency: linearizable (default) or serializable. */
  consistency?: 'linearizable' | 'serializable';
  allNamespaces: boolean;
  selector?: string;
  /** --field-selector, applied on the client (cli-events.ts). */
  fieldSelector?: string;
  output: OutputFormat;
}

/** Node figures live in the leader's memory; without them the table shows "<unknown>". */
async function nodeFigures(conn: ClusterConnection): Promise<Map<string, NodeFiguresView> | undefined> {
  try {
    const top = await conn.top({ what: 'nodes' });
    return new Map(top.nodes.map((n) => [n.name, n]));
  } catch {
    return undefined;
  }
}

function byNamespaceThenName(a: KObject, b: KObject): number {
  return (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name);
}

export async function runGet(ctx: CommandContext, input: GetInput): Promise<number> {
  const { kind, name } = splitKindName(input.kind, input.name);
  if (name !== undefined && input.allNamespaces) throw new UsageError('a NAME cannot be combined with --all-namespaces');
  if (input.selector !== undefined) {
    try {
      parseSelector(input.selector);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
  }
  const fields = input.fieldSelector === undefined ? [] : parseFieldSelector(input.fieldSelector, kind.kind);
  const namespace = namespaceFor(kind, input.namespace);
  const printed = await withCluster(ctx.connect, async (conn) => {
    let objects: KObject[];
    if (name !== undefined) {
      const res = await conn.get({ kind: kind.kind, namespace, name, consistency: input.consistency ?? '' });
      objects = [JSON.parse(res.object) as KObject];
    } else {
      const res = await conn.list({
        kind: kind.kind,
        namespace: input.allNamespaces ? '' : namespace,
        labelSelector: input.selector ?? '',
        consistency: input.consistency ?? '',
      });
      objects = res.objects.map((o) => JSON.parse(o) as KObject).filter((o) => matchesFields(o, fields)).sort(byNamespaceThenName);
      if (kind.kind === 'Event') objects = sortEvents(objects);
    }
    const wantsFigures = kind.kind === 'Node' && (input.output === 'table' || input.output === 'wide') && objects.length > 0;
    return printObjects({
      kind,
      objects,
      output: input.output,
      allNamespaces: input.allNamespaces,
      namespace,
      single: name !== undefined,
      now: ctx.io.clock.now(),
      nodeFigures: wantsFigures ? await nodeFigures(conn) : undefined,
    });
  });
  if (printed.stdout) ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  return 0;
}
