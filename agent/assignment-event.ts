// What the control plane sends on the assignment stream, checked before the
// agent acts on it. The agent joins names and uids into paths (logs, volumes,
// netns) and hands Pods to the reconciler, so one malformed object — bad JSON,
// the wrong shape, a name with "/" in it, nesting that would blow the stack of
// JSON.stringify — must be refused here, with a message that names the field
// and never echoes Secret data, rather than throw out of a stream handler.
import { BrambleError } from '../proto/util/errors.js';
import { LIMITS } from '../proto/limits.js';
import type { KObject, Pod } from '../proto/model.js';

export type AssignedKind = 'Pod' | 'ConfigMap' | 'Secret';

export type AssignmentChange =
  | { type: 'SYNCED' }
  | { type: 'SYNC' | 'ADDED' | 'MODIFIED' | 'DELETED'; kind: AssignedKind; object: KObject };

const TYPES = new Set(['SYNC', 'ADDED', 'MODIFIED', 'DELETED']);
const KINDS = new Set<string>(['Pod', 'ConfigMap', 'Secret']);
/** RFC 1123 label (namespaces, container and volume names) and subdomain (object names). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The control plane makes UUIDs; anything path-safe of that order of length is accepted. */
const UID = /^[A-Za-z0-9-]{1,64}$/;
/**
 * Specs are at most LIMITS.maxDepth deep when stored; the status the agent itself reports
 * adds a few levels, so twice that is never reached by a real object.
 */
const MAX_DEPTH = LIMITS.maxDepth * 2;

function invalid(message: string): BrambleError {
  return new BrambleError('INVALID_ARGUMENT', `assignment event ${message}`);
}

/** A value quoted in a message: short, and only ever a name-like field, never data. */
function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v) : typeof v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Without recursion, so a hostile nesting depth cannot overflow the stack here either. */
function depthWithin(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) return false;
    for (const child of Object.values(v as object)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return true;
}

function checkName(field: string, v: unknown, pattern: RegExp): void {
  if (typeof v !== 'string' || !pattern.test(v)) {
    throw invalid(`${field} must be a lowercase RFC 1123 ${pattern === DNS_LABEL ? 'label' : 'name'}: current value is ${shown(v)}`);
  }
}

function checkPod(o: Record<string, unknown>, deleted: boolean): void {
  const uid = (o.metadata as Record<string, unknown>).uid;
  if (typeof uid !== 'string' || !UID.test(uid)) throw invalid(`Pod metadata.uid must be letters, digits and "-": current value is ${shown(uid)}`);
  // A deletion needs only the key; the reconciler keeps the last full Pod it had.
  if (deleted) return;
  const spec = o.spec;
  if (!isRecord(spec)) throw invalid(`Pod spec must be an object: current value is ${shown(spec)}`);
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) throw invalid('Pod spec.containers must be a non-empty list: it is not');
  const seen = new Set<string>();
  for (const [i, c] of containers.entries()) {
    if (!isRecord(c)) throw invalid(`Pod spec.containers[${i}] must be an object: it is not`);
    checkName(`Pod spec.containers[${i}].name`, c.name, DNS_LABEL);
    if (seen.has(c.name as string)) throw invalid(`Pod spec.containers[${i}].name must be unique: ${shown(c.name)} repeats`);
    seen.add(c.name as string);
    if (typeof c.image !== 'string' || c.image === '') throw invalid(`Pod spec.containers[${i}].image must be a non-empty string: current value is ${shown(c.image)}`);
  }
  if (spec.volumes !== undefined) {
    if (!Array.isArray(spec.volumes)) throw invalid('Pod spec.volumes must be a list: it is not');
    for (const [i, v] of spec.volumes.entries()) {
      if (!isRecord(v)) throw invalid(`Pod spec.volumes[${i}] must be an object: it is not`);
      // Volume names become directories under the pod's data dir.
      checkName(`Pod spec.volumes[${i}].name`, v.name, DNS_LABEL);
    }
  }
}

function checkConfig(kind: string, o: Record<string, unknown>): void {
  for (const field of ['data', 'stringData', 'binaryData']) {
    const d = o[field];
    if (d === undefined) continue;
    if (!isRecord(d)) throw invalid(`${kind} ${field} must be an object of strings: it is not`);
    // Only the key is named: the value may be a Secret's.
    for (const [k, v] of Object.entries(d)) if (typeof v !== 'string') throw invalid(`${kind} ${field}[${shown(k)}] must be a string: it is ${typeof v}`);
  }
}

/** Checks one event and returns what it means; throws INVALID_ARGUMENT naming the first problem. */
export function parseAssignmentEvent(ev: { type?: unknown; object?: unknown }): AssignmentChange {
  if (ev.type === 'SYNCED') return { type: 'SYNCED' };
  if (typeof ev.type !== 'string' || !TYPES.has(ev.type)) {
    throw invalid(`type must be SYNC, SYNCED, ADDED, MODIFIED or DELETED: current value is ${shown(ev.type)}`);
  }
  const type = ev.type as 'SYNC' | 'ADDED' | 'MODIFIED' | 'DELETED';
  if (typeof ev.object !== 'string') throw invalid(`object must be a JSON string: it is ${typeof ev.object}`);
  if (ev.object.length > LIMITS.maxRequestBytes) {
    throw invalid(`object must be at most ${LIMITS.maxRequestBytes} characters: it has ${ev.object.length}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(ev.object);
  } catch {
    // Not the parser's message: it quotes the text, which may hold a Secret's data.
    throw invalid(`object must be JSON: it is not (${ev.object.length} characters)`);
  }
  return { type, ...checkAssignedObject(parsed, type === 'DELETED') };
}

/** Checks one parsed object (from the stream or the local cache); `deleted` needs only its key. */
export function checkAssignedObject(parsed: unknown, deleted = false): { kind: AssignedKind; object: KObject } {
  if (!isRecord(parsed)) throw invalid('object must be a JSON object: it is not');
  if (!depthWithin(parsed, MAX_DEPTH)) throw invalid(`object must nest at most ${MAX_DEPTH} levels deep: it nests deeper`);
  const kind = parsed.kind;
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw invalid(`object kind must be Pod, ConfigMap or Secret: current value is ${shown(kind)}`);
  const meta = parsed.metadata;
  if (!isRecord(meta)) throw invalid(`${kind} metadata must be an object: it is not`);
  checkName(`${kind} metadata.name`, meta.name, DNS_SUBDOMAIN);
  if (meta.namespace !== undefined) checkName(`${kind} metadata.namespace`, meta.namespace, DNS_LABEL);
  if (kind === 'Pod') checkPod(parsed, deleted);
  else if (!deleted) checkConfig(kind, parsed);
  return { kind: kind as AssignedKind, object: parsed as unknown as KObject | Pod };
}
