// Random and adversarial requests for every method of both gRPC services.
// Strings come from every Unicode plane plus the values that break things in
// practice (control characters, lone surrogates, NUL, "café crème", names at
// the length limits); objects start from real-looking manifests (docs/examples,
// the schema fixtures) and get one odd thing each; numbers include the ends of
// the ranges proto-loader turns into JS numbers. Big and deep values are Lazy
// so a counterexample prints its recipe.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { fixtures } from '../../control-plane/testing/schema-fixtures.js';
import { KINDS } from '../../proto/model.js';
import { LIMITS } from '../../proto/limits.js';
import { Lazy, NODE_A, NODE_B, POD_A, POD_B, type CallSpec, type Caller } from './fuzz.js';
import { repoRoot } from './server-process.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// ------------------------------------------------------------------ strings

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const control = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const specials = fc.constantFrom(
  'café crème', 'naïve', '日本語', '🍓🫐', '\u200b', '\ufeff', '\u202eevil', 'e\u0301', '\u0000', '\r\n', '\t',
  '\ud83d', '\udc00', 'a\ud800b', '%00', '%ff', '..', '../../etc/passwd', '*', '=', ',', '!', '()', ' ', '',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', '${jndi}', '\\', '"', "'", '{}', '[]', 'null',
  'A'.repeat(63), 'a'.repeat(64), 'a'.repeat(253), 'a'.repeat(254), 'x'.repeat(LIMITS.maxFieldLength), 'x'.repeat(LIMITS.maxFieldLength + 1),
);

/** Any string a client could send: every plane, controls, lone surrogates, boundaries. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: specials },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(control, loneSurrogate, fc.constantFrom('a', 'é', '😀')), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 5000 }).chain((n) => fc.constantFrom('x', 'é', '😀', '\u0000').map((c) => c.repeat(n))) },
);

/** A valid DNS label: what most accepted requests need. */
export const dnsName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);

export const kindName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KINDS.flatMap((k) => [k.kind, k.plural, ...k.aliases])) },
  { weight: 1, arbitrary: anyString },
  { weight: 1, arbitrary: fc.constantFrom('BootstrapToken', 'bootstraptokens', 'Secret ', 'PODS', 'pod/x') },
);

export const namespaceName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', 'default', 'shop', 'kube-system') },
  { weight: 1, arbitrary: dnsName },
  { weight: 2, arbitrary: anyString },
);

/** Names that exist (seeded) or may (created by earlier calls), and nonsense. */
export const objectName = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(POD_A, POD_B, 'site', 'db', 'web', 'hello', 'shop', 'default', 'agent', 'migrate', 'backup', 'pi-1') },
  { weight: 1, arbitrary: dnsName },
  { weight: 2, arbitrary: anyString },
);

export const labelSelector = fc.oneof(
  fc.constantFrom('', 'app=fuzz', 'app in (a,b)', '!app', 'app', 'app!=x', 'a=café crème', ',,', '=', 'in (', 'a in ()', 'x==y', '!', 'app notin (a)'),
  fc.tuple(anyString, fc.constantFrom('=', '!=', ' in ', ' notin ', ''), anyString).map(([k, op, v]) => `${k}${op}${v}`),
  anyString,
);

/** What proto-loader (longs: Number) is given for 64-bit fields; out-of-range values wrap or saturate on the wire. */
export const int64ish = fc.oneof(
  fc.constantFrom(0, 1, -1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, -(2 ** 63), Number.MAX_VALUE, NaN, Infinity, -Infinity, 0.5, -0),
  fc.nat(),
  fc.integer(),
  fc.double(),
  fc.constantFrom('18446744073709551615', '9223372036854775807', '-9223372036854775808'),
);

export const doubleish = fc.oneof(fc.constantFrom(0, -0, -1, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53), fc.double());
export const uint32ish = fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, -1, NaN), fc.nat());

export const bytes = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from('{"not":"a tar"}'), Buffer.from('\x1f\x8b\x08garbage', 'latin1')) },
  { weight: 1, arbitrary: fc.integer({ min: 1024, max: 256 * 1024 }).map((n) => new Lazy(`${n} random-ish bytes`, () => Buffer.alloc(n, n % 251)) as unknown as Buffer) },
);

// ------------------------------------------------------------------ JSON documents

function loadExamples(): Json[] {
  const dir = path.join(repoRoot(), 'docs', 'examples');
  const out: Json[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, f), 'utf8'))) {
      const v = doc.toJS() as Json;
      if (v && typeof v === 'object') out.push(v);
    }
  }
  return out;
}

const SEEDS: Json[] = [...loadExamples(), ...Object.values(fixtures).map((f) => f() as Json)];

/** Every path to a value inside a document, so a mutation can aim at real fields. */
function pathsOf(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, k], out);
  return out;
}

function setPath(doc: Json, p: (string | number)[], value: Json): Json {
  if (p.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, Json>;
  let at = copy as Record<string | number, Json>;
  for (const seg of p.slice(0, -1)) at = at[seg] as Record<string | number, Json>;
  // defineProperty so "__proto__" becomes an own key, as JSON.parse makes it.
  Object.defineProperty(at, p[p.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const scalar: fc.Arbitrary<Json> = fc.oneof(
  anyString, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null),
  fc.constantFrom(0, -1, 2 ** 53, 2 ** 53 + 1, 1e308, -1e308, 1.5, 5e-324),
);

const oddValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.dictionary(anyString, anyString, { maxKeys: 4 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) },
);

/** A real-looking object with 1-3 odd things: a changed value, a new field, a renamed name. */
export const mutatedSeed: fc.Arbitrary<string> = fc
  .constantFrom(...SEEDS)
  .chain((seed) => {
    const paths = pathsOf(seed);
    const mutation = fc.oneof(
      fc.tuple(fc.constantFrom(...paths), oddValue),
      // A new key next to real ones: unknown fields must be refused with their path.
      fc.tuple(fc.constantFrom(...paths), anyString, oddValue).map(([p, k, v]) => [[...p, k], v] as [(string | number)[], Json]),
    );
    return fc.tuple(fc.constant(seed), fc.array(mutation, { minLength: 1, maxLength: 3 }), dnsName);
  })
  .map(([seed, mutations, name]) => {
    // A fresh name so accepted objects are "created" and count.
    let doc = setPath(seed, ['metadata', 'name'], `fz-${name}`.slice(0, 60));
    for (const [p, v] of mutations) {
      try {
        doc = setPath(doc, p, v);
      } catch {
        // The path went through a value an earlier mutation replaced by a scalar.
      }
    }
    return JSON.stringify(doc);
  });

/** Valid ConfigMaps with adversarial data and labels: the "café crème" family. */
export const configMapDoc: fc.Arbitrary<string> = fc
  .record({
    name: dnsName,
    namespace: fc.constantFrom(undefined, 'default', 'shop'),
    data: fc.dictionary(fc.stringMatching(/^[-._a-zA-Z0-9]{1,20}$/), anyString, { maxKeys: 3 }),
    labels: fc.option(fc.dictionary(fc.oneof(fc.constantFrom('app', 'tier'), anyString), anyString, { maxKeys: 2 }), { nil: undefined }),
    annotations: fc.option(fc.dictionary(fc.constantFrom('note', 'bramble.dev/x'), anyString, { maxKeys: 2 }), { nil: undefined }),
  })
  .map((r) => JSON.stringify({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: `cm-${r.name}`, ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.labels ? { labels: r.labels } : {}), ...(r.annotations ? { annotations: r.annotations } : {}) },
    data: r.data,
  }));

/** Nesting far past maxDepth, in a bare document or inside a real field. */
export const deepDoc: fc.Arbitrary<Lazy> = fc
  .record({ depth: fc.constantFrom(33, 100, 1000, 10_000, 100_000), open: fc.constantFrom('{"a":', '['), where: fc.constantFrom('bare', 'annotations', 'spec', 'data') })
  .map(({ depth, open, where }) => new Lazy(`depth ${depth} of ${open} in ${where}`, () => {
    const close = open === '[' ? ']' : '}';
    const nest = open.repeat(depth) + '1' + close.repeat(depth);
    if (where === 'bare') return nest;
    if (where === 'spec') return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"deep"},"spec":{"containers":${nest}}}`;
    if (where === 'data') return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":{"k":${nest}}}`;
    return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep","annotations":${nest}}}`;
  }));

export const notJson = fc.oneof(
  fc.constantFrom('', '{', '}', 'NaN', 'undefined', '{"a":1,}', "{'a':1}", '\ufeff{}', '{"kind":"ConfigMap"', 'null null', '01', '{"a":1e999}', '[1,2'),
  anyString,
  mutatedSeed.map((s) => s.slice(0, Math.max(1, Math.floor(s.length / 2)))),
);

export const wrongTypeJson = fc.oneof(
  fc.constantFrom('null', '[]', '1', '"ConfigMap"', 'true', '{}', '[{"kind":"ConfigMap"}]', '{"kind":1}', '{"kind":null,"metadata":[]}',
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n"},"data":{"k":1e999}}',
    '{"apiVersion":"v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":1e999}}',
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p","__proto__":{"polluted":1}},"data":{}}',
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup2"},"data":{}}'),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
);

export const applyDocument: fc.Arbitrary<string | Lazy> = fc.oneof(
  { weight: 3, arbitrary: configMapDoc },
  { weight: 5, arbitrary: mutatedSeed },
  { weight: 1, arbitrary: fc.constantFrom(...SEEDS).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: notJson },
  { weight: 1, arbitrary: wrongTypeJson },
  { weight: 1, arbitrary: deepDoc },
);

// ------------------------------------------------------------------ Cluster requests

const cluster = (method: string, request: fc.Arbitrary<unknown>, stream?: fc.Arbitrary<CallSpec['stream']>) =>
  fc.record({ method: fc.constant(method), request, stream: stream ?? fc.constant(undefined) });

const cancelPlan = fc.nat({ max: 3 }).map((n) => ({ mode: 'cancel' as const, cancelAfter: n }));
/** Watches never end by themselves: probed then cancelled, or cancelled early. */
const watchPlan = fc.oneof({ weight: 3, arbitrary: fc.constant({ mode: 'probe' as const }) }, { weight: 1, arbitrary: cancelPlan });
/** Logs end (no board answers in these properties): waited for, or cancelled early. */
const logsPlan = fc.oneof({ weight: 3, arbitrary: fc.constant({ mode: 'end' as const }) }, { weight: 1, arbitrary: cancelPlan });
const clientStreamPlan = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ mode: 'end' as const }) },
  { weight: 1, arbitrary: fc.nat({ max: 5 }).map((n) => ({ mode: 'cancel' as const, cancelAfter: n })) },
);

export const imageChunks = fc.array(
  fc.record({ node: fc.oneof(fc.constantFrom('', NODE_A, NODE_B, 'no-such-node'), anyString), data: bytes }),
  { maxLength: 30 },
);

/** One request for each Cluster method, unrelated to who sends it. */
export const clusterCall: fc.Arbitrary<Omit<CallSpec, 'as' | 'service'>> = fc.oneof(
  { weight: 6, arbitrary: cluster('Apply', fc.record({ objects: fc.array(applyDocument, { maxLength: 4 }), dryRun: fc.boolean() })) },
  { weight: 2, arbitrary: cluster('Get', fc.record({ kind: kindName, namespace: namespaceName, name: objectName })) },
  { weight: 2, arbitrary: cluster('List', fc.record({ kind: kindName, namespace: namespaceName, labelSelector })) },
  { weight: 2, arbitrary: cluster('Delete', fc.record({ kind: kindName, namespace: namespaceName, name: objectName, resourceVersion: fc.oneof(fc.constant(''), fc.nat().map(String), anyString), force: fc.boolean() })) },
  { weight: 2, arbitrary: cluster('Watch', fc.record({ kind: fc.oneof(fc.constant(''), kindName), namespace: namespaceName, fromRevision: int64ish, labelSelector }), watchPlan) },
  { weight: 1, arbitrary: cluster('Version', fc.constant({})) },
  { weight: 2, arbitrary: cluster('CreateToken', fc.record({ ttlSeconds: int64ish, description: anyString })) },
  { weight: 1, arbitrary: cluster('ListTokens', fc.constant({})) },
  { weight: 1, arbitrary: cluster('SecretsEncryptionStatus', fc.constant({})) },
  { weight: 1, arbitrary: cluster('RotateSecretsEncryption', fc.record({ keepOldKeys: fc.boolean() })) },
  { weight: 2, arbitrary: cluster('DeleteToken', fc.record({ id: fc.oneof(fc.constant('<created>'), fc.stringMatching(/^[a-z0-9]{6}$/), anyString) })) },
  { weight: 2, arbitrary: cluster('Logs', fc.record({ namespace: namespaceName, pod: objectName, container: fc.oneof(fc.constantFrom('', 'main', 'web'), anyString), follow: fc.boolean(), tailLines: int64ish }), logsPlan) },
  { weight: 1, arbitrary: cluster('Top', fc.record({ what: fc.oneof(fc.constantFrom('', 'nodes', 'pods'), anyString), namespace: namespaceName })) },
  { weight: 2, arbitrary: cluster('ImportImage', imageChunks, clientStreamPlan) },
);

/**
 * FUZZ_METHODS=Apply,Get focuses a local run on some methods (to look past a
 * known failure, or to run one method longer). Unset in CI: every method runs.
 */
function focused<T extends { method: string }>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  const only = process.env.FUZZ_METHODS?.split(',').map((m) => m.trim()).filter(Boolean);
  return only && only.length > 0 ? arb.filter((c) => only.includes(c.method)) : arb;
}

export function asCluster(caller: Caller): fc.Arbitrary<CallSpec> {
  return focused(clusterCall).map((c) => ({ ...c, service: 'Cluster' as const, as: caller }));
}

// ------------------------------------------------------------------ Node requests

export const claimedNode = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', NODE_A, NODE_B) },
  { weight: 1, arbitrary: dnsName },
  { weight: 1, arbitrary: anyString },
);

/**
 * A request that is plausible everywhere except in at most `max` top-level
 * fields taken from the adversarial twin: when every field is random, some
 * field is nearly always over a limit and the handler's logic is never reached.
 */
function mostlyPlausible<T extends object>(plausible: fc.Arbitrary<T>, adversarial: fc.Arbitrary<T>, keys: (keyof T)[], max = 2): fc.Arbitrary<T> {
  return fc.tuple(plausible, adversarial, fc.subarray(keys, { maxLength: max })).map(([p, a, take]) => {
    const out = { ...p };
    for (const k of take) out[k] = a[k];
    return out;
  });
}

const word = fc.stringMatching(/^[A-Za-z0-9][-A-Za-z0-9 ._]{0,15}$/);
const plainResources = fc.record({ cpu: fc.constantFrom('4', '1', '3900m'), memory: fc.constantFrom('3900Mi', '1Gi', '512Mi'), pods: fc.constantFrom('110', '20') });
const resources = fc.record({ cpu: fc.oneof(fc.constantFrom('4', '3900m', '-1', '1e999', ''), anyString), memory: fc.oneof(fc.constantFrom('3900Mi', '1Ti', 'x'), anyString), pods: fc.oneof(fc.constantFrom('110', '0', '-5'), anyString) });
const plainFigures = fc.record({ name: fc.constant(''), cpuPercent: fc.double({ min: 0, max: 100, noNaN: true }), memoryUsedBytes: fc.nat(), memoryTotalBytes: fc.nat(), temperatureCelsius: fc.double({ min: 20, max: 90, noNaN: true }), hasTemperature: fc.boolean(), load1: fc.double({ min: 0, max: 8, noNaN: true }) });
const nodeFigures = fc.record({ name: anyString, cpuPercent: doubleish, memoryUsedBytes: int64ish, memoryTotalBytes: int64ish, temperatureCelsius: doubleish, hasTemperature: fc.boolean(), load1: doubleish });
const plainPodFigures = fc.record({ namespace: fc.constant('default'), name: fc.constantFrom(POD_A, POD_B, 'web-1'), node: fc.constantFrom(NODE_A, NODE_B), cpuMillicores: fc.double({ min: 0, max: 4000, noNaN: true }), memoryBytes: fc.nat() });
const podFigures = fc.record({ namespace: namespaceName, name: objectName, node: claimedNode, cpuMillicores: doubleish, memoryBytes: int64ish });
const plainInfo = fc.record({
  architecture: fc.constantFrom('arm64', 'arm', 'amd64'), operatingSystem: fc.constant('linux'), osImage: fc.constantFrom('Debian GNU/Linux 12 (bookworm)', 'Raspberry Pi OS'),
  kernelVersion: fc.constantFrom('6.6.31+rpt-rpi-v8', '6.1.0-21-arm64'), cpuModel: fc.constantFrom('Cortex-A72', 'Cortex-A76'), cpuCount: fc.integer({ min: 1, max: 8 }),
  boardModel: fc.constantFrom('Raspberry Pi 4 Model B Rev 1.4', 'Raspberry Pi 5 Model B Rev 1.0', ''), agentVersion: fc.constant('0.1.0'), containerRuntimeVersion: fc.constant('containerd 1.6.20'),
});
const nodeInfo = fc.record({
  architecture: fc.oneof(fc.constantFrom('arm64', 'amd64', 'arm'), anyString), operatingSystem: anyString, osImage: anyString,
  kernelVersion: anyString, cpuModel: anyString, cpuCount: uint32ish, boardModel: anyString, agentVersion: anyString, containerRuntimeVersion: anyString,
});

const plainHeartbeat = fc.record({
  nodeName: fc.constant(''),
  info: plainInfo as fc.Arbitrary<unknown>,
  capacity: plainResources as fc.Arbitrary<unknown>,
  allocatable: plainResources as fc.Arbitrary<unknown>,
  addresses: fc.constant([{ type: 'InternalIP', address: '10.0.0.5' }, { type: 'Hostname', address: 'pi' }]) as fc.Arbitrary<unknown[]>,
  figures: plainFigures as fc.Arbitrary<unknown>,
  pods: fc.array(plainPodFigures, { maxLength: 3 }) as fc.Arbitrary<unknown[]>,
  labels: fc.dictionary(fc.constantFrom('disk', 'zone', 'bramble.dev/role'), word.map((w) => w.replace(/[ ]/g, '-').replace(/[-._]+$/, '') || 'x'), { maxKeys: 2 }) as fc.Arbitrary<Record<string, string>>,
});
const wildHeartbeat = fc.record({
  nodeName: claimedNode,
  info: fc.option(nodeInfo, { nil: undefined }) as fc.Arbitrary<unknown>,
  capacity: fc.option(resources, { nil: undefined }) as fc.Arbitrary<unknown>,
  allocatable: fc.option(resources, { nil: undefined }) as fc.Arbitrary<unknown>,
  addresses: fc.array(fc.record({ type: fc.oneof(fc.constantFrom('InternalIP', 'Hostname'), anyString), address: fc.oneof(fc.constantFrom('10.0.0.5', '::1', '999.1.1.1'), anyString) }), { maxLength: 3 }) as fc.Arbitrary<unknown[]>,
  figures: fc.option(nodeFigures, { nil: undefined }) as fc.Arbitrary<unknown>,
  pods: fc.array(podFigures, { maxLength: 3 }) as fc.Arbitrary<unknown[]>,
  labels: fc.dictionary(fc.oneof(fc.constantFrom('disk', 'kubernetes.io/hostname', 'kubernetes.io/arch'), anyString), anyString, { maxKeys: 3 }),
});

export const heartbeatRequest = fc.oneof(
  { weight: 3, arbitrary: mostlyPlausible(plainHeartbeat, wildHeartbeat, ['nodeName', 'info', 'capacity', 'allocatable', 'addresses', 'figures', 'pods', 'labels']) },
  { weight: 1, arbitrary: wildHeartbeat },
);

const plainPodStatus = fc.record({
  phase: fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed') as fc.Arbitrary<unknown>,
  podIP: fc.constantFrom('10.42.1.7', '10.42.2.9') as fc.Arbitrary<unknown>,
  conditions: fc.constant([{ type: 'Ready', status: 'True' }]) as fc.Arbitrary<unknown>,
  containerStatuses: fc.constant([{ name: 'main', ready: true, restartCount: 0 }]) as fc.Arbitrary<unknown>,
});
const wildPodStatus = fc.record({
  phase: fc.oneof(fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'), anyString, fc.integer()) as fc.Arbitrary<unknown>,
  podIP: fc.option(fc.oneof(fc.constantFrom('10.42.1.7', '::1'), anyString), { nil: undefined }) as fc.Arbitrary<unknown>,
  conditions: fc.option(fc.array(fc.record({ type: anyString, status: fc.oneof(fc.constantFrom('True', 'False'), anyString) }), { maxLength: 2 }), { nil: undefined }) as fc.Arbitrary<unknown>,
  containerStatuses: fc.option(fc.array(fc.record({ name: anyString, ready: fc.oneof(fc.boolean(), anyString), restartCount: fc.oneof(fc.integer(), fc.constantFrom(2 ** 53, -1, 1e308)) }), { maxLength: 2 }), { nil: undefined }) as fc.Arbitrary<unknown>,
});
const podStatusLike = mostlyPlausible(plainPodStatus, wildPodStatus, ['phase', 'podIP', 'conditions', 'containerStatuses'], 1);

export const podStatusText: fc.Arbitrary<string | Lazy> = fc.oneof(
  { weight: 3, arbitrary: podStatusLike.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.tuple(podStatusLike, anyString, oddValue).map(([s, k, v]) => JSON.stringify({ ...s, [k]: v })) },
  { weight: 1, arbitrary: notJson },
  { weight: 1, arbitrary: wrongTypeJson },
  { weight: 1, arbitrary: deepDoc },
);

const tunnelUp = fc.record({
  nodeName: claimedNode, requestId: int64ish, data: bytes, done: fc.boolean(), error: anyString, pods: fc.array(podFigures, { maxLength: 2 }),
});

export const tunnelMessages = fc.tuple(claimedNode, fc.array(tunnelUp, { maxLength: 20 })).map(([first, rest]) => [{ nodeName: first }, ...rest]);

const node = (method: string, request: fc.Arbitrary<unknown>, stream?: fc.Arbitrary<CallSpec['stream']>) =>
  fc.record({ method: fc.constant(method), request, stream: stream ?? fc.constant(undefined) });

/** Node methods other than Join (which has its own property: it is the only anonymous one). */
export const nodeCall: fc.Arbitrary<Omit<CallSpec, 'as' | 'service'>> = fc.oneof(
  { weight: 3, arbitrary: node('Heartbeat', heartbeatRequest) },
  { weight: 2, arbitrary: node('WatchAssignments', fc.record({ nodeName: claimedNode }), watchPlan) },
  { weight: 3, arbitrary: node('UpdatePodStatus', fc.record({
    namespace: fc.oneof(fc.constant('default'), namespaceName),
    name: fc.oneof(fc.constantFrom(POD_A, POD_B), objectName),
    uid: fc.oneof(fc.constant(''), anyString),
    status: podStatusText,
    finalized: fc.boolean(),
  })) },
  { weight: 2, arbitrary: node('Tunnel', tunnelMessages, clientStreamPlan) },
  // The CSR is the node's to make: what a fuzzer sends is never one for the key the Node joined with.
  { weight: 1, arbitrary: node('RenewCertificate', fc.record({
    csrPem: fc.oneof(anyString, fc.constantFrom('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', '-----BEGIN CERTIFICATE REQUEST-----', '')),
  })) },
);

export function asNode(caller: fc.Arbitrary<Caller>): fc.Arbitrary<CallSpec> {
  return fc.tuple(focused(nodeCall), caller).map(([c, as]) => ({ ...c, service: 'Node' as const, as }));
}

// ------------------------------------------------------------------ Join

export type CsrRecipe = { kind: 'fresh' } | { kind: 'fresh-for'; name: string } | { kind: 'key-of'; node: 'nodeA' | 'nodeB' } | { kind: 'garbage'; text: string | Lazy };
export type TokenRecipe = { kind: 'valid' } | { kind: 'text'; text: string } | { kind: 'mangled'; at: number; char: string };

export const joinCase = fc.record({
  as: fc.constantFrom<Caller>('anon', 'anon', 'nodeA', 'admin'),
  token: fc.oneof(
    { weight: 2, arbitrary: fc.constant<TokenRecipe>({ kind: 'valid' }) },
    { weight: 1, arbitrary: anyString.map<TokenRecipe>((text) => ({ kind: 'text', text })) },
    { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 100 }), anyString).map<TokenRecipe>(([at, char]) => ({ kind: 'mangled', at, char })) },
  ),
  nodeName: fc.oneof({ weight: 2, arbitrary: dnsName.map((n) => `fz-${n}`) }, { weight: 1, arbitrary: fc.constantFrom(NODE_A, NODE_B) }, { weight: 2, arbitrary: anyString }),
  csr: fc.oneof(
    { weight: 3, arbitrary: fc.constant<CsrRecipe>({ kind: 'fresh' }) },
    { weight: 1, arbitrary: anyString.map<CsrRecipe>((name) => ({ kind: 'fresh-for', name })) },
    { weight: 1, arbitrary: fc.constantFrom<'nodeA' | 'nodeB'>('nodeA', 'nodeB').map<CsrRecipe>((n) => ({ kind: 'key-of', node: n })) },
    { weight: 1, arbitrary: fc.oneof(anyString, fc.constantFrom('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', '-----BEGIN CERTIFICATE REQUEST-----', '')).map<CsrRecipe>((text) => ({ kind: 'garbage', text })) },
  ),
});

// ------------------------------------------------------------------ huge

/** A few megabytes where the wire allows it: one string field, one document, many documents. */
export const hugeCall: fc.Arbitrary<CallSpec> = fc
  .record({
    size: fc.constantFrom(LIMITS.maxStringLength + 1, LIMITS.maxObjectBytes + 10, LIMITS.maxRequestBytes - 1024, LIMITS.maxRequestBytes + 1024, 6 * 1024 * 1024),
    char: fc.constantFrom('x', 'é', '😀', '\u0000'),
    where: fc.constantFrom('apply-value', 'apply-label', 'apply-many', 'get-name', 'list-selector', 'watch-kind', 'token-description', 'heartbeat-label', 'pod-status', 'image-chunk'),
    as: fc.constantFrom<Caller>('admin', 'anon', 'nodeA'),
  })
  .map(({ size, char, where, as }) => {
    // `size` is in UTF-16 code units; an emoji is two.
    const s = new Lazy(`${char === '\u0000' ? 'NUL' : char} x ${size} code units`, () => char.repeat(Math.max(1, Math.floor(size / char.length))));
    const cm = (extra: (v: string) => object) => new Lazy(`ConfigMap with ${s.label}`, () => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge', ...extra(s.value) }, data: { k: 'v' } }));
    const over = (limit: string, ...codes: string[]) => ({ limit, codes: codes.length ? codes : ['LIMIT_EXCEEDED'] });
    const spec = ((): CallSpec => {
      switch (where) {
        case 'apply-value': return { service: 'Cluster', method: 'Apply', as, request: { objects: [new Lazy(`ConfigMap data with ${s.label}`, () => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge' }, data: { k: s.value } }))] }, overLimit: over('maxStringLength') };
        case 'apply-label': return { service: 'Cluster', method: 'Apply', as, request: { objects: [cm((v) => ({ labels: { app: v } }))] }, overLimit: over('maxStringLength', 'LIMIT_EXCEEDED', 'VALIDATION_FAILED') };
        case 'apply-many': return { service: 'Cluster', method: 'Apply', as, request: { objects: new Lazy(`${LIMITS.maxObjectsPerApply + 1}+ ConfigMaps`, () => Array.from({ length: Math.max(LIMITS.maxObjectsPerApply + 1, Math.floor(size / 4096)) }, (_, i) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `many-${i}` }, data: { k: 'v' } }))) }, overLimit: over('maxObjectsPerApply') };
        case 'get-name': return { service: 'Cluster', method: 'Get', as, request: { kind: 'ConfigMap', namespace: 'default', name: s }, overLimit: over('maxFieldLength') };
        case 'list-selector': return { service: 'Cluster', method: 'List', as, request: { kind: 'ConfigMap', namespace: '', labelSelector: s }, overLimit: over('maxFieldLength') };
        case 'watch-kind': return { service: 'Cluster', method: 'Watch', as, request: { kind: s, namespace: '', fromRevision: 0, labelSelector: '' }, stream: { mode: 'probe' }, overLimit: over('maxFieldLength') };
        case 'token-description': return { service: 'Cluster', method: 'CreateToken', as, request: { ttlSeconds: 60, description: s }, overLimit: over('maxStringLength') };
        case 'heartbeat-label': return { service: 'Node', method: 'Heartbeat', as, request: { nodeName: '', labels: { big: s } }, overLimit: over('maxStringLength', 'LIMIT_EXCEEDED', 'VALIDATION_FAILED', 'INVALID_ARGUMENT') };
        case 'pod-status': return { service: 'Node', method: 'UpdatePodStatus', as, request: { namespace: 'default', name: POD_A, uid: '', status: new Lazy(`status with ${s.label}`, () => JSON.stringify({ phase: 'Running', message: s.value })), finalized: false }, overLimit: over('maxStringLength') };
        default: return { service: 'Cluster', method: 'ImportImage', as, request: [{ node: NODE_A, data: new Lazy(`${size} bytes`, () => Buffer.alloc(size, 7)) }], stream: { mode: 'end' }, ...(size > LIMITS.maxRequestBytes ? { overLimit: over('maxRequestBytes') } : {}) };
      }
    })();
    return spec;
  }) as fc.Arbitrary<CallSpec>;
