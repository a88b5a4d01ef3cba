// Which Pod `bramble logs TARGET` reads: a Pod by name ("web-x7k2q" or
// "pod/web-x7k2q"), or a workload ("job/migrate", "deploy/web", "rs/…", "ds/…"),
// for which kubectl reads one of its Pods: the best to log from (ByLogging:
// bound before unbound, Running before others, Ready before not, older first),
// so a finished Job's first Pod.
import type { ClusterConnection } from './cli-client.js';
import { UsageError } from './cli-errors.js';
import { requireKind } from './cli-context.js';
import { ownedPods, ownedReplicaSets } from './cli-workload.js';
import type { KObject, Pod } from '../../proto/model.js';

/** How a Pod ranks for logs: lower first (kubectl's controller.ByLogging, shortened). */
function loggingRank(p: Pod): number[] {
  const phase = p.status?.phase;
  const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const created = Date.parse(p.metadata.creationTimestamp ?? '') || 0;
  return [p.spec.nodeName ? 0 : 1, phase === 'Running' ? 0 : phase === 'Pending' ? 2 : 1, ready ? 0 : 1, created];
}

/** The Pod kubectl would pick among a workload's Pods; undefined when there are none. */
export function pickLogPod(pods: readonly KObject[]): KObject | undefined {
  const cmp = (a: KObject, b: KObject): number => {
    const ra = loggingRank(a as Pod);
    const rb = loggingRank(b as Pod);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return a.metadata.name.localeCompare(b.metadata.name);
  };
  return [...pods].sort(cmp)[0];
}

const WORKLOADS = ['Job', 'Deployment', 'ReplicaSet', 'DaemonSet'];

/** The name of the Pod to read for `target`, looked up through `conn` for a workload. */
export async function resolveLogPod(conn: ClusterConnection, target: string, namespace: string): Promise<string> {
  const slash = target.indexOf('/');
  if (slash < 0) return target;
  const kind = requireKind(target.slice(0, slash));
  const name = target.slice(slash + 1);
  if (name === '') throw new UsageError(`"${target}" names no object: use KIND/NAME`);
  if (kind.kind === 'Pod') return name;
  if (!WORKLOADS.includes(kind.kind)) {
    throw new UsageError(`logs reads a Pod or a Job, Deployment, ReplicaSet or DaemonSet's Pod: current value is "${target}"`);
  }
  const res = await conn.get({ kind: kind.kind, namespace, name });
  const owner = JSON.parse(res.object) as KObject;
  const owners = kind.kind === 'Deployment' ? await ownedReplicaSets(conn, owner) : [owner];
  const pod = pickLogPod(await ownedPods(conn, namespace, owners));
  if (!pod) throw new UsageError(`${kind.kind.toLowerCase()}/${name} has no Pods to read logs from yet`);
  return pod.metadata.name;
}

