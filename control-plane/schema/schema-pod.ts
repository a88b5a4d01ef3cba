// PodSpec and everything in it: containers, ports, env, resources, probes,
// volumes and tolerations. Cross-field rules (unique names, mounts naming a
// declared volume, one handler per probe) run even when a sibling field is
// malformed, so one apply reports every problem at once.
import { z } from 'zod';
import { parseQuantity } from '../../proto/model.js';
import { ALWAYS, addProblem, int, asArray, field, isRecord } from './schema-errors.js';
import { podSecurityContextSchema, securityContextSchema } from './schema-security.js';
import { checkPodDns, dnsPolicySchema, podDnsConfigSchema } from './schema-pod-dns.js';
import { configKeyRule, dnsLabel, dnsSubdomain, labelMap, qualifiedName, qualifiedNameRule, ruledString, templateMetaSchema, type Rule } from './schema-meta.js';

const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Named ports (container port names, targetPort and probe ports by name). */
export const ianaSvcNameRule: Rule = (v) => {
  if (v.length > 15) return 'must be a port name of no more than 15 characters';
  if (!IANA_SVC_NAME.test(v) || v.includes('--')) return "must be a port name of lowercase letters, digits and single '-'";
  if (!/[a-z]/.test(v)) return 'must be a port name containing at least one letter';
  return undefined;
};

export const port = () => int().min(1).max(65535);

/** A port given as a number or as the name of a container port. */
export const portOrName = () =>
  z.union([int(), z.string()]).superRefine((v, ctx) => {
    if (typeof v === 'number') {
      if (v < 1) addProblem(ctx, [], 'must be greater than or equal to 1', v);
      else if (v > 65535) addProblem(ctx, [], 'must be less than or equal to 65535', v);
    } else if (typeof v === 'string') {
      const problem = ianaSvcNameRule(v);
      if (problem) addProblem(ctx, [], problem, v);
    }
  });

const nonNegative = () => int().min(0);

export function quantityRule(v: string | number): string | undefined {
  let n: number;
  try {
    n = parseQuantity(v);
  } catch {
    return 'must be a quantity such as "250m", "1", "64Mi"';
  }
  if (!Number.isFinite(n) || n < 0) return 'must be a non-negative quantity';
  return undefined;
}

export const quantity = () =>
  z.union([z.string(), z.number()]).superRefine((v, ctx) => {
    if (typeof v !== 'string' && typeof v !== 'number') return;
    const problem = quantityRule(v);
    if (problem) addProblem(ctx, [], problem, v);
  });

const STANDARD_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

const resourceList = () =>
  z.record(z.string(), quantity()).superRefine((m, ctx) => {
    if (!isRecord(m)) return;
    for (const k of Object.keys(m)) {
      const extended = k.includes('/') && qualifiedNameRule(k) === undefined;
      if (!STANDARD_RESOURCES.includes(k) && !extended) {
        addProblem(ctx, [k], `unknown resource ${JSON.stringify(k)}: must be "cpu", "memory", "ephemeral-storage" or a prefixed name such as "example.com/gpu"`);
      }
    }
  }, ALWAYS);

function quantityOf(v: unknown, asMilli: boolean): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    return parseQuantity(v, asMilli);
  } catch {
    return undefined;
  }
}

export const resourcesSchema = z
  .strictObject({ requests: resourceList().optional(), limits: resourceList().optional() })
  .superRefine((r, ctx) => {
    const requests = field(r, 'requests');
    const limits = field(r, 'limits');
    if (!isRecord(requests) || !isRecord(limits)) return;
    for (const [name, req] of Object.entries(requests)) {
      const asMilli = name === 'cpu';
      const want = quantityOf(req, asMilli);
      const cap = quantityOf(limits[name], asMilli);
      if (want !== undefined && cap !== undefined && want > cap) {
        addProblem(ctx, ['requests', name], `must be less than or equal to the limit ${JSON.stringify(String(limits[name]))}`, req);
      }
    }
  }, ALWAYS);

const keyRefSchema = z.strictObject({
  name: dnsSubdomain(),
  key: ruledString(configKeyRule),
  optional: z.boolean().optional(),
});

// The downward-API fields the agent can fill in (status.podIPs and status.hostIPs comma-joined, as Kubernetes does).
export const FIELD_PATHS = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName',
  'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
];
const fieldPathRule: Rule = (v) =>
  FIELD_PATHS.includes(v) || /^metadata\.(labels|annotations)\['[^']+'\]$/.test(v)
    ? undefined
    : `must be one of ${FIELD_PATHS.map((p) => JSON.stringify(p)).join(', ')}, metadata.labels['KEY'] or metadata.annotations['KEY']`;

const RESOURCE_FIELDS = ['limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory'] as const;
// Kubernetes' valid divisors: whole or milli CPUs, bytes in decimal or binary multiples.
const CPU_DIVISORS = ['1m', '1'];
const MEMORY_DIVISORS = ['1', '1k', '1M', '1G', '1T', '1P', '1E', '1Ki', '1Mi', '1Gi', '1Ti', '1Pi', '1Ei'];

const resourceFieldRefSchema = z
  .strictObject({ resource: z.enum(RESOURCE_FIELDS), containerName: dnsLabel().optional(), divisor: z.union([z.string(), z.number()]).optional() })
  .superRefine((r, ctx) => {
    const resource = field(r, 'resource');
    const divisor = field(r, 'divisor');
    if (divisor === undefined || typeof resource !== 'string') return;
    const allowed = resource.endsWith('.cpu') ? CPU_DIVISORS : MEMORY_DIVISORS;
    if (!allowed.includes(String(divisor))) {
      addProblem(ctx, ['divisor'], `must be one of ${allowed.map((d) => JSON.stringify(d)).join(', ')} for ${resource}`, String(divisor));
    }
  }, ALWAYS);

/** Counts which of `keys` are set on a possibly malformed object. */
function setFields(v: unknown, keys: readonly string[]): string[] {
  return isRecord(v) ? keys.filter((k) => v[k] !== undefined) : [];
}

function exactlyOne(ctx: z.core.$RefinementCtx<unknown>, v: unknown, keys: readonly string[], what: string): void {
  if (!isRecord(v)) return;
  const set = setFields(v, keys);
  const choices = `${keys.slice(0, -1).join(', ')} or ${keys[keys.length - 1]}`;
  if (set.length === 0) addProblem(ctx, [], `must specify exactly one ${what} (${choices}): none given`);
  else if (set.length > 1) addProblem(ctx, [], `must specify exactly one ${what} (${choices}): got ${set.join(', ')}`);
}

const ENV_SOURCES = ['configMapKeyRef', 'secretKeyRef', 'fieldRef', 'resourceFieldRef'] as const;
const envNameRule: Rule = (v) => (ENV_NAME.test(v) ? undefined : "must be an environment variable name (letters, digits, '_', '-', '.'; not starting with a digit)");

export const envVarSchema = z
  .strictObject({
    name: ruledString(envNameRule),
    value: z.string().optional(),
    valueFrom: z
      .strictObject({
        configMapKeyRef: keyRefSchema.optional(),
        secretKeyRef: keyRefSchema.optional(),
        fieldRef: z.strictObject({ fieldPath: ruledString(fieldPathRule), apiVersion: z.literal('v1').optional() }).optional(),
        resourceFieldRef: resourceFieldRefSchema.optional(),
      })
      .superRefine((s, ctx) => exactlyOne(ctx, s, ENV_SOURCES, 'source'), ALWAYS)
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (setFields(e, ['value', 'valueFrom']).length === 2) addProblem(ctx, ['valueFrom'], 'must not be set together with value');
  }, ALWAYS);

const ENV_FROM_SOURCES = ['configMapRef', 'secretRef'] as const;
const envFromRefSchema = z.strictObject({ name: dnsSubdomain(), optional: z.boolean().optional() });

export const envFromSchema = z
  .strictObject({
    // Kubernetes checks the prefix alone here; prefix+key is checked by the agent, which skips bad names.
    prefix: ruledString(envNameRule).optional(),
    configMapRef: envFromRefSchema.optional(),
    secretRef: envFromRefSchema.optional(),
  })
  .superRefine((s, ctx) => exactlyOne(ctx, s, ENV_FROM_SOURCES, 'source'), ALWAYS);

export const containerPortSchema = z.strictObject({
  name: ruledString(ianaSvcNameRule).optional(),
  containerPort: port(),
  hostPort: port().optional(),
  protocol: z.enum(['TCP', 'UDP']).optional(),
});

const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

export const probeSchema = z
  .strictObject({
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    httpGet: z
      .strictObject({
        path: z.string().optional(),
        port: portOrName(),
        host: z.string().optional(),
        scheme: z.enum(['HTTP', 'HTTPS']).optional(),
        httpHeaders: z.array(z.strictObject({ name: z.string().min(1), value: z.string() })).optional(),
      })
      .optional(),
    tcpSocket: z.strictObject({ port: portOrName(), host: z.string().optional() }).optional(),
    // As in Kubernetes, a gRPC probe's port is a number (not a port name).
    grpc: z.strictObject({ port: port(), service: z.string().optional() }).optional(),
    initialDelaySeconds: nonNegative().optional(),
    periodSeconds: nonNegative().optional(),
    timeoutSeconds: nonNegative().optional(),
    successThreshold: nonNegative().optional(),
    failureThreshold: nonNegative().optional(),
  })
  .superRefine((p, ctx) => exactlyOne(ctx, p, PROBE_HANDLERS, 'handler'), ALWAYS);

const absolutePathRule: Rule = (v) => (v.startsWith('/') ? undefined : "must be an absolute path (starting with '/')");
const relativePathRule: Rule = (v) => {
  if (v.startsWith('/')) return 'must be a relative path';
  if (v.split('/').includes('..')) return "must not contain '..'";
  return undefined;
};

export const volumeMountSchema = z.strictObject({
  name: z.string().min(1),
  mountPath: ruledString(absolutePathRule),
  readOnly: z.boolean().optional(),
  subPath: ruledString(relativePathRule).optional(),
});

const containerShape = {
  name: dnsLabel(),
  image: ruledString((v) => (v.trim() === '' ? 'must not be empty' : v.trim() !== v ? 'must not have leading or trailing spaces' : undefined)),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVarSchema).optional(),
  envFrom: z.array(envFromSchema).optional(),
  securityContext: securityContextSchema.optional(),
  workingDir: z.string().optional(),
  ports: z.array(containerPortSchema).optional(),
  resources: resourcesSchema.optional(),
  volumeMounts: z.array(volumeMountSchema).optional(),
  livenessProbe: probeSchema.optional(),
  readinessProbe: probeSchema.optional(),
  startupProbe: probeSchema.optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
};

function uniqueMountPaths(c: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const seen = new Set<string>();
  asArray(field(c, 'volumeMounts')).forEach((m, i) => {
    const path = field(m, 'mountPath');
    if (typeof path !== 'string') return;
    if (seen.has(path)) addProblem(ctx, ['volumeMounts', i, 'mountPath'], 'must be unique within the container', path);
    seen.add(path);
  });
}

export const containerSchema = z.strictObject(containerShape).superRefine(uniqueMountPaths, ALWAYS);

/**
 * An init container may also be a native sidecar: restartPolicy "Always" (the only value
 * Kubernetes takes there) starts it in its turn and keeps it running beside the app.
 */
export const initContainerSchema = z
  .strictObject({ ...containerShape, restartPolicy: z.literal('Always').optional() })
  .superRefine((c, ctx) => {
    uniqueMountPaths(c, ctx);
    // A regular init container runs to completion: there is nothing to probe.
    if (field(c, 'restartPolicy') === 'Always') return;
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      if (field(c, probe) !== undefined) addProblem(ctx, [probe], 'must not be set for an init container unless its restartPolicy is "Always"');
    }
  }, ALWAYS);

const fileMode = () =>
  int().superRefine((v, ctx) => {
    if (v < 0 || v > 0o777) addProblem(ctx, [], 'must be a file mode between 0 and 0777 (511 in decimal)', v);
  });

const keyToPathSchema = z.strictObject({
  key: ruledString(configKeyRule),
  path: ruledString(relativePathRule),
  mode: fileMode().optional(),
});

const VOLUME_SOURCES = ['emptyDir', 'hostPath', 'configMap', 'secret'] as const;

export const volumeSchema = z
  .strictObject({
    name: dnsLabel(),
    emptyDir: z.strictObject({ medium: z.enum(['', 'Memory']).optional(), sizeLimit: quantity().optional() }).optional(),
    hostPath: z
      .strictObject({
        path: ruledString(absolutePathRule),
        type: z.enum(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']).optional(),
      })
      .optional(),
    configMap: z
      .strictObject({ name: dnsSubdomain(), items: z.array(keyToPathSchema).optional(), defaultMode: fileMode().optional(), optional: z.boolean().optional() })
      .optional(),
    secret: z
      .strictObject({ secretName: dnsSubdomain(), items: z.array(keyToPathSchema).optional(), defaultMode: fileMode().optional(), optional: z.boolean().optional() })
      .optional(),
  })
  .superRefine((v, ctx) => exactlyOne(ctx, v, VOLUME_SOURCES, 'volume source'), ALWAYS);

export const tolerationSchema = z
  .strictObject({
    key: qualifiedName().optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: int().optional(),
  })
  .superRefine((t, ctx) => {
    const op = field(t, 'operator');
    const value = field(t, 'value');
    const key = field(t, 'key');
    if (op === 'Exists' && typeof value === 'string' && value !== '') addProblem(ctx, ['value'], 'must be empty when operator is "Exists"', value);
    if ((key === undefined || key === '') && op !== 'Exists') addProblem(ctx, ['operator'], 'must be "Exists" when key is empty', op);
    if (field(t, 'tolerationSeconds') !== undefined && field(t, 'effect') !== 'NoExecute') {
      addProblem(ctx, ['effect'], 'must be "NoExecute" when tolerationSeconds is set', field(t, 'effect'));
    }
  }, ALWAYS);

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;

export const podSpecSchema = z
  .strictObject({
    containers: z.array(containerSchema).min(1),
    initContainers: z.array(initContainerSchema).optional(),
    restartPolicy: z.enum(RESTART_POLICIES).optional(),
    nodeName: dnsSubdomain().optional(),
    nodeSelector: labelMap().optional(),
    tolerations: z.array(tolerationSchema).optional(),
    volumes: z.array(volumeSchema).optional(),
    terminationGracePeriodSeconds: nonNegative().optional(),
    hostNetwork: z.boolean().optional(),
    securityContext: podSecurityContextSchema.optional(),
    hostname: dnsLabel().optional(),
    subdomain: dnsLabel().optional(),
    dnsPolicy: dnsPolicySchema.optional(),
    dnsConfig: podDnsConfigSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    checkPodDns(spec, ctx);
    const volumeNames = new Set<string>();
    asArray(field(spec, 'volumes')).forEach((v, i) => {
      const name = field(v, 'name');
      if (typeof name !== 'string') return;
      if (volumeNames.has(name)) addProblem(ctx, ['volumes', i, 'name'], 'must be unique within the pod', name);
      volumeNames.add(name);
    });
    const containerNames = new Set<string>();
    for (const list of ['initContainers', 'containers'] as const) {
      asArray(field(spec, list)).forEach((c, i) => {
        const name = field(c, 'name');
        if (typeof name === 'string') {
          if (containerNames.has(name)) addProblem(ctx, [list, i, 'name'], 'must be unique within the pod', name);
          containerNames.add(name);
        }
        asArray(field(c, 'volumeMounts')).forEach((m, j) => {
          const volume = field(m, 'name');
          if (typeof volume === 'string' && volume !== '' && !volumeNames.has(volume)) {
            addProblem(ctx, [list, i, 'volumeMounts', j, 'name'], "must name a volume declared in the pod's volumes", volume);
          }
        });
      });
    }
  }, ALWAYS);

export const podTemplateSchema = z.strictObject({
  metadata: templateMetaSchema.optional(),
  spec: podSpecSchema,
});
