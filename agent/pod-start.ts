// Starting one container of a Pod: image pull back-off, env resolution, image
// pull, the ContainerSpec and runtime.start. Each way it can stop short gives
// the waiting reason Kubernetes shows for it; the reconciler keeps the reason
// for the status and re-queues the Pod when a retry is due.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Container, Pod } from '../proto/model.js';
import { DEFAULT_NAMESPACE } from '../proto/model.js';
import type { PullBackoff } from './pod-backoff.js';
import { expandCommand, resolveEnv, type ConfigSource, type EnvContext } from './pod-env.js';
import { containerLogPath } from './pod-logs.js';
import { buildContainerSpec, pullPolicyOf } from './pod-plan.js';
import { runAsNonRootProblem, securityFor } from './pod-security.js';
import type { WaitingReason } from './pod-status.js';
import { mountsFor } from './pod-volumes.js';
import type { ContainerRuntime, Mount } from './runtime.js';
import { etcMountsFor } from './pod-hosts.js';

export interface StartDeps {
  runtime: ContainerRuntime;
  dataDir: string;
  configs: ConfigSource;
  pull: PullBackoff;
  now: number;
  podIP?: string;
  hostIP?: string;
  /** What resourceFieldRef reads for limits a container does not set. */
  allocatable?: EnvContext['allocatable'];
}

export interface StartRequest {
  pod: Pod;
  container: Container;
  restartCount: number;
  netnsPath?: string;
  /** Host paths of the Pod's volumes, by name. */
  volumePaths: Map<string, string>;
  /** The Pod's /etc/hosts, /etc/hostname and /etc/resolv.conf (pod-hosts.ts). */
  etcMounts?: Mount[];
}

export interface StartWarning {
  reason: string;
  message: string;
}

export type StartOutcome =
  /** `warnings`: worth a Warning event (envFrom keys skipped as invalid names, a pull that fell back to the board's copy). */
  | { started: true; warnings?: StartWarning[] }
  /** `retryInMs`: when to try again; `error`: a failure the work queue should retry with back-off. */
  | { started: false; waiting: WaitingReason; retryInMs?: number; error?: unknown };

export async function startContainer(deps: StartDeps, req: StartRequest): Promise<StartOutcome> {
  const { pod, container: c } = req;
  const uid = pod.metadata.uid ?? '';
  const key = `${uid}/${c.name}`;
  const pulling = deps.pull.waiting(key, deps.now);
  if (pulling) {
    return { started: false, waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}": ${pulling.message}` }, retryInMs: pulling.remainingMs };
  }
  const env = resolveEnv(pod, c, deps.configs, { podIP: deps.podIP, hostIP: deps.hostIP, allocatable: deps.allocatable });
  // No timed retry: a ConfigMap/Secret change re-queues the Pod, and so does the full resync.
  if (!env.ok) return { started: false, waiting: { reason: 'CreateContainerConfigError', message: env.message } };
  const warnings: StartWarning[] = env.warnings.map((message) => ({ reason: 'InvalidEnvironmentVariableNames', message }));
  const policy = pullPolicyOf(c);
  try {
    await deps.runtime.ensureImage(c.image, policy);
    deps.pull.succeeded(key);
  } catch (e) {
    const message = (e as Error).message;
    // A board without registry access (its images dropped in the air-gap folder or
    // imported) still runs an image whose policy is Always — every untagged image's
    // default — from the copy it has, and says so, rather than never starting it.
    if (policy !== 'Always' || !(await deps.runtime.hasImage(c.image).catch(() => false))) {
      return { started: false, waiting: { reason: 'ErrImagePull', message }, retryInMs: deps.pull.failed(key, message, deps.now) };
    }
    deps.pull.succeeded(key);
    warnings.push({ reason: 'Failed', message: `Failed to pull image "${c.image}": ${message}; starting the copy present on the board` });
  }
  let nonRoot: string | undefined;
  try {
    let imageUser = '';
    const u = securityFor(pod, c).user;
    if (c.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot) {
      if (u?.uid === undefined) imageUser = await deps.runtime.imageUser(c.image);
    }
    nonRoot = runAsNonRootProblem(pod, c, () => imageUser);
  } catch (e) {
    return { started: false, waiting: { reason: 'CreateContainerError', message: (e as Error).message }, error: e };
  }
  if (nonRoot) return { started: false, waiting: { reason: 'CreateContainerConfigError', message: nonRoot } };
  const ref = { namespace: pod.metadata.namespace ?? DEFAULT_NAMESPACE, name: pod.metadata.name, uid };
  const logPath = containerLogPath(deps.dataDir, ref, c.name, req.restartCount);
  try {
    await fs.mkdir(path.dirname(logPath), { recursive: true });
    const mounts = [...etcMountsFor(c, req.etcMounts ?? []), ...mountsFor(c, pod, req.volumePaths)];
    const spec = buildContainerSpec(pod, c, req.restartCount, { env: env.env, mounts, netnsPath: req.netnsPath, logPath });
    await deps.runtime.start({ ...spec, ...expandCommand(c, env.env), security: securityFor(pod, c) });
  } catch (e) {
    return { started: false, waiting: { reason: 'CreateContainerError', message: (e as Error).message }, error: e };
  }
  return warnings.length > 0 ? { started: true, warnings } : { started: true };
}
