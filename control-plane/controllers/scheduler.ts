// The scheduling decision, as a pure function: which node should run this Pod,
// or why none can. No store, no clock: the controller feeds it what it knows.
import type { NodeObject, Pod } from '../../proto/model.js';
import { filterResources, nodeRefusal, nodeUsage, podFacts, type NodeUsage } from './scheduler-filters.js';
import { countSiblings, leastRequestedScore, spreadKey, spreadScore } from './scheduler-score.js';

export type ScheduleResult =
  | { nodeName: string }
  /** `reasons` counts the nodes refused for each reason. */
  | { unschedulable: string; reasons: Record<string, number> };

/**
 * The Pods bound to each node, by node name (terminated ones may be included: they
 * are skipped). A NodePods (scheduler-filters.ts) carries running totals and makes
 * a decision independent of how many Pods each node holds; plain arrays are summed.
 */
export type PodsByNode = ReadonlyMap<string, Iterable<Pod>>;

/** Kubernetes' wording: counts grouped by reason, most frequent first, then alphabetical. */
export function unschedulableMessage(nodeCount: number, reasons: ReadonlyMap<string, number>): string {
  if (nodeCount === 0) return '0/0 nodes are available: no nodes have joined the cluster.';
  const parts = [...reasons.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([reason, n]) => `${n} ${reason}`);
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
}

export function schedule(pod: Pod, nodes: readonly NodeObject[], podsByNode: PodsByNode): ScheduleResult {
  const wanted = pod.spec?.nodeName;
  if (wanted) {
    if (nodes.some((n) => n.metadata.name === wanted)) return { nodeName: wanted };
    const reason = `spec.nodeName names node "${wanted}", which does not exist`;
    return { unschedulable: `${reason}: the Pod stays Pending until that node joins.`, reasons: { [reason]: 1 } };
  }

  const facts = podFacts(pod);
  const req = facts.requests;
  const reasons = new Map<string, number>();
  const feasible: { name: string; usage: NodeUsage }[] = [];
  for (const node of nodes) {
    const name = node.metadata.name;
    const first = nodeRefusal(facts, node);
    if (first !== undefined) {
      reasons.set(first, (reasons.get(first) ?? 0) + 1);
      continue;
    }
    const usage = nodeUsage(node, podsByNode.get(name));
    const short = filterResources(req, usage);
    if (short.length > 0) {
      for (const r of short) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      continue;
    }
    feasible.push({ name, usage });
  }

  if (feasible.length === 0) {
    return { unschedulable: unschedulableMessage(nodes.length, reasons), reasons: Object.fromEntries(reasons) };
  }

  const key = spreadKey(pod);
  const siblings = feasible.map((f) => countSiblings(key, podsByNode.get(f.name)));
  let maxSiblings = 0;
  for (const n of siblings) if (n > maxSiblings) maxSiblings = n;
  let best: string | undefined;
  let bestScore = -Infinity;
  feasible.forEach((f, i) => {
    const score = leastRequestedScore(req, f.usage) + spreadScore(siblings[i]!, maxSiblings);
    // Equal scores go to the first name in order, so the same inputs always give the same node.
    if (score > bestScore || (score === bestScore && best !== undefined && f.name < best)) {
      best = f.name;
      bestScore = score;
    }
  });
  return { nodeName: best! };
}
