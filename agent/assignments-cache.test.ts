import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AssignmentsCache, type Assignments } from './assignments-cache.js';

const sample: Assignments = {
  pods: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { containers: [{ name: 'a', image: 'busybox' }] } }],
  configMaps: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { k: 'v' } }],
  secrets: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { k: 'c2VjcmV0' } }],
};

describe('AssignmentsCache', () => {
  test('round-trips the assignments and keeps the file at mode 0600', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-assign-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    const cache = new AssignmentsCache(dir);
    assert.equal(await cache.load(), undefined);
    assert.equal(await cache.save(sample), true);
    assert.equal((await fs.stat(cache.path)).mode & 0o777, 0o600);
    assert.deepEqual(await new AssignmentsCache(dir).load(), sample);
    assert.deepEqual((await fs.readdir(dir)).sort(), ['assignments.json'], 'no temp file is left behind');
  });

  test('an unchanged set is not written again, a changed one replaces the file', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-assign-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    await new AssignmentsCache(dir).save(sample);
    const fresh = new AssignmentsCache(dir);
    assert.equal(await fresh.save(sample), false);
    const changed = { ...sample, secrets: [] };
    assert.equal(await fresh.save(changed), true);
    assert.deepEqual(await new AssignmentsCache(dir).load(), changed);
    assert.equal((await fs.stat(fresh.path)).mode & 0o777, 0o600);
  });

  test('a corrupt file is an error naming the file', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-assign-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    await fs.writeFile(path.join(dir, 'assignments.json'), '{"version":1,"pods":');
    await assert.rejects(new AssignmentsCache(dir).load(), /assignments\.json must be JSON/);
  });
  test('loadOrDiscard moves a corrupt file aside and starts empty, so the agent still starts', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-assign-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    const problems: string[] = [];
    for (const text of ['{"version":1,"pods":', '{"version":7,"pods":[]}', '"just a string"', '\u0000\u0001binary']) {
      await fs.writeFile(path.join(dir, 'assignments.json'), text);
      const cache = new AssignmentsCache(dir);
      assert.equal(await cache.loadOrDiscard((p) => problems.push(p)), undefined);
      assert.deepEqual((await fs.readdir(dir)).sort(), ['assignments.json.corrupt']);
      // The next save writes a fresh file rather than thinking it is unchanged.
      assert.equal(await cache.save(sample), true);
      assert.deepEqual(await new AssignmentsCache(dir).load(), sample);
      await fs.rm(path.join(dir, 'assignments.json'));
    }
    assert.equal(problems.length, 4);
    assert.match(problems[0]!, /must be JSON.*moved to .*assignments\.json\.corrupt/);
  });

  test('loadOrDiscard drops entries that would not pass the assignment checks and keeps the rest', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-assign-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    const evil = { ...sample.pods[0]!, metadata: { name: '../../etc', namespace: 'default', uid: 'u2' } };
    const text = JSON.stringify({ version: 1, pods: [sample.pods[0], evil, null, 'x'], configMaps: [sample.secrets[0], sample.configMaps[0]], secrets: sample.secrets });
    await fs.writeFile(path.join(dir, 'assignments.json'), text);
    const problems: string[] = [];
    assert.deepEqual(await new AssignmentsCache(dir).loadOrDiscard((p) => problems.push(p)), sample);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(!problems.join('\n').includes('c2VjcmV0'), 'a Secret value must not be reported');
  });
});
