import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { openLevelStore } from './store-level.js';
import { StoreState } from './store-state.js';
import { encodeSnapshot } from './store-snapshot.js';
import { writeSnapshotFile } from './store-snapshot-file.js';
import { restoreSnapshot } from './store-restore.js';

async function withRoot(fn: (root: string, file: string) => Promise<void>): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-restore-test-'));
  try {
    const s = new StoreState();
    s.commit(s.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, data: { p: 'ciphertext' } } }] }));
    s.commit(s.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } } }] }));
    const file = path.join(root, 'backup.snap');
    await writeSnapshotFile(file, encodeSnapshot(s.snapshot(), { createdAt: '2026-01-01T00:00:00.000Z', server: 'pi-1' }));
    await fn(root, file);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

const clock = new FakeClock(Date.UTC(2026, 5, 1, 8, 30));
const KEYS = JSON.stringify({ keys: [{ name: 'k1', secret: 'c2VjcmV0' }] });

describe('restoring a snapshot into a data dir', () => {
  test('a new data dir gets the store, and the report says what it lacks', () => withRoot(async (root, file) => {
    const dataDir = path.join(root, 'new');
    const r = await restoreSnapshot({ file, dataDir, clock });
    assert.equal(r.summary.header.revision, 2);
    assert.deepEqual({ hasPki: r.hasPki, hasKeys: r.hasKeys, secrets: r.secrets, movedAside: r.movedAside }, { hasPki: false, hasKeys: false, secrets: 1, movedAside: undefined });
    assert.deepEqual((await fs.readdir(dataDir)).sort(), ['store'], 'no staging directory is left behind');
    assert.equal((await fs.stat(dataDir)).mode & 0o777, 0o700);
    const store = await openLevelStore({ dataDir });
    assert.equal(store.revision(), 2);
    assert.deepEqual((store.get('Secret', 'default', 'db') as { data?: unknown } | undefined)?.data, { p: 'ciphertext' });
    await store.close();
  }));

  test('an empty store directory is not a store: it is replaced without --force', () => withRoot(async (root, file) => {
    const dataDir = path.join(root, 'd');
    await fs.mkdir(path.join(dataDir, 'store'), { recursive: true });
    const r = await restoreSnapshot({ file, dataDir, clock });
    assert.equal(r.movedAside, undefined);
  }));

  test('the encryption keys are copied with mode 0600, and different keys already there are kept aside only with --force', () => withRoot(async (root, file) => {
    const keys = path.join(root, 'keys.json');
    await fs.writeFile(keys, KEYS);
    const dataDir = path.join(root, 'd');
    const r = await restoreSnapshot({ file, dataDir, encryptionKeys: keys, clock });
    const target = path.join(dataDir, 'cred', 'encryption-keys.json');
    assert.equal(r.keysCopiedTo, target);
    assert.equal(r.hasKeys, true);
    assert.equal(await fs.readFile(target, 'utf8'), KEYS);
    assert.equal((await fs.stat(target)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.dirname(target))).mode & 0o777, 0o700);

    const other = path.join(root, 'other.json');
    await fs.writeFile(other, '{"keys": []}');
    await assert.rejects(restoreSnapshot({ file, dataDir: path.join(root, 'd2'), encryptionKeys: path.join(root, 'missing.json'), clock }),
      (e) => isBrambleError(e, 'NOT_FOUND') && /cannot read the encryption keys file .*missing\.json: no such file/.test(e.message));
    await fs.writeFile(path.join(root, 'bad.json'), 'not json');
    await assert.rejects(restoreSnapshot({ file, dataDir: path.join(root, 'd2'), encryptionKeys: path.join(root, 'bad.json'), clock }), /is not JSON/);
    await assert.rejects(fs.stat(path.join(root, 'd2')), 'nothing was made for a refused restore');

    // Same dir again, with --force for the store, and other keys.
    const forced = await restoreSnapshot({ file, dataDir, encryptionKeys: other, force: true, clock });
    assert.equal(forced.movedAside, path.join(dataDir, 'store.old-20260601T083000Z'));
    assert.equal(forced.keysMovedAside, `${target}.old-20260601T083000Z`);
    assert.equal(await fs.readFile(forced.keysMovedAside, 'utf8'), KEYS);
    assert.equal(await fs.readFile(target, 'utf8'), '{"keys": []}');
    // A third time in the same second: nothing already moved aside is overwritten.
    const third = await restoreSnapshot({ file, dataDir, force: true, clock });
    assert.equal(third.movedAside, path.join(dataDir, 'store.old-20260601T083000Z.1'));
  }));

  test('a store already there is refused without --force, and other keys are refused before the store is touched', () => withRoot(async (root, file) => {
    const dataDir = path.join(root, 'd');
    const keys = path.join(root, 'keys.json');
    await fs.writeFile(keys, KEYS);
    await restoreSnapshot({ file, dataDir, encryptionKeys: keys, clock });
    await assert.rejects(restoreSnapshot({ file, dataDir, clock }), (e) => isBrambleError(e, 'ALREADY_EXISTS') && /already holds a store .* pass --force/.test(e.message));
    await fs.writeFile(keys, '{"other": true}');
    // A fresh data dir with only other keys in it: refused, and no store is made.
    const fresh = path.join(root, 'fresh');
    await fs.mkdir(path.join(fresh, 'cred'), { recursive: true });
    await fs.writeFile(path.join(fresh, 'cred', 'encryption-keys.json'), KEYS);
    await assert.rejects(restoreSnapshot({ file, dataDir: fresh, encryptionKeys: keys, clock }), /holds other keys: pass --force to move it aside/);
    assert.deepEqual(await fs.readdir(fresh), ['cred']);
  }));

  test('a member of a replicated control plane restored with --force starts as a single server', () => withRoot(async (root, file) => {
    const dataDir = path.join(root, 'member');
    await restoreSnapshot({ file, dataDir, clock });
    await fs.writeFile(path.join(dataDir, 'member.json'), JSON.stringify({ name: 'cp2', bootstrap: false, seeds: [] }));
    const r = await restoreSnapshot({ file, dataDir, clock, force: true });
    assert.match(r.membershipMovedAside ?? '', /member\.json\.old-20260601T083000Z$/);
    assert.ok(!(await fs.readdir(dataDir)).includes('member.json'));
  }));

  test('a store locked by a running server is refused even with --force', () => withRoot(async (root, file) => {
    const dataDir = path.join(root, 'd');
    const running = await openLevelStore({ dataDir });
    try {
      await running.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live', namespace: 'default' } } }] });
      await assert.rejects(restoreSnapshot({ file, dataDir, force: true, clock }), (e) => isBrambleError(e, 'UNAVAILABLE') && /is locked by another process: stop the bramble server/.test(e.message));
      assert.deepEqual((await fs.readdir(dataDir)).sort(), ['store']);
    } finally {
      await running.close();
    }
  }));
});
