import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, KObject, Pod } from '../proto/model.js';
import { configSourceOf, expandCommand, resolveEnv, resourceValue } from './pod-env.js';

const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1' }, spec: { nodeName: 'pi-3', containers: [] } };
const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { MODE: 'fast' } };
const other: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { MODE: 'slow' } };
const secret: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'shop' }, data: { TOKEN: Buffer.from('t0k3n').toString('base64') } };
const source = configSourceOf([cm, other], [secret]);
const c = (env: Container['env']): Container => ({ name: 'app', image: 'x', env });

describe('resolveEnv', () => {
  test('literal values, ConfigMap and Secret keys of the pod namespace, and pod fields resolve', () => {
    const r = resolveEnv(pod, c([
      { name: 'A', value: '1' },
      { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'TOKEN' } } },
      { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]), source, { podIP: '10.42.0.9' });
    assert.deepEqual(r, { ok: true, env: { A: '1', MODE: 'fast', TOKEN: 't0k3n', NAME: 'web-1', NS: 'shop', IP: '10.42.0.9', NODE: 'pi-3' }, warnings: [] });
  });

  test('an optional missing key or object is skipped', () => {
    const r = resolveEnv(pod, c([
      { name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NOPE', optional: true } } },
      { name: 'Y', valueFrom: { secretKeyRef: { name: 'absent', key: 'K', optional: true } } },
    ]), source, {});
    assert.deepEqual(r, { ok: true, env: {}, warnings: [] });
  });

  test('a missing required key is a config error naming the key and the object', () => {
    const r = resolveEnv(pod, c([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'PASSWORD' } } }]), source, {});
    assert.deepEqual(r, { ok: false, message: "couldn't find key PASSWORD in Secret shop/s (env X)" });
  });

  test('a missing required object is a config error naming it', () => {
    const r = resolveEnv(pod, c([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'K' } } }]), source, {});
    assert.deepEqual(r, { ok: false, message: 'configmap "gone" not found (env X)' });
  });

  test('labels, annotations, the service account and the IP lists come from the downward API', () => {
    const labelled: Pod = { ...pod, metadata: { ...pod.metadata, labels: { app: 'web' }, annotations: { 'team/owner': 'ops' } } };
    const f = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    const r = resolveEnv(labelled, c([
      f('APP', "metadata.labels['app']"), f('NONE', "metadata.labels['absent']"), f('OWNER', "metadata.annotations['team/owner']"),
      f('UID', 'metadata.uid'), f('SA', 'spec.serviceAccountName'), f('HOST', 'status.hostIP'), f('IPS', 'status.podIPs'), f('HOSTS', 'status.hostIPs'),
    ]), source, { podIP: '10.42.0.9', hostIP: '192.168.1.5' });
    assert.deepEqual(r.ok && r.env, { APP: 'web', NONE: '', OWNER: 'ops', UID: 'u-1', SA: 'default', HOST: '192.168.1.5', IPS: '10.42.0.9', HOSTS: '192.168.1.5' });
  });

  test('an unsupported fieldRef is a config error naming the field', () => {
    const r = resolveEnv(pod, c([{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.labels' } } }]), source, {});
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /"metadata.labels"/);
  });
});

describe('envFrom', () => {
  const cfg: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'shop' }, data: { MODE: 'fast', LEVEL: '3', 'bad key': 'x', '1ST': 'y' } };
  const src = configSourceOf([cfg, cm, other], [secret]);
  const withFrom = (envFrom: Container['envFrom'], env?: Container['env']): Container => ({ name: 'app', image: 'x', envFrom, env });

  test('ConfigMap keys come in with their prefix, Secret keys decoded', () => {
    const r = resolveEnv(pod, withFrom([{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 's' } }]), src, {});
    assert.deepEqual(r, { ok: true, env: { CFG_MODE: 'fast', TOKEN: 't0k3n' }, warnings: [] });
  });

  test('env wins over envFrom, and a later envFrom over an earlier one', () => {
    const r = resolveEnv(pod, withFrom([{ configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'app' } }], [{ name: 'LEVEL', value: '9' }]), src, {});
    assert.equal(r.ok && r.env.MODE, 'fast');
    assert.equal(r.ok && r.env.LEVEL, '9');
  });

  test('keys that make invalid names are skipped with a warning naming them and the object', () => {
    const r = resolveEnv(pod, withFrom([{ configMapRef: { name: 'app' } }]), src, {});
    assert.ok(r.ok);
    assert.deepEqual(Object.keys(r.env).sort(), ['LEVEL', 'MODE']);
    assert.deepEqual(r.warnings, ['Keys [1ST, bad key] from the EnvFrom configmap shop/app were skipped since they are considered invalid environment variable names.']);
  });

  test('a prefix can make a key starting with a digit valid', () => {
    const r = resolveEnv(pod, withFrom([{ configMapRef: { name: 'app' }, prefix: 'P_' }]), src, {});
    assert.equal(r.ok && r.env.P_1ST, 'y');
  });

  test('a missing required ConfigMap or Secret is a config error naming it', () => {
    assert.deepEqual(resolveEnv(pod, withFrom([{ configMapRef: { name: 'gone' } }]), src, {}), { ok: false, message: 'configmap "gone" not found (envFrom)' });
    assert.deepEqual(resolveEnv(pod, withFrom([{ secretRef: { name: 'gone' } }]), src, {}), { ok: false, message: 'secret "gone" not found (envFrom)' });
  });

  test('a missing optional source adds nothing', () => {
    const r = resolveEnv(pod, withFrom([{ configMapRef: { name: 'gone', optional: true } }, { secretRef: { name: 'gone', optional: true } }]), src, {});
    assert.deepEqual(r, { ok: true, env: {}, warnings: [] });
  });

  test('the ConfigMap is looked up in the pod namespace only', () => {
    const r = resolveEnv({ ...pod, metadata: { ...pod.metadata, namespace: 'default' } }, withFrom([{ configMapRef: { name: 'cfg' } }]), src, {});
    assert.equal(r.ok && r.env.MODE, 'slow');
  });
});

describe('$(VAR) in env, command and args', () => {
  test('a literal value refers to variables defined before it, envFrom included; later ones stay as written', () => {
    const r = resolveEnv(pod, { name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'cfg' } }], env: [
      { name: 'A', value: 'a' },
      { name: 'B', value: '$(A)-$(MODE)-$(C)' },
      { name: 'C', value: 'c' },
      { name: 'D', value: '$$(A)' },
    ] }, source, {});
    assert.deepEqual(r.ok && r.env, { MODE: 'fast', A: 'a', B: 'a-fast-$(C)', C: 'c', D: '$(A)' });
  });

  test('values from ConfigMaps are not expanded', () => {
    const raw: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw', namespace: 'shop' }, data: { R: '$(A)' } };
    const r = resolveEnv(pod, c([{ name: 'A', value: 'a' }, { name: 'R', valueFrom: { configMapKeyRef: { name: 'raw', key: 'R' } } }]), configSourceOf([raw], []), {});
    assert.equal(r.ok && r.env.R, '$(A)');
  });

  test('command and args are expanded against the final environment', () => {
    const out = expandCommand({ name: 'app', image: 'x', command: ['sh', '-c', 'echo $(GREETING) $$(GREETING)'], args: ['$(WHO)', '$(NOPE)'] }, { GREETING: 'hi', WHO: 'bramble' });
    assert.deepEqual(out, { command: ['sh', '-c', 'echo hi $(GREETING)'], args: ['bramble', '$(NOPE)'] });
    assert.deepEqual(expandCommand({ name: 'app', image: 'x' }, {}), { command: undefined, args: undefined });
  });
});

describe('resourceFieldRef', () => {
  const sized = (resources: Container['resources']): Container => ({ name: 'app', image: 'x', resources });
  const alloc = { allocatable: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3 } };
  const value = (ct: Container, resource: string, divisor?: string) => {
    const r = resourceValue({ ...pod, spec: { ...pod.spec, containers: [ct] } }, ct, { resource, divisor }, alloc);
    return r.ok ? r.value : r.message;
  };

  test('CPU is rounded up to whole units of the divisor, default 1', () => {
    const ct = sized({ limits: { cpu: '250m' }, requests: { cpu: '100m' } });
    assert.equal(value(ct, 'limits.cpu'), '1');
    assert.equal(value(ct, 'limits.cpu', '1m'), '250');
    assert.equal(value(ct, 'requests.cpu', '1m'), '100');
    assert.equal(value(sized({ limits: { cpu: '1500m' } }), 'limits.cpu'), '2');
  });

  test('memory is divided by the divisor and rounded up', () => {
    const ct = sized({ limits: { memory: '64Mi' }, requests: { memory: '1000k' } });
    assert.equal(value(ct, 'limits.memory'), String(64 * 1024 * 1024));
    assert.equal(value(ct, 'limits.memory', '1Mi'), '64');
    assert.equal(value(ct, 'requests.memory', '1Mi'), '1');
  });

  test('unset limits read as the node allocatable; unset requests as the limit, else 0', () => {
    const none = sized(undefined);
    assert.equal(value(none, 'limits.cpu'), '4');
    assert.equal(value(none, 'limits.memory', '1Gi'), '8');
    assert.equal(value(none, 'requests.cpu'), '0');
    assert.equal(value(sized({ limits: { memory: '32Mi' } }), 'requests.memory', '1Mi'), '32');
  });

  test('another container of the pod can be named, and an unknown one is an error', () => {
    const other: Container = { name: 'side', image: 'x', resources: { limits: { cpu: '2' } } };
    const me = sized(undefined);
    const p: Pod = { ...pod, spec: { ...pod.spec, containers: [me, other] } };
    assert.deepEqual(resourceValue(p, me, { resource: 'limits.cpu', containerName: 'side' }, alloc), { ok: true, value: '2' });
    assert.equal(resourceValue(p, me, { resource: 'limits.cpu', containerName: 'nope' }, alloc).ok, false);
  });

  test('resolveEnv fills a resourceFieldRef', () => {
    const ct: Container = { name: 'app', image: 'x', resources: { limits: { memory: '128Mi' } }, env: [{ name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } }] };
    const r = resolveEnv({ ...pod, spec: { ...pod.spec, containers: [ct] } }, ct, source, alloc);
    assert.equal(r.ok && r.env.MEM, '128');
  });
});
