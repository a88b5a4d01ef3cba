// The example manifests of the Kubernetes documentation (content/en/examples/
// controllers, application, pods and service of kubernetes/website) are what people
// paste first. They are not in this repository: what our tools fetch from other
// repositories stays out of our commits. Point BRAMBLE_K8S_EXAMPLES at a copy of
// content/en/examples (the folders controllers/, application/ and pods/); without
// it these tests are skipped, saying so. Each must apply to a
// new cluster as it is, or be refused for a reason listed in EXPECTED_FAILURES:
// a kind Bramble does not have, a field Bramble cannot honour, or a manifest
// Kubernetes refuses too. The table pins every problem of every refused file, so
// a file that starts failing for another reason fails this test.
//
// PENDING_FEATURE_FAILURES, kept apart, lists the files refused today only for a
// feature being built now: each names it in pendingFeature, and when the feature
// lands its entries move out of the table, so that their files must apply. It is
// empty since native sidecars, startup and gRPC probes, envFrom, the downward API's
// resourceFieldRef and spec.serviceAccountName, and securityContext landed.
//
// A few examples live in a namespace the documentation's task creates first
// (kubectl create namespace qos-example); NAMESPACE_FIRST lists them, and the
// namespace check below says so when another one does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { silentLogger } from '../../proto/util/log.js';
import { isBrambleError, type BrambleError, type ErrorCode } from '../../proto/util/errors.js';
import { SYSTEM_NAMESPACES, kindInfo } from '../../proto/model.js';
import { ClusterApi } from './api-cluster.js';
import { readManifests } from '../schema/manifest.js';
import { validateObjects } from '../schema/schema.js';
import { ensureSystemNamespaces } from '../server.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { createTokenRegistry } from '../pki/token-registry.js';
import { k8sExamplesDir, K8S_EXAMPLES_SKIP } from '../testing/k8s-examples.js';

/**
 * A cluster as `bramble server` leaves it on its first start, with its store to look
 * into, and the namespace the documentation creates first when there is one.
 */
async function freshCluster(namespace?: string): Promise<{ api: ClusterApi; store: Store }> {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await ensureSystemNamespaces(store, clock);
  const api = new ClusterApi({
    store, clock, logger: silentLogger(), validate: validateObjects,
    tokens: createTokenRegistry({ store, caHash: 'a'.repeat(64), clock }),
    version: '0.0.0', nodeName: 'cp-1',
  });
  if (namespace) {
    await api.apply({ objects: [JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })], dryRun: false });
  }
  return { api, store };
}

type Why =
  /** The file holds a kind Bramble does not have. */
  | 'unknown kind'
  /** A field Kubernetes accepts that changes how pods run (or are reached), and Bramble cannot do it. */
  | 'field Bramble cannot honour'
  /** The file as stored is not a valid manifest for Kubernetes either. */
  | 'invalid in Kubernetes too';

interface ExpectedFailure {
  why: Why;
  reason: string;
  code: ErrorCode;
  /** Every problem of the refusal as "document:path"; one more or one fewer means a new reason. */
  problems: string[];
  /** What the error message must name: the unknown kinds, the refused fields. */
  names: string[];
  /**
   * The feature, being built now, that is the file's only obstacle; only in
   * PENDING_FEATURE_FAILURES. When it lands the entry is removed and the file must apply.
   */
  pendingFeature?: string;
}

const unknownKind = (kinds: string[], problems: string[], reason = `Bramble has no ${kinds.join(' or ')}`): ExpectedFailure => ({
  why: 'unknown kind', reason, code: 'UNKNOWN_KIND', problems, names: kinds,
});

// A volume source Bramble has none of: the field itself and "exactly one volume source" are reported.
const volumeSource = (document: number, source: string): string[] => [
  `${document}:spec.template.spec.volumes[0].${source}`,
  `${document}:spec.template.spec.volumes[0]`,
];

// The same two problems for a Pod's own volume (not a template's).
const podVolumeSource = (index: number, source: string): string[] => [
  `0:spec.volumes[${index}].${source}`,
  `0:spec.volumes[${index}]`,
];

const NO_AFFINITY = 'the scheduler has no node or pod affinity (nodeSelector is what it has); accepting spec.affinity would ignore it';
const NO_PROJECTED = 'the agent fills no projected volumes';
const NO_SERVICE_ACCOUNTS = 'Bramble has no ServiceAccounts, so spec.serviceAccountName names nothing';
const NO_POD_RESOURCES = 'pod-level spec.resources: the agent sets resources per container only';
const NO_SECURITY_PROFILES = 'the agent applies no seccomp or AppArmor profiles';
const NO_VOLUME_CLAIMS = 'a persistentVolumeClaim volume needs PersistentVolumeClaims, which Bramble does not have';
const JOB_POLICIES = 'the Job controller has no per-index backoff, pod failure policy or success policy; accepting them would ignore them';

// Bramble's Services are IPv4 only (its pod and service ranges are).
const ipv6Only = (problems: string[]): ExpectedFailure => ({
  why: 'field Bramble cannot honour', reason: 'Services are IPv4 only, as the cluster and service ranges are', code: 'VALIDATION_FAILED',
  problems, names: ['ipFamilies'],
});

const affinity = (): ExpectedFailure => ({
  why: 'field Bramble cannot honour', reason: NO_AFFINITY, code: 'VALIDATION_FAILED', problems: ['0:spec.affinity'], names: ['affinity'],
});

const topologySpread = (): ExpectedFailure => ({
  why: 'field Bramble cannot honour', reason: 'the scheduler spreads by no topology constraints', code: 'VALIDATION_FAILED',
  problems: ['0:spec.topologySpreadConstraints'], names: ['topologySpreadConstraints'],
});

const podResources = (problems: string[]): ExpectedFailure => ({
  why: 'field Bramble cannot honour', reason: NO_POD_RESOURCES, code: 'VALIDATION_FAILED', problems, names: ['resources'],
});

// A securityContext field the agent cannot enforce, refused by name (not as an unknown field).
const securityField = (problems: string[], field: string, reason: string): ExpectedFailure => ({
  why: 'field Bramble cannot honour', reason, code: 'VALIDATION_FAILED', problems, names: [field, 'is not supported by Bramble'],
});

const EXPECTED_FAILURES: Record<string, ExpectedFailure> = {
  'application/cassandra/cassandra-statefulset.yaml': unknownKind(['StatefulSet', 'StorageClass'], ['0:kind', '1:kind']),
  'application/hpa/php-apache.yaml': unknownKind(['HorizontalPodAutoscaler'], ['0:kind']),
  'application/job/cronjob.yaml': {
    why: 'invalid in Kubernetes too',
    reason: 'the stored version uses batch/v1beta1, which Kubernetes removed for CronJob in 1.25; batch/v1 is the one API',
    code: 'UNKNOWN_KIND', problems: ['0:apiVersion'], names: ['batch/v1beta1', 'batch/v1'],
  },
  'application/job/indexed-job-vol.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent fills no downwardAPI volumes', code: 'VALIDATION_FAILED',
    problems: volumeSource(0, 'downwardAPI'), names: ['downwardAPI'],
  },
  'application/job/job-tmpl.yaml': {
    why: 'invalid in Kubernetes too', reason: 'a template: "$ITEM" in the name is replaced by a shell loop before applying',
    code: 'VALIDATION_FAILED', problems: ['0:metadata.name'], names: ['process-item-$ITEM'],
  },
  'application/job/rabbitmq/rabbitmq-statefulset.yaml': unknownKind(['StatefulSet'], ['0:kind']),
  'application/mysql/mysql-deployment.yaml': {
    why: 'field Bramble cannot honour', reason: NO_VOLUME_CLAIMS, code: 'VALIDATION_FAILED',
    problems: volumeSource(1, 'persistentVolumeClaim'), names: ['persistentVolumeClaim'],
  },
  'application/mysql/mysql-pv.yaml': unknownKind(['PersistentVolume', 'PersistentVolumeClaim'], ['0:kind', '1:kind']),
  'application/mysql/mysql-statefulset.yaml': unknownKind(['StatefulSet'], ['0:kind']),
  'application/restore-pvc.yaml': unknownKind(['PersistentVolumeClaim'], ['0:kind']),
  'application/volume-snaphot.yaml': unknownKind(['VolumeSnapshot'], ['0:kind']),
  'application/volume-snapshot-class.yaml': unknownKind(['VolumeSnapshotClass'], ['0:kind']),
  'application/web/web-parallel.yaml': unknownKind(['StatefulSet'], ['1:kind']),
  'application/web/web.yaml': unknownKind(['StatefulSet'], ['1:kind']),
  // Both reasons at once: the claim's kind, and the Deployment's volume naming it.
  'application/wordpress/mysql-deployment.yaml': {
    why: 'unknown kind', reason: `Bramble has no PersistentVolumeClaim; ${NO_VOLUME_CLAIMS}`, code: 'VALIDATION_FAILED',
    problems: ['1:kind', ...volumeSource(2, 'persistentVolumeClaim')], names: ['PersistentVolumeClaim', 'persistentVolumeClaim'],
  },
  'application/wordpress/wordpress-deployment.yaml': {
    why: 'unknown kind', reason: `Bramble has no PersistentVolumeClaim; ${NO_VOLUME_CLAIMS}`, code: 'VALIDATION_FAILED',
    problems: ['1:kind', ...volumeSource(2, 'persistentVolumeClaim')],
    names: ['PersistentVolumeClaim', 'persistentVolumeClaim'],
  },
  'application/zookeeper/zookeeper.yaml': unknownKind(['PodDisruptionBudget', 'StatefulSet'], ['2:kind', '3:kind']),
  'controllers/hpa-rs.yaml': unknownKind(['HorizontalPodAutoscaler'], ['0:kind']),
  'controllers/job-backoff-limit-per-index-example.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.backoffLimitPerIndex', '0:spec.maxFailedIndexes'], names: ['backoffLimitPerIndex', 'maxFailedIndexes'],
  },
  'controllers/job-backoff-limit-per-index-failindex.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.backoffLimitPerIndex', '0:spec.podFailurePolicy'], names: ['backoffLimitPerIndex', 'podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-config-issue.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.podFailurePolicy'], names: ['podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-example.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.podFailurePolicy'], names: ['podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-failjob.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.podFailurePolicy'], names: ['podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-ignore.yaml': {
    why: 'invalid in Kubernetes too', reason: 'the stored version indents its last line with a tab, which YAML forbids',
    code: 'MANIFEST_PARSE_FAILED', problems: [], names: ['job-pod-failure-policy-ignore.yaml:24', 'Tabs are not allowed'],
  },
  'controllers/job-success-policy-example.yaml': {
    why: 'invalid in Kubernetes too',
    reason: 'no metadata (so no name) and no restartPolicy, which a Job needs; its successPolicy is a Job policy Bramble cannot honour too',
    code: 'VALIDATION_FAILED',
    problems: ['0:metadata', '0:spec.successPolicy', '0:spec.template.spec.restartPolicy'], names: ['metadata', 'successPolicy', 'restartPolicy'],
  },
  'controllers/job-success-policy.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.successPolicy'], names: ['successPolicy'],
  },
  'controllers/replication-nginx-1.14.2.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/replication-nginx-1.16.1.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/replication-nginx-1.9.2.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/replication.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/statefulset.yaml': unknownKind(['StatefulSet'], ['1:kind']),

  // content/en/examples/pods
  'pods/assigning-pods-to-nodes-affinity.yaml': affinity(),
  'pods/emptydir-volume-mode.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent creates emptyDir volumes with one mode; emptyDir.mode is a newer Kubernetes field', code: 'VALIDATION_FAILED',
    problems: ['0:spec.volumes[0].emptyDir.mode'], names: ['mode'],
  },
  'pods/image-volumes-subpath.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent mounts no image volumes', code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'image'), names: ['image'],
  },
  'pods/image-volumes.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent mounts no image volumes', code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'image'), names: ['image'],
  },
  'pods/inject/dapi-volume-resources.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent fills no downwardAPI volumes', code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'downwardAPI'), names: ['downwardAPI'],
  },
  'pods/inject/dapi-volume.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent fills no downwardAPI volumes', code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'downwardAPI'), names: ['downwardAPI'],
  },
  'pods/inject/envars-file-container.yaml': {
    why: 'invalid in Kubernetes too',
    reason: 'the stored version writes \\\' inside a double-quoted YAML string, an escape YAML does not have (its env fileKeyRef would be refused next)',
    code: 'MANIFEST_PARSE_FAILED', problems: [], names: ['envars-file-container.yaml:9', 'Invalid escape sequence'],
  },
  'pods/inject/pod-multiple-secret-env-variable.yaml': {
    why: 'invalid in Kubernetes too', reason: 'the stored version indents its second env key with a tab, which YAML forbids',
    code: 'MANIFEST_PARSE_FAILED', problems: [], names: ['pod-multiple-secret-env-variable.yaml:15', 'Tabs are not allowed'],
  },
  'pods/inject/pod-single-secret-env-variable.yaml': {
    why: 'invalid in Kubernetes too', reason: 'the stored version has no apiVersion line', code: 'UNKNOWN_KIND',
    problems: ['0:apiVersion'], names: ['apiVersion', 'v1'],
  },
  'pods/lifecycle-events.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent runs no postStart or preStop hooks', code: 'VALIDATION_FAILED',
    problems: ['0:spec.containers[0].lifecycle'], names: ['lifecycle'],
  },
  'pods/pod-nginx-preferred-affinity.yaml': affinity(),
  'pods/pod-nginx-required-affinity.yaml': affinity(),
  'pods/pod-projected-svc-token.yaml': {
    why: 'field Bramble cannot honour', reason: NO_PROJECTED, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'projected'), names: ['projected'],
  },
  'pods/pod-with-affinity-anti-affinity.yaml': affinity(),
  'pods/pod-with-affinity-preferred-weight.yaml': affinity(),
  'pods/pod-with-node-affinity-1.yaml': affinity(),
  'pods/pod-with-node-affinity-2.yaml': affinity(),
  // Its required term is written as a list of weighted preferences, which Kubernetes refuses too.
  'pods/pod-with-node-affinity.yaml': {
    ...affinity(),
    why: 'invalid in Kubernetes too',
    reason: `requiredDuringSchedulingIgnoredDuringExecution is a list of weighted preferences, not a node selector; ${NO_AFFINITY}`,
  },
  'pods/pod-with-numeric-toleration.yaml': {
    why: 'field Bramble cannot honour', reason: 'tolerations compare with Exists or Equal; the numeric Gt and Lt operators are a newer Kubernetes feature', code: 'VALIDATION_FAILED',
    problems: ['0:spec.tolerations[0].operator'], names: ['Exists', 'Equal', 'Gt'],
  },
  'pods/pod-with-pod-affinity.yaml': affinity(),
  'pods/pod-with-scheduling-gates.yaml': {
    why: 'field Bramble cannot honour', reason: 'the scheduler has no scheduling gates, so the pod would be scheduled at once', code: 'VALIDATION_FAILED',
    problems: ['0:spec.schedulingGates'], names: ['schedulingGates'],
  },
  'pods/private-reg-pod.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent pulls without registry credentials, so imagePullSecrets would be ignored', code: 'VALIDATION_FAILED',
    problems: ['0:spec.imagePullSecrets'], names: ['imagePullSecrets'],
  },
  'pods/resource/pod-level-cpu-request-limit.yaml': podResources(['0:spec.resources']),
  'pods/resource/pod-level-memory-request-limit.yaml': podResources(['0:spec.resources']),
  'pods/resource/pod-level-pid-limit.yaml': podResources(['0:spec.resources']),
  'pods/resource/pod-level-resize.yaml': {
    ...podResources(['0:spec.containers[0].resizePolicy', '0:spec.containers[1].resizePolicy', '0:spec.resources']),
    reason: `${NO_POD_RESOURCES}; and it resizes no container in place (resizePolicy)`, names: ['resources', 'resizePolicy'],
  },
  // Their sidecars (initContainers[].restartPolicy Always) are accepted; pod-level resources are not.
  'pods/resource/pod-level-resource-managers-container-scope-mixed.yaml': podResources(['0:spec.resources']),
  'pods/resource/pod-level-resource-managers-empty-shared-pool.yaml': podResources(['0:spec.resources']),
  'pods/resource/pod-level-resource-managers-pod-scope-mixed.yaml': podResources(['0:spec.resources']),
  'pods/resource/pod-level-resources.yaml': podResources(['0:spec.resources']),
  'pods/resource/pod-resize.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent resizes no container in place (resizePolicy)', code: 'VALIDATION_FAILED',
    problems: ['0:spec.containers[0].resizePolicy'], names: ['resizePolicy'],
  },
  // Its sidecar is accepted; the rule that restarts the whole pod on the sidecar's exit code is not.
  'pods/restart-policy/restart-all-containers.yaml': {
    why: 'field Bramble cannot honour', reason: 'restartPolicyRules (restart all containers on an exit code) is a newer Kubernetes feature', code: 'VALIDATION_FAILED',
    problems: ['0:spec.initContainers[1].restartPolicyRules'], names: ['restartPolicyRules'],
  },
  // securityContext takes users, groups, capabilities and privileges; what the agent cannot
  // enforce (these profiles, fsGroup, supplementalGroupsPolicy) is refused by its own path.
  // The ga seccomp examples' containers set allowPrivilegeEscalation, which is accepted. The
  // alpha ones apply: their seccomp annotations are only annotations, which Bramble, like
  // Kubernetes since 1.27, ignores.
  'pods/security/apparmor/default-pod.yaml': securityField(['0:spec.securityContext.appArmorProfile'], 'appArmorProfile', NO_SECURITY_PROFILES),
  'pods/security/apparmor/hello-apparmor.yaml': securityField(['0:spec.securityContext.appArmorProfile'], 'appArmorProfile', NO_SECURITY_PROFILES),
  'pods/security/hello-apparmor-2.yaml': securityField(['0:spec.securityContext.appArmorProfile'], 'appArmorProfile', NO_SECURITY_PROFILES),
  'pods/security/seccomp/fields.yaml': {
    why: 'invalid in Kubernetes too',
    reason: `ephemeralContainers cannot be given when a pod is created (the file says so itself); ${NO_SECURITY_PROFILES}`, code: 'VALIDATION_FAILED',
    problems: [
      '0:spec.containers[0].securityContext.seccompProfile', '0:spec.initContainers[0].securityContext.seccompProfile',
      '0:spec.securityContext.seccompProfile', '0:spec.ephemeralContainers',
    ],
    names: ['ephemeralContainers', 'seccompProfile', 'is not supported by Bramble'],
  },
  'pods/security/seccomp/ga/audit-pod.yaml': securityField(['0:spec.securityContext.seccompProfile'], 'seccompProfile', NO_SECURITY_PROFILES),
  'pods/security/seccomp/ga/default-pod.yaml': securityField(['0:spec.securityContext.seccompProfile'], 'seccompProfile', NO_SECURITY_PROFILES),
  'pods/security/seccomp/ga/fine-pod.yaml': securityField(['0:spec.securityContext.seccompProfile'], 'seccompProfile', NO_SECURITY_PROFILES),
  'pods/security/seccomp/ga/violation-pod.yaml': securityField(['0:spec.securityContext.seccompProfile'], 'seccompProfile', NO_SECURITY_PROFILES),
  'pods/security/seccomp/kind.yaml': {
    why: 'invalid in Kubernetes too', reason: 'a configuration file of the kind tool (kind.x-k8s.io), not an object of any cluster',
    code: 'UNKNOWN_KIND', problems: ['0:kind'], names: ['Cluster'],
  },
  'pods/security/security-context-6.yaml': securityField(
    ['0:spec.securityContext.supplementalGroupsPolicy'], 'supplementalGroupsPolicy',
    'supplementalGroupsPolicy: the agent adds the pod\'s supplementalGroups, but has no Merge or Strict choice about the groups the image\'s /etc/group gives',
  ),
  // cgroupOptions is newer than the fields Bramble refuses by name, so it is an unknown field.
  'pods/security/security-context-7.yaml': {
    why: 'field Bramble cannot honour', reason: 'cgroupOptions: the agent mounts no cgroup filesystem read-write', code: 'VALIDATION_FAILED',
    problems: ['0:spec.containers[0].securityContext.cgroupOptions'], names: ['cgroupOptions'],
  },
  'pods/security/security-context.yaml': securityField(['0:spec.securityContext.fsGroup'], 'fsGroup', 'fsGroup: the agent changes no volume ownership'),
  'pods/share-process-namespace.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent gives each container its own process namespace and attaches no terminal (stdin, tty)', code: 'VALIDATION_FAILED',
    problems: ['0:spec.containers[1].stdin', '0:spec.containers[1].tty', '0:spec.shareProcessNamespace'], names: ['shareProcessNamespace', 'stdin', 'tty'],
  },
  'pods/storage/expandable-pvc-pod.yaml': {
    why: 'field Bramble cannot honour', reason: NO_VOLUME_CLAIMS, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'persistentVolumeClaim'), names: ['persistentVolumeClaim'],
  },
  'pods/storage/expandable-pvc.yaml': unknownKind(['PersistentVolumeClaim'], ['0:kind']),
  'pods/storage/projected-clustertrustbundle.yaml': {
    why: 'field Bramble cannot honour', reason: `${NO_PROJECTED}; ${NO_SERVICE_ACCOUNTS}`, code: 'VALIDATION_FAILED',
    problems: [...podVolumeSource(0, 'projected'), '0:spec.serviceAccountName'], names: ['projected', 'serviceAccountName'],
  },
  'pods/storage/projected-podcertificate.yaml': {
    why: 'field Bramble cannot honour', reason: `${NO_PROJECTED}; ${NO_SERVICE_ACCOUNTS}`, code: 'VALIDATION_FAILED',
    problems: [...podVolumeSource(0, 'projected'), '0:spec.serviceAccountName'], names: ['projected', 'serviceAccountName'],
  },
  'pods/storage/projected-secret-downwardapi-configmap.yaml': {
    why: 'field Bramble cannot honour', reason: NO_PROJECTED, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'projected'), names: ['projected'],
  },
  'pods/storage/projected-secrets-nondefault-permission-mode.yaml': {
    why: 'field Bramble cannot honour', reason: NO_PROJECTED, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'projected'), names: ['projected'],
  },
  'pods/storage/projected-service-account-token.yaml': {
    why: 'field Bramble cannot honour', reason: `${NO_PROJECTED}; ${NO_SERVICE_ACCOUNTS}`, code: 'VALIDATION_FAILED',
    problems: [...podVolumeSource(0, 'projected'), '0:spec.serviceAccountName'], names: ['projected', 'serviceAccountName'],
  },
  'pods/storage/projected.yaml': {
    why: 'field Bramble cannot honour', reason: NO_PROJECTED, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'projected'), names: ['projected'],
  },
  'pods/storage/pv-claim.yaml': unknownKind(['PersistentVolumeClaim'], ['0:kind']),
  'pods/storage/pv-duplicate.yaml': {
    why: 'field Bramble cannot honour', reason: NO_VOLUME_CLAIMS, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'persistentVolumeClaim'), names: ['persistentVolumeClaim'],
  },
  'pods/storage/pv-pod-backup.yaml': {
    why: 'field Bramble cannot honour', reason: NO_VOLUME_CLAIMS, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'persistentVolumeClaim'), names: ['persistentVolumeClaim'],
  },
  'pods/storage/pv-pod.yaml': {
    why: 'field Bramble cannot honour', reason: NO_VOLUME_CLAIMS, code: 'VALIDATION_FAILED',
    problems: podVolumeSource(0, 'persistentVolumeClaim'), names: ['persistentVolumeClaim'],
  },
  'pods/storage/pv-volume.yaml': unknownKind(['PersistentVolume'], ['0:kind']),
  'pods/topology-spread-constraints/one-constraint-with-nodeaffinity.yaml': {
    why: 'field Bramble cannot honour', reason: `the scheduler spreads by no topology constraints; ${NO_AFFINITY}`, code: 'VALIDATION_FAILED',
    problems: ['0:spec.topologySpreadConstraints', '0:spec.affinity'], names: ['topologySpreadConstraints', 'affinity'],
  },
  'pods/topology-spread-constraints/one-constraint.yaml': topologySpread(),
  'pods/topology-spread-constraints/two-constraints.yaml': topologySpread(),
  'pods/user-namespaces-stateless.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent runs no pod in a user namespace of its own (hostUsers: false)', code: 'VALIDATION_FAILED',
    problems: ['0:spec.hostUsers'], names: ['hostUsers'],
  },
  // The Service examples (content/en/examples/service/).
  'service/access/frontend-deployment.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent runs no postStart or preStop hooks', code: 'VALIDATION_FAILED',
    problems: ['0:spec.template.spec.containers[0].lifecycle'], names: ['lifecycle'],
  },
  'service/pod-with-graceful-termination.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent runs no postStart or preStop hooks', code: 'VALIDATION_FAILED',
    problems: ['0:spec.template.spec.containers[0].lifecycle'], names: ['lifecycle'],
  },
  'service/networking/dual-stack-ipfamilies-ipv6.yaml': ipv6Only(['0:spec.ipFamilies[0]']),
  'service/networking/dual-stack-prefer-ipv6-lb-svc.yaml': ipv6Only(['0:spec.ipFamilies[0]']),
  'service/networking/dual-stack-preferred-ipfamilies-svc.yaml': ipv6Only(['0:spec.ipFamilies']),
  'service/networking/dual-stack-ipv6-lb-svc.yaml': {
    why: 'invalid in Kubernetes too', reason: 'the stored version uses spec.ipFamily, which Kubernetes replaced by ipFamilies in 1.20',
    code: 'VALIDATION_FAILED', problems: ['0:spec.ipFamily'], names: ['ipFamily'],
  },
  'service/networking/dual-stack-ipv6-svc.yaml': {
    why: 'invalid in Kubernetes too', reason: 'the stored version uses spec.ipFamily, which Kubernetes replaced by ipFamilies in 1.20',
    code: 'VALIDATION_FAILED', problems: ['0:spec.ipFamily'], names: ['ipFamily'],
  },
  'service/networking/hostaliases-pod.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent writes no hostAliases into a Pod\'s /etc/hosts', code: 'VALIDATION_FAILED',
    problems: ['0:spec.hostAliases'], names: ['hostAliases'],
  },
  'service/networking/example-ingress.yaml': unknownKind(['Ingress'], ['0:kind']),
  'service/networking/external-lb.yaml': unknownKind(['IngressClass'], ['0:kind']),
  'service/networking/minimal-ingress.yaml': unknownKind(['Ingress'], ['0:kind']),
  'service/networking/network-policy-default-deny-all.yaml': unknownKind(['NetworkPolicy'], ['0:kind']),
  'service/networking/networkpolicy.yaml': unknownKind(['NetworkPolicy'], ['0:kind']),
};

// ---------------------------------------------------------------------------
// Refused today only for a feature another engineer is building now. When the
// feature lands, remove its entries: their files then fall to the "is accepted"
// test. An entry that is refused for anything else as well belongs above.
// ---------------------------------------------------------------------------

// Empty: every feature once pending here has landed, and its files apply (or, refused for
// something else as well, are in EXPECTED_FAILURES with what is left).
const PENDING_FEATURE_FAILURES: Record<string, ExpectedFailure> = {};

/** Both tables: a file in neither must apply. */
const REFUSED: Record<string, ExpectedFailure> = { ...EXPECTED_FAILURES, ...PENDING_FEATURE_FAILURES };

// The documentation's tasks create these namespaces first (kubectl create namespace ...).
const NAMESPACE_FIRST: Record<string, string> = {
  'pods/qos/qos-pod.yaml': 'qos-example',
  'pods/qos/qos-pod-2.yaml': 'qos-example',
  'pods/qos/qos-pod-3.yaml': 'qos-example',
  'pods/qos/qos-pod-4.yaml': 'qos-example',
  'pods/qos/qos-pod-5.yaml': 'qos-example',
  'pods/resource/cpu-request-limit.yaml': 'cpu-example',
  'pods/resource/cpu-request-limit-2.yaml': 'cpu-example',
  'pods/resource/memory-request-limit.yaml': 'mem-example',
  'pods/resource/memory-request-limit-2.yaml': 'mem-example',
  'pods/resource/memory-request-limit-3.yaml': 'mem-example',
  'pods/resource/pod-level-cpu-request-limit.yaml': 'pod-resources-example',
  'pods/resource/pod-level-memory-request-limit.yaml': 'pod-resources-example',
  'pods/resource/pod-level-pid-limit.yaml': 'pod-resources-example',
  'pods/resource/pod-level-resources.yaml': 'pod-resources-example',
  'pods/resource/pod-resize.yaml': 'qos-example',
};

const dir = k8sExamplesDir();

function manifestFiles(d: string | undefined): string[] {
  if (d === undefined) return [];
  return readdirSync(d).flatMap((name) => {
    const p = path.join(d, name);
    if (statSync(p).isDirectory()) return manifestFiles(p);
    return /\.(ya?ml|json)$/.test(name) ? [p] : [];
  });
}

const files = manifestFiles(dir).map((f) => path.relative(dir!, f).split(path.sep).join('/')).sort();

/** What `bramble apply -f` sends: every object of the file, as JSON. */
async function manifestObjects(file: string): Promise<string[]> {
  return (await readManifests(path.join(dir!, file))).map((o) => JSON.stringify(o));
}

async function refusal(run: () => Promise<unknown>): Promise<BrambleError> {
  try {
    await run();
  } catch (e) {
    if (isBrambleError(e)) return e;
    throw e;
  }
  assert.fail('expected the file to be refused, and it was applied');
}

/** "kind/namespace/name" of every object the file names, whatever its kind. */
function namedObjects(objects: string[]): { kind: string; namespace?: string; name: string }[] {
  return objects.flatMap((text) => {
    const o = JSON.parse(text) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') return [];
    const namespace = typeof o.metadata.namespace === 'string' ? o.metadata.namespace : undefined;
    return [{ kind: o.kind, namespace, name: o.metadata.name }];
  });
}

describe('the Kubernetes documentation\'s workload and Service examples on a new cluster', { skip: dir === undefined && K8S_EXAMPLES_SKIP }, () => {
  test('the controllers, application, pods and service examples are all there, in their subfolders', () => {
    assert.ok(files.length >= 200, `found ${files.length}: ${files.join(', ')}`);
    assert.ok(files.includes('controllers/nginx-deployment.yaml'));
    assert.ok(files.includes('application/guestbook/frontend-deployment.yaml'));
    assert.ok(files.includes('pods/simple-pod.yaml'));
    assert.ok(files.includes('pods/security/seccomp/ga/default-pod.yaml'));
    assert.ok(files.includes('service/nginx-service.yaml'));
    assert.ok(files.includes('service/networking/run-my-nginx.yaml'));
  });

  test('every file the expected-failure tables and the namespace table name is an example file, so they cannot go stale', () => {
    const named = [...Object.keys(EXPECTED_FAILURES), ...Object.keys(PENDING_FEATURE_FAILURES), ...Object.keys(NAMESPACE_FIRST)];
    assert.deepEqual(named.filter((f) => !files.includes(f)), []);
  });

  test('a file is in one failure table at most, and only the pending one names a pending feature', () => {
    assert.deepEqual(Object.keys(PENDING_FEATURE_FAILURES).filter((f) => f in EXPECTED_FAILURES), []);
    assert.deepEqual(Object.entries(EXPECTED_FAILURES).filter(([, e]) => e.pendingFeature !== undefined).map(([f]) => f), []);
    assert.deepEqual(Object.entries(PENDING_FEATURE_FAILURES).filter(([, e]) => !e.pendingFeature).map(([f]) => f), []);
  });

  for (const file of files) {
    const expected = REFUSED[file];
    const namespace = NAMESPACE_FIRST[file];
    if (!expected) {
      test(`${file} is accepted, and applying it again changes nothing`, async () => {
        const { api } = await freshCluster(namespace);
        const objects = await manifestObjects(file);
        const first = await api.apply({ objects, dryRun: false });
        assert.deepEqual(first.results!.map((r) => r.action), objects.map(() => 'created'));
        for (const r of first.results!) {
          if (r.namespace !== '' && r.namespace !== namespace) {
            assert.ok(SYSTEM_NAMESPACES.includes(r.namespace!), `${file} needs namespace ${r.namespace}: list it in NAMESPACE_FIRST`);
          }
        }
        const again = await api.apply({ objects, dryRun: false });
        assert.deepEqual(again.results!.map((r) => r.action), objects.map(() => 'unchanged'));
        assert.equal(again.revision, first.revision);
      });
      continue;
    }
    const pending = expected.pendingFeature ? `, until ${expected.pendingFeature} lands` : '';
    test(`${file} is refused (${expected.why}: ${expected.reason})${pending}, naming why, and writes nothing`, async () => {
      const { api, store } = await freshCluster(namespace);
      const revision = store.revision();
      const count = store.objectCount();
      let objects: string[] = [];
      const err = await refusal(async () => {
        objects = await manifestObjects(file);
        await api.apply({ objects, dryRun: false });
      });
      assert.equal(err.code, expected.code, err.message);
      for (const name of expected.names) assert.ok(err.message.includes(name), `expected the message to name ${name}: ${err.message}`);
      const problems = err.details.map((p) => `${p.document ?? 0}:${p.path}`).sort();
      assert.deepEqual(problems, [...expected.problems].sort(), err.message);
      assert.equal(store.revision(), revision);
      assert.equal(store.objectCount(), count);
      for (const o of namedObjects(objects)) {
        const namespace = kindInfo(o.kind)?.namespaced === false ? undefined : o.namespace ?? 'default';
        assert.equal(store.get(o.kind, namespace, o.name), undefined, `${o.kind} ${o.name} was written`);
      }
    });
  }
});
