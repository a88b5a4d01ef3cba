// The scheduler's scores among the nodes that fit: prefer the emptiest node
// (least requested) and spread the replicas of one owner over nodes, so one
// board failing takes down as few replicas as possible.
import type { Pod } from '../../proto/model.js';
import { isTerminated, NodePods, type NodeUsage, type PodRequests } from './scheduler-filters.js';

export const MAX_SCORE = 100;

// Like Kubernetes, a Pod that requests nothing still counts as a small one when
// scoring, or nodes full of request-less Pods would all look empty.
export const DEFAULT_SCORING_CPU_MILLIS = 100;
export const DEFAULT_SCORING_MEMORY_BYTES = 200 * 1024 * 1024;

function scoringRequests(r: PodRequests): PodRequests {
  return {
    cpu: r.cpu > 0 ? r.cpu : DEFAULT_SCORING_CPU_MILLIS,
    memory: r.memory > 0 ? r.memory : DEFAULT_SCORING_MEMORY_BYTES,
  };
}

function freeFraction(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 0;
  return Math.max(0, (allocatable - requested) / allocatable);
}

/** 0..100: the average of free cpu and free memory fractions once the Pod is placed. */
export function leastRequestedScore(req: PodRequests, usage: NodeUsage): number {
  const r = scoringRequests(req);
  const cpu = freeFraction(usage.requestedCpu + r.cpu, usage.allocatableCpu);
  const mem = freeFraction(usage.requestedMemory + r.memory, usage.allocatableMemory);
  return ((cpu + mem) / 2) * MAX_SCORE;
}

/** What makes two Pods siblings: the first owner's uid, or their labels when they have no owner. */
export function spreadKey(pod: Pod): string {
  const cached = spreadKeys.get(pod);
  if (cached !== undefined) return cached;
  const key = computeSpreadKey(pod);
  // Stored Pods are frozen, so the key cannot change under the cache.
  if (Object.isFrozen(pod)) spreadKeys.set(pod, key);
  return key;
}

const spreadKeys = new WeakMap<Pod, string>();

function computeSpreadKey(pod: Pod): string {
  const owner = pod.metadata.ownerReferences?.[0];
  if (owner?.uid) return `uid:${owner.uid}`;
  const labels = pod.metadata.labels ?? {};
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `labels:${keys.map((k) => `${k}=${labels[k]}`).join(',')}`;
}

/** 0..100: full marks for a node with the fewest siblings, zero for the one with the most. */
export function spreadScore(siblingsOnNode: number, maxSiblingsOnAnyNode: number): number {
  if (maxSiblingsOnAnyNode <= 0) return MAX_SCORE;
  return ((maxSiblingsOnAnyNode - siblingsOnNode) / maxSiblingsOnAnyNode) * MAX_SCORE;
}

export function countSiblings(key: string, podsOnNode: Iterable<Pod> | undefined): number {
  if (key === '') return 0;
  if (podsOnNode instanceof NodePods) return podsOnNode.siblings(key);
  let n = 0;
  for (const p of podsOnNode ?? []) if (!isTerminated(p) && spreadKey(p) === key) n++;
  return n;
}

/** A NodePods whose siblings are counted by this module's spread key. */
export function newNodePods(): NodePods {
  return new NodePods(spreadKey);
}
