// What the workload commands (scale, set image, rollout) share: naming the one
// object a command acts on, kubectl's "deployment.apps/web" way of printing it,
// an optimistic read-modify-write against Apply's resourceVersion precondition,
// and the ReplicaSets and Pods a workload owns.
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { KObject, KindInfo, OwnerReference, PodTemplateSpec } from '../../proto/model.js';
import type { ClusterConnection } from './cli-client.js';
import { namespaceFor, splitKindName } from './cli-context.js';
import { UsageError } from './cli-errors.js';

export interface WorkloadTarget {
  kind: KindInfo;
  namespace: string;
  name: string;
}

/**
 * Reads `deploy/web` or `deployment web` for a command that accepts only some
 * kinds; the usage error names the command, the argument and the kinds it takes.
 */
export function workloadTarget(
  command: string,
  kindArg: string,
  nameArg: string | undefined,
  namespace: string | undefined,
  allowed: readonly string[],
): WorkloadTarget {
  if (kindArg === '') throw new UsageError(`${command} needs an object: use \`bramble ${command} ${exampleKind(allowed)}/NAME\``);
  const { kind, name } = splitKindName(kindArg, nameArg);
  if (!allowed.includes(kind.kind)) {
    throw new UsageError(`${command} supports ${allowed.map(pluralOf).join(' and ')}: "${kindArg}" is a ${kind.kind}`);
  }
  if (name === undefined) throw new UsageError(`no name given: use \`bramble ${command} ${kindArg}/NAME\``);
  return { kind, namespace: namespaceFor(kind, namespace), name };
}

function pluralOf(kind: string): string {
  return `${kind.toLowerCase()}s`;
}

function exampleKind(allowed: readonly string[]): string {
  const first = allowed[0] ?? 'Deployment';
  return first === 'Deployment' ? 'deploy' : first === 'DaemonSet' ? 'ds' : first === 'ReplicaSet' ? 'rs' : first.toLowerCase();
}

/** kubectl's resource.group/name: "deployment.apps/web", "pod/web-1". */
export function qualifiedName(kind: KindInfo, name: string): string {
  const slash = kind.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : `.${kind.apiVersion.slice(0, slash)}`;
  return `${kind.kind.toLowerCase()}${group}/${name}`;
}

/** kubectl's wording in rollout messages: `deployment "web"`, `daemon set "agent"`. */
export function rolloutNoun(kind: string, name: string): string {
  return `${kind === 'DaemonSet' ? 'daemon set' : kind === 'ReplicaSet' ? 'replica set' : kind.toLowerCase()} "${name}"`;
}

export async function getObject(conn: ClusterConnection, t: WorkloadTarget): Promise<KObject> {
  const res = await conn.get({ kind: t.kind.kind, namespace: t.namespace, name: t.name });
  return JSON.parse(res.object) as KObject;
}

/** What a mutation decided: a changed copy to write, or nothing to do (with why). */
export type Mutation = { write: KObject } | { unchanged: string };

/** Concurrent writers (controllers updating status) bump resourceVersion; a few fresh reads get past them. */
export const MAX_WRITE_ATTEMPTS = 5;

export interface ReadModifyWriteOptions {
  /** --resource-version: write only if the object is still at this version, and do not retry. */
  resourceVersion?: string;
}

/**
 * Gets the object, lets `mutate` change a copy, and applies it carrying the
 * resourceVersion it was read at, so a change made in between is never
 * overwritten: the server answers CONFLICT and the whole step runs again.
 * Returns the mutation that was applied (or found nothing to do).
 */
export async function readModifyWrite(
  conn: ClusterConnection,
  t: WorkloadTarget,
  mutate: (obj: KObject) => Mutation,
  opts: ReadModifyWriteOptions = {},
): Promise<Mutation> {
  for (let attempt = 1; ; attempt++) {
    const stored = await getObject(conn, t);
    if (opts.resourceVersion !== undefined && stored.metadata.resourceVersion !== opts.resourceVersion) {
      throw new BrambleError('CONFLICT',
        `${qualifiedName(t.kind, t.name)} is at resourceVersion "${stored.metadata.resourceVersion ?? ''}", not "${opts.resourceVersion}" as --resource-version requires: it was changed since it was read`);
    }
    const result = mutate(structuredClone(stored));
    if ('unchanged' in result) return result;
    // Status belongs to the controllers; the server keeps the stored one anyway.
    const { status: _status, ...object } = result.write;
    object.metadata = { ...object.metadata, resourceVersion: stored.metadata.resourceVersion };
    try {
      await conn.apply({ objects: [JSON.stringify(object)], dryRun: false });
      return result;
    } catch (e) {
      if (!isBrambleError(e, 'CONFLICT') || opts.resourceVersion !== undefined || attempt >= MAX_WRITE_ATTEMPTS) throw e;
    }
  }
}

/** The owner reference that makes `owner` the object's controller. */
export function controllerRef(obj: KObject): OwnerReference | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

export function isControlledBy(obj: KObject, owner: KObject): boolean {
  const ref = controllerRef(obj);
  return ref !== undefined && owner.metadata.uid !== undefined && ref.uid === owner.metadata.uid;
}

export async function listKind(conn: ClusterConnection, kind: string, namespace: string): Promise<KObject[]> {
  const res = await conn.list({ kind, namespace, labelSelector: '' });
  return res.objects.map((o) => JSON.parse(o) as KObject);
}

/** The ReplicaSets a Deployment controls (by uid, so a namesake created later is not counted). */
export async function ownedReplicaSets(conn: ClusterConnection, deployment: KObject): Promise<KObject[]> {
  return (await listKind(conn, 'ReplicaSet', deployment.metadata.namespace ?? '')).filter((rs) => isControlledBy(rs, deployment));
}

/** Pods controlled by any of `owners`, by name. */
export async function ownedPods(conn: ClusterConnection, namespace: string, owners: KObject[]): Promise<KObject[]> {
  const uids = new Set(owners.map((o) => o.metadata.uid).filter((u): u is string => u !== undefined));
  if (uids.size === 0) return [];
  return (await listKind(conn, 'Pod', namespace))
    .filter((p) => uids.has(controllerRef(p)?.uid ?? ''))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** The rollout revision a ReplicaSet records, or undefined when it has none that parses. */
export function revisionOf(obj: KObject, annotation: string): number | undefined {
  const text = obj.metadata.annotations?.[annotation];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** JSON with sorted keys: two templates are the same when this text is. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A template without the label the Deployment controller adds to its ReplicaSets' copies. */
export function withoutLabel(template: PodTemplateSpec, label: string): PodTemplateSpec {
  const copy = structuredClone(template);
  const labels = copy.metadata?.labels;
  if (labels && label in labels) {
    delete labels[label];
    if (Object.keys(labels).length === 0) delete copy.metadata!.labels;
  }
  if (copy.metadata && Object.keys(copy.metadata).length === 0) delete copy.metadata;
  return copy;
}

/** kubectl's EqualIgnoreHash: the same template apart from pod-template-hash. */
export function sameTemplateIgnoringLabel(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined, label: string): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonicalJson(withoutLabel(a, label)) === canonicalJson(withoutLabel(b, label));
}
