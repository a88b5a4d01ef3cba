// Apply and delete planning: pure functions from (store state, validated objects,
// clock) to one store Command plus what happens to each object. The API proposes
// the command; a conflict with a concurrent writer means "plan again".
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError, type FieldProblem } from '../../proto/util/errors.js';
import {
  DEFAULT_NAMESPACE, DEFAULT_PROPAGATION_POLICY, FOREGROUND_FINALIZER, KINDS, SYSTEM_NAMESPACES, formatSelector, hasFinalizer, kindInfo,
  DEFAULT_SERVICE_CIDR, objectKey, selectorRequirements, type KObject, type KindInfo, type LabelSelector, type NodeObject, type PropagationPolicy, type Service,
} from '../../proto/model.js';
import { POD_CIDR_LOCK, SERVICE_ALLOCATION_LOCK, lockOp } from '../ipam/allocation-lock.js';
import { podCidrCheck } from '../ipam/pod-cidr.js';
import { ServiceAllocator } from '../ipam/service-allocation.js';
import { dropOwnersOp, removalOp, storedDependents } from '../controllers/garbage-collector/deletion.js';
import type { Command, Op, Store } from '../store/store.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface PlannedApply {
  kind: string;
  namespace?: string;
  name: string;
  action: ApplyAction;
  /** As it will be stored (created/configured) or as it is stored (unchanged). */
  object: KObject;
  /** Index of this object's op in the command; undefined when unchanged. */
  opIndex?: number;
}

export interface ApplyPlan {
  command: Command;
  results: PlannedApply[];
}

export interface DeletePlan {
  command: Command;
  /** The object the caller asked to delete, as stored now. */
  object: KObject;
  /**
   * Index of that object's op in the command (a Namespace's contents, an orphaned
   * object's dependents go first); the command may end before it (a Pod already
   * terminating whose dependents are orphaned), then the object is unchanged.
   */
  opIndex: number;
}

/** The reads planning needs; a Store satisfies it. */
export type StoreView = Pick<Store, 'get' | 'list'>;

export interface PlanOptions {
  clock: Clock;
  newUid?: () => string;
  /** The range Service cluster IPs come from (the server's --service-cidr); DEFAULT_SERVICE_CIDR when left out. */
  serviceCidr?: string;
}

/** `deployment "web" in namespace "default"`, or `namespace "x"` for cluster-scoped kinds. */
export function describeObject(kind: string, namespace: string | undefined, name: string): string {
  const base = `${kind.toLowerCase()} "${name}"`;
  return namespace === undefined ? base : `${base} in namespace "${namespace}"`;
}

export function notFoundError(kind: string, namespace: string | undefined, name: string): BrambleError {
  const base = `${kind.toLowerCase()} "${name}" not found`;
  return new BrambleError('NOT_FOUND', namespace === undefined ? base : `${base} in namespace "${namespace}"`);
}

function requireKind(kind: string): KindInfo {
  const info = kindInfo(kind);
  if (!info) {
    throw new BrambleError('UNKNOWN_KIND', `kind "${kind}" is not supported: supported kinds are ${KINDS.map((k) => k.kind).join(', ')}`);
  }
  return info;
}

/** The namespace an object of this kind lives in: undefined for cluster-scoped kinds. */
export function scopedNamespace(info: KindInfo, namespace: string | undefined): string | undefined {
  if (!info.namespaced) return undefined;
  return namespace === undefined || namespace === '' ? DEFAULT_NAMESPACE : namespace;
}

// Fields the system fills in after creation. A manifest that leaves them out
// means "keep what the cluster chose", so re-applying it is not a change.
const SYSTEM_SPEC_FIELDS: Record<string, string[]> = {
  Pod: ['nodeName'],
  Node: ['podCIDR'],
  // Service clusterIP, clusterIPs and node ports are kept by ipam/service-allocation.ts.
};

/** Kubernetes stores Secret stringData merged into data (base64); stringData is write-only. */
export function mergeStringData(obj: KObject): KObject {
  if (obj.kind !== 'Secret' || obj.stringData === undefined) return obj;
  const { stringData, ...rest } = obj;
  const data: Record<string, string> = { ...((rest.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(stringData as Record<string, string>)) {
    data[k] = Buffer.from(v, 'utf8').toString('base64');
  }
  return { ...rest, data };
}

/** Top-level fields holding the kind's desired state: spec, or everything but metadata/status for data kinds. */
function contentFields(info: KindInfo, obj: KObject): string[] {
  if (info.hasSpec) return ['spec'];
  return Object.keys(obj).filter((f) => !['apiVersion', 'kind', 'metadata', 'status'].includes(f));
}

/** JSON with sorted keys and empty maps/lists dropped, so equal content compares equal. */
function canonical(value: unknown): string {
  return JSON.stringify(normalize(value)) ?? 'undefined';
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(normalize);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = normalize((value as Record<string, unknown>)[k]);
      if (v !== undefined) out[k] = v;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function withSystemFields(incoming: KObject, stored: KObject): KObject {
  const fields = SYSTEM_SPEC_FIELDS[incoming.kind];
  const spec = incoming.spec as Record<string, unknown> | undefined;
  const storedSpec = stored.spec as Record<string, unknown> | undefined;
  if (!fields || !storedSpec) return incoming;
  // A manifest without a spec (a Node with nothing to say) still keeps the system's fields.
  if (!spec && !fields.some((f) => storedSpec[f] !== undefined)) return incoming;
  const kept: Record<string, unknown> = { ...spec };
  for (const f of fields) {
    if (kept[f] === undefined && storedSpec[f] !== undefined) kept[f] = storedSpec[f];
  }
  return { ...incoming, spec: kept };
}

// apps/v1 makes these selectors immutable: the controller finds its pods (and
// their revisions) by the selector, so a new one would orphan the old pods.
const IMMUTABLE_SELECTOR_KINDS = new Set(['Deployment', 'DaemonSet']);

function selectorOf(obj: KObject): LabelSelector | undefined {
  return (obj.spec as { selector?: LabelSelector } | undefined)?.selector;
}

function showSelector(sel: LabelSelector | undefined): string {
  const text = formatSelector(selectorRequirements(sel));
  return text === '' ? 'empty' : text;
}

/** The problem with updating `stored` to `desired`, if its selector changed. */
function selectorChange(stored: KObject, desired: KObject, index: number): FieldProblem | undefined {
  if (!IMMUTABLE_SELECTOR_KINDS.has(stored.kind)) return undefined;
  const before = selectorOf(stored);
  // Objects stored before selectors were required have none: the first one given is accepted.
  if (before === undefined || canonical(before) === canonical(selectorOf(desired))) return undefined;
  const kind = stored.kind.toLowerCase();
  return {
    path: 'spec.selector',
    message:
      `field is immutable: the stored ${kind} selects ${showSelector(before)}: current value is ${showSelector(selectorOf(desired))}; ` +
      `delete the ${kind} and apply it again to change its selector`,
    document: index,
  };
}

/**
 * The garbage collector's finalizers are the cluster's, like system spec fields: a
 * manifest that leaves finalizers out keeps them, so re-applying it in the middle
 * of a foreground delete does not cut the delete short.
 */
function withStoredFinalizers(incoming: KObject, stored: KObject): KObject {
  if (incoming.metadata.finalizers !== undefined || stored.metadata.finalizers === undefined) return incoming;
  return { ...incoming, metadata: { ...incoming.metadata, finalizers: stored.metadata.finalizers } };
}

function stripServerFields(obj: KObject): KObject {
  const { status: _status, ...rest } = obj;
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _g, deletionTimestamp: _dt, ...meta } = obj.metadata;
  return { ...rest, metadata: meta };
}

/**
 * Plans an apply of validated objects against the store's current state.
 * Throws CONFLICT (stale resourceVersion), NOT_FOUND (namespace missing),
 * INVALID_ARGUMENT (the same object twice) or VALIDATION_FAILED (an immutable
 * field changed, every such document listed); nothing is planned then.
 */
export function planApply(state: StoreView, objects: KObject[], opts: PlanOptions): ApplyPlan {
  const newUid = opts.newUid ?? randomUUID;
  const now = new Date(opts.clock.now()).toISOString();
  const ops: Op[] = [];
  const results: PlannedApply[] = [];
  const seen = new Map<string, number>();
  // The apply commits as one command, so a Namespace anywhere in it counts: a
  // directory applies whatever order its files sort in.
  const namespacesInRequest = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  const immutable: { problem: FieldProblem; what: string }[] = [];
  let services: ServiceAllocator | undefined;
  /** Cluster IPs and node ports filled in; problems (taken, out of range, immutable) join the immutable-field ones. */
  let takesPodCidr = false;
  const podCidrsInPlan = new Map<string, string>();
  const allocated = (obj: KObject, stored: KObject | undefined, index: number): KObject => {
    if (obj.kind === 'Node') {
      const node = obj as NodeObject;
      const check = podCidrCheck(state, node, stored as NodeObject | undefined);
      const wanted = node.spec?.podCIDR;
      const earlier = check.takes && wanted !== undefined ? podCidrsInPlan.get(wanted) : undefined;
      const problem = check.problem ?? (earlier !== undefined ? `is also given to node "${earlier}" in this apply: current value is ${JSON.stringify(wanted)}` : undefined);
      if (problem) immutable.push({ problem: { path: 'spec.podCIDR', message: problem, document: index }, what: `node ${JSON.stringify(obj.metadata.name)}` });
      if (check.takes && wanted !== undefined) podCidrsInPlan.set(wanted, node.metadata.name);
      takesPodCidr ||= check.takes;
      return obj;
    }
    if (obj.kind !== 'Service') return obj;
    services ??= new ServiceAllocator(state, { serviceCidr: opts.serviceCidr ?? DEFAULT_SERVICE_CIDR });
    const { service, problems } = services.allocate(index, obj as Service, stored as Service | undefined);
    for (const problem of problems) immutable.push({ problem, what: `service ${JSON.stringify(obj.metadata.name)}` });
    return service;
  };

  objects.forEach((raw, index) => {
    const info = requireKind(raw.kind);
    const namespace = scopedNamespace(info, raw.metadata.namespace);
    const name = raw.metadata.name;
    const key = objectKey(info.kind, namespace, name);
    const what = describeObject(info.kind, namespace, name);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new BrambleError('INVALID_ARGUMENT', `document ${index} repeats ${what} from document ${earlier}: each object may appear once per request`);
    }
    seen.set(key, index);
    if (namespace !== undefined && !namespacesInRequest.has(namespace) && !state.get('Namespace', undefined, namespace)) {
      throw new BrambleError('NOT_FOUND', `namespace "${namespace}" not found: create it first, or in the same apply as ${what}`);
    }

    const givenVersion = raw.metadata.resourceVersion;
    const incoming = stripServerFields(mergeStringData({ ...raw, metadata: { ...raw.metadata, namespace } }));
    if (namespace === undefined) delete incoming.metadata.namespace;
    const stored = state.get(info.kind, namespace, name);

    if (!stored) {
      if (givenVersion !== undefined && givenVersion !== '') {
        throw new BrambleError('CONFLICT', `${what} has resourceVersion "${givenVersion}" but does not exist: remove metadata.resourceVersion to create it`);
      }
      const object: KObject = {
        ...allocated(incoming, undefined, index),
        metadata: { ...incoming.metadata, uid: newUid(), creationTimestamp: now, generation: 1 },
      };
      results.push({ kind: info.kind, namespace, name, action: 'created', object, opIndex: ops.length });
      ops.push({ type: 'put', object, precondition: { absent: true } });
      return;
    }

    const storedVersion = stored.metadata.resourceVersion ?? '';
    if (givenVersion !== undefined && givenVersion !== '' && givenVersion !== storedVersion) {
      throw new BrambleError('CONFLICT', `${what} was changed since it was read: the request has resourceVersion "${givenVersion}" but the stored object is at "${storedVersion}"`);
    }
    const desired = allocated(withStoredFinalizers(withSystemFields(incoming, stored), stored), stored, index);
    const changed = selectorChange(stored, desired, index);
    if (changed) immutable.push({ problem: changed, what: `${info.kind.toLowerCase()} ${JSON.stringify(name)}` });
    const metaSame = (['labels', 'annotations', 'ownerReferences', 'finalizers'] as const).every(
      (f) => canonical(desired.metadata[f]) === canonical(stored.metadata[f]),
    );
    const fields = new Set([...contentFields(info, desired), ...contentFields(info, stored)]);
    const contentSame = [...fields].every((f) => canonical(desired[f]) === canonical(stored[f]));
    if (metaSame && contentSame) {
      results.push({ kind: info.kind, namespace, name, action: 'unchanged', object: stored });
      return;
    }
    const specChanged = info.hasSpec && canonical(desired.spec) !== canonical(stored.spec);
    const object: KObject = {
      ...desired,
      metadata: {
        ...desired.metadata,
        uid: stored.metadata.uid,
        creationTimestamp: stored.metadata.creationTimestamp,
        generation: (stored.metadata.generation ?? 1) + (specChanged ? 1 : 0),
        ...(stored.metadata.deletionTimestamp !== undefined ? { deletionTimestamp: stored.metadata.deletionTimestamp } : {}),
      },
      ...(stored.status !== undefined ? { status: stored.status } : {}),
    };
    results.push({ kind: info.kind, namespace, name, action: 'configured', object, opIndex: ops.length });
    ops.push({ type: 'put', object, precondition: { resourceVersion: storedVersion } });
  });

  if (immutable.length > 0) {
    // Worded as validateObjects words its errors, so the CLI shows both alike.
    const parts = immutable.map(({ problem, what }) => `documents[${problem.document}]: ${what} is invalid: ${problem.path}: ${problem.message}`);
    const summary = parts.length === 1 ? parts[0]! : `${parts.length} of ${objects.length} documents are invalid: ${parts.join(' | ')}`;
    throw new BrambleError('VALIDATION_FAILED', summary, immutable.map(({ problem }) => problem));
  }
  if (services?.took) ops.push(lockOp(state, SERVICE_ALLOCATION_LOCK));
  if (takesPodCidr) ops.push(lockOp(state, POD_CIDR_LOCK));
  return { command: { ops }, results };
}

export interface DeleteTarget {
  kind: string;
  namespace?: string;
  name: string;
  /** When non-empty, the object must still be at this version. */
  resourceVersion?: string;
  /** Remove a bound Pod from the store at once instead of letting its agent stop it first. */
  force?: boolean;
  /** ISO time used as deletionTimestamp of a graceful Pod delete and of a foreground delete. */
  now?: string;
  /** What happens to the object's dependents; Background when left out. */
  propagationPolicy?: PropagationPolicy;
  /** A bound Pod's stop gets this many seconds instead of its terminationGracePeriodSeconds. */
  gracePeriodSeconds?: number;
}

/**
 * Plans the delete of one object. A Namespace takes everything in it along, in
 * the same command, each at the version read now. Otherwise the propagation policy
 * says what happens to the object's dependents (objects whose ownerReferences name
 * its uid):
 * - Background: the object goes now; the garbage collector deletes the dependents.
 * - Orphan: the object goes now and, in the same command, every dependent loses its
 *   reference to it, so nothing is left for the collector to do and no dependent is
 *   ever seen pointing at a missing owner.
 * - Foreground: the object only gets deletionTimestamp and the foregroundDeletion
 *   finalizer; the collector deletes the dependents, then the object.
 */
export function planDelete(state: StoreView, target: DeleteTarget): DeletePlan {
  const info = requireKind(target.kind);
  const namespace = scopedNamespace(info, target.namespace);
  const stored = state.get(info.kind, namespace, target.name);
  if (!stored) throw notFoundError(info.kind, namespace, target.name);
  if (info.kind === 'Namespace' && SYSTEM_NAMESPACES.includes(target.name)) {
    const why = target.name === DEFAULT_NAMESPACE ? 'objects without a namespace go there' : 'every cluster has it, as Kubernetes does';
    throw new BrambleError('FORBIDDEN', `namespace "${target.name}" cannot be deleted: ${why}`);
  }
  const storedVersion = stored.metadata.resourceVersion ?? '';
  if (target.resourceVersion && target.resourceVersion !== storedVersion) {
    throw new BrambleError(
      'CONFLICT',
      `${describeObject(info.kind, namespace, target.name)} was changed since it was read: the request has resourceVersion "${target.resourceVersion}" but the stored object is at "${storedVersion}"`,
    );
  }
  const now = target.now ?? new Date(0).toISOString();
  const policy = target.propagationPolicy ?? DEFAULT_PROPAGATION_POLICY;
  const ops: Op[] = [];
  if (info.kind === 'Namespace') {
    for (const k of KINDS.filter((k) => k.namespaced)) {
      for (const item of state.list(k.kind, target.name).items) {
        ops.push({
          type: 'delete',
          kind: item.kind,
          namespace: target.name,
          name: item.metadata.name,
          precondition: { resourceVersion: item.metadata.resourceVersion ?? '' },
        });
      }
    }
  } else if (policy === 'Foreground') {
    // Asked again while it runs: nothing to add.
    if (stored.metadata.deletionTimestamp && hasFinalizer(stored, FOREGROUND_FINALIZER)) return { command: { ops: [] }, object: stored, opIndex: 0 };
    const finalizers = [...(stored.metadata.finalizers ?? []).filter((f) => f !== FOREGROUND_FINALIZER), FOREGROUND_FINALIZER];
    const marked = { ...stored, metadata: { ...stored.metadata, deletionTimestamp: stored.metadata.deletionTimestamp ?? now, finalizers } };
    return { command: { ops: [{ type: 'put', object: marked, precondition: { resourceVersion: storedVersion } }] }, object: stored, opIndex: 0 };
  } else if (policy === 'Orphan') {
    const uid = new Set([stored.metadata.uid ?? '']);
    for (const dependent of storedDependents(state, stored)) ops.push(dropOwnersOp(dependent, uid));
  }
  const opIndex = ops.length;
  // A Background or Orphan delete of an object in a foreground delete replaces that
  // delete: the object goes now (removalOp drops the finalizer).
  let removal = removalOp(state, stored, now, target.force === true);
  // Only the first graceful delete sets it: the agent may already be counting the Pod's own.
  if (removal?.type === 'put' && target.gracePeriodSeconds !== undefined && !stored.metadata.deletionTimestamp) {
    removal = { ...removal, object: { ...removal.object, metadata: { ...removal.object.metadata, deletionGracePeriodSeconds: target.gracePeriodSeconds } } };
  }
  if (removal) ops.push(removal);
  return { command: { ops }, object: stored, opIndex };
}
