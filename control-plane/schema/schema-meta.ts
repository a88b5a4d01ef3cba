// Names, labels, annotations, ObjectMeta and label selectors, with the same
// rules Kubernetes applies so a manifest valid here is valid on k3s too.
import { z } from 'zod';
import { GC_FINALIZERS } from '../../proto/model.js';
import { ALWAYS, addProblem, int, asArray, field, isRecord } from './schema-errors.js';

import {
  configKeyRule, dnsLabelRule, dnsSubdomainRule, labelValueRule, qualifiedNameRule, timestampRule, type Rule,
} from '../../proto/names.js';

export { configKeyRule, dnsLabelRule, dnsSubdomainRule, labelValueRule, qualifiedNameRule, timestampRule, type Rule };

/** A string schema checked by a rule; the message carries the current value. */
export function ruledString(rule: Rule): z.ZodString {
  return z.string().superRefine((v, ctx) => {
    const problem = rule(v);
    if (problem) addProblem(ctx, [], problem, v);
  });
}

export const dnsLabel = (): z.ZodString => ruledString(dnsLabelRule);
export const dnsSubdomain = (): z.ZodString => ruledString(dnsSubdomainRule);
export const qualifiedName = (): z.ZodString => ruledString(qualifiedNameRule);
export const timestamp = (): z.ZodString => ruledString(timestampRule);

/** Checks the keys of a string map; values are checked by `valueRule` when they are strings. */
function checkedMap(what: string, keyRule: Rule, valueRule?: Rule) {
  return z.record(z.string(), z.string()).superRefine((m, ctx) => {
    if (!isRecord(m)) return;
    for (const [k, v] of Object.entries(m)) {
      const keyProblem = keyRule(k);
      if (keyProblem) addProblem(ctx, [], `${what} key ${keyProblem}`, k);
      if (valueRule && typeof v === 'string') {
        const valueProblem = valueRule(v);
        if (valueProblem) addProblem(ctx, [k], valueProblem, v);
      }
    }
  }, ALWAYS);
}

/** Labels, node selectors and Service selectors: qualified-name keys, label values. */
export const labelMap = () => checkedMap('label', qualifiedNameRule, labelValueRule);

const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export const annotationMap = () =>
  checkedMap('annotation', qualifiedNameRule).superRefine((m, ctx) => {
    if (!isRecord(m)) return;
    let size = 0;
    for (const [k, v] of Object.entries(m)) size += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    if (size > MAX_ANNOTATIONS_BYTES) addProblem(ctx, [], `total size must be no more than ${MAX_ANNOTATIONS_BYTES} bytes`, `${size} bytes`);
  }, ALWAYS);

export const ownerReferenceSchema = z.strictObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  uid: z.string().min(1),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});

/**
 * Top-level metadata. Server-set fields (uid, resourceVersion, generation,
 * timestamps) are accepted so `get -o yaml` output applies again unchanged.
 */
export function objectMetaSchema(nameRule: Rule) {
  return z.strictObject({
    name: ruledString(nameRule),
    namespace: dnsLabel().optional(),
    generateName: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: int().min(0).optional(),
    creationTimestamp: timestamp().optional(),
    deletionTimestamp: timestamp().optional(),
    deletionGracePeriodSeconds: int().min(0).optional(),
    labels: labelMap().optional(),
    annotations: annotationMap().optional(),
    ownerReferences: z.array(ownerReferenceSchema).optional(),
    // Only the garbage collector's: nothing else would ever remove another one, and an
    // object waiting for a finalizer nobody removes is never deleted.
    finalizers: z.array(z.enum(GC_FINALIZERS as [string, ...string[]])).optional(),
  });
}

/** Metadata inside a Pod or Job template: nothing is required there. */
export const templateMetaSchema = z.strictObject({
  name: dnsSubdomain().optional(),
  namespace: dnsLabel().optional(),
  creationTimestamp: timestamp().optional(),
  labels: labelMap().optional(),
  annotations: annotationMap().optional(),
});

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export const selectorRequirementSchema = z
  .strictObject({
    key: qualifiedName(),
    operator: z.enum(SELECTOR_OPERATORS),
    values: z.array(ruledString(labelValueRule)).optional(),
  })
  .superRefine((r, ctx) => {
    const op = field(r, 'operator');
    const values = asArray(field(r, 'values'));
    if ((op === 'In' || op === 'NotIn') && values.length === 0) {
      addProblem(ctx, ['values'], `must not be empty when operator is "${op}"`);
    }
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
      addProblem(ctx, ['values'], `must be empty when operator is "${op}"`);
    }
  }, ALWAYS);

export const labelSelectorSchema = z.strictObject({
  matchLabels: labelMap().optional(),
  matchExpressions: z.array(selectorRequirementSchema).optional(),
});
