// A container's environment: literal values, keys of ConfigMaps and Secrets,
// and a few fields of the Pod itself. A required key that is missing does not
// throw: it is returned as a config error so the container waits with
// CreateContainerConfigError, as in Kubernetes, until the key appears.
import type { Container, KObject, Pod } from '../proto/model.js';
import { DEFAULT_NAMESPACE } from '../proto/model.js';

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
}

export type EnvResult = { ok: true; env: Record<string, string> } | { ok: false; message: string };

export function resolveEnv(pod: Pod, container: Container, source: ConfigSource, ctx: EnvContext): EnvResult {
  const ns = pod.metadata.namespace ?? DEFAULT_NAMESPACE;
  const env: Record<string, string> = {};
  for (const v of container.env ?? []) {
    if (v.value !== undefined || !v.valueFrom) {
      env[v.name] = v.value ?? '';
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
        return { ok: false, message: `fieldRef must be one of metadata.name, metadata.namespace, metadata.uid, spec.nodeName, status.podIP, status.hostIP: current value is "${from.fieldRef.fieldPath}" (env ${v.name})` };
      }
      env[v.name] = value;
    }
  }
  return { ok: true, env };
}

function fieldValue(pod: Pod, path: string, ctx: EnvContext): string | undefined {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? DEFAULT_NAMESPACE;
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'status.podIP':
      return ctx.podIP ?? '';
    case 'status.hostIP':
      return ctx.hostIP ?? '';
    default:
      return undefined;
  }
}
