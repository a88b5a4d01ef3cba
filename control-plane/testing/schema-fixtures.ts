// Minimal valid objects of each kind and small helpers for the schema tests:
// a test takes a valid object, breaks one field with `set`, and checks the
// one problem reported for it.
import assert from 'node:assert/strict';
import { isBrambleError, type BrambleError, type FieldProblem } from '../../proto/util/errors.js';
import { validateObject } from '../schema/schema.js';

export type Obj = Record<string, unknown>;

const container = (): Obj => ({ name: 'web', image: 'nginx:1.27' });
const podSpec = (restartPolicy?: string): Obj => ({ ...(restartPolicy ? { restartPolicy } : {}), containers: [container()] });
const template = (labels: Obj, restartPolicy?: string): Obj => ({ metadata: { labels }, spec: podSpec(restartPolicy) });

export const fixtures = {
  namespace: (): Obj => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }),
  node: (): Obj => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1' }, spec: { podCIDR: '10.42.1.0/24' } }),
  pod: (): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello' }, spec: podSpec() }),
  service: (): Obj => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  }),
  endpoints: (): Obj => ({
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web' },
    subsets: [{ addresses: [{ ip: '10.42.1.5', nodeName: 'pi-1', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u1' } }], ports: [{ port: 8080 }] }],
  }),
  configMap: (): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'site' }, data: { 'index.html': '<h1>hi</h1>' } }),
  secret: (): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, type: 'Opaque', data: { password: 'aHVudGVyMg==' } }),
  deployment: (): Obj => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
  }),
  replicaSet: (): Obj => ({
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web' },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
  }),
  daemonSet: (): Obj => ({
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: template({ app: 'agent' }) },
  }),
  job: (): Obj => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' }, spec: { template: template({ app: 'migrate' }, 'Never') } }),
  cronJob: (): Obj => ({
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup' },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: template({ app: 'backup' }, 'OnFailure') } } },
  }),
};

function segments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** Sets `path` ("spec.template.spec.containers[0].name") on `obj`, creating objects on the way; returns obj. */
export function set(obj: Obj, path: string, value: unknown): Obj {
  const segs = segments(path);
  let cur: Record<string | number, unknown> = obj;
  segs.slice(0, -1).forEach((seg, i) => {
    if (typeof cur[seg] !== 'object' || cur[seg] === null) cur[seg] = typeof segs[i + 1] === 'number' ? [] : {};
    cur = cur[seg] as Record<string | number, unknown>;
  });
  const last = segs[segs.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return obj;
}

export function rejection(input: unknown): BrambleError {
  try {
    validateObject(input);
  } catch (e) {
    if (isBrambleError(e)) return e;
    throw e;
  }
  assert.fail(`expected the object to be rejected: ${JSON.stringify(input)}`);
}

export function problemsOf(input: unknown): FieldProblem[] {
  return rejection(input).details;
}

/** Asserts a problem at exactly `path` whose message contains `fragment`; returns it. */
export function expectProblem(input: unknown, path: string, fragment: string): FieldProblem {
  const problems = problemsOf(input);
  const found = problems.find((p) => p.path === path && p.message.includes(fragment));
  assert.ok(found, `expected "${path}: …${fragment}…" among ${JSON.stringify(problems, null, 1)}`);
  return found;
}

export function expectValid(input: unknown): void {
  try {
    validateObject(input);
  } catch (e) {
    assert.fail(`expected the object to be valid, got ${isBrambleError(e) ? JSON.stringify(e.details) : String(e)}`);
  }
}
