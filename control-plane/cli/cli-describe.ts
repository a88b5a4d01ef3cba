// `bramble describe KIND NAME`: one object, readable: metadata as aligned
// lines, then every other section as indented YAML. Secret values are shown
// as byte counts only, so a describe can be pasted into a bug report.
import { Buffer } from 'node:buffer';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_NAMESPACE, type KObject } from '../../proto/model.js';
import { describeEvents, eventsAbout } from './cli-events.js';
import { withCluster, type ClusterConnection } from './cli-client.js';
import { describeDaemonSet, describeDeployment, describeJob, describeReplicaSet } from './cli-describe-workloads.js';
import { describeService } from './cli-describe-service.js';
import { ownedPods, ownedReplicaSets } from './cli-workload.js';
import { namespaceFor, splitKindName, type CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';

export interface DescribeInput {
  kind: string;
  name?: string;
  namespace?: string;
}

const LABEL_WIDTH = 20;

function line(label: string, value: string): string {
  return `${(label + ':').padEnd(LABEL_WIDTH)}${value}\n`;
}

/** "key=value" pairs one per line, aligned under the first; "<none>" when empty. */
function pairs(label: string, map: Record<string, string> | undefined): string {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return line(label, '<none>');
  return entries.map(([k, v], i) => (i === 0 ? line(label, `${k}=${v}`) : ' '.repeat(LABEL_WIDTH) + `${k}=${v}\n`)).join('');
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => by + l + '\n')
    .join('');
}

function titleCase(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/** Sizes of a Secret's values: `data` is base64, `stringData` plain text. */
function secretSizes(obj: KObject): string {
  const sizes = new Map<string, number>();
  const data = obj.data;
  if (data !== null && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) sizes.set(k, typeof v === 'string' ? Buffer.from(v, 'base64').length : 0);
  }
  const stringData = obj.stringData;
  if (stringData !== null && typeof stringData === 'object') {
    for (const [k, v] of Object.entries(stringData)) sizes.set(k, typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0);
  }
  if (sizes.size === 0) return line('Data', '<none>');
  const width = Math.max(...[...sizes.keys()].map((k) => k.length)) + 1;
  return (
    'Data:\n' +
    [...sizes.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `  ${(k + ':').padEnd(width)}  ${n} bytes\n`)
      .join('')
  );
}

export function renderDescription(obj: KObject, namespaced: boolean): string {
  const m = obj.metadata;
  let out = line('Name', m.name);
  if (namespaced) out += line('Namespace', m.namespace ?? '');
  out += line('Kind', obj.kind);
  out += pairs('Labels', m.labels);
  out += pairs('Annotations', m.annotations);
  out += line('CreationTimestamp', m.creationTimestamp ?? '<unknown>');
  if (m.deletionTimestamp) out += line('DeletionTimestamp', m.deletionTimestamp);
  if (m.ownerReferences && m.ownerReferences.length > 0) {
    out += line('Controlled By', m.ownerReferences.map((r) => `${r.kind}/${r.name}`).join(', '));
  }
  const isSecret = obj.kind === 'Secret';
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata' || value === undefined) continue;
    if (isSecret && (key === 'data' || key === 'stringData')) continue;
    if (value === null || typeof value !== 'object') {
      out += line(titleCase(key), String(value));
    } else if (Object.keys(value).length === 0) {
      out += line(titleCase(key), '<none>');
    } else {
      out += `${titleCase(key)}:\n${indent(toYaml(value))}`;
    }
  }
  if (isSecret) out += secretSizes(obj);
  return out;
}

/** Workloads are described with what they own, as kubectl's describers do; other kinds generically. */
async function describe(conn: ClusterConnection, obj: KObject, namespaced: boolean, now: number): Promise<string> {
  const namespace = obj.metadata.namespace ?? '';
  switch (obj.kind) {
    case 'Deployment': {
      const replicaSets = await ownedReplicaSets(conn, obj);
      return describeDeployment(obj, { replicaSets, pods: await ownedPods(conn, namespace, replicaSets), now });
    }
    case 'DaemonSet':
      return describeDaemonSet(obj, { pods: await ownedPods(conn, namespace, [obj]), now });
    case 'ReplicaSet':
      return describeReplicaSet(obj, { pods: await ownedPods(conn, namespace, [obj]), now });
    case 'Job':
      return describeJob(obj, { pods: await ownedPods(conn, namespace, [obj]), now });
    case 'Service': {
      // A Service without Endpoints (none yet, or no selector and none written) describes as "<none>".
      const endpoints = await conn.get({ kind: 'Endpoints', namespace, name: obj.metadata.name }).then((r) => JSON.parse(r.object) as KObject, () => undefined);
      return describeService(obj, endpoints);
    }
    default:
      return renderDescription(obj, namespaced);
  }
}

/** The last Events about `obj`, as the table kubectl ends a describe with; nothing when Events cannot be listed. */
async function eventsSection(conn: ClusterConnection, obj: KObject, now: number): Promise<string> {
  if (obj.kind === 'Event') return '';
  try {
    const res = await conn.list({ kind: 'Event', namespace: obj.metadata.namespace ?? DEFAULT_NAMESPACE, labelSelector: '' });
    return describeEvents(eventsAbout(obj, res.objects.map((o) => JSON.parse(o) as KObject)), now);
  } catch {
    // An older server without Events: the description is still worth printing.
    return '';
  }
}

export async function runDescribe(ctx: CommandContext, input: DescribeInput): Promise<number> {
  const { kind, name } = splitKindName(input.kind, input.name);
  if (name === undefined) throw new UsageError(`no name given: use \`bramble describe ${input.kind} NAME\``);
  const text = await withCluster(ctx.connect, async (conn) => {
    const res = await conn.get({ kind: kind.kind, namespace: namespaceFor(kind, input.namespace), name });
    const obj = JSON.parse(res.object) as KObject;
    const now = ctx.io.clock.now();
    return (await describe(conn, obj, kind.namespaced, now)) + (await eventsSection(conn, obj, now));
  });
  ctx.io.stdout.write(text);
  return 0;
}
