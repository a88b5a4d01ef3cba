// The pure pieces of Kubernetes' deployment/util (deployment_util.go): which
// ReplicaSet runs the Deployment's current template, revisions, replica sums
// and the fenceposts of a rolling update. The controller decides with these;
// none of them reads a store or a clock.
import { stableJson } from '../../proto/util/json.js';
import {
  POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION,
  type Deployment, type PodTemplateSpec, type ReplicaSet,
} from '../../proto/model.js';
import { resolveFenceposts } from './int-or-percent.js';

/** Kept ReplicaSets of old revisions when revisionHistoryLimit is not set (apps/v1's default). */
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
/** apps/v1's default progressDeadlineSeconds. */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
/** Annotations on a ReplicaSet: the Deployment's replicas and replicas+surge when it was last scaled (proportional scaling). */
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

export function desiredReplicas(d: Deployment): number {
  return d.spec.replicas ?? 1;
}

export function isRecreate(d: Deployment): boolean {
  return d.spec.strategy?.type === 'Recreate';
}

/** maxSurge and maxUnavailable as counts of this Deployment's desired Pods; Recreate has neither. */
export function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  if (isRecreate(d)) return { surge: 0, unavailable: 0 };
  const r = d.spec.strategy?.rollingUpdate;
  const f = resolveFenceposts(r?.maxSurge, r?.maxUnavailable, desiredReplicas(d));
  // More unavailable than desired Pods means nothing need stay up; never less than none.
  return { surge: f.surge, unavailable: Math.min(f.unavailable, desiredReplicas(d)) };
}

/** The template without the pod-template-hash label, as it compares with the Deployment's. */
export function templateWithoutHash(t: PodTemplateSpec): PodTemplateSpec {
  const labels = t.metadata?.labels;
  if (!labels || !(POD_TEMPLATE_HASH_LABEL in labels)) return t;
  const { [POD_TEMPLATE_HASH_LABEL]: _hash, ...rest } = labels;
  return { ...t, metadata: { ...t.metadata, labels: rest } };
}

/** Kubernetes' EqualIgnoreHash: the same Pod template, whatever hash label either carries. */
export function sameTemplate(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return stableJson(templateWithoutHash(a)) === stableJson(templateWithoutHash(b));
}

export function revisionOf(rs: ReplicaSet): number {
  const v = Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '0');
  return Number.isSafeInteger(v) && v > 0 ? v : 0;
}

function createdAt(rs: ReplicaSet): number {
  const at = Date.parse(rs.metadata.creationTimestamp ?? '');
  return Number.isNaN(at) ? 0 : at;
}

/** Oldest first, names breaking ties (Kubernetes' ReplicaSetsByCreationTimestamp). */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  return createdAt(a) - createdAt(b) || (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
}

/**
 * The ReplicaSet running the Deployment's template: of several equal ones (a
 * hash collision, an adopted copy) the oldest, as Kubernetes' FindNewReplicaSet.
 */
export function findNewReplicaSet(d: Deployment, rss: readonly ReplicaSet[]): ReplicaSet | undefined {
  return [...rss].sort(byCreation).find((rs) => sameTemplate(rs.spec.template, d.spec.template));
}

export function specReplicas(rs: ReplicaSet | undefined): number {
  return rs?.spec.replicas ?? 0;
}

/** Pods the ReplicaSets are asked for (spec), then have (status), are ready, are available. */
export function sumSpec(rss: readonly (ReplicaSet | undefined)[]): number {
  return rss.reduce((n, rs) => n + specReplicas(rs), 0);
}
export function sumActual(rss: readonly (ReplicaSet | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs?.status?.replicas ?? 0), 0);
}
export function sumReady(rss: readonly (ReplicaSet | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs?.status?.readyReplicas ?? 0), 0);
}
export function sumAvailable(rss: readonly (ReplicaSet | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs?.status?.availableReplicas ?? 0), 0);
}

/** The revision a new ReplicaSet (or the current one, when it is not the latest) takes: one past every other. */
export function nextRevision(others: readonly ReplicaSet[]): number {
  return others.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0) + 1;
}

/**
 * How many Pods the new ReplicaSet should ask for now (Kubernetes' NewRSNewReplicas):
 * every desired Pod for Recreate; for a rolling update as many as the surge allows
 * over what all ReplicaSets ask for, never past the desired count.
 */
export function newReplicaSetReplicas(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined): number {
  const want = desiredReplicas(d);
  if (isRecreate(d)) return want;
  const { surge } = fenceposts(d);
  const current = specReplicas(newRS);
  const total = sumSpec(all);
  const maxTotal = want + surge;
  if (total >= maxTotal) return current;
  return current + Math.max(0, Math.min(maxTotal - total, want - current));
}

/** Whether the new ReplicaSet alone has every desired Pod, all of them available (IsSaturated). */
export function isSaturated(d: Deployment, newRS: ReplicaSet | undefined): boolean {
  if (!newRS) return false;
  const want = desiredReplicas(d);
  const desiredAnno = newRS.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  return specReplicas(newRS) === want && (desiredAnno === undefined || Number(desiredAnno) === want) && (newRS.status?.availableReplicas ?? 0) === want;
}

/**
 * A change of spec.replicas alone (no new template): some active ReplicaSet was
 * last scaled for another desired count (Kubernetes' isScalingEvent).
 */
export function isScalingEvent(d: Deployment, rss: readonly ReplicaSet[]): boolean {
  const want = desiredReplicas(d);
  return rss.some((rs) => {
    if (specReplicas(rs) === 0) return false;
    const anno = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
    return anno !== undefined && Number(anno) !== want;
  });
}

/**
 * Proportional scaling while a rolling update is under way (Kubernetes' scale()):
 * what each ReplicaSet should ask for so that all together ask for replicas+surge,
 * the change shared in proportion to what each asks for now. The remainder of
 * the rounding goes to the largest (newest on a tie), as Kubernetes does.
 */
export function proportionalScale(d: Deployment, active: readonly ReplicaSet[]): Map<string, number> {
  const out = new Map<string, number>();
  const allowed = desiredReplicas(d) + fenceposts(d).surge;
  const total = sumSpec(active);
  const diff = allowed - total;
  if (diff === 0 || total === 0) return out;
  // Largest first; the newest of equals first when growing, the oldest first when shrinking.
  const ordered = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (diff > 0 ? byCreation(b, a) : byCreation(a, b)));
  let added = 0;
  for (const rs of ordered) {
    const share = Math.trunc((specReplicas(rs) * diff) / total);
    out.set(rs.metadata.name, specReplicas(rs) + share);
    added += share;
  }
  const first = ordered[0]!;
  out.set(first.metadata.name, Math.max(0, out.get(first.metadata.name)! + diff - added));
  return out;
}

/**
 * What each old ReplicaSet should scale down to in this step of a rolling update
 * (Kubernetes' reconcileOldReplicaSets): first the Pods that are not available
 * anyway (cleanupUnhealthyReplicas), then available ones, never taking the
 * available Pods of all ReplicaSets below replicas - maxUnavailable.
 */
export function oldReplicaSetScaleDown(d: Deployment, oldRSs: readonly ReplicaSet[], newRS: ReplicaSet | undefined): Map<string, number> {
  const out = new Map<string, number>();
  const all = [...oldRSs, ...(newRS ? [newRS] : [])];
  if (sumSpec(oldRSs) === 0) return out;
  const minAvailable = desiredReplicas(d) - fenceposts(d).unavailable;
  const newUnavailable = specReplicas(newRS) - (newRS?.status?.availableReplicas ?? 0);
  let maxScaledDown = sumSpec(all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return out;
  const target = new Map(oldRSs.map((rs) => [rs.metadata.name, specReplicas(rs)]));
  // Unhealthy first: scaling down Pods that are not available costs no availability.
  let cleaned = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (maxScaledDown - cleaned <= 0) break;
    const spec = specReplicas(rs);
    const unhealthy = spec - (rs.status?.availableReplicas ?? 0);
    if (spec === 0 || unhealthy <= 0) continue;
    const down = Math.min(unhealthy, maxScaledDown - cleaned);
    target.set(rs.metadata.name, spec - down);
    cleaned += down;
  }
  // Then available Pods, down to the minimum available across every ReplicaSet.
  const available = sumAvailable(all);
  let budget = Math.max(0, Math.min(available - minAvailable, maxScaledDown - cleaned));
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (budget <= 0) break;
    const now = target.get(rs.metadata.name)!;
    if (now === 0) continue;
    const down = Math.min(now, budget);
    target.set(rs.metadata.name, now - down);
    budget -= down;
  }
  for (const rs of oldRSs) {
    const t = target.get(rs.metadata.name)!;
    if (t !== specReplicas(rs)) out.set(rs.metadata.name, t);
  }
  return out;
}

/**
 * Old ReplicaSets to delete beyond revisionHistoryLimit, oldest revision first:
 * only those scaled to zero with nothing left running and their last scale seen.
 */
export function replicaSetsToCleanUp(d: Deployment, oldRSs: readonly ReplicaSet[]): ReplicaSet[] {
  const limit = d.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
  const live = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const excess = live.length - limit;
  if (excess <= 0) return [];
  const candidates = [...live]
    .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b))
    .filter((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0
      && (rs.status?.observedGeneration ?? 0) >= (rs.metadata.generation ?? 1));
  return candidates.slice(0, excess);
}
