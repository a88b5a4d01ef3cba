import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, KObject, Pod } from '../proto/model.js';
import { configSourceOf, resolveEnv } from './pod-env.js';

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
    assert.deepEqual(r, { ok: true, env: { A: '1', MODE: 'fast', TOKEN: 't0k3n', NAME: 'web-1', NS: 'shop', IP: '10.42.0.9', NODE: 'pi-3' } });
  });

  test('an optional missing key or object is skipped', () => {
    const r = resolveEnv(pod, c([
      { name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NOPE', optional: true } } },
      { name: 'Y', valueFrom: { secretKeyRef: { name: 'absent', key: 'K', optional: true } } },
    ]), source, {});
    assert.deepEqual(r, { ok: true, env: {} });
  });

  test('a missing required key is a config error naming the key and the object', () => {
    const r = resolveEnv(pod, c([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'PASSWORD' } } }]), source, {});
    assert.deepEqual(r, { ok: false, message: "couldn't find key PASSWORD in Secret shop/s (env X)" });
  });

  test('a missing required object is a config error naming it', () => {
    const r = resolveEnv(pod, c([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'K' } } }]), source, {});
    assert.deepEqual(r, { ok: false, message: 'configmap "gone" not found (env X)' });
  });

  test('an unsupported fieldRef is a config error naming the field', () => {
    const r = resolveEnv(pod, c([{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.labels' } } }]), source, {});
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /"metadata.labels"/);
  });
});
