// core v1 Event. The control plane writes most Events itself (through the
// aggregating recorder), but a user may apply one as kubectl can; such an Event
// passes the same strict rules, so `get events` never shows something a
// recorder could not have written.
import { z } from 'zod';
import { addProblem, field, int } from './schema-errors.js';
import { dnsLabel, ruledString, timestamp } from './schema-meta.js';

/** Kubernetes' limits: a reason is a short CamelCase word, a message at most 1 KiB (events.k8s.io). */
export const EVENT_LIMITS = {
  reasonLength: 128,
  messageLength: 1024,
  componentLength: 128,
  nameLength: 253,
} as const;

const REASON = /^[A-Za-z][A-Za-z0-9]*$/;

export const reasonRule = (v: string): string | undefined => {
  if (v.length > EVENT_LIMITS.reasonLength) return `must be no more than ${EVENT_LIMITS.reasonLength} characters`;
  return REASON.test(v) ? undefined : 'must be a CamelCase word such as "FailedScheduling" (letters and digits, starting with a letter)';
};

const bounded = (n: number) => z.string().max(n);

export const eventInvolvedObjectSchema = z.strictObject({
  kind: z.string().min(1).max(63),
  namespace: dnsLabel().optional(),
  name: z.string().min(1).max(EVENT_LIMITS.nameLength),
  uid: bounded(128).optional(),
  apiVersion: bounded(128).optional(),
  resourceVersion: bounded(64).optional(),
  fieldPath: bounded(256).optional(),
});

export const eventFields = {
  involvedObject: eventInvolvedObjectSchema,
  reason: ruledString(reasonRule),
  message: bounded(EVENT_LIMITS.messageLength).optional(),
  type: z.enum(['Normal', 'Warning']),
  count: int().min(1).optional(),
  firstTimestamp: timestamp().optional(),
  lastTimestamp: timestamp().optional(),
  eventTime: timestamp().optional(),
  source: z.strictObject({ component: bounded(EVENT_LIMITS.componentLength).optional(), host: bounded(253).optional() }).optional(),
  reportingComponent: bounded(EVENT_LIMITS.componentLength).optional(),
  reportingInstance: bounded(EVENT_LIMITS.componentLength).optional(),
  action: bounded(128).optional(),
};

/** As the apiserver: an Event lives in its object's namespace, and it does not end before it starts. */
export function checkEvent(obj: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const involved = field(obj, 'involvedObject');
  const ns = field(field(obj, 'metadata'), 'namespace') ?? 'default';
  const involvedNs = field(involved, 'namespace');
  if (typeof involvedNs === 'string' && involvedNs !== '' && involvedNs !== ns) {
    addProblem(ctx, ['involvedObject', 'namespace'], `must be the Event's namespace ${JSON.stringify(ns)}`, involvedNs);
  }
  const first = field(obj, 'firstTimestamp');
  const last = field(obj, 'lastTimestamp');
  if (typeof first === 'string' && typeof last === 'string' && Date.parse(last) < Date.parse(first)) {
    addProblem(ctx, ['lastTimestamp'], `must not be before firstTimestamp ${first}`, last);
  }
}


