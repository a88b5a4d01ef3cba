// A DaemonSet's rolling update (Kubernetes' daemon/update.go rollingUpdate): Pods
// whose revision hash is not the template's are old and are replaced node by
// node. Without surge an old Pod is deleted first and its node gets the new one
// once it is empty (placement does that), never more than maxUnavailable nodes
// at a time without an available Pod. With surge the new Pod starts beside the
// old one, and the old goes once the new is available. Pure, like placement.
import type { Pod } from '../../proto/model.js';
import type { DaemonNode } from './daemonset-nodes.js';
import { isFinished, isUpdated, type DaemonPods, type PodPlan } from './daemonset-placement.js';
import { isPodAvailable } from './pod-ranking.js';

export interface RolloutInput {
  nodes: readonly DaemonNode[];
  pods: DaemonPods;
  hash: string;
  /** Resolved against desiredNumberScheduled. */
  maxSurge: number;
  maxUnavailable: number;
  minReadySeconds: number;
  now: number;
}

/** The node's one new and one old Pod; undefined when it has more of either (placement clears that first). */
function splitByRevision(pods: readonly Pod[], hash: string): { updated?: Pod; old?: Pod } | undefined {
  let updated: Pod | undefined;
  let old: Pod | undefined;
  for (const pod of pods) {
    if (isUpdated(pod, hash)) {
      if (updated) return undefined;
      updated = pod;
    } else {
      if (old) return undefined;
      old = pod;
    }
  }
  return { updated, old };
}

export function planRollout(input: RolloutInput): PodPlan {
  return input.maxSurge > 0 ? surgeRollout(input) : replaceRollout(input);
}

/** Delete first: at most maxUnavailable nodes without an available Pod. */
function replaceRollout(input: RolloutInput): PodPlan {
  const available = (p: Pod): boolean => isPodAvailable(p, input.minReadySeconds, input.now);
  let unavailable = 0;
  const unavailableOld: Pod[] = [];
  const candidates: Pod[] = [];
  for (const node of input.nodes) {
    if (!node.shouldContinueRunning) continue;
    const pods = (input.pods.byNode.get(node.name) ?? []).filter((p) => !isFinished(p));
    const split = splitByRevision(pods, input.hash);
    if (!split || (split.updated && split.old)) {
      unavailable++;
      continue;
    }
    const { updated, old } = split;
    if (updated) {
      if (!available(updated)) unavailable++;
    } else if (old) {
      // An old Pod that is not available costs its node already: replacing it costs nothing more.
      if (!available(old)) {
        unavailable++;
        unavailableOld.push(old);
      } else {
        candidates.push(old);
      }
    } else if (node.shouldRun) {
      // No Pod yet (or one still terminating): this node is without one now.
      unavailable++;
    }
  }
  const budget = Math.max(0, Math.min(input.maxUnavailable - unavailable, candidates.length));
  return { createOn: [], deletes: [...unavailableOld, ...candidates.slice(0, budget)] };
}

/** Create first: at most maxSurge new Pods not yet available beside an old one. */
function surgeRollout(input: RolloutInput): PodPlan {
  const available = (p: Pod): boolean => isPodAvailable(p, input.minReadySeconds, input.now);
  let surging = 0;
  const deletes: Pod[] = [];
  const replaceNow: string[] = [];
  const candidates: string[] = [];
  for (const node of input.nodes) {
    if (!node.shouldContinueRunning) continue;
    const pods = (input.pods.byNode.get(node.name) ?? []).filter((p) => !isFinished(p));
    const split = splitByRevision(pods, input.hash);
    if (!split) {
      surging++;
      continue;
    }
    const { updated, old } = split;
    if (!old) continue; // Up to date, or empty: placement makes its Pod.
    if (!updated) {
      if (!available(old)) {
        // Nothing is served here anyway: replace at once, outside the surge budget.
        if (node.shouldRun) replaceNow.push(node.name);
        else deletes.push(old);
      } else if (node.shouldRun) {
        candidates.push(node.name);
      }
      continue;
    }
    if (available(updated)) deletes.push(old);
    else surging++;
  }
  const budget = Math.max(0, Math.min(input.maxSurge - surging, candidates.length));
  return { createOn: [...replaceNow, ...candidates.slice(0, budget)], deletes };
}
