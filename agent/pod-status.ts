// Pure: what the board observes of a Pod → its PodStatus. Timestamps are taken
// from the runtime, or kept from the previous status when the thing they date
// did not change, so two computations of an unchanged Pod are deep-equal and
// the agent reports only real changes.
import { findCondition, withTransitionTime } from '../proto/util/conditions.js';
import { sortedKeys, stableJson } from '../proto/util/json.js';
import type { Condition, ContainerState, ContainerStatus, Pod, PodPhase, PodStatus } from '../proto/model.js';
import { attemptsByName, shouldRestart } from './pod-plan.js';
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
  const prevByName = new Map((previous?.containerStatuses ?? []).map((s) => [s.name, s]));
  const statuses: ContainerStatus[] = [];
  let allFinal = true;
  let allSucceeded = true;
  let allStarted = true;
  for (const c of pod.spec.containers) {
    const a = attempts.get(c.name);
    const latest = a?.latest;
    const prev = prevByName.get(c.name);
    const waiting = input.waiting.get(c.name);
    const s: ContainerStatus = { name: c.name, image: c.image, ready: false, restartCount: a?.restartCount ?? 0, state: {} };
    if (latest) s.containerID = `containerd://${latest.id}`;
    const prevSame = prev && prev.containerID === s.containerID ? prev : undefined;
    const lastOf = (info: ContainerInfo | undefined): ContainerState | undefined =>
      info && info.state === 'stopped' ? { terminated: terminated(info, prev?.lastState?.terminated?.finishedAt, now) } : undefined;
    if (latest?.state === 'running') {
      s.state = { running: { startedAt: iso(latest.startedAt, prevSame?.state.running?.startedAt, now) } };
      s.ready = input.ready(c.name, latest);
      s.started = true;
      s.lastState = lastOf(a?.previous);
      allFinal = false;
    } else if (latest?.state === 'stopped') {
      s.started = false;
      const final = !shouldRestart(policy, latest.exitCode);
      if (waiting && !final) {
        s.state = { waiting: { ...waiting } };
        s.lastState = lastOf(latest);
      } else {
        s.state = { terminated: terminated(latest, prevSame?.state.terminated?.finishedAt, now) };
        s.lastState = lastOf(a?.previous);
      }
      if (!final) allFinal = false;
      else if (latest.exitCode !== 0) allSucceeded = false;
    } else {
      s.state = { waiting: waiting ? { ...waiting } : { reason: 'ContainerCreating' } };
      s.lastState = lastOf(a?.previous);
      allStarted = !!latest && latest.state === 'unknown' && allStarted;
      allFinal = false;
    }
    if (s.lastState === undefined) delete s.lastState;
    statuses.push(s);
  }

  let phase: PodPhase;
  if (allFinal && pod.spec.containers.length > 0) phase = allSucceeded ? 'Succeeded' : 'Failed';
  else if (allStarted) phase = 'Running';
  else phase = 'Pending';

  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const readyCond = (type: string): Condition =>
    unready.length === 0
      ? { type, status: 'True' }
      : terminal
        ? { type, status: 'False', reason: 'PodCompleted' }
        : { type, status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  const conditions = [
    { type: 'Initialized', status: 'True' } as Condition,
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
  };
  return sortedKeys(status) as PodStatus;
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

