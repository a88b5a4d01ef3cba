// What `bramble drain NODE` would do with the Pods bound to the node, decided
// before anything is evicted (kubectl drain's filters, in its order): DaemonSet
// Pods are skipped with --ignore-daemonsets and refused without it (their
// controller would put them straight back); Pods with emptyDir volumes lose that
// data, so they need --delete-emptydir-data; bare Pods (no controller) are never
// made again, so they need --force. Finished Pods (Succeeded, Failed) hold nothing
// and are deleted whatever they are. Any refusal means nothing is evicted.
// Bramble has no mirror Pods (no static Pods on the boards), so that filter is gone.
import type { KObject, Pod } from '../../proto/model.js';

export interface DrainFlags {
  force: boolean;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
}

export interface DrainPlan {
  /** Pods to evict (graceful delete), namespace/name order. */
  evict: Pod[];
  /** DaemonSet Pods left running (--ignore-daemonsets). */
  ignored: Pod[];
  /** kubectl's warning lines, without the "Warning: " prefix. */
  warnings: string[];
  /** kubectl's error lines; when there are any, nothing may be evicted. */
  refusals: string[];
}

function shown(pods: Pod[]): string {
  return pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ');
}

function controllerKind(pod: KObject): string | undefined {
  return (pod.metadata.ownerReferences ?? []).find((r) => r.controller === true)?.kind;
}

function isFinished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** The Pods bound to `nodeName` (of all the cluster's Pods) and what drain does with each. */
export function planDrain(nodeName: string, pods: readonly Pod[], flags: DrainFlags): DrainPlan {
  const mine = pods
    .filter((p) => p.spec?.nodeName === nodeName)
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  const daemons: Pod[] = [];
  const localStorage: Pod[] = [];
  const bare: Pod[] = [];
  const evict: Pod[] = [];
  for (const pod of mine) {
    const kind = controllerKind(pod);
    if (kind === 'DaemonSet' && !isFinished(pod)) {
      daemons.push(pod);
      continue;
    }
    if (!isFinished(pod) && (pod.spec.volumes ?? []).some((v) => v.emptyDir !== undefined)) localStorage.push(pod);
    if (kind === undefined && !isFinished(pod)) bare.push(pod);
    evict.push(pod);
  }
  const warnings: string[] = [];
  const refusals: string[] = [];
  if (daemons.length > 0) {
    if (flags.ignoreDaemonSets) warnings.push(`ignoring DaemonSet-managed Pods: ${shown(daemons)}`);
    else refusals.push(`cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${shown(daemons)}`);
  }
  if (localStorage.length > 0) {
    if (flags.deleteEmptyDirData) warnings.push(`deleting Pods with local storage: ${shown(localStorage)}`);
    else refusals.push(`cannot delete Pods with local storage (use --delete-emptydir-data to override): ${shown(localStorage)}`);
  }
  if (bare.length > 0) {
    if (flags.force) warnings.push(`deleting Pods that declare no controller: ${shown(bare)}`);
    else refusals.push(`cannot delete Pods declare no controller (use --force to override): ${shown(bare)}`);
  }
  return { evict: refusals.length > 0 ? [] : evict, ignored: daemons, warnings, refusals };
}
