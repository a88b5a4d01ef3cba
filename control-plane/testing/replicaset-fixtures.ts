// Builders for the ReplicaSet controller's tests: a namespace, a ReplicaSet and
// Pods in the states the controller tells apart.
import type { Condition, KObject, Pod, PodPhase, ReplicaSet } from '../../proto/model.js';
import type { Store } from '../store/store.js';

export function makeNamespace(name = 'default'): KObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `uid-ns-${name}` } };
}

export function makeReplicaSet(name: string, opts: { replicas?: number; minReadySeconds?: number; labels?: Record<string, string>; generation?: number } = {}): ReplicaSet {
  const labels = opts.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `uid-rs-${name}`, generation: opts.generation ?? 1, creationTimestamp: '2026-01-01T00:00:00.000Z' },
    spec: {
      replicas: opts.replicas ?? 1,
      minReadySeconds: opts.minReadySeconds,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
    },
  };
}

export interface PodState {
  labels?: Record<string, string>;
  owner?: ReplicaSet;
  nodeName?: string;
  phase?: PodPhase;
  ready?: boolean;
  /** ISO time of the Ready condition's last transition. */
  readySince?: string;
  created?: string;
  deleting?: boolean;
}

export function makeRsPod(name: string, s: PodState = {}): Pod {
  const conditions: Condition[] = s.ready === undefined ? [] : [{ type: 'Ready', status: s.ready ? 'True' : 'False', lastTransitionTime: s.readySince }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: s.labels,
      creationTimestamp: s.created ?? '2026-01-01T00:00:00.000Z',
      ...(s.deleting ? { deletionTimestamp: '2026-01-01T00:00:00.000Z' } : {}),
      ...(s.owner ? {
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: s.owner.metadata.name, uid: s.owner.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      } : {}),
    },
    spec: { containers: [{ name: 'main', image: 'busybox' }], nodeName: s.nodeName },
    status: { phase: s.phase ?? 'Pending', conditions },
  };
}

/** Creates each object (precondition absent), in one command. */
export async function seed(store: Store, ...objects: KObject[]): Promise<void> {
  await store.propose({ ops: objects.map((object) => ({ type: 'put' as const, object, precondition: { absent: true as const } })) });
}
