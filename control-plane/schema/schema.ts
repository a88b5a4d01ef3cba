// The API boundary: every object a client sends is checked here, with all of
// its problems reported at once, and comes back as a clean, normalized KObject.
import { z } from 'zod';
import { BrambleError, type ErrorCode, type FieldProblem } from '../../proto/util/errors.js';
import { DEFAULT_NAMESPACE, KINDS, kindInfo, type KObject, type KindInfo } from '../../proto/model.js';
import { checkConfigMap, checkSecret, configMapFields, namespaceSpecSchema, nodeSpecSchema, secretFields } from './schema-core.js';
import { endpointsFields, serviceSpecSchema } from './schema-service.js';
import { describeValue, isRecord, issuesToProblems, type Path } from './schema-errors.js';
import { dnsLabelRule, dnsSubdomainRule, objectMetaSchema, type Rule } from './schema-meta.js';
import { podSpecSchema } from './schema-pod.js';
import { checkEvent, eventFields } from './schema-events.js';
import { nodeNameRule } from '../../proto/names.js';
import { cronJobSpecSchema, daemonSetSpecSchema, deploymentSpecSchema, jobSpecSchema, replicaSetSpecSchema } from './schema-workloads.js';

// Jobs made by a CronJob get an 11-character suffix and must still fit a label.
// A Job's name is the value of its Pods' job-name label, so it must fit one (63 characters).
const jobNameRule: Rule = (v) => dnsSubdomainRule(v) ?? (v.length > 63 ? 'must be no more than 63 characters (it is the job-name label of its Pods)' : undefined);
const cronJobNameRule: Rule = (v) => dnsSubdomainRule(v) ?? (v.length > 52 ? 'must be no more than 52 characters' : undefined);

/** `status` is accepted so `get -o yaml` output applies again; the API ignores it. */
const status = z.record(z.string(), z.unknown()).optional();

function envelope(nameRule: Rule) {
  return { apiVersion: z.string(), kind: z.string(), metadata: objectMetaSchema(nameRule) };
}

const SCHEMAS: Record<string, z.ZodType> = {
  Namespace: z.strictObject({ ...envelope(dnsLabelRule), spec: namespaceSpecSchema.optional(), status }),
  Node: z.strictObject({ ...envelope(nodeNameRule), spec: nodeSpecSchema.optional(), status }),
  Pod: z.strictObject({ ...envelope(dnsSubdomainRule), spec: podSpecSchema, status }),
  Service: z.strictObject({ ...envelope(dnsLabelRule), spec: serviceSpecSchema, status }),
  Endpoints: z.strictObject({ ...envelope(dnsLabelRule), ...endpointsFields }),
  ConfigMap: z.strictObject({ ...envelope(dnsSubdomainRule), ...configMapFields }).superRefine(checkConfigMap, { when: () => true }),
  Secret: z.strictObject({ ...envelope(dnsSubdomainRule), ...secretFields }).superRefine(checkSecret, { when: () => true }),
  Deployment: z.strictObject({ ...envelope(dnsSubdomainRule), spec: deploymentSpecSchema, status }),
  ReplicaSet: z.strictObject({ ...envelope(dnsSubdomainRule), spec: replicaSetSpecSchema, status }),
  DaemonSet: z.strictObject({ ...envelope(dnsSubdomainRule), spec: daemonSetSpecSchema, status }),
  Job: z.strictObject({ ...envelope(jobNameRule), spec: jobSpecSchema, status }),
  CronJob: z.strictObject({ ...envelope(cronJobNameRule), spec: cronJobSpecSchema, status }),
  Event: z.strictObject({ ...envelope(dnsSubdomainRule), ...eventFields }).superRefine(checkEvent, { when: () => true }),
};

const SUPPORTED = KINDS.map((k) => `${k.kind} (${k.apiVersion})`).join(', ');

/** YAML `field:` with nothing after it is null; Kubernetes treats that as absent. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(v)) {
    if (child === null || child === undefined) continue;
    // defineProperty keeps a "__proto__" key an ordinary (and rejected) field.
    Object.defineProperty(out, k, { value: withoutNulls(child), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function secretRedaction(path: Path): boolean {
  return path[0] === 'data' || path[0] === 'stringData';
}

interface Checked {
  object?: KObject;
  code: ErrorCode;
  /** "deployment \"web\"" or "object": how the summary names what failed. */
  subject: string;
  problems: FieldProblem[];
}

function problem(path: string, message: string, document: number | undefined): FieldProblem {
  return document === undefined ? { path, message } : { path, message, document };
}

function checkKind(input: Record<string, unknown>, document: number | undefined): { info?: KindInfo; problems: FieldProblem[] } {
  const kind = input['kind'];
  if (kind === undefined) return { problems: [problem('kind', `required: supported kinds are ${SUPPORTED}`, document)] };
  const info = typeof kind === 'string' ? kindInfo(kind) : undefined;
  if (!info) {
    return { problems: [problem('kind', `must be a supported kind (${SUPPORTED}): current value is ${describeValue(kind)}`, document)] };
  }
  const apiVersion = input['apiVersion'];
  if (apiVersion === info.apiVersion) return { info, problems: [] };
  const rule = `must be ${JSON.stringify(info.apiVersion)} for kind ${info.kind}`;
  const message = apiVersion === undefined ? `required: ${rule}` : `${rule}: current value is ${describeValue(apiVersion)}`;
  return { info, problems: [problem('apiVersion', message, document)] };
}

function check(input: unknown, document?: number): Checked {
  if (!isRecord(input)) {
    const message = `must be an object with apiVersion, kind and metadata: current value is ${describeValue(input)}`;
    return { code: 'VALIDATION_FAILED', subject: 'object', problems: [problem('', message, document)] };
  }
  const name = isRecord(input['metadata']) ? input['metadata']['name'] : undefined;
  const { info, problems: kindProblems } = checkKind(input, document);
  const subjectKind = info ? info.kind.toLowerCase() : 'object';
  const subject = typeof name === 'string' && name !== '' ? `${subjectKind} ${JSON.stringify(name)}` : subjectKind;
  if (!info || kindProblems.length > 0) return { code: 'UNKNOWN_KIND', subject, problems: kindProblems };

  const result = SCHEMAS[info.kind]!.safeParse(withoutNulls(input), { reportInput: true });
  if (!result.success) {
    const redact = info.kind === 'Secret' ? secretRedaction : undefined;
    return { code: 'VALIDATION_FAILED', subject, problems: issuesToProblems(result.error.issues, { redact, document }) };
  }
  const object = result.data as KObject;
  if (info.namespaced) object.metadata.namespace ??= DEFAULT_NAMESPACE;
  else delete object.metadata.namespace;
  return { object, code: 'VALIDATION_FAILED', subject, problems: [] };
}

const SUMMARY_LIMIT = 5;

function summarize(problems: FieldProblem[]): string {
  const shown = problems.slice(0, SUMMARY_LIMIT).map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`));
  if (problems.length > SUMMARY_LIMIT) shown.push(`and ${problems.length - SUMMARY_LIMIT} more`);
  return shown.join('; ');
}

function describe(c: Checked): string {
  if (c.code === 'UNKNOWN_KIND') return `${c.subject}: ${summarize(c.problems)}`;
  return `${c.subject} is invalid: ${summarize(c.problems)}`;
}

/**
 * Validates one object and returns a normalized copy: namespaced kinds get
 * "default" when no namespace is given, cluster-scoped kinds lose theirs.
 * Throws BrambleError VALIDATION_FAILED or UNKNOWN_KIND listing every problem.
 */
export function validateObject(input: unknown, document?: number): KObject {
  const c = check(input, document);
  if (c.object) return c.object;
  const summary = document === undefined ? describe(c) : `documents[${document}]: ${describe(c)}`;
  throw new BrambleError(c.code, summary, c.problems);
}

/** Validates every document; one error carries the problems of all of them, each with its `document` index. */
export function validateObjects(inputs: unknown[]): KObject[] {
  const results = inputs.map((input, i) => check(input, i));
  const failed = results.map((c, i) => ({ c, i })).filter(({ c }) => !c.object);
  if (failed.length === 0) return results.map((c) => c.object!);
  const code: ErrorCode = failed.every(({ c }) => c.code === 'UNKNOWN_KIND') ? 'UNKNOWN_KIND' : 'VALIDATION_FAILED';
  const parts = failed.map(({ c, i }) => `documents[${i}]: ${describe(c)}`);
  const summary = failed.length === 1 ? parts[0]! : `${failed.length} of ${inputs.length} documents are invalid: ${parts.join(' | ')}`;
  throw new BrambleError(code, summary, failed.flatMap(({ c }) => c.problems));
}
