// Deployment, DaemonSet, Job and CronJob specs. Rules that span fields (the
// selector must select the template, a Job's pods must not restart forever)
// run even when other fields are malformed.
import { z } from 'zod';
import { cronScheduleProblem, timeZoneProblem } from '../../proto/util/cron-schedule.js';
import { formatSelector, matchesSelector, selectorRequirements, type LabelSelector } from '../../proto/model.js';
import { ALWAYS, addProblem, int, field, isRecord } from './schema-errors.js';
import { labelSelectorSchema, templateMetaSchema } from './schema-meta.js';
import { podTemplateSchema } from './schema-pod.js';

type Ctx = z.core.$RefinementCtx<unknown>;

const nonNegative = () => int().min(0);

/** apps/v1's default for a Deployment's spec.progressDeadlineSeconds. */
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/** maxSurge / maxUnavailable: a count or a percentage of the desired pods. */
export const intOrPercent = () =>
  z.union([int(), z.string()]).superRefine((v, ctx) => {
    if (typeof v === 'number') {
      if (v < 0) addProblem(ctx, [], 'must be greater than or equal to 0', v);
      return;
    }
    const m = typeof v === 'string' ? /^(\d+)%$/.exec(v) : null;
    if (!m) addProblem(ctx, [], 'must be an integer or a percentage such as "25%"', v);
    else if (Number(m[1]) > 100) addProblem(ctx, [], 'must be no more than 100%', v);
  });

/** "0", "00%" and "0%" are all zero: Kubernetes compares the parsed number, not the text. */
function isZero(v: unknown): boolean {
  if (typeof v === 'number') return v === 0;
  const m = typeof v === 'string' ? /^(\d+)%$/.exec(v) : null;
  return m !== null && Number(m[1]) === 0;
}

/**
 * Kubernetes validates after defaulting, so a field left out counts as its
 * default: a Deployment's maxSurge and maxUnavailable default to 25%, a
 * DaemonSet's maxUnavailable to 1 and its maxSurge to 0 — so a DaemonSet with
 * only `maxUnavailable: 0` could never replace a pod and is refused too.
 */
function rollingUpdateSchema(defaults: { maxSurge: number | string; maxUnavailable: number | string }) {
  return z
    .strictObject({ maxSurge: intOrPercent().optional(), maxUnavailable: intOrPercent().optional() })
    .superRefine((r, ctx) => {
      const surge = field(r, 'maxSurge') ?? defaults.maxSurge;
      const unavailable = field(r, 'maxUnavailable') ?? defaults.maxUnavailable;
      if (isZero(surge) && isZero(unavailable)) {
        const why = field(r, 'maxSurge') === undefined ? `maxSurge is 0 (its default is ${JSON.stringify(defaults.maxSurge)})` : 'maxSurge is 0';
        addProblem(ctx, ['maxUnavailable'], `must not be 0 when ${why}: no pod could ever be replaced`, unavailable);
      }
    }, ALWAYS);
}

function rollingUpdateOnlyFor(rollingType: string) {
  return (s: unknown, ctx: Ctx): void => {
    const type = field(s, 'type');
    if (type !== undefined && type !== rollingType && field(s, 'rollingUpdate') !== undefined) {
      addProblem(ctx, ['rollingUpdate'], `must not be set when type is ${JSON.stringify(type)}`);
    }
  };
}

/**
 * A selector must not be empty and must select the pods the template makes.
 * apps/v1 requires one (Deployment, DaemonSet); a Job makes its own when none is given.
 */
function checkSelector(spec: unknown, ctx: Ctx, kind: string, required: boolean): void {
  const selector = field(spec, 'selector');
  if (selector === undefined) {
    if (required && isRecord(spec)) {
      addProblem(ctx, ['selector'], `required: a ${kind} needs matchLabels or matchExpressions that select spec.template.metadata.labels`);
    }
    return;
  }
  if (!labelSelectorSchema.safeParse(selector).success) return;
  const reqs = selectorRequirements(selector as LabelSelector);
  if (reqs.length === 0) {
    addProblem(ctx, ['selector'], `must not be empty: a ${kind} selector needs matchLabels or matchExpressions`);
    return;
  }
  const labels = field(field(field(spec, 'template'), 'metadata'), 'labels');
  const stringLabels: Record<string, string> = {};
  if (isRecord(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') stringLabels[k] = v;
  if (!matchesSelector(stringLabels, reqs)) {
    const shown = Object.entries(stringLabels).map(([k, v]) => `${k}=${v}`).join(',');
    addProblem(
      ctx,
      ['template', 'metadata', 'labels'],
      `must match the selector (${formatSelector(reqs)}): current labels are ${shown === '' ? 'none' : shown}`,
    );
  }
}

function templateRestartPolicy(spec: unknown): unknown {
  return field(field(field(spec, 'template'), 'spec'), 'restartPolicy');
}

/** Deployments and DaemonSets keep their pods running, so only "Always" makes sense. */
function checkAlwaysRestart(spec: unknown, ctx: Ctx, kind: string): void {
  const policy = templateRestartPolicy(spec);
  if (policy === 'OnFailure' || policy === 'Never') {
    addProblem(ctx, ['template', 'spec', 'restartPolicy'], `must be "Always" for a ${kind}`, policy);
  }
}

export const deploymentSpecSchema = z
  .strictObject({
    replicas: nonNegative().optional(),
    selector: labelSelectorSchema.optional(),
    template: podTemplateSchema,
    strategy: z
      .strictObject({ type: z.enum(['Recreate', 'RollingUpdate']).optional(), rollingUpdate: rollingUpdateSchema({ maxSurge: '25%', maxUnavailable: '25%' }).optional() })
      .superRefine(rollingUpdateOnlyFor('RollingUpdate'), ALWAYS)
      .optional(),
    minReadySeconds: nonNegative().optional(),
    revisionHistoryLimit: nonNegative().optional(),
    progressDeadlineSeconds: nonNegative().optional(),
    paused: z.boolean().optional(),
  })
  .superRefine((spec, ctx) => {
    checkSelector(spec, ctx, 'Deployment', true);
    checkAlwaysRestart(spec, ctx, 'Deployment');
    // Checked after defaulting, as Kubernetes does: a minReadySeconds of 600 or
    // more without a deadline would make every rollout count as stalled.
    const given = field(spec, 'progressDeadlineSeconds');
    const deadline = given ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
    const minReady = field(spec, 'minReadySeconds') ?? 0;
    if (typeof deadline === 'number' && typeof minReady === 'number' && deadline <= minReady) {
      if (given === undefined) {
        addProblem(ctx, ['minReadySeconds'], `must be less than progressDeadlineSeconds (${DEFAULT_PROGRESS_DEADLINE_SECONDS} when not set)`, minReady);
      } else {
        addProblem(ctx, ['progressDeadlineSeconds'], `must be greater than minReadySeconds (${minReady})`, deadline);
      }
    }
  }, ALWAYS);

export const replicaSetSpecSchema = z
  .strictObject({
    // Kubernetes defaults replicas to 1; filling it in here makes `get -o yaml` say so.
    replicas: nonNegative().default(1),
    minReadySeconds: nonNegative().optional(),
    // apps/v1 requires the selector: it is how the ReplicaSet finds (and adopts) its Pods.
    selector: labelSelectorSchema,
    template: podTemplateSchema,
  })
  .superRefine((spec, ctx) => {
    checkSelector(spec, ctx, 'ReplicaSet', true);
    checkAlwaysRestart(spec, ctx, 'ReplicaSet');
  }, ALWAYS);

export const daemonSetSpecSchema = z
  .strictObject({
    selector: labelSelectorSchema.optional(),
    template: podTemplateSchema,
    updateStrategy: z
      .strictObject({ type: z.enum(['RollingUpdate', 'OnDelete']).optional(), rollingUpdate: rollingUpdateSchema({ maxSurge: 0, maxUnavailable: 1 }).optional() })
      .superRefine(rollingUpdateOnlyFor('RollingUpdate'), ALWAYS)
      .optional(),
    minReadySeconds: nonNegative().optional(),
    revisionHistoryLimit: nonNegative().optional(),
  })
  .superRefine((spec, ctx) => {
    checkSelector(spec, ctx, 'DaemonSet', true);
    checkAlwaysRestart(spec, ctx, 'DaemonSet');
  }, ALWAYS);

export const jobSpecSchema = z
  .strictObject({
    selector: labelSelectorSchema.optional(),
    template: podTemplateSchema,
    completions: nonNegative().optional(),
    parallelism: nonNegative().optional(),
    backoffLimit: nonNegative().optional(),
    activeDeadlineSeconds: int().min(1).optional(),
    ttlSecondsAfterFinished: nonNegative().optional(),
    completionMode: z.enum(['NonIndexed', 'Indexed']).optional(),
    suspend: z.boolean().optional(),
    manualSelector: z.boolean().optional(),
  })
  .superRefine((spec, ctx) => {
    checkSelector(spec, ctx, 'Job', false);
    // A Job's pods run to completion: "Always" (the Pod default) would never finish.
    const policy = templateRestartPolicy(spec);
    const path = ['template', 'spec', 'restartPolicy'];
    if (policy === undefined && isRecord(field(spec, 'template'))) addProblem(ctx, path, 'required for a Job: must be "OnFailure" or "Never"');
    else if (policy === 'Always') addProblem(ctx, path, 'must be "OnFailure" or "Never" for a Job', policy);
    if (field(spec, 'completionMode') === 'Indexed' && field(spec, 'completions') === undefined) {
      addProblem(ctx, ['completions'], 'required when completionMode is "Indexed"');
    }
    // Completions below parallelism is fine, as in Kubernetes: no more than the remaining completions run.
    if (field(spec, 'manualSelector') === true && field(spec, 'selector') === undefined && isRecord(spec)) {
      addProblem(ctx, ['selector'], 'required when manualSelector is true');
    }
  }, ALWAYS);

/** Kubernetes schedules have five fields (no seconds) or a macro; the controller's own parser judges them. */
export function cronScheduleRule(v: string): string | undefined {
  return cronScheduleProblem(v);
}

export function timeZoneRule(v: string): string | undefined {
  return timeZoneProblem(v);
}

export const cronJobSpecSchema = z.strictObject({
  schedule: z.string().superRefine((v, ctx) => {
    const problem = cronScheduleRule(v);
    if (problem) addProblem(ctx, [], problem, v);
  }),
  timeZone: z
    .string()
    .superRefine((v, ctx) => {
      const problem = timeZoneRule(v);
      if (problem) addProblem(ctx, [], problem, v);
    })
    .optional(),
  concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).optional(),
  suspend: z.boolean().optional(),
  startingDeadlineSeconds: nonNegative().optional(),
  successfulJobsHistoryLimit: nonNegative().optional(),
  failedJobsHistoryLimit: nonNegative().optional(),
  jobTemplate: z.strictObject({ metadata: templateMetaSchema.optional(), spec: jobSpecSchema }),
});
