import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KObject, Pod, Volume } from '../proto/model.js';
import { configSourceOf } from './pod-env.js';
import { ensureVolumes, mountsFor, removeVolumes, volumeDir } from './pod-volumes.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const cm = (data: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data });
const secret: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'default' }, data: { 'tls.key': b64('KEY'), user: b64('admin') } };

function podWith(volumes: Volume[]): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'uid-vol' },
    spec: { volumes, containers: [{ name: 'app', image: 'x', volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: `/m/${v.name}` })) }] },
  };
}

async function tmp(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-volumes-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

const mode = async (p: string): Promise<number> => (await fs.stat(p)).mode & 0o777;

describe('ensureVolumes', () => {
  test('ConfigMap keys become 0644 files and Secret keys decoded 0400 files', async (t) => {
    const dir = await tmp(t);
    const pod = podWith([{ name: 'c', configMap: { name: 'cfg' } }, { name: 's', secret: { secretName: 'sec' } }]);
    const r = await ensureVolumes(dir, pod, configSourceOf([cm({ 'app.conf': 'a=1\n' })], [secret]));
    assert.equal(r.changed, true);
    const c = volumeDir(dir, 'uid-vol', 'c');
    const s = volumeDir(dir, 'uid-vol', 's');
    assert.equal(await fs.readFile(path.join(c, 'app.conf'), 'utf8'), 'a=1\n');
    assert.equal(await mode(path.join(c, 'app.conf')), 0o644);
    assert.equal(await fs.readFile(path.join(s, 'tls.key'), 'utf8'), 'KEY');
    assert.equal(await fs.readFile(path.join(s, 'user'), 'utf8'), 'admin');
    assert.equal(await mode(path.join(s, 'user')), 0o400);
    assert.deepEqual(mountsFor(pod.spec.containers[0]!, pod, r.paths), [
      { source: c, destination: '/m/c', readOnly: true },
      { source: s, destination: '/m/s', readOnly: true },
    ]);
  });

  test('items pick keys, paths and modes, and defaultMode applies to the rest', async (t) => {
    const dir = await tmp(t);
    const pod = podWith([{ name: 's', secret: { secretName: 'sec', defaultMode: 0o440, items: [{ key: 'tls.key', path: 'certs/server.key', mode: 0o600 }, { key: 'user', path: 'who' }] } }]);
    await ensureVolumes(dir, pod, configSourceOf([], [secret]));
    const s = volumeDir(dir, 'uid-vol', 's');
    assert.equal(await fs.readFile(path.join(s, 'certs', 'server.key'), 'utf8'), 'KEY');
    assert.equal(await mode(path.join(s, 'certs', 'server.key')), 0o600);
    assert.equal(await mode(path.join(s, 'who')), 0o440);
    assert.deepEqual((await fs.readdir(s)).filter((n) => !n.startsWith('..')).sort(), ['certs', 'who']);
  });

  test('an update swaps the whole content at once and an unchanged one writes nothing', async (t) => {
    const dir = await tmp(t);
    const pod = podWith([{ name: 'c', configMap: { name: 'cfg' } }]);
    const c = volumeDir(dir, 'uid-vol', 'c');
    await ensureVolumes(dir, pod, configSourceOf([cm({ a: '1', old: 'x' })], []));
    const firstTarget = await fs.readlink(path.join(c, '..data'));
    assert.equal((await ensureVolumes(dir, pod, configSourceOf([cm({ a: '1', old: 'x' })], []))).changed, false);
    assert.equal(await fs.readlink(path.join(c, '..data')), firstTarget);
    assert.equal((await ensureVolumes(dir, pod, configSourceOf([cm({ a: '2', b: '3' })], []))).changed, true);
    assert.notEqual(await fs.readlink(path.join(c, '..data')), firstTarget);
    assert.equal(await fs.readFile(path.join(c, 'a'), 'utf8'), '2');
    assert.equal(await fs.readFile(path.join(c, 'b'), 'utf8'), '3');
    assert.deepEqual((await fs.readdir(c)).sort(), ['..data', (await fs.readlink(path.join(c, '..data'))), 'a', 'b'].sort());
  });

  test('emptyDir is a world-writable directory and hostPath DirectoryOrCreate is created as is', async (t) => {
    const dir = await tmp(t);
    const host = path.join(dir, 'host', 'data');
    const pod = podWith([{ name: 'e', emptyDir: {} }, { name: 'h', hostPath: { path: host, type: 'DirectoryOrCreate' } }]);
    const r = await ensureVolumes(dir, pod, configSourceOf([], []));
    assert.equal(await mode(volumeDir(dir, 'uid-vol', 'e')), 0o777);
    assert.ok((await fs.stat(host)).isDirectory());
    assert.equal(r.paths.get('h'), host);
    assert.equal((await ensureVolumes(dir, pod, configSourceOf([], []))).changed, false);
  });

  test('a missing ConfigMap is an error unless the volume is optional', async (t) => {
    const dir = await tmp(t);
    await assert.rejects(ensureVolumes(dir, podWith([{ name: 'c', configMap: { name: 'cfg' } }]), configSourceOf([], [])), /configmap "cfg" must exist in namespace "default" for volume "c"/);
    const r = await ensureVolumes(dir, podWith([{ name: 'c', configMap: { name: 'cfg', optional: true } }]), configSourceOf([], []));
    assert.deepEqual((await fs.readdir(r.paths.get('c')!)).filter((n) => !n.startsWith('..')), []);
  });

  test('an item path escaping the volume is refused', async (t) => {
    const dir = await tmp(t);
    const pod = podWith([{ name: 'c', configMap: { name: 'cfg', items: [{ key: 'a', path: '../../etc/passwd' }] } }]);
    await assert.rejects(ensureVolumes(dir, pod, configSourceOf([cm({ a: '1' })], [])), /items.path must be a relative path/);
  });

  test('removeVolumes deletes the pod directory and says whether there was one', async (t) => {
    const dir = await tmp(t);
    await ensureVolumes(dir, podWith([{ name: 'e', emptyDir: {} }]), configSourceOf([], []));
    assert.equal(await removeVolumes(dir, 'uid-vol'), true);
    assert.equal(await removeVolumes(dir, 'uid-vol'), false);
  });
});
