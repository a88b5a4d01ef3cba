// Names, labels, annotations, ObjectMeta and label selectors, with the same
// rules Kubernetes applies so a manifest valid here is valid on k3s too.
import { z } from 'zod';
import { ALWAYS, addProblem, int, asArray, field, isRecord } from './schema-errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** A rule check: undefined when the value is fine, else the rule it breaks. */
export type Rule = (v: string) => string | undefined;

export const dnsLabelRule: Rule = (v) => {
  if (v === '') return 'must not be empty';
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS_LABEL.test(v)) return "must be a lowercase RFC 1123 label (a-z, 0-9, '-')";
  return undefined;
};

export const dnsSubdomainRule: Rule = (v) => {
  if (v === '') return 'must not be empty';
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!DNS_SUBDOMAIN.test(v)) return "must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')";
  return undefined;
};

/** Label and annotation keys: an optional DNS subdomain prefix and '/', then a name. */
export const qualifiedNameRule: Rule = (v) => {
  const parts = v.split('/');
  if (parts.length > 2) return "must be a qualified name (an optional DNS subdomain prefix and '/', then a name) with at most one '/'";
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefixProblem = dnsSubdomainRule(parts[0]!);
    if (prefixProblem) return `prefix ${prefixProblem}`;
  }
  if (name === '') return 'name part must not be empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
};

export const labelValueRule: Rule = (v) => {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(v)) {
    return "must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
};

/** Keys of ConfigMap and Secret data (they become file names in volumes). */
export const configKeyRule: Rule = (v) => {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!CONFIG_KEY.test(v)) return "must consist of alphanumeric characters, '-', '_' or '.'";
  if (v === '.' || v === '..') return "must not be '.' or '..'";
  return undefined;
};

export const timestampRule: Rule = (v) =>
  /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'must be an RFC 3339 timestamp such as "2024-05-01T12:00:00Z"';

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
    labels: labelMap().optional(),
    annotations: annotationMap().optional(),
    ownerReferences: z.array(ownerReferenceSchema).optional(),
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
