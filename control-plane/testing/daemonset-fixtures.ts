// Builders for the DaemonSet controller's tests: a DaemonSet, and the writes the
// rest of the cluster would make (an agent reporting a Pod Ready, an agent
// finishing a graceful delete, an operator changing a node).
import type { DaemonSet, DaemonSetSpec, NodeObject, Pod, Toleration } from '../../proto/model.js';
import type { Store } from '../store/store.js';

export function makeDaemonSet(name: string, opts: {
  image?: string; nodeSelector?: Record<string, string>; tolerations?: Toleration[];
  updateStrategy?: DaemonSetSpec['updateStrategy']; minReadySeconds?: number; generation?: number;
} = {}): DaemonSet {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default', uid: `uid-ds-${name}`, generation: opts.generation ?? 1, creationTimestamp: '2026-01-01T00:00:00.000Z' },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: opts.updateStrategy,
      minReadySeconds: opts.minReadySeconds,
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: 'main', image: opts.image ?? 'fluent-bit:1' }],
          nodeSelector: opts.nodeSelector,
          tolerations: opts.tolerations,
        },
      },
    },
  };
}

/** Replaces a stored object through `change`, with its resourceVersion as precondition. */
export async function update<T extends { metadata: { resourceVersion?: string } }>(store: Store, current: T, change: (obj: T) => T): Promise<void> {
  await store.propose({ ops: [{ type: 'put', object: change(current) as never, precondition: { resourceVersion: current.metadata.resourceVersion! } }] });
}

/** What an agent reports for a running Pod: Running, and Ready since `sinceMs`. */
export async function markReady(store: Store, pod: Pod, sinceMs: number): Promise<void> {
  await update<Pod>(store, pod, (p) => ({
    ...p,
    status: { ...p.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(sinceMs).toISOString() }] },
  }));
}

/** What agents do with a gracefully deleted Pod once its containers stopped: remove it. */
export async function finishDeletions(store: Store): Promise<void> {
  const ops = (store.list('Pod').items as Pod[])
    .filter((p) => p.metadata.deletionTimestamp)
    .map((p) => ({ type: 'delete' as const, kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, precondition: { resourceVersion: p.metadata.resourceVersion! } }));
  if (ops.length > 0) await store.propose({ ops });
}

export function nodeNamed(store: Store, name: string): NodeObject {
  return store.get('Node', undefined, name) as NodeObject;
}
