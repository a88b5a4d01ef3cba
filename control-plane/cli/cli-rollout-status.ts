// `bramble rollout status deploy/web`: kubectl's status viewers (rollout_status.go)
// as pure functions of one object, and a loop that feeds them every version of
// the object: a List for the current state and its store revision, then a Watch
// from exactly that revision, so no change in between is missed. It ends when
// the rollout is done, has failed, or --timeout passes.
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { Condition, KObject } from '../../proto/model.js';
import type { ClusterConnection } from './cli-client.js';
import type { CliIo } from './cli-context.js';
import { rolloutNoun, type WorkloadTarget } from './cli-workload.js';

/** One look at the object: the line to print, and whether to stop. */
export type RolloutStatus =
  | { done: false; message: string }
  | { done: true; message: string }
  /** The rollout cannot finish by waiting (kubectl returns an error). */
  | { done: true; error: string };

export const ROLLOUT_STATUS_KINDS = ['Deployment', 'DaemonSet'] as const;

/** Deployment condition reason once progressDeadlineSeconds passed without progress (kubectl's TimedOutReason). */
export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function generationObserved(obj: KObject): boolean {
  const observed = (obj.status as { observedGeneration?: number } | undefined)?.observedGeneration;
  return typeof observed === 'number' && (obj.metadata.generation ?? 0) <= observed;
}

/** kubectl's DeploymentStatusViewer.Status, message for message. */
export function deploymentRolloutStatus(obj: KObject): RolloutStatus {
  const name = obj.metadata.name;
  const noun = rolloutNoun('Deployment', name);
  // Until the controller has seen the latest spec, the status describes an older one.
  if (!generationObserved(obj)) return { done: false, message: 'Waiting for deployment spec update to be observed...' };
  const status = (obj.status ?? {}) as { replicas?: number; updatedReplicas?: number; availableReplicas?: number; conditions?: Condition[] };
  const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.reason === PROGRESS_DEADLINE_EXCEEDED) return { done: true, error: `${noun} exceeded its progress deadline` };
  const wanted = (obj.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const updated = n(status.updatedReplicas);
  if (updated < wanted) {
    return { done: false, message: `Waiting for ${noun} rollout to finish: ${updated} out of ${wanted} new replicas have been updated...` };
  }
  if (n(status.replicas) > updated) {
    return { done: false, message: `Waiting for ${noun} rollout to finish: ${n(status.replicas) - updated} old replicas are pending termination...` };
  }
  if (n(status.availableReplicas) < updated) {
    return { done: false, message: `Waiting for ${noun} rollout to finish: ${n(status.availableReplicas)} of ${updated} updated replicas are available...` };
  }
  return { done: true, message: `${noun} successfully rolled out` };
}

/** kubectl's DaemonSetStatusViewer.Status. */
export function daemonSetRolloutStatus(obj: KObject): RolloutStatus {
  const noun = rolloutNoun('DaemonSet', obj.metadata.name);
  const strategy = (obj.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type ?? 'RollingUpdate';
  // With OnDelete nothing replaces a Pod until someone deletes it, so there is nothing to wait for.
  if (strategy !== 'RollingUpdate') return { done: true, error: `rollout status is only available for RollingUpdate strategy type: ${noun} uses ${strategy}` };
  if (!generationObserved(obj)) return { done: false, message: 'Waiting for daemon set spec update to be observed...' };
  const status = (obj.status ?? {}) as { desiredNumberScheduled?: number; updatedNumberScheduled?: number; numberAvailable?: number };
  const desired = n(status.desiredNumberScheduled);
  if (n(status.updatedNumberScheduled) < desired) {
    return { done: false, message: `Waiting for ${noun} rollout to finish: ${n(status.updatedNumberScheduled)} out of ${desired} new pods have been updated...` };
  }
  if (n(status.numberAvailable) < desired) {
    return { done: false, message: `Waiting for ${noun} rollout to finish: ${n(status.numberAvailable)} of ${desired} updated pods are available...` };
  }
  return { done: true, message: `${noun} successfully rolled out` };
}

export function rolloutStatusOf(obj: KObject): RolloutStatus {
  return obj.kind === 'DaemonSet' ? daemonSetRolloutStatus(obj) : deploymentRolloutStatus(obj);
}

export interface RolloutWaitOptions {
  /** 0: no limit, as kubectl's default. */
  timeoutMs: number;
  /** --watch=false: print the current status once and stop. */
  watch: boolean;
}

/** The object and the store revision it was read at, from a List (Get carries no revision). */
async function readWithRevision(conn: ClusterConnection, t: WorkloadTarget): Promise<{ object: KObject; revision: number }> {
  const res = await conn.list({ kind: t.kind.kind, namespace: t.namespace, labelSelector: '' });
  const object = res.objects.map((o) => JSON.parse(o) as KObject).find((o) => o.metadata.name === t.name);
  if (!object) throw new BrambleError('NOT_FOUND', `${t.kind.kind.toLowerCase()}s "${t.name}" not found in namespace "${t.namespace}"`);
  return { object, revision: res.revision };
}

/**
 * Prints each new status line (kubectl prints one per event; repeats are
 * dropped here) and resolves with the exit code: 0 once rolled out. Throws on
 * a failed rollout, a deleted object, or the deadline.
 */
export async function waitForRollout(conn: ClusterConnection, io: CliIo, t: WorkloadTarget, opts: RolloutWaitOptions): Promise<number> {
  const deadline = opts.timeoutMs > 0 ? io.clock.now() + opts.timeoutMs : Infinity;
  let last: string | undefined;
  const look = (obj: KObject): boolean => {
    const s = rolloutStatusOf(obj);
    if ('error' in s) throw new BrambleError('UNAVAILABLE', s.error);
    if (s.message !== last) io.stdout.write(s.message + '\n');
    last = s.message;
    return s.done;
  };
  const timedOut = (): BrambleError =>
    new BrambleError('UNAVAILABLE', `timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${rolloutNoun(t.kind.kind, t.name)} rollout to finish${last ? `; last status: ${last}` : ''}`);

  for (;;) {
    const { object, revision } = await readWithRevision(conn, t);
    if (look(object) || !opts.watch) return 0;
    if (io.clock.now() >= deadline) throw timedOut();
    const stream = conn.watch({ kind: t.kind.kind, namespace: t.namespace, fromRevision: revision, labelSelector: '' });
    let expired = false;
    const timer = deadline === Infinity ? undefined : io.clock.setTimeout(() => {
      expired = true;
      stream.cancel();
    }, deadline - io.clock.now());
    try {
      for await (const event of stream) {
        const obj = JSON.parse(event.object) as KObject;
        if (obj.metadata.name !== t.name) continue;
        if (event.type === 'DELETED') throw new BrambleError('NOT_FOUND', `${rolloutNoun(t.kind.kind, t.name)} was deleted while its rollout was watched`);
        if (look(obj)) return 0;
      }
    } catch (e) {
      // The server kept too few events to resume from: read the object again and watch from there.
      if (!isBrambleError(e, 'STORE_REVISION_TOO_OLD')) throw e;
    } finally {
      timer?.cancel();
      stream.cancel();
    }
    if (expired) throw timedOut();
    // The stream ended without an error (a server going away): start over from a fresh read.
  }
}
