// Namespace, ConfigMap, Secret and Node: the v1 kinds other than Pod, Service and Endpoints.
// Secret refinements never put a data value into a message.
import { z } from 'zod';
import { ALWAYS, addProblem, asArray, field, isRecord } from './schema-errors.js';
import { configKeyRule, labelValueRule, qualifiedName, ruledString, timestamp } from './schema-meta.js';
import { IPV4 } from './schema-service.js';

export const namespaceSpecSchema = z.strictObject({});

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_DATA_BYTES = 1024 * 1024;

/** Data keys become file names in volumes; a key problem names the key, never the value. */
function checkDataKeys(m: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  if (!isRecord(m)) return;
  for (const k of Object.keys(m)) {
    const problem = configKeyRule(k);
    if (problem) addProblem(ctx, [], `key ${problem}`, k);
  }
}

const dataMap = () => z.record(z.string(), z.string()).superRefine(checkDataKeys, ALWAYS);

const base64Map = () =>
  z.record(z.string(), z.string()).superRefine((m, ctx) => {
    checkDataKeys(m, ctx);
    if (!isRecord(m)) return;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === 'string' && !BASE64.test(v)) addProblem(ctx, [k], 'must be valid base64');
    }
  }, ALWAYS);

function base64Bytes(v: string): number {
  return Math.floor((v.length * 3) / 4) - (v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0);
}

/** The shared rules of ConfigMap and Secret payloads: no key twice, at most 1 MiB. */
function checkPayload(plain: string, encoded: string) {
  return (obj: unknown, ctx: z.core.$RefinementCtx<unknown>): void => {
    const a = field(obj, plain);
    const b = field(obj, encoded);
    let size = 0;
    if (isRecord(a)) for (const [k, v] of Object.entries(a)) size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    if (isRecord(b)) for (const [k, v] of Object.entries(b)) size += k.length + (typeof v === 'string' ? base64Bytes(v) : 0);
    if (size > MAX_DATA_BYTES) addProblem(ctx, [], `total size of ${plain} and ${encoded} must be no more than ${MAX_DATA_BYTES} bytes`, `${size} bytes`);
    if (plain === 'data' && isRecord(a) && isRecord(b)) {
      for (const k of Object.keys(b)) if (k in a) addProblem(ctx, [encoded, k], `must not repeat a key of ${plain}`, k);
    }
  };
}

export const configMapFields = {
  data: dataMap().optional(),
  binaryData: base64Map().optional(),
  immutable: z.boolean().optional(),
};
export const checkConfigMap = checkPayload('data', 'binaryData');

export const secretFields = {
  type: z.string().min(1).optional(),
  data: base64Map().optional(),
  stringData: dataMap().optional(),
  immutable: z.boolean().optional(),
};
export const checkSecret = checkPayload('stringData', 'data');

const IPV4_CIDR = /^(.+)\/(\d{1,2})$/;

export const taintSchema = z.strictObject({
  key: qualifiedName(),
  value: ruledString(labelValueRule).optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  timeAdded: timestamp().optional(),
});

export const nodeSpecSchema = z
  .strictObject({
    podCIDR: ruledString((v) => {
      const m = IPV4_CIDR.exec(v);
      return m && IPV4.test(m[1]!) && Number(m[2]) <= 32 ? undefined : 'must be an IPv4 CIDR such as "10.42.1.0/24"';
    }).optional(),
    unschedulable: z.boolean().optional(),
    taints: z.array(taintSchema).optional(),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    asArray(field(spec, 'taints')).forEach((t, i) => {
      const key = `${String(field(t, 'key'))}:${String(field(t, 'effect'))}`;
      if (seen.has(key)) addProblem(ctx, ['taints', i], 'must be unique by key and effect', key);
      seen.add(key);
    });
  }, ALWAYS);
