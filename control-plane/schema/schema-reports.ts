// What agents report: a Pod's status and a heartbeat. A board is trusted with
// its own Pods but not with the store's shape, so reports are checked as
// strictly as manifests: wrong types and values are refused with the field
// named. Unknown status fields are dropped rather than refused, so a newer
// agent can still report to an older control plane.
import { z } from 'zod';
import { BrambleError, type FieldProblem } from '../../proto/util/errors.js';
import type { PodStatus } from '../../proto/model.js';
import { dnsLabelRule, labelKeyRule, labelValueRule } from '../../proto/names.js';
import type { HeartbeatRequest__Output } from '../../proto/types.js';
import { int, issuesToProblems } from './schema-errors.js';
import { quantityRule } from './schema-pod.js';
import { timestamp } from './schema-meta.js';

/** Reasons are CamelCase words; messages are prose from the runtime, bounded so a chatty error cannot bloat the store. */
const reason = () => z.string().max(256);
const message = () => z.string().max(32 * 1024);
const ip = () => z.string().max(64);

const conditionSchema = z.object({
  type: z.string().min(1).max(256),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: reason().optional(),
  message: message().optional(),
  lastTransitionTime: timestamp().optional(),
  lastHeartbeatTime: timestamp().optional(),
});

const containerStateSchema = z.object({
  waiting: z.object({ reason: reason(), message: message().optional() }).optional(),
  running: z.object({ startedAt: timestamp() }).optional(),
  terminated: z.object({
    exitCode: int(),
    reason: reason().optional(),
    message: message().optional(),
    startedAt: timestamp().optional(),
    finishedAt: timestamp(),
    signal: int().optional(),
  }).optional(),
});

const containerStatusSchema = z.object({
  name: z.string().min(1).max(253),
  image: z.string().max(4096),
  imageID: z.string().max(4096).optional(),
  containerID: z.string().max(1024).optional(),
  ready: z.boolean(),
  started: z.boolean().optional(),
  restartCount: int().min(0),
  state: containerStateSchema,
  lastState: containerStateSchema.optional(),
});

export const podStatusSchema = z.object({
  phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).optional(),
  conditions: z.array(conditionSchema).max(64).optional(),
  hostIP: ip().optional(),
  podIP: ip().optional(),
  podIPs: z.array(z.object({ ip: ip() })).max(8).optional(),
  startTime: timestamp().optional(),
  containerStatuses: z.array(containerStatusSchema).max(256).optional(),
  initContainerStatuses: z.array(containerStatusSchema).max(256).optional(),
  reason: reason().optional(),
  message: message().optional(),
  observedGeneration: int().min(0).optional(),
});

/** A Pod status from an agent, checked; throws VALIDATION_FAILED naming every bad field (paths under "status"). */
export function checkPodStatus(input: unknown, subject: string): PodStatus {
  const result = podStatusSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data as PodStatus;
  const problems = issuesToProblems(result.error.issues, { prefix: ['status'] });
  throw new BrambleError('VALIDATION_FAILED', `status of ${subject} is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).slice(0, 3).join('; ')}`, problems);
}

const ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS']);
const MAX_INFO_LENGTH = 256;
const MAX_HEARTBEAT_LABELS = 64;
const MAX_HEARTBEAT_ADDRESSES = 16;
/** More Pods than any board runs (the kubelet default is 110): bounds what one beat keeps in memory. */
const MAX_HEARTBEAT_PODS = 1000;
/** A board reports one conflict per LoadBalancer Service port a process holds: bounds what one beat keeps in memory. */
const MAX_HEARTBEAT_PORT_CONFLICTS = 256;

function finiteProblems(path: string, figures: Record<string, unknown> | null | undefined, out: FieldProblem[]): void {
  if (!figures) return;
  for (const [k, v] of Object.entries(figures)) {
    if (typeof v === 'number' && !Number.isFinite(v)) out.push({ path: `${path}.${k}`, message: `must be a finite number: current value is ${v}` });
    if (typeof v === 'number' && v < 0 && k !== 'temperatureCelsius') out.push({ path: `${path}.${k}`, message: `must not be negative: current value is ${v}` });
  }
}

/** The problems of a heartbeat; empty when it may be stored. Live figures are checked too: `bramble top` prints them. */
export function heartbeatProblems(hb: HeartbeatRequest__Output): FieldProblem[] {
  const out: FieldProblem[] = [];
  const labels = Object.entries(hb.labels ?? {});
  if (labels.length > MAX_HEARTBEAT_LABELS) out.push({ path: 'labels', message: `must have no more than ${MAX_HEARTBEAT_LABELS} labels: current count is ${labels.length}` });
  for (const [k, v] of labels.slice(0, MAX_HEARTBEAT_LABELS)) {
    const keyProblem = labelKeyRule(k);
    if (keyProblem) out.push({ path: 'labels', message: `label key ${keyProblem}: current value is ${JSON.stringify(k.slice(0, 100))}` });
    const valueProblem = labelValueRule(v);
    if (valueProblem) out.push({ path: `labels[${JSON.stringify(k.slice(0, 100))}]`, message: `${valueProblem}: current value is ${JSON.stringify(v.slice(0, 100))}` });
  }
  if (hb.addresses.length > MAX_HEARTBEAT_ADDRESSES) out.push({ path: 'addresses', message: `must have no more than ${MAX_HEARTBEAT_ADDRESSES} items` });
  hb.addresses.slice(0, MAX_HEARTBEAT_ADDRESSES).forEach((a, i) => {
    if (!ADDRESS_TYPES.has(a.type)) out.push({ path: `addresses[${i}].type`, message: `must be one of ${[...ADDRESS_TYPES].join(', ')}: current value is ${JSON.stringify(a.type.slice(0, 100))}` });
    if (a.address === '' || a.address.length > 253) out.push({ path: `addresses[${i}].address`, message: 'must be 1 to 253 characters' });
  });
  for (const [name, r] of [['capacity', hb.capacity], ['allocatable', hb.allocatable]] as const) {
    if (!r) continue;
    for (const k of ['cpu', 'memory', 'pods'] as const) {
      const v = r[k];
      if (v === '') continue;
      const problem = v.length > 64 ? 'must be no more than 64 characters' : quantityRule(v);
      if (problem) out.push({ path: `${name}.${k}`, message: `${problem}: current value is ${JSON.stringify(v.slice(0, 100))}` });
    }
  }
  if (hb.info) {
    for (const [k, v] of Object.entries(hb.info)) {
      if (typeof v === 'string' && v.length > MAX_INFO_LENGTH) out.push({ path: `info.${k}`, message: `must be no more than ${MAX_INFO_LENGTH} characters: current length is ${v.length}` });
    }
  }
  finiteProblems('figures', hb.figures as unknown as Record<string, unknown> | null, out);
  if (hb.pods.length > MAX_HEARTBEAT_PODS) out.push({ path: 'pods', message: `must have no more than ${MAX_HEARTBEAT_PODS} items: current count is ${hb.pods.length}` });
  hb.pods.slice(0, MAX_HEARTBEAT_PODS).forEach((p, i) => finiteProblems(`pods[${i}]`, p as unknown as Record<string, unknown>, out));
  const conflicts = hb.portConflicts ?? [];
  if (conflicts.length > MAX_HEARTBEAT_PORT_CONFLICTS) out.push({ path: 'portConflicts', message: `must have no more than ${MAX_HEARTBEAT_PORT_CONFLICTS} items: current count is ${conflicts.length}` });
  conflicts.slice(0, MAX_HEARTBEAT_PORT_CONFLICTS).forEach((c, i) => {
    for (const k of ['namespace', 'service'] as const) {
      const problem = dnsLabelRule(c[k]);
      if (problem) out.push({ path: `portConflicts[${i}].${k}`, message: `${problem}: current value is ${JSON.stringify(c[k].slice(0, 100))}` });
    }
    if (c.protocol !== 'TCP' && c.protocol !== 'UDP') out.push({ path: `portConflicts[${i}].protocol`, message: `must be one of TCP, UDP: current value is ${JSON.stringify(c.protocol.slice(0, 100))}` });
    if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) out.push({ path: `portConflicts[${i}].port`, message: `must be an integer from 1 to 65535: current value is ${c.port}` });
  });
  return out;
}
