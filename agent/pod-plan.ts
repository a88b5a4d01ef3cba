// Pure planning: from a desired Pod and the containers the runtime has for it,
// the steps that move the board one step toward the Pod. No I/O here; the
// back-off and liveness verdicts come in as lookups so this stays testable.
import type { Container, Pod, PodSpec } from '../proto/model.js';
import { DEFAULT_NAMESPACE, parseQuantity } from '../proto/model.js';
import {
  LABEL_CONTAINER_NAME,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_RESTART_COUNT,
  type ContainerInfo,
  type ContainerSpec,
  type ImagePullPolicy,
  type Mount,
} from './runtime.js';
import { podHostname } from './pod-hosts.js';
import { LABEL_SIDECAR, appsFinished, initProgress, initRestartPolicy, isSidecar, restartsAfter, sidecarsOf } from './pod-init-containers.js';

export const DEFAULT_GRACE_SECONDS = 30;

/** The attempts of one container of a Pod, newest first. */
export interface ContainerAttempts {
  latest?: ContainerInfo;
  previous?: ContainerInfo;
  /** Attempts older than `previous`, to be removed as the kubelet keeps one dead attempt. */
  older: ContainerInfo[];
  restartCount: number;
}

export function restartCountOf(info: ContainerInfo): number {
  const n = Number(info.labels[LABEL_RESTART_COUNT]);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Groups a Pod's containers by container name, newest attempt first. */
export function attemptsByName(containers: ContainerInfo[]): Map<string, ContainerAttempts> {
  const groups = new Map<string, ContainerInfo[]>();
  for (const c of containers) {
    const name = c.labels[LABEL_CONTAINER_NAME] ?? '';
    groups.set(name, [...(groups.get(name) ?? []), c]);
  }
  const out = new Map<string, ContainerAttempts>();
  for (const [name, list] of groups) {
    const sorted = [...list].sort((a, b) => restartCountOf(b) - restartCountOf(a));
    out.set(name, { latest: sorted[0], previous: sorted[1], older: sorted.slice(2), restartCount: restartCountOf(sorted[0]!) });
  }
  return out;
}

export function shouldRestart(policy: PodSpec['restartPolicy'], exitCode: number | undefined): boolean {
  return restartsAfter(policy, exitCode);
}

/** Kubernetes default: Always for ":latest" or an untagged image, IfNotPresent otherwise. */
export function pullPolicyOf(container: Container): ImagePullPolicy {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  const ref = container.image.split('@')[0]!;
  if (container.image.includes('@')) return 'IfNotPresent';
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  const tag = colon === -1 ? '' : ref.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

export function containerIdOf(podUid: string, name: string, restartCount: number): string {
  return `${podUid.slice(0, 12)}-${name}-${restartCount}`;
}

export function graceSecondsOf(pod: Pod | undefined): number {
  // A delete that asked for its own grace period (drain --grace-period) wins over the spec's.
  return pod?.metadata.deletionGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
}

export interface SpecParts {
  env: Record<string, string>;
  mounts: Mount[];
  netnsPath?: string;
  logPath: string;
}

export function buildContainerSpec(pod: Pod, c: Container, restartCount: number, parts: SpecParts): ContainerSpec {
  const uid = pod.metadata.uid ?? '';
  const limits = c.resources?.limits ?? {};
  return {
    id: containerIdOf(uid, c.name, restartCount),
    image: c.image,
    command: c.command,
    args: c.args,
    env: parts.env,
    workingDir: c.workingDir,
    mounts: parts.mounts,
    memoryLimitBytes: limits.memory !== undefined ? Math.floor(parseQuantity(limits.memory)) : undefined,
    cpuLimitMillis: limits.cpu !== undefined ? parseQuantity(limits.cpu, true) : undefined,
    netnsPath: parts.netnsPath,
    ...(pod.spec.hostNetwork ? { hostNetwork: true } : {}),
    labels: {
      [LABEL_POD_UID]: uid,
      [LABEL_POD_NAME]: pod.metadata.name,
      [LABEL_POD_NAMESPACE]: pod.metadata.namespace ?? DEFAULT_NAMESPACE,
      [LABEL_CONTAINER_NAME]: c.name,
      [LABEL_RESTART_COUNT]: String(restartCount),
      ...(isSidecar(c) ? { [LABEL_SIDECAR]: 'true' } : {}),
    },
    logPath: parts.logPath,
    // A hostNetwork Pod has the board's hostname, as in Kubernetes.
    hostname: pod.spec.hostNetwork ? undefined : podHostname(pod),
    // One shim per Pod, as Kubernetes has one per sandbox: a shim that dies takes only its
    // own Pod's containers with it, never the board's. The uid outlives every restart of a
    // container, so a restarted container (or agent) joins the shim that is still running.
    ...(uid ? { shimGroup: `pod-${uid}` } : {}),
  };
}

export type PodAction =
  | { kind: 'kill'; id: string; container: string; graceSeconds: number; reason: string }
  | { kind: 'remove'; id: string }
  | { kind: 'start'; container: Container; restartCount: number }
  | { kind: 'backoff'; container: string; retryInMs: number; message: string };

export interface PlanInput {
  pod: Pod;
  /** The runtime's containers labelled with this Pod's uid. */
  containers: ContainerInfo[];
  /** Wait still due before restarting after this exit, and the whole delay. */
  backoff(containerName: string, exited: ContainerInfo): { remainingMs: number; delayMs: number };
  /** Whether the liveness probe gave up on this attempt. */
  livenessFailed(containerName: string, id: string): boolean;
  /** Whether a running attempt has passed its startup probe; absent: always. */
  started?(containerName: string, info: ContainerInfo): boolean;
}

export function planPod(input: PlanInput): PodAction[] {
  const { pod } = input;
  const actions: PodAction[] = [];
  const grace = graceSecondsOf(pod);
  const attempts = attemptsByName(input.containers);
  const inits = pod.spec.initContainers ?? [];
  const wanted = new Set([...inits, ...pod.spec.containers].map((c) => c.name));
  // Containers of names the spec no longer has go away whole.
  for (const [name, a] of attempts) {
    if (wanted.has(name)) continue;
    for (const c of [a.latest, a.previous, ...a.older]) if (c) actions.push(...teardownOne(c, grace, 'not in the pod spec'));
  }
  for (const c of [...inits, ...pod.spec.containers]) {
    for (const old of attempts.get(c.name)?.older ?? []) actions.push(...teardownOne(old, grace, 'superseded attempt'));
  }
  const progress = initProgress(pod, attempts, input.started);
  if (progress.failed) {
    // The Pod has failed for good: nothing is left for its sidecars to serve.
    for (const c of sidecarsOf(pod)) actions.push(...killRunning(attempts.get(c.name), c, grace, 'init container failed'));
    return actions;
  }
  if (!progress.initialized) {
    // In order: the sidecars already running are kept (and probed); the one whose turn it is moves on.
    for (const c of inits) {
      if (c === progress.current) {
        const policy = isSidecar(c) ? 'Always' : initRestartPolicy(pod.spec.restartPolicy);
        actions.push(...planContainer(input, c, attempts.get(c.name), policy, grace));
        break;
      }
      if (isSidecar(c)) actions.push(...planContainer(input, c, attempts.get(c.name), 'Always', grace));
    }
    return actions;
  }
  // A Job's Pod whose app containers are done stops its sidecars, and they stay stopped.
  const finished = appsFinished(pod, attempts);
  for (const c of sidecarsOf(pod)) {
    if (!finished) actions.push(...planContainer(input, c, attempts.get(c.name), 'Always', grace));
    else actions.push(...killRunning(attempts.get(c.name), c, grace, 'app containers finished'));
  }
  for (const c of pod.spec.containers) actions.push(...planContainer(input, c, attempts.get(c.name), pod.spec.restartPolicy, grace));
  return actions;
}

function killRunning(a: ContainerAttempts | undefined, c: Container, grace: number, reason: string): PodAction[] {
  const latest = a?.latest;
  return latest?.state === 'running' ? [{ kind: 'kill', id: latest.id, container: c.name, graceSeconds: grace, reason }] : [];
}

/** One container's next step: start, restart (through the back-off), kill a failed liveness, or nothing. */
function planContainer(input: PlanInput, c: Container, a: ContainerAttempts | undefined, policy: PodSpec['restartPolicy'], grace: number): PodAction[] {
  const { pod } = input;
  const latest = a?.latest;
  if (!a || !latest) return [{ kind: 'start', container: c, restartCount: 0 }];
  if (latest.state === 'running') {
    return input.livenessFailed(c.name, latest.id) ? [{ kind: 'kill', id: latest.id, container: c.name, graceSeconds: grace, reason: 'liveness probe failed' }] : [];
  }
  if (latest.state === 'created') {
    // An attempt created but never started (the agent died in between): start it afresh under the same id.
    return [{ kind: 'remove', id: latest.id }, { kind: 'start', container: c, restartCount: a.restartCount }];
  }
  if (latest.state !== 'stopped' || !shouldRestart(policy, latest.exitCode)) return [];
  const { remainingMs, delayMs } = input.backoff(c.name, latest);
  if (remainingMs > 0) {
    const message = `back-off ${formatDuration(delayMs)} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace ?? DEFAULT_NAMESPACE}(${pod.metadata.uid ?? ''})`;
    return [{ kind: 'backoff', container: c.name, retryInMs: remainingMs, message }];
  }
  // Only one dead attempt is kept: the one that just exited becomes `previous`.
  const actions: PodAction[] = a.previous ? teardownOne(a.previous, grace, 'superseded attempt') : [];
  actions.push({ kind: 'start', container: c, restartCount: a.restartCount + 1 });
  return actions;
}

/**
 * Everything that stops and removes all of a Pod's containers. The reconciler stops the
 * app containers before the sidecars (which may serve them to the end): see isSidecarAttempt.
 */
export function planTeardown(containers: ContainerInfo[], graceSeconds: number): PodAction[] {
  return containers.flatMap((c) => teardownOne(c, graceSeconds, 'pod deleted'));
}

export function isSidecarAttempt(c: ContainerInfo): boolean {
  return c.labels[LABEL_SIDECAR] === 'true';
}

function teardownOne(c: ContainerInfo, graceSeconds: number, reason: string): PodAction[] {
  const name = c.labels[LABEL_CONTAINER_NAME] ?? '';
  const kill: PodAction[] = c.state === 'running' ? [{ kind: 'kill', id: c.id, container: name, graceSeconds, reason }] : [];
  return [...kill, { kind: 'remove', id: c.id }];
}

/** "10s", "2m40s", "5m0s", as Go prints durations in the kubelet's messages. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}
