// The scheduler's filters: may this Pod run on this Node at all? Each filter
// answers with the reasons a node does not fit, worded as Kubernetes words them,
// so the unschedulable message reads the same as on k3s.
import {
  ARCH_LABEL, IMAGE_ARCHES_ANNOTATION, parseQuantity,
  type NodeObject, type Pod, type Taint, type Toleration,
} from '../../proto/model.js';
import { isConditionTrue } from '../../proto/util/conditions.js';

/** What a Pod asks for: cpu in millicores, memory in bytes. */
export interface PodRequests {
  cpu: number;
  memory: number;
}

/** What a node can give and what the Pods already on it take. */
export interface NodeUsage {
  allocatableCpu: number;
  allocatableMemory: number;
  allocatablePods: number;
  requestedCpu: number;
  requestedMemory: number;
  podCount: number;
}

export const DEFAULT_MAX_PODS = 110;

// Pods and Nodes from the store are frozen, so a parse keyed by object identity
// never goes stale and each object's quantities are parsed once, not per decision.
const requestsCache = new WeakMap<Pod, PodRequests>();
const allocatableCache = new WeakMap<NodeObject, Pick<NodeUsage, 'allocatableCpu' | 'allocatableMemory' | 'allocatablePods'>>();

function quantity(q: string | undefined, asMilli: boolean): number {
  if (q === undefined) return 0;
  try {
    return parseQuantity(q, asMilli);
  } catch {
    // Validation rejects bad quantities on the way in; a stray one must not stop scheduling.
    return 0;
  }
}

function containerRequest(c: Pod['spec']['containers'][number], resource: 'cpu' | 'memory'): number {
  const r = c.resources;
  // Kubernetes defaults a missing request to the limit.
  const q = r?.requests?.[resource] ?? r?.limits?.[resource];
  return quantity(q, resource === 'cpu');
}

/** Sum of container requests; an init container runs alone, so it counts only when it asks for more. */
export function podRequests(pod: Pod): PodRequests {
  const cached = requestsCache.get(pod);
  if (cached) return cached;
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += containerRequest(c, 'cpu');
    memory += containerRequest(c, 'memory');
  }
  for (const c of pod.spec?.initContainers ?? []) {
    cpu = Math.max(cpu, containerRequest(c, 'cpu'));
    memory = Math.max(memory, containerRequest(c, 'memory'));
  }
  const result = { cpu, memory };
  if (Object.isFrozen(pod)) requestsCache.set(pod, result);
  return result;
}

export function nodeAllocatable(node: NodeObject): Pick<NodeUsage, 'allocatableCpu' | 'allocatableMemory' | 'allocatablePods'> {
  const cached = allocatableCache.get(node);
  if (cached) return cached;
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  const result = {
    allocatableCpu: quantity(a.cpu, true),
    allocatableMemory: quantity(a.memory, false),
    allocatablePods: a.pods === undefined ? DEFAULT_MAX_PODS : quantity(a.pods, false),
  };
  if (Object.isFrozen(node)) allocatableCache.set(node, result);
  return result;
}

/** A Pod that has finished holds no resources any more. */
export function isTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * The Pods bound to one node with running totals of what the live ones request
 * and how many of each spread key there are, kept up to date on add/delete so a
 * scheduling decision costs the same whether a node holds 2 Pods or 100.
 * Pods must not change while held (stored Pods are frozen): replace, don't edit.
 */
export class NodePods implements Iterable<Pod> {
  private readonly pods = new Set<Pod>();
  requestedCpu = 0;
  requestedMemory = 0;
  livePods = 0;
  private readonly spread = new Map<string, number>();

  constructor(private readonly keyOf: (pod: Pod) => string) {}

  get size(): number {
    return this.pods.size;
  }

  add(pod: Pod): void {
    if (this.pods.has(pod)) return;
    this.pods.add(pod);
    this.count(pod, 1);
  }

  delete(pod: Pod): void {
    if (this.pods.delete(pod)) this.count(pod, -1);
  }

  /** Live Pods with this spread key. */
  siblings(key: string): number {
    return this.spread.get(key) ?? 0;
  }

  [Symbol.iterator](): Iterator<Pod> {
    return this.pods[Symbol.iterator]();
  }

  private count(pod: Pod, sign: 1 | -1): void {
    if (isTerminated(pod)) return;
    const r = podRequests(pod);
    this.requestedCpu += sign * r.cpu;
    this.requestedMemory += sign * r.memory;
    this.livePods += sign;
    const key = this.keyOf(pod);
    if (key === '') return;
    const n = (this.spread.get(key) ?? 0) + sign;
    if (n === 0) this.spread.delete(key);
    else this.spread.set(key, n);
  }
}

/** The node's allocatable figures and the sum of what its live Pods request. */
export function nodeUsage(node: NodeObject, podsOnNode: Iterable<Pod> | undefined): NodeUsage {
  const a = nodeAllocatable(node);
  let cpu = 0;
  let memory = 0;
  let count = 0;
  if (podsOnNode instanceof NodePods) {
    cpu = podsOnNode.requestedCpu;
    memory = podsOnNode.requestedMemory;
    count = podsOnNode.livePods;
  } else if (podsOnNode) {
    for (const p of podsOnNode) {
      if (isTerminated(p)) continue;
      const r = podRequests(p);
      cpu += r.cpu;
      memory += r.memory;
      count++;
    }
  }
  // Spelled out rather than spread: this runs for every node of every decision.
  return {
    allocatableCpu: a.allocatableCpu, allocatableMemory: a.allocatableMemory, allocatablePods: a.allocatablePods,
    requestedCpu: cpu, requestedMemory: memory, podCount: count,
  };
}

// ------------------------------------------------------------------ filters
// A decision runs every filter against every node, so the Pod's side of each
// filter is worked out once (PodFacts) and the per-node checks allocate nothing.

const NONE: readonly never[] = Object.freeze([]);

/** The Pod's side of the filters, computed once per decision. */
export interface PodFacts {
  requests: PodRequests;
  tolerations: readonly Toleration[];
  nodeSelector: readonly [string, string][];
  arches: readonly string[] | undefined;
}

// A class, so the filters can tell facts from a Pod (whose index signature defeats `in` checks).
class FactsBox implements PodFacts {
  constructor(
    readonly requests: PodRequests,
    readonly tolerations: readonly Toleration[],
    readonly nodeSelector: readonly [string, string][],
    readonly arches: readonly string[] | undefined,
  ) {}
}

export function podFacts(pod: Pod): PodFacts {
  const sel = pod.spec?.nodeSelector;
  return new FactsBox(podRequests(pod), pod.spec?.tolerations ?? NONE, sel ? Object.entries(sel) : NONE, podImageArches(pod));
}

function factsOf(p: Pod | PodFacts): PodFacts {
  return p instanceof FactsBox ? p : podFacts(p as Pod);
}

export function isNodeReady(node: NodeObject): boolean {
  return isConditionTrue(node.status?.conditions, 'Ready');
}

/** Node condition and cordon: returns the reason the node is out, or undefined. */
export function filterNodeState(node: NodeObject): string | undefined {
  if (node.spec?.unschedulable) return 'node(s) were unschedulable';
  if (!isNodeReady(node)) return 'node(s) were not ready';
  return undefined;
}

export function filterNodeSelector(pod: Pod | PodFacts, node: NodeObject): string | undefined {
  const sel = factsOf(pod).nodeSelector;
  if (sel.length === 0) return undefined;
  const labels = node.metadata.labels;
  for (const [k, v] of sel) {
    if (labels?.[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
  }
  return undefined;
}

export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  if ((t.operator ?? 'Equal') === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

export function filterTaints(pod: Pod | PodFacts, node: NodeObject): string | undefined {
  const taints = node.spec?.taints;
  if (!taints || taints.length === 0) return undefined;
  const tolerations = factsOf(pod).tolerations;
  for (const taint of taints) {
    // PreferNoSchedule is a preference, never a reason to refuse a node.
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => toleratesTaint(t, taint))) {
      return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
    }
  }
  return undefined;
}

/** The architectures a Pod's image is known to have, or undefined when nobody said. */
export function podImageArches(pod: Pod): string[] | undefined {
  const raw = pod.metadata.annotations?.[IMAGE_ARCHES_ANNOTATION];
  if (raw === undefined) return undefined;
  const arches = raw.split(',').map((a) => a.trim()).filter((a) => a !== '');
  return arches.length > 0 ? arches : undefined;
}

/**
 * The control plane has no registry access (boards pull images themselves), so it
 * cannot read an image's manifest list. The annotation — set by a user or by a tool
 * that inspected the image — is the only architecture knowledge it has; without it
 * every architecture is assumed to work and a wrong guess shows up on the board as
 * an exec format error.
 */
export function filterArchitecture(pod: Pod | PodFacts, node: NodeObject): string | undefined {
  const arches = factsOf(pod).arches;
  if (!arches) return undefined;
  const arch = node.metadata.labels?.[ARCH_LABEL];
  if (arch !== undefined && arches.includes(arch)) return undefined;
  return `node(s) didn't match the image's architectures (${arches.join(', ')})`;
}

/** Every resource the node lacks for the Pod (Kubernetes lists them all, not just the first). */
export function filterResources(req: PodRequests, usage: NodeUsage): readonly string[] {
  const tooMany = usage.podCount + 1 > usage.allocatablePods;
  const cpu = req.cpu > 0 && usage.requestedCpu + req.cpu > usage.allocatableCpu;
  const memory = req.memory > 0 && usage.requestedMemory + req.memory > usage.allocatableMemory;
  if (!tooMany && !cpu && !memory) return NONE;
  const reasons: string[] = [];
  if (tooMany) reasons.push('Too many pods');
  if (cpu) reasons.push('Insufficient cpu');
  if (memory) reasons.push('Insufficient memory');
  return reasons;
}

/** The first refusal of the node-only filters, in Kubernetes' order; undefined means go on to resources. */
export function nodeRefusal(facts: PodFacts, node: NodeObject): string | undefined {
  return filterNodeState(node) ?? filterTaints(facts, node) ?? filterNodeSelector(facts, node) ?? filterArchitecture(facts, node);
}
