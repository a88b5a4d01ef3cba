// Small builders of Nodes and Pods for the scheduler's tests and benchmark.
import type { Container, NodeObject, Pod, Taint } from '../../proto/model.js';
import { ARCH_LABEL, DEFAULT_NAMESPACE } from '../../proto/model.js';

export function makeNode(name: string, opts: {
  cpu?: string; memory?: string; pods?: string; ready?: boolean; unschedulable?: boolean;
  labels?: Record<string, string>; taints?: Taint[]; arch?: string;
} = {}): NodeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { [ARCH_LABEL]: opts.arch ?? 'arm64', ...opts.labels } },
    spec: { unschedulable: opts.unschedulable, taints: opts.taints },
    status: {
      allocatable: { cpu: opts.cpu ?? '4', memory: opts.memory ?? '4Gi', pods: opts.pods ?? '110' },
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  };
}

export function makePod(name: string, opts: {
  cpu?: string; memory?: string; limitsOnly?: boolean; nodeName?: string; namespace?: string;
  nodeSelector?: Record<string, string>; tolerations?: Pod['spec']['tolerations'];
  ownerUid?: string; labels?: Record<string, string>; annotations?: Record<string, string>;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
} = {}): Pod {
  const amounts: Record<string, string> = {};
  if (opts.cpu) amounts.cpu = opts.cpu;
  if (opts.memory) amounts.memory = opts.memory;
  const container: Container = {
    name: 'main',
    image: 'busybox',
    resources: Object.keys(amounts).length === 0 ? undefined : opts.limitsOnly ? { limits: amounts } : { requests: amounts },
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: opts.namespace ?? DEFAULT_NAMESPACE,
      uid: `uid-${name}`,
      labels: opts.labels,
      annotations: opts.annotations,
      ownerReferences: opts.ownerUid
        ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: opts.ownerUid, controller: true }]
        : undefined,
    },
    spec: { containers: [container], nodeName: opts.nodeName, nodeSelector: opts.nodeSelector, tolerations: opts.tolerations },
    status: opts.phase ? { phase: opts.phase } : undefined,
  };
}

/** Groups Pods by spec.nodeName, as the scheduler's cache does. */
export function podsByNode(pods: Pod[]): Map<string, Pod[]> {
  const m = new Map<string, Pod[]>();
  for (const p of pods) {
    if (!p.spec.nodeName) continue;
    m.set(p.spec.nodeName, [...(m.get(p.spec.nodeName) ?? []), p]);
  }
  return m;
}
