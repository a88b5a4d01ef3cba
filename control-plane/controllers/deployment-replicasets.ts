// The ReplicaSets a Deployment makes and keeps (Kubernetes' getNewReplicaSet and
// SetNewReplicaSetAnnotations): named and labelled by the template hash, selecting
// only their own Pods, carrying the rollout revision and the Deployment's own
// annotations (kubectl's change-cause), and marked with the replicas they were
// last scaled for. Pure: each returns the object to write, or undefined.
import { stableJson } from '../../proto/util/json.js';
import {
  POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION,
  type Deployment, type ReplicaSet,
} from '../../proto/model.js';
import { controllerRef } from './owner-claims.js';
import { podTemplateHash } from './pod-template-hash.js';
import {
  DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, desiredReplicas, fenceposts, newReplicaSetReplicas, nextRevision, revisionOf,
} from './deployment-util.js';

/** Deployment annotations never copied to its ReplicaSets: the controller's own and kubectl's apply record. */
const NOT_COPIED = new Set([
  REVISION_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION,
  'kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision-history',
]);

function copiedAnnotations(d: Deployment): Record<string, string> {
  return Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED.has(k)));
}

/** The ReplicaSet for the Deployment's current template, as it would be created now. */
export function newReplicaSetFor(d: Deployment, oldRSs: readonly ReplicaSet[]): ReplicaSet {
  const hash = podTemplateHash(d.spec.template, d.status?.collisionCount ?? 0, POD_TEMPLATE_HASH_LABEL);
  const labels = { ...(d.spec.template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const replicas = newReplicaSetReplicas(d, oldRSs, undefined);
  const want = desiredReplicas(d);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels,
      annotations: {
        ...copiedAnnotations(d),
        [REVISION_ANNOTATION]: String(nextRevision(oldRSs)),
        [DESIRED_REPLICAS_ANNOTATION]: String(want),
        [MAX_REPLICAS_ANNOTATION]: String(want + fenceposts(d).surge),
      },
      ownerReferences: [controllerRef(d)],
    },
    spec: {
      replicas,
      ...(d.spec.minReadySeconds !== undefined ? { minReadySeconds: d.spec.minReadySeconds } : {}),
      // Its own Pods only: the hash keeps two ReplicaSets of one Deployment from sharing Pods.
      selector: {
        ...d.spec.selector,
        matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash },
      },
      template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, labels } },
    },
  };
}

/**
 * The current ReplicaSet brought up to date: the latest revision (a rollback
 * makes an old ReplicaSet current again, under a new number), the Deployment's
 * annotations and minReadySeconds. Undefined when nothing changes.
 */
export function syncedAnnotations(d: Deployment, newRS: ReplicaSet, oldRSs: readonly ReplicaSet[]): ReplicaSet | undefined {
  const next = nextRevision(oldRSs);
  const revision = revisionOf(newRS) < next ? String(next) : newRS.metadata.annotations?.[REVISION_ANNOTATION] ?? String(next);
  const annotations = { ...(newRS.metadata.annotations ?? {}), ...copiedAnnotations(d), [REVISION_ANNOTATION]: revision };
  const minReady = d.spec.minReadySeconds;
  const spec = { ...newRS.spec };
  if (minReady !== undefined) spec.minReadySeconds = minReady;
  else delete spec.minReadySeconds;
  if (stableJson(annotations) === stableJson(newRS.metadata.annotations ?? {}) && stableJson(spec) === stableJson(newRS.spec)) return undefined;
  return { ...newRS, metadata: { ...newRS.metadata, annotations }, spec };
}

/** The ReplicaSet scaled to `replicas`, noting the Deployment's desired and maximum counts; undefined when it already is. */
export function withReplicaAnnotations(rs: ReplicaSet, replicas: number, desired: number, max: number): ReplicaSet | undefined {
  const annotations = { ...(rs.metadata.annotations ?? {}), [DESIRED_REPLICAS_ANNOTATION]: String(desired), [MAX_REPLICAS_ANNOTATION]: String(max) };
  if ((rs.spec.replicas ?? 0) === replicas && stableJson(annotations) === stableJson(rs.metadata.annotations ?? {})) return undefined;
  return { ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas } };
}
