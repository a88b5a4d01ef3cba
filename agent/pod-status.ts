// Pure: what the board observes of a Pod → its PodStatus. Timestamps are taken
// from the runtime, or kept from the previous status when the thing they date
// did not change, so two computations of an unchanged Pod are deep-equal and
// the agent reports only real changes.
import { findCondition, withTransitionTime } from '../proto/util/conditions.js';
import { sortedKeys, stableJson } from '../proto/util/json.js';
import type { Condition, Container, ContainerState, ContainerStatus, Pod, PodPhase, PodSpec, PodStatus } from '../proto/model.js';
import { appsFinished, initProgress, initRestartPolicy, isSidecar } from './pod-init-containers.js';
import { attemptsByName, shouldRestart, type ContainerAttempts } from './pod-plan.js';
import type { ContainerInfo } from './runtime.js';

export interface WaitingReason {
  reason: string;
  message?: string;
}

export interface StatusInput {
  pod: Pod;
  /** The runtime's containers labelled with this Pod's uid. */
  containers: ContainerInfo[];
  /** Why a container that is not running waits (CrashLoopBackOff, ErrImagePull, ...), by name. */
  waiting: ReadonlyMap<string, WaitingReason>;
  /** Readiness of a running attempt. */
  ready(containerName: string, info: ContainerInfo): boolean;
  /** Whether a running attempt has passed its startup probe; absent: always. */
  started?(containerName: string, info: ContainerInfo): boolean;
  podIP?: string;
  hostIP?: string;
  now: number;
  /** The status reported last (or the one the control plane holds), for stable timestamps. */
  previous?: PodStatus;
  /** The Pod is being deleted: nothing will restart any more. */
  terminating?: boolean;
}

export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, previous, now } = input;
  const policy = input.terminating ? 'Never' : pod.spec.restartPolicy;
  const attempts = attemptsByName(input.containers);
  const progress = initProgress(pod, attempts, input.started);
  const finished = appsFinished(pod, attempts, policy);
  const prevInit = new Map((previous?.initContainerStatuses ?? []).map((s) => [s.name, s]));
  const initStatuses: ContainerStatus[] = [];
  const inits = pod.spec.initContainers ?? [];
  for (const c of inits) {
    // A sidecar restarts whatever its exit, until the Pod is done or deleted.
    const initPolicy = isSidecar(c) ? (input.terminating || finished || progress.failed ? 'Never' : 'Always') : input.terminating ? 'Never' : initRestartPolicy(pod.spec.restartPolicy);
    const notYet = c === progress.current ? undefined : { reason: 'PodInitializing' };
    const r = containerStatusOf(input, c, attempts.get(c.name), prevInit.get(c.name), initPolicy, notYet);
    // Sidecars count for readiness like app containers; regular init containers never are "ready" once done.
    if (!isSidecar(c)) r.status.ready = r.status.state.terminated?.exitCode === 0;
    initStatuses.push(r.status);
  }
  const prevByName = new Map((previous?.containerStatuses ?? []).map((s) => [s.name, s]));
  const statuses: ContainerStatus[] = [];
  let allFinal = true;
  let allSucceeded = true;
  let allStarted = true;
  // App containers not started yet wait for the init containers.
  const notYet: WaitingReason | undefined = progress.initialized ? undefined : { reason: 'PodInitializing' };
  for (const c of pod.spec.containers) {
    const r = containerStatusOf(input, c, attempts.get(c.name), prevByName.get(c.name), policy, notYet);
    allFinal &&= r.final;
    allSucceeded &&= r.succeeded;
    allStarted &&= r.started;
    statuses.push(r.status);
  }

  let phase: PodPhase;
  if (progress.failed) phase = 'Failed';
  else if (!progress.initialized) phase = 'Pending';
  else if (allFinal && pod.spec.containers.length > 0) phase = allSucceeded ? 'Succeeded' : 'Failed';
  else if (allStarted) phase = 'Running';
  else phase = 'Pending';

  const sidecarNames = new Set(inits.filter(isSidecar).map((c) => c.name));
  const unready = [...initStatuses.filter((s) => sidecarNames.has(s.name)), ...statuses].filter((s) => !s.ready).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const readyCond = (type: string): Condition =>
    unready.length === 0
      ? { type, status: 'True' }
      : terminal
        ? { type, status: 'False', reason: 'PodCompleted' }
        : { type, status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  const incomplete = inits.filter((c, i) => i >= progress.done || (isSidecar(c) && initStatuses[i]?.started !== true)).map((c) => c.name);
  const initialized: Condition = progress.initialized
    ? { type: 'Initialized', status: 'True' }
    : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incomplete.join(' ')}]` };
  const conditions = [
    initialized,
    readyCond('Ready'),
    readyCond('ContainersReady'),
    { type: 'PodScheduled', status: 'True' } as Condition,
  ].map((cond) => dated(cond, previous?.conditions, new Date(now).toISOString()));

  const status: PodStatus = {
    phase,
    conditions,
    hostIP: input.hostIP,
    podIP: input.podIP,
    podIPs: input.podIP ? [{ ip: input.podIP }] : undefined,
    startTime: previous?.startTime ?? new Date(now).toISOString(),
    containerStatuses: statuses,
    initContainerStatuses: inits.length > 0 ? initStatuses : undefined,
  };
  return sortedKeys(status) as PodStatus;
}

interface OneStatus {
  status: ContainerStatus;
  /** Exited and will not run again. */
  final: boolean;
  succeeded: boolean;
  started: boolean;
}

/** One container's status from its attempts; `notYet` is the waiting reason when it has none yet. */
function containerStatusOf(
  input: StatusInput,
  c: Container,
  a: ContainerAttempts | undefined,
  prev: ContainerStatus | undefined,
  policy: PodSpec['restartPolicy'],
  notYet: WaitingReason | undefined,
): OneStatus {
  const { now } = input;
  const latest = a?.latest;
  const waiting = input.waiting.get(c.name);
  const s: ContainerStatus = { name: c.name, image: c.image, ready: false, restartCount: a?.restartCount ?? 0, state: {} };
  let final = false;
  let succeeded = true;
  let started = true;
  if (latest) s.containerID = `containerd://${latest.id}`;
  const prevSame = prev && prev.containerID === s.containerID ? prev : undefined;
  const lastOf = (info: ContainerInfo | undefined): ContainerState | undefined =>
    info && info.state === 'stopped' ? { terminated: terminated(info, prev?.lastState?.terminated?.finishedAt, now) } : undefined;
  if (latest?.state === 'running') {
    s.state = { running: { startedAt: iso(latest.startedAt, prevSame?.state.running?.startedAt, now) } };
    s.ready = !input.terminating && input.ready(c.name, latest);
    s.started = input.started ? input.started(c.name, latest) : true;
    s.lastState = lastOf(a?.previous);
  } else if (latest?.state === 'stopped') {
    s.started = false;
    final = !shouldRestart(policy, latest.exitCode);
    if (waiting && !final) {
      s.state = { waiting: { ...waiting } };
      s.lastState = lastOf(latest);
    } else {
      s.state = { terminated: terminated(latest, prevSame?.state.terminated?.finishedAt, now) };
      s.lastState = lastOf(a?.previous);
    }
    if (final && latest.exitCode !== 0) succeeded = false;
  } else {
    s.state = { waiting: waiting ? { ...waiting } : notYet && !latest ? { ...notYet } : { reason: 'ContainerCreating' } };
    s.lastState = lastOf(a?.previous);
    started = !!latest && latest.state === 'unknown';
  }
  if (s.lastState === undefined) delete s.lastState;
  return { status: s, final, succeeded, started };
}

/** Deep equality of two statuses, key order and undefined fields ignored. */
export function sameStatus(a: PodStatus | undefined, b: PodStatus | undefined): boolean {
  return stableJson(a) === stableJson(b);
}

function terminated(info: ContainerInfo, prevFinishedAt: string | undefined, now: number): NonNullable<ContainerState['terminated']> {
  const exitCode = info.exitCode ?? -1;
  return {
    exitCode,
    reason: exitCode === 0 ? 'Completed' : 'Error',
    startedAt: info.startedAt !== undefined ? new Date(info.startedAt).toISOString() : undefined,
    finishedAt: iso(info.finishedAt, prevFinishedAt, now),
  };
}

/** PodScheduled is the scheduler's: once it has set one, the agent passes it on unchanged. */
function dated(cond: Condition, previous: Condition[] | undefined, nowIso: string): Condition {
  const prev = findCondition(previous, cond.type);
  if (cond.type === 'PodScheduled' && prev) return { ...prev };
  return withTransitionTime(cond, prev, nowIso);
}

function iso(ms: number | undefined, previous: string | undefined, now: number): string {
  if (ms !== undefined) return new Date(ms).toISOString();
  return previous ?? new Date(now).toISOString();
}

