// A container's environment, assembled as the kubelet does: envFrom sources
// first (ConfigMaps and Secrets, prefixed), then env in order, env winning; a
// literal value may refer to what is defined before it with $(VAR). Values come
// from ConfigMap and Secret keys, the downward API (fieldRef) and the
// container's resources (resourceFieldRef). A required key or object that is
// missing does not throw: it is returned as a config error so the container
// waits with CreateContainerConfigError, as in Kubernetes, until it appears.
import type { Container, EnvFromSource, KObject, Pod, ResourceFieldSelector } from '../proto/model.js';
import { DEFAULT_NAMESPACE, parseQuantity, podContainerNamed } from '../proto/model.js';
import { expandVars, lookupIn } from './env-expand.js';

export interface ConfigMapObject extends KObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface SecretObject extends KObject {
  /** base64, as stored. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Looks up the ConfigMaps and Secrets assigned to this node; values decoded. */
export interface ConfigSource {
  configMap(namespace: string, name: string): Map<string, Buffer> | undefined;
  secret(namespace: string, name: string): Map<string, Buffer> | undefined;
}

export function configMapData(cm: ConfigMapObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

export function secretData(s: SecretObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries(s.stringData ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  return out;
}

/** A ConfigSource over plain lists of objects, as the assignment stream delivers them. */
export function configSourceOf(configMaps: KObject[], secrets: KObject[]): ConfigSource {
  const key = (o: KObject): string => `${o.metadata.namespace ?? DEFAULT_NAMESPACE}/${o.metadata.name}`;
  const cms = new Map(configMaps.map((c) => [key(c), c as ConfigMapObject]));
  const secs = new Map(secrets.map((s) => [key(s), s as SecretObject]));
  return {
    configMap: (ns, name) => {
      const c = cms.get(`${ns}/${name}`);
      return c && configMapData(c);
    },
    secret: (ns, name) => {
      const s = secs.get(`${ns}/${name}`);
      return s && secretData(s);
    },
  };
}

export interface EnvContext {
  podIP?: string;
  hostIP?: string;
  podIPs?: string[];
  hostIPs?: string[];
  /** What limits default to when a container sets none (the node's allocatable, as in Kubernetes). */
  allocatable?: { cpuMillis?: number; memoryBytes?: number };
}

export type EnvResult =
  /** `warnings`: envFrom keys skipped as invalid names, worth an event. */
  | { ok: true; env: Record<string, string>; warnings: string[] }
  | { ok: false; message: string };

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function resolveEnv(pod: Pod, container: Container, source: ConfigSource, ctx: EnvContext): EnvResult {
  const ns = pod.metadata.namespace ?? DEFAULT_NAMESPACE;
  const env: Record<string, string> = {};
  const warnings: string[] = [];
  for (const from of container.envFrom ?? []) {
    const r = envFromValues(from, ns, source);
    if (!r.ok) return r;
    const invalid: string[] = [];
    for (const [k, v] of r.values) {
      const name = (from.prefix ?? '') + k;
      if (ENV_NAME.test(name)) env[name] = v;
      else invalid.push(name);
    }
    if (invalid.length > 0) {
      warnings.push(`Keys [${invalid.sort().join(', ')}] from the EnvFrom ${r.kind} ${ns}/${r.name} were skipped since they are considered invalid environment variable names.`);
    }
  }
  for (const v of container.env ?? []) {
    if (v.value !== undefined || !v.valueFrom) {
      // Only literal values are expanded, against everything defined so far.
      env[v.name] = expandVars(v.value ?? '', lookupIn(env));
      continue;
    }
    const from = v.valueFrom;
    const ref = from.configMapKeyRef ?? from.secretKeyRef;
    if (ref) {
      const kind = from.configMapKeyRef ? 'configmap' : 'secret';
      const data = from.configMapKeyRef ? source.configMap(ns, ref.name) : source.secret(ns, ref.name);
      const value = data?.get(ref.key);
      if (value !== undefined) env[v.name] = value.toString('utf8');
      else if (ref.optional) continue;
      else if (!data) return { ok: false, message: `${kind} "${ref.name}" not found (env ${v.name})` };
      else return { ok: false, message: `couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name} (env ${v.name})` };
      continue;
    }
    if (from.fieldRef) {
      const value = fieldValue(pod, from.fieldRef.fieldPath, ctx);
      if (value === undefined) {
        return { ok: false, message: `fieldRef must be a supported field path: current value is "${from.fieldRef.fieldPath}" (env ${v.name})` };
      }
      env[v.name] = value;
      continue;
    }
    if (from.resourceFieldRef) {
      const r = resourceValue(pod, container, from.resourceFieldRef, ctx);
      if (!r.ok) return { ok: false, message: `${r.message} (env ${v.name})` };
      env[v.name] = r.value;
    }
  }
  return { ok: true, env, warnings };
}

/** command and args with $(VAR) expanded against the container's final environment, as the kubelet does. */
export function expandCommand(container: Container, env: Record<string, string>): { command?: string[]; args?: string[] } {
  const look = lookupIn(env);
  return {
    command: container.command?.map((s) => expandVars(s, look)),
    args: container.args?.map((s) => expandVars(s, look)),
  };
}

type FromValues = { ok: true; kind: 'configmap' | 'secret'; name: string; values: [string, string][] } | { ok: false; message: string };

function envFromValues(from: EnvFromSource, ns: string, source: ConfigSource): FromValues {
  const ref = from.configMapRef ?? from.secretRef;
  if (!ref) return { ok: false, message: 'envFrom must name a configMapRef or a secretRef: it names neither' };
  const kind = from.configMapRef ? 'configmap' : 'secret';
  const data = from.configMapRef ? source.configMap(ns, ref.name) : source.secret(ns, ref.name);
  if (!data) {
    if (ref.optional) return { ok: true, kind, name: ref.name, values: [] };
    return { ok: false, message: `${kind} "${ref.name}" not found (envFrom)` };
  }
  // Sorted by key, so the environment does not depend on how the object was written.
  const values = [...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]): [string, string] => [k, v.toString('utf8')]);
  return { ok: true, kind, name: ref.name, values };
}

function fieldValue(pod: Pod, path: string, ctx: EnvContext): string | undefined {
  const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (keyed) {
    const map = keyed[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[keyed[2]!] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? DEFAULT_NAMESPACE;
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      // Bramble has no service accounts; every Pod runs as the namespace's "default", as Kubernetes defaults it.
      return 'default';
    case 'status.podIP':
      return ctx.podIP ?? '';
    case 'status.podIPs':
      return (ctx.podIPs ?? (ctx.podIP ? [ctx.podIP] : [])).join(',');
    case 'status.hostIP':
      return ctx.hostIP ?? '';
    case 'status.hostIPs':
      return (ctx.hostIPs ?? (ctx.hostIP ? [ctx.hostIP] : [])).join(',');
    default:
      return undefined;
  }
}

type ResourceResult = { ok: true; value: string } | { ok: false; message: string };

/**
 * Kubernetes' resourceFieldRef: the value divided by the divisor (default 1) and rounded up,
 * so 250m of CPU reads as "1" and 64Mi with divisor 1Mi as "64". Limits not set default to
 * the node's allocatable; requests not set default to the limit set in the spec, else 0.
 */
export function resourceValue(pod: Pod, self: Container, ref: ResourceFieldSelector, ctx: EnvContext): ResourceResult {
  const c = ref.containerName
    ? podContainerNamed(pod.spec, ref.containerName)
    : self;
  if (!c) return { ok: false, message: `resourceFieldRef must name a container of the pod: current value is "${ref.containerName}"` };
  const [kind, resource] = ref.resource.split('.') as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || (resource !== 'cpu' && resource !== 'memory')) {
    return { ok: false, message: `resourceFieldRef must be one of limits.cpu, limits.memory, requests.cpu, requests.memory: current value is "${ref.resource}"` };
  }
  const cpu = resource === 'cpu';
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const set = kind === 'limits' ? limits[resource] : (requests[resource] ?? limits[resource]);
  let amount: number;
  try {
    // CPU in millicores, memory in bytes.
    if (set !== undefined) amount = parseQuantity(set, cpu);
    else if (kind === 'requests') amount = 0;
    else amount = (cpu ? ctx.allocatable?.cpuMillis : ctx.allocatable?.memoryBytes) ?? 0;
    const divisor = parseQuantity(ref.divisor ?? '1', cpu);
    if (!(divisor > 0)) return { ok: false, message: `resourceFieldRef divisor must be positive: current value is "${ref.divisor}"` };
    return { ok: true, value: String(Math.ceil(amount / divisor)) };
  } catch (e) {
    return { ok: false, message: `resourceFieldRef ${ref.resource} must be a quantity: ${(e as Error).message}` };
  }
}
