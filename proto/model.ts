// The small object model both sides need: metadata, the kinds table, label
// selectors, and the shapes of Pods and Nodes (the agent runs the one and reports
// the other). Field names follow Kubernetes so the same YAML applies on k3s.
// Validation of untrusted input lives in control-plane/schema/.

import { labelKeyRule, labelValueRule } from './names.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  /** The stop's grace period a delete asked for (drain --grace-period); the Pod's terminationGracePeriodSeconds otherwise. */
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /**
   * What must happen before an object with a deletionTimestamp is removed. Only the
   * garbage collector's finalizers exist (FOREGROUND_FINALIZER, ORPHAN_FINALIZER).
   */
  finalizers?: string[];
  generateName?: string;
}

// ------------------------------------------------------- deletion propagation

/** How a delete treats the owner's dependents (kubectl delete --cascade). */
export const PROPAGATION_POLICIES = ['Background', 'Orphan', 'Foreground'] as const;
export type PropagationPolicy = (typeof PROPAGATION_POLICIES)[number];
export const DEFAULT_PROPAGATION_POLICY: PropagationPolicy = 'Background';
/** On an owner being deleted: the garbage collector deletes its blocking dependents first, then the owner. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';
/** On an owner being deleted: the garbage collector removes its dependents' references to it first. */
export const ORPHAN_FINALIZER = 'orphan';
export const GC_FINALIZERS: readonly string[] = [FOREGROUND_FINALIZER, ORPHAN_FINALIZER];

export function hasFinalizer(obj: Pick<KObject, 'metadata'>, finalizer: string): boolean {
  return (obj.metadata.finalizers ?? []).includes(finalizer);
}

/** Any stored object. Kinds add spec/status or data fields. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

export interface KindInfo {
  kind: string;
  apiVersion: string;
  namespaced: boolean;
  /** Lower-case plural, as `bramble get deployments`. */
  plural: string;
  /** Other names accepted on the command line (singular, short names). */
  aliases: string[];
  /** Whether a change of this field bumps metadata.generation (spec kinds). */
  hasSpec: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Namespace', apiVersion: 'v1', namespaced: false, plural: 'namespaces', aliases: ['namespace', 'ns'], hasSpec: true },
  { kind: 'Node', apiVersion: 'v1', namespaced: false, plural: 'nodes', aliases: ['node', 'no'], hasSpec: true },
  { kind: 'Pod', apiVersion: 'v1', namespaced: true, plural: 'pods', aliases: ['pod', 'po'], hasSpec: true },
  { kind: 'Service', apiVersion: 'v1', namespaced: true, plural: 'services', aliases: ['service', 'svc'], hasSpec: true },
  { kind: 'Endpoints', apiVersion: 'v1', namespaced: true, plural: 'endpoints', aliases: ['ep'], hasSpec: false },
  { kind: 'ConfigMap', apiVersion: 'v1', namespaced: true, plural: 'configmaps', aliases: ['configmap', 'cm'], hasSpec: false },
  { kind: 'Secret', apiVersion: 'v1', namespaced: true, plural: 'secrets', aliases: ['secret'], hasSpec: false },
  { kind: 'Deployment', apiVersion: 'apps/v1', namespaced: true, plural: 'deployments', aliases: ['deployment', 'deploy'], hasSpec: true },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', namespaced: true, plural: 'replicasets', aliases: ['replicaset', 'rs'], hasSpec: true },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', namespaced: true, plural: 'daemonsets', aliases: ['daemonset', 'ds'], hasSpec: true },
  { kind: 'Job', apiVersion: 'batch/v1', namespaced: true, plural: 'jobs', aliases: ['job'], hasSpec: true },
  { kind: 'CronJob', apiVersion: 'batch/v1', namespaced: true, plural: 'cronjobs', aliases: ['cronjob', 'cj'], hasSpec: true },
  { kind: 'Event', apiVersion: 'v1', namespaced: true, plural: 'events', aliases: ['event', 'ev'], hasSpec: false },
];

const byKind = new Map(KINDS.map((k) => [k.kind, k]));
const byName = new Map<string, KindInfo>();
for (const k of KINDS) {
  for (const n of [k.kind.toLowerCase(), k.plural, ...k.aliases]) byName.set(n, k);
}

/** The kind's entry, by its exact Kind name ("Deployment"). */
export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

/** Resolves what a person types ("deploy", "pods", "Pod") to a kind. */
export function resolveKind(name: string): KindInfo | undefined {
  return byKind.get(name) ?? byName.get(name.toLowerCase());
}

export const DEFAULT_NAMESPACE = 'default';
/** Where k3s and most Kubernetes manifests put cluster add-ons (DaemonSets for logs, DNS, CNI). */
export const KUBE_SYSTEM_NAMESPACE = 'kube-system';
/** Namespaces every cluster has from its first start and that cannot be deleted, as in Kubernetes. */
export const SYSTEM_NAMESPACES: readonly string[] = [DEFAULT_NAMESPACE, KUBE_SYSTEM_NAMESPACE];

/** The store key of an object: kind, namespace ('' for cluster-scoped) and name. */
export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function keyOf(obj: KObject): string {
  return objectKey(obj.kind, obj.metadata.namespace, obj.metadata.name);
}

/** "deployment/web": how the CLI names an object to people. */
export function displayName(obj: Pick<KObject, 'kind' | 'metadata'>): string {
  return `${obj.kind.toLowerCase()}/${obj.metadata.name}`;
}

// ------------------------------------------------------------ label selectors

export type SelectorRequirement =
  | { key: string; op: 'In' | 'NotIn'; values: string[] }
  | { key: string; op: 'Exists' | 'DoesNotExist' };

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/**
 * Parses the command-line form: "app=web,tier!=db,env in (a,b),!legacy,track".
 * Throws an Error naming the bad term.
 */
export function parseSelector(text: string): SelectorRequirement[] {
  const reqs: SelectorRequirement[] = [];
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '' || terms.length > 0) terms.push(cur);
  for (const raw of terms) {
    const t = raw.trim();
    if (t === '') throw new Error(`label selector has an empty term: "${text}"`);
    let m: RegExpMatchArray | null;
    if ((m = t.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const values = m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
      reqs.push({ key: m[1]!, op: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = t.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
      reqs.push({ key: m[1]!, op: m[2] === '!=' ? 'NotIn' : 'In', values: [m[3]!] });
    } else if ((m = t.match(/^!\s*([\w./-]+)$/))) {
      reqs.push({ key: m[1]!, op: 'DoesNotExist' });
    } else if ((m = t.match(/^([\w./-]+)$/))) {
      reqs.push({ key: m[1]!, op: 'Exists' });
    } else {
      throw new Error(`label selector term is not valid: "${t}"`);
    }
  }
  // The same rules as labels themselves: a selector for a label that cannot exist is a typo.
  for (const r of reqs) {
    const keyProblem = labelKeyRule(r.key);
    if (keyProblem) throw new Error(`label selector key ${keyProblem}: current value is ${JSON.stringify(r.key)}`);
    for (const v of 'values' in r ? r.values : []) {
      const valueProblem = labelValueRule(v);
      if (valueProblem) throw new Error(`label selector value for "${r.key}" ${valueProblem}: current value is ${JSON.stringify(v)}`);
    }
  }
  return reqs;
}

/** The structured form used in Deployments, Services (matchLabels only) and so on. */
export function selectorRequirements(sel: LabelSelector | Record<string, string> | undefined): SelectorRequirement[] {
  if (!sel) return [];
  const isStructured = 'matchLabels' in sel || 'matchExpressions' in sel;
  if (!isStructured) {
    return Object.entries(sel as Record<string, string>).map(([key, v]) => ({ key, op: 'In' as const, values: [v] }));
  }
  const s = sel as LabelSelector;
  const reqs: SelectorRequirement[] = Object.entries(s.matchLabels ?? {}).map(([key, v]) => ({ key, op: 'In' as const, values: [v] }));
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'In' || e.operator === 'NotIn') reqs.push({ key: e.key, op: e.operator, values: e.values ?? [] });
    else reqs.push({ key: e.key, op: e.operator });
  }
  return reqs;
}

/** A requirement as kubectl prints it: "app=web", "tier in (a,b)", "!legacy". */
export function formatRequirement(r: SelectorRequirement): string {
  switch (r.op) {
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'In':
      return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
  }
}

/** The command-line form of a selector ("app=web,tier in (a,b),!legacy"), as parseSelector reads it. */
export function formatSelector(reqs: SelectorRequirement[]): string {
  return reqs.map(formatRequirement).join(',');
}

export function matchesSelector(labels: Record<string, string> | undefined, reqs: SelectorRequirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      case 'In':
        return has && r.values.includes(l[r.key]!);
      case 'NotIn':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

// ---------------------------------------------------------------- Pod shapes

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string; apiVersion?: string };
    resourceFieldRef?: ResourceFieldSelector;
  };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  protocol?: 'TCP' | 'UDP';
}

export interface ResourceRequirements {
  /** Quantities: cpu "250m" / "1", memory "64Mi" / "1G". */
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface Probe {
  exec?: { command: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: 'HTTP' | 'HTTPS' };
  tcpSocket?: { port: number | string; host?: string };
  /** The standard gRPC health check (grpc.health.v1.Health/Check), plaintext to the Pod IP. */
  grpc?: { port: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  ports?: ContainerPort[];
  resources?: ResourceRequirements;
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  /** Holds back readiness and liveness until it has succeeded once. */
  startupProbe?: Probe;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  envFrom?: EnvFromSource[];
  securityContext?: SecurityContext;
  /** Init containers only: "Always" makes a native sidecar, started in order and kept running. */
  restartPolicy?: 'Always';
}

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  hostPath?: { path: string; type?: string };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  securityContext?: PodSecurityContext;
  /** The Pod's hostname; default its name. */
  hostname?: string;
  /** With hostname, the FQDN "hostname.subdomain.NS.svc.cluster.local" (a headless Service of that name). */
  subdomain?: string;
}

/** The container of that name, an app container or an init container (sidecars included), as logs, exec and env fields look one up. */
export function podContainerNamed(spec: Pick<PodSpec, 'containers' | 'initContainers'>, name: string): Container | undefined {
  return spec.containers.find((c) => c.name === name) ?? spec.initContainers?.find((c) => c.name === name);
}

export interface ContainerState {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt: string; signal?: number };
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID?: string;
  containerID?: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state: ContainerState;
  lastState?: ContainerState;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastHeartbeatTime?: string;
  /** When a Deployment's Progressing condition last saw progress (its deadline counts from here). */
  lastUpdateTime?: string;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodStatus {
  phase?: PodPhase;
  conditions?: Condition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface Pod extends KObject {
  kind: 'Pod';
  spec: PodSpec;
  status?: PodStatus;
}

// --------------------------------------------------------- ReplicaSet shapes

export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface ReplicaSetSpec {
  /** Desired Pods; the schema fills in 1 when absent. */
  replicas?: number;
  minReadySeconds?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
}

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface ReplicaSet extends KObject {
  kind: 'ReplicaSet';
  spec: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

// --------------------------------------------------------------- Node shapes

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  /** When a NoExecute taint was added (RFC 3339); tolerationSeconds count from here. */
  timeAdded?: string;
}

/** Taints the node lifecycle puts on a node (Kubernetes' well-known ones); a DaemonSet's Pods tolerate them. */
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export interface NodeSpec {
  podCIDR?: string;
  unschedulable?: boolean;
  taints?: Taint[];
}

export interface NodeStatus {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  conditions?: Condition[];
  addresses?: { type: string; address: string }[];
  nodeInfo?: {
    architecture: string;
    operatingSystem: string;
    osImage: string;
    kernelVersion: string;
    kubeletVersion: string;
    containerRuntimeVersion: string;
    cpuModel?: string;
    boardModel?: string;
  };
}

export interface NodeObject extends KObject {
  kind: 'Node';
  spec: NodeSpec;
  status?: NodeStatus;
}

/** Node label carrying the board's architecture, as in Kubernetes. */
export const ARCH_LABEL = 'kubernetes.io/arch';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
export const OS_LABEL = 'kubernetes.io/os';
/** Annotation a user (or an image inspection) may set on a Pod: comma list of architectures the image has. */
export const IMAGE_ARCHES_ANNOTATION = 'bramble.dev/image-architectures';

/** Parses Kubernetes quantities. CPU in millicores, everything else in base units (bytes, counts). */
export function parseQuantity(q: string | number, asMilli = false): number {
  if (typeof q === 'number') return asMilli ? q * 1000 : q;
  const m = String(q).trim().match(/^([+-]?\d+(?:\.\d+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/);
  if (!m) throw new Error(`must be a quantity such as "250m", "1", "64Mi": current value is "${q}"`);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  const mult: Record<string, number> = {
    '': 1, m: 0.001, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
  };
  const v = n * mult[suffix]!;
  return asMilli ? Math.round(v * 1000) : v;
}

// ------------------------------------ Pod env sources and security contexts

export interface ResourceFieldSelector {
  /** limits.cpu, limits.memory, requests.cpu or requests.memory. */
  resource: string;
  containerName?: string;
  /** A quantity ("1", "1m", "1Mi"); default "1". */
  divisor?: string;
}

export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

export interface PodSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups?: number[];
}

// ------------------------------------------------ Deployment and DaemonSet shapes

/** A count, or a percentage of the desired Pods ("25%"), as maxSurge and maxUnavailable are. */
export type IntOrPercent = number | string;

export interface DeploymentStrategy {
  type?: 'Recreate' | 'RollingUpdate';
  rollingUpdate?: { maxSurge?: IntOrPercent; maxUnavailable?: IntOrPercent };
}

export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  strategy?: DeploymentStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  paused?: boolean;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  /** Bumped when a new ReplicaSet's name is taken by another template: the next hash differs. */
  collisionCount?: number;
  conditions?: Condition[];
}

export interface Deployment extends KObject {
  kind: 'Deployment';
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

export interface DaemonSetSpec {
  selector: LabelSelector;
  template: PodTemplateSpec;
  updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { maxSurge?: IntOrPercent; maxUnavailable?: IntOrPercent } };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  conditions?: Condition[];
}

export interface DaemonSet extends KObject {
  kind: 'DaemonSet';
  spec: DaemonSetSpec;
  status?: DaemonSetStatus;
}

/** Label on a Deployment's ReplicaSets and their Pods: the hash of the Pod template they run. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Label on a DaemonSet's Pods: the hash of the template they were made from. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
/** Annotation on a Deployment's ReplicaSets (and the Deployment): the rollout revision, "1", "2", … */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Annotation kubectl records why a revision was made; `rollout history` shows it. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
/** Template annotation `rollout restart` sets to the time of the restart, which changes the template hash. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

// ------------------------------------------------------------------ CronJob shapes

/** What a CronJob's status.active lists: a reference to one running Job (core/v1 ObjectReference, the fields used). */
export interface CronJobActiveRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

/** The Job a CronJob makes; the Job's own fields (completions, backoffLimit…) are the Job controller's business. */
export interface CronJobJobTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { template: PodTemplateSpec } & Record<string, unknown>;
}

export interface CronJobSpec {
  schedule: string;
  /** An IANA name; the schedule is read in UTC when absent. */
  timeZone?: string;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  suspend?: boolean;
  jobTemplate: CronJobJobTemplate;
  /** Default 3. */
  successfulJobsHistoryLimit?: number;
  /** Default 1. */
  failedJobsHistoryLimit?: number;
}

export interface CronJobStatus {
  active?: CronJobActiveRef[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}

export interface CronJob extends KObject {
  kind: 'CronJob';
  spec: CronJobSpec;
  status?: CronJobStatus;
}

/** Annotation on a Job a CronJob made: the scheduled time it runs for (RFC 3339). */
export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Annotation `create job --from=cronjob/NAME` puts on the Job it makes, as kubectl does. */
export const CRONJOB_INSTANTIATE_ANNOTATION = 'cronjob.kubernetes.io/instantiate';
// ------------------------------------------------------------------ Job shapes

export interface JobSpec {
  /** Pods that must succeed; absent: a work queue, done once any Pod succeeds and none is active. */
  completions?: number;
  /** Pods run at once (default 1). */
  parallelism?: number;
  /** Failures allowed before the Job fails (default 6). */
  backoffLimit?: number;
  /** Seconds from status.startTime after which the Job fails with DeadlineExceeded. */
  activeDeadlineSeconds?: number;
  /** Seconds after the Job finished after which it is deleted (with its Pods). */
  ttlSecondsAfterFinished?: number;
  completionMode?: 'NonIndexed' | 'Indexed';
  /** True: no Pods run (active ones are deleted) until it is set back. */
  suspend?: boolean;
  manualSelector?: boolean;
  selector?: LabelSelector;
  template: PodTemplateSpec;
}

export interface JobStatus {
  startTime?: string;
  completionTime?: string;
  active?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
  /** Indexed Jobs: the indexes that have succeeded, as "0-2,4". */
  completedIndexes?: string;
  conditions?: Condition[];
  /**
   * Bramble's stand-in for Kubernetes' job-tracking finalizers: the uids of the
   * finished Pods already added to succeeded/failed, while those Pods exist. A Pod
   * is counted once, in the same write that lists it, and one removed later keeps
   * its count (its uid is dropped once it is gone).
   */
  countedPods?: string[];
}

export interface Job extends KObject {
  kind: 'Job';
  spec: JobSpec;
  status?: JobStatus;
}

/** Labels a Job's Pods carry, as Kubernetes sets them (the legacy names and the batch.kubernetes.io ones). */
export const JOB_CONTROLLER_UID_LABEL = 'controller-uid';
export const JOB_NAME_LABEL = 'job-name';
export const JOB_BATCH_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_BATCH_NAME_LABEL = 'batch.kubernetes.io/job-name';
/** Annotation and label of an Indexed Job's Pod: its completion index. */
export const JOB_COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
/** The env var every container of an Indexed Job's Pod gets. */
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

// ------------------------------------------------------------------- Events

/** The object an Event is about (core v1 ObjectReference, the fields Bramble fills). */
export interface EventInvolvedObject {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  apiVersion?: string;
  fieldPath?: string;
}

/** core v1 Event: a report that something happened to an object, counted when it repeats. */
export interface EventObject extends KObject {
  kind: 'Event';
  involvedObject: EventInvolvedObject;
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

// ------------------------------------------------------- Services, Endpoints

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP';
  port: number;
  /** A number, or the name of a container port resolved per Pod. Defaults to `port`. */
  targetPort?: number | string;
  /** Allocated from the node port range for NodePort and LoadBalancer Services. */
  nodePort?: number;
}

export interface ServiceSpec {
  type?: ServiceType;
  /** Allocated from the service CIDR at creation, or "None" (headless); immutable. */
  clusterIP?: string;
  clusterIPs?: string[];
  selector?: Record<string, string>;
  ports: ServicePort[];
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalTrafficPolicy?: 'Cluster' | 'Local';
  publishNotReadyAddresses?: boolean;
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: { ip: string }[] };
  conditions?: Condition[];
}

export interface Service extends KObject {
  kind: 'Service';
  spec: ServiceSpec;
  status?: ServiceStatus;
}

/** Default ranges, as k3s's. */
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;
export const CLUSTER_DOMAIN = 'cluster.local';
/**
 * Node label choosing the boards that answer on LoadBalancer ports (k3s ServiceLB's
 * label): when any node has it set to "true", only those nodes do; otherwise all do.
 */
export const LB_NODE_LABEL = 'svccontroller.k3s.cattle.io/enablelb';

/**
 * The boards that answer on LoadBalancer ports, as k3s ServiceLB chooses them: those
 * labelled LB_NODE_LABEL=true when any is, otherwise all. One rule for the agents'
 * rules and the control plane's status.loadBalancer.ingress.
 */
export function loadBalancerNodes<T extends { metadata: { labels?: Record<string, string> } }>(nodes: readonly T[]): readonly T[] {
  const labelled = nodes.filter((n) => n.metadata.labels?.[LB_NODE_LABEL] === 'true');
  return labelled.length > 0 ? labelled : nodes;
}

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  hostname?: string;
  targetRef?: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/** core v1 Endpoints, named as its Service. */
export interface Endpoints extends KObject {
  kind: 'Endpoints';
  subsets?: EndpointSubset[];
}

// ------------------------------------------------------- Pod DNS

/** How a Pod's resolv.conf is made (core v1 DNSPolicy). */
export const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;
export type DNSPolicy = (typeof DNS_POLICIES)[number];

export interface PodDNSConfigOption {
  name: string;
  value?: string;
}

/** Added to what the dnsPolicy gives (core v1 PodDNSConfig). */
export interface PodDNSConfig {
  nameservers?: string[];
  searches?: string[];
  options?: PodDNSConfigOption[];
}

/** Kubernetes' limits on a Pod's resolv.conf (validation and kubelet alike). */
export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;

// Declaration merging adds the DNS fields to PodSpec above, so this section only appends.
export interface PodSpec {
  /** Default ClusterFirst. */
  dnsPolicy?: DNSPolicy;
  dnsConfig?: PodDNSConfig;
}
