// Init containers and native sidecars, as pure rules over what the runtime
// holds: which init container's turn it is, whether the Pod is initialized,
// and how each kind of container restarts. Everything is derived from the
// containers present (no memory of its own), so an agent restarted mid-init
// picks up where the last one stopped.
import type { Container, Pod, PodSpec } from '../proto/model.js';
import type { ContainerInfo } from './runtime.js';

/** Marks a sidecar's containers so a teardown without the spec still stops it last. */
export const LABEL_SIDECAR = 'bramble.container.sidecar';

export function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

export function sidecarsOf(pod: Pod): Container[] {
  return (pod.spec.initContainers ?? []).filter(isSidecar);
}

/** The containers that run beside the app: the app containers and the sidecars. */
export function longRunningOf(pod: Pod): Container[] {
  return [...sidecarsOf(pod), ...pod.spec.containers];
}

/** Whether an exited attempt is run again. */
export function restartsAfter(policy: PodSpec['restartPolicy'], exitCode: number | undefined): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}

/**
 * A regular init container must succeed once: a failure is retried unless the Pod's
 * policy is Never (Always counts as OnFailure, as in Kubernetes); a success is final.
 */
export function initRestartPolicy(policy: PodSpec['restartPolicy']): PodSpec['restartPolicy'] {
  return policy === 'Never' ? 'Never' : 'OnFailure';
}

/** Whether a running attempt has started (its startup probe, if any, succeeded). */
export type Started = (containerName: string, info: ContainerInfo) => boolean;

interface Latest {
  latest?: ContainerInfo;
}

export interface InitProgress {
  /** Every init container has done its part (or an app container exists already). */
  initialized: boolean;
  /** A regular init container failed and the Pod's restartPolicy is Never: the Pod has failed. */
  failed: boolean;
  /** The init container whose turn it is, when not initialized and not failed. */
  current?: Container;
  /** How many init containers are done: regular ones succeeded, sidecars running ("Init:1/2"). */
  done: number;
}

/**
 * Walks the init containers in order. A regular one is done once its latest attempt
 * exited 0; a sidecar once it runs and has started (startup probe). Once any app container has an attempt the Pod
 * initialized earlier: a sidecar that crashed since, or init attempts removed, do not
 * send it back to the init phase (the kubelet does not rerun init containers either).
 */
export function initProgress(pod: Pod, attempts: ReadonlyMap<string, Latest>, started: Started = () => true): InitProgress {
  const inits = pod.spec.initContainers ?? [];
  const appStarted = pod.spec.containers.some((c) => attempts.get(c.name)?.latest !== undefined);
  let done = 0;
  for (const c of inits) {
    const latest = attempts.get(c.name)?.latest;
    const ok = isSidecar(c) ? latest?.state === 'running' && started(c.name, latest) : latest?.state === 'stopped' && latest.exitCode === 0;
    if (ok) {
      done++;
      continue;
    }
    if (appStarted) continue;
    const failed = !isSidecar(c) && latest?.state === 'stopped' && !restartsAfter(initRestartPolicy(pod.spec.restartPolicy), latest.exitCode);
    return { initialized: false, failed, current: failed ? undefined : c, done };
  }
  return { initialized: true, failed: false, done: inits.length };
}

/**
 * Whether the app containers have all finished for good (a Job's Pod that ran to its
 * end): then the sidecars are stopped and not restarted. Never for restartPolicy Always.
 */
export function appsFinished(pod: Pod, attempts: ReadonlyMap<string, Latest>, policy: PodSpec['restartPolicy'] = pod.spec.restartPolicy): boolean {
  return pod.spec.containers.every((c) => {
    const latest = attempts.get(c.name)?.latest;
    return latest?.state === 'stopped' && !restartsAfter(policy, latest.exitCode);
  });
}
