// `bramble rollout history|undo|restart|pause|resume|status`, as kubectl's. A
// Deployment's history is its ReplicaSets: each keeps the Pod template of one
// revision (deployment.kubernetes.io/revision), so undo copies a ReplicaSet's
// template back into the Deployment. Kubernetes keeps a DaemonSet's history in
// ControllerRevision objects, a kind Bramble does not have, so history and undo
// refuse DaemonSets; restart and status work for both.
import { stringify as toYaml } from 'yaml';
import { BrambleError } from '../../proto/util/errors.js';
import {
  CHANGE_CAUSE_ANNOTATION, POD_TEMPLATE_HASH_LABEL, RESTARTED_AT_ANNOTATION, REVISION_ANNOTATION,
  type KObject, type PodTemplateSpec,
} from '../../proto/model.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { renderTable } from './cli-print.js';
import { ROLLOUT_STATUS_KINDS, waitForRollout } from './cli-rollout-status.js';
import { parseDuration } from './cli-token.js';
import {
  getObject, ownedReplicaSets, qualifiedName, readModifyWrite, revisionOf, sameTemplateIgnoringLabel, withoutLabel, workloadTarget,
  type WorkloadTarget,
} from './cli-workload.js';

export interface RolloutInput {
  kind: string;
  name?: string;
  namespace?: string;
}

const ROLLOUT_KINDS = ['Deployment', 'DaemonSet'] as const;

function target(command: string, input: RolloutInput): WorkloadTarget {
  return workloadTarget(`rollout ${command}`, input.kind, input.name, input.namespace, ROLLOUT_KINDS);
}

function noDaemonSetHistory(t: WorkloadTarget, command: string): void {
  if (t.kind.kind !== 'DaemonSet') return;
  throw new UsageError(
    `rollout ${command} is not available for daemonsets: Bramble keeps no DaemonSet revisions (Kubernetes stores them as ControllerRevisions, a kind Bramble does not have); ` +
    `to go back, apply the earlier manifest of ${qualifiedName(t.kind, t.name)}`,
  );
}

// ------------------------------------------------------------------- history

export interface Revision {
  revision: number;
  changeCause: string | undefined;
  replicaSet: KObject;
}

/** The revisions a Deployment's ReplicaSets record, oldest first; ReplicaSets without one are skipped. */
export function revisions(replicaSets: KObject[]): Revision[] {
  const out: Revision[] = [];
  for (const rs of replicaSets) {
    const revision = revisionOf(rs, REVISION_ANNOTATION);
    if (revision === undefined) continue;
    out.push({ revision, changeCause: rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION], replicaSet: rs });
  }
  return out.sort((a, b) => a.revision - b.revision);
}

export function renderHistory(shown: string, history: Revision[]): string {
  if (history.length === 0) return `No rollout history found for ${shown}.\n`;
  const rows = [['REVISION', 'CHANGE-CAUSE'], ...history.map((r) => [String(r.revision), r.changeCause ?? '<none>'])];
  return `${shown}\n${renderTable(rows)}`;
}

function revisionList(history: Revision[]): string {
  return history.length === 0 ? 'it has none' : `its revisions are ${history.map((r) => r.revision).join(', ')}`;
}

function findRevision(history: Revision[], wanted: number, shown: string): Revision {
  const found = history.find((r) => r.revision === wanted);
  if (!found) throw new BrambleError('NOT_FOUND', `${shown} has no revision ${wanted} in its history: ${revisionList(history)}`);
  return found;
}

/** kubectl's `rollout history --revision N`: the Pod template of that revision. */
export function renderRevision(shown: string, r: Revision): string {
  const template = (r.replicaSet.spec as { template?: PodTemplateSpec } | undefined)?.template ?? {};
  const body = toYaml(template).split('\n').filter((l) => l !== '').map((l) => `  ${l}\n`).join('');
  return `${shown} with revision #${r.revision}\nPod Template:\n${body}`;
}

/** --revision / --to-revision: a whole number; 0 means "not given", as in kubectl. */
export function parseRevision(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a revision number such as 2 (see \`bramble rollout history\`): current value is "${text}"`);
  return Number(text.trim());
}

export async function runRolloutHistory(ctx: CommandContext, input: RolloutInput & { revision?: string }): Promise<number> {
  const t = target('history', input);
  noDaemonSetHistory(t, 'history');
  const wanted = parseRevision(input.revision, '--revision');
  const shown = qualifiedName(t.kind, t.name);
  const history = await withCluster(ctx.connect, async (conn) => revisions(await ownedReplicaSets(conn, await getObject(conn, t))));
  ctx.io.stdout.write(wanted === 0 ? renderHistory(shown, history) : renderRevision(shown, findRevision(history, wanted, shown)));
  return 0;
}

// ---------------------------------------------------------------------- undo

export type UndoPlan = { skip: string } | { revision: number; deployment: KObject };

/**
 * kubectl's DeploymentRollbacker: the revision asked for, or the one before the
 * newest; its template goes into the Deployment without pod-template-hash (the
 * controller adds that to its ReplicaSet's copy). The Deployment's annotations
 * stay, except that the revision's change-cause comes back with it, as kubectl
 * copies a ReplicaSet's annotations.
 */
export function planUndo(deployment: KObject, replicaSets: KObject[], toRevision: number, shown: string): UndoPlan {
  const spec = deployment.spec as { paused?: boolean; template: PodTemplateSpec };
  if (spec.paused === true) {
    throw new BrambleError('INVALID_ARGUMENT', `you cannot roll back a paused deployment; resume it first with \`bramble rollout resume ${shown}\` and try again`);
  }
  const history = revisions(replicaSets);
  let chosen: Revision;
  if (toRevision === 0) {
    if (history.length < 2) throw new BrambleError('NOT_FOUND', `no rollout history found for ${shown}: there is no previous revision to go back to (${revisionList(history)})`);
    chosen = history[history.length - 2]!;
  } else {
    chosen = findRevision(history, toRevision, shown);
  }
  const template = (chosen.replicaSet.spec as { template: PodTemplateSpec }).template;
  if (sameTemplateIgnoringLabel(template, spec.template, POD_TEMPLATE_HASH_LABEL)) {
    return { skip: `${shown} skipped rollback (current template already matches revision ${chosen.revision})` };
  }
  const next = structuredClone(deployment);
  (next.spec as { template: PodTemplateSpec }).template = withoutLabel(template, POD_TEMPLATE_HASH_LABEL);
  const cause = chosen.changeCause;
  if (cause !== undefined) next.metadata.annotations = { ...next.metadata.annotations, [CHANGE_CAUSE_ANNOTATION]: cause };
  return { revision: chosen.revision, deployment: next };
}

export async function runRolloutUndo(ctx: CommandContext, input: RolloutInput & { toRevision?: string }): Promise<number> {
  const t = target('undo', input);
  noDaemonSetHistory(t, 'undo');
  const toRevision = parseRevision(input.toRevision, '--to-revision');
  const shown = qualifiedName(t.kind, t.name);
  let skipped: string | undefined;
  await withCluster(ctx.connect, async (conn) => {
    const replicaSets = await ownedReplicaSets(conn, await getObject(conn, t));
    await readModifyWrite(conn, t, (obj) => {
      const plan = planUndo(obj, replicaSets, toRevision, shown);
      if ('skip' in plan) {
        skipped = plan.skip;
        return { unchanged: plan.skip };
      }
      return { write: plan.deployment };
    });
  });
  ctx.io.stdout.write(skipped !== undefined ? `${skipped}\n` : `${shown} rolled back\n`);
  return 0;
}

// ------------------------------------------------------ restart, pause, resume

/** RFC 3339 to the second, as kubectl writes restartedAt. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function runRolloutRestart(ctx: CommandContext, input: RolloutInput): Promise<number> {
  const t = target('restart', input);
  const shown = qualifiedName(t.kind, t.name);
  const at = rfc3339(ctx.io.clock.now());
  await withCluster(ctx.connect, (conn) =>
    readModifyWrite(conn, t, (obj) => {
      const spec = obj.spec as { paused?: boolean; template: PodTemplateSpec };
      if (spec.paused === true) throw new BrambleError('INVALID_ARGUMENT', `can't restart paused ${shown} (run \`bramble rollout resume ${shown}\` first)`);
      // A new template annotation changes the template hash: the controller rolls every Pod.
      spec.template.metadata = { ...spec.template.metadata, annotations: { ...spec.template.metadata?.annotations, [RESTARTED_AT_ANNOTATION]: at } };
      return { write: obj };
    }),
  );
  ctx.io.stdout.write(`${shown} restarted\n`);
  return 0;
}

export async function runRolloutPause(ctx: CommandContext, input: RolloutInput & { paused: boolean }): Promise<number> {
  const verb = input.paused ? 'pause' : 'resume';
  const t = target(verb, input);
  const shown = qualifiedName(t.kind, t.name);
  if (t.kind.kind !== 'Deployment') {
    // kubectl's ObjectPauser and ObjectResumer know only Deployments.
    throw new BrambleError('INVALID_ARGUMENT', `daemonsets.apps "${t.name}" ${input.paused ? 'pausing' : 'resuming'} is not supported`);
  }
  const result = await withCluster(ctx.connect, (conn) =>
    readModifyWrite(conn, t, (obj) => {
      const spec = obj.spec as { paused?: boolean };
      if ((spec.paused === true) === input.paused) return { unchanged: input.paused ? 'already paused' : 'already resumed' };
      if (input.paused) spec.paused = true;
      else delete spec.paused;
      return { write: obj };
    }),
  );
  ctx.io.stdout.write('unchanged' in result ? `${shown} ${result.unchanged}\n` : `${shown} ${input.paused ? 'paused' : 'resumed'}\n`);
  return 0;
}

// --------------------------------------------------------------------- status

export async function runRolloutStatus(ctx: CommandContext, input: RolloutInput & { timeout?: string; watch?: string | boolean }): Promise<number> {
  const t = workloadTarget('rollout status', input.kind, input.name, input.namespace, ROLLOUT_STATUS_KINDS);
  const timeoutMs = input.timeout === undefined ? 0 : parseDuration(input.timeout, '--timeout') * 1000;
  const watch = parseWatch(input.watch);
  return withCluster(ctx.connect, (conn) => waitForRollout(conn, ctx.io, t, { timeoutMs, watch }));
}

/** `--watch`, `--watch=true` or `--watch=false`, kubectl's boolean flag. */
export function parseWatch(v: string | boolean | undefined): boolean {
  if (v === undefined || v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new UsageError(`--watch must be true or false (write --watch=false): current value is "${String(v)}"`);
}
