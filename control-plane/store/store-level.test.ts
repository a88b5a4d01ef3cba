import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { openLevelStore, type Db, type LevelStore } from './store-level.js';
import { collect, configMap, labelled, node, storeContractTests, waitFor } from '../../test/support/store-contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'bramble-store-test-'));
}

describe('the LevelDB store', () => {
  const dirs: string[] = [];
  storeContractTests(async (opts) => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    return openLevelStore({ dataDir, ...opts });
  });
  test('temporary directories of the contract tests are removed', async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    assert.equal(dirs.length, 0);
  });

  async function withDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
    const dataDir = await tempDir();
    try { await fn(dataDir); } finally { await rm(dataDir, { recursive: true, force: true }); }
  }

  test('reopening restores the revision, the objects and the resumable events', () => withDir(async (dataDir) => {
    let store: LevelStore = await openLevelStore({ dataDir, retainEvents: 4 });
    try {
      for (let i = 1; i <= 6; i++) await store.propose({ ops: [{ type: 'put', object: configMap(`c${i}`) }] });
      await store.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'c1' }, { type: 'put', object: node('pi') }] });
      // 4 of 8 events are kept: revision 7 holds two, so 5, 6 and 7 remain.
      assert.equal(store.oldestResumableRevision(), 4);
      const before = { list: store.list('ConfigMap'), node: store.get('Node', undefined, 'pi') };
      await store.close();
      store = await openLevelStore({ dataDir, retainEvents: 4 });
      assert.equal(store.revision(), 7);
      assert.equal(store.oldestResumableRevision(), 4);
      assert.equal(store.objectCount(), 6);
      assert.deepEqual(store.list('ConfigMap'), before.list);
      assert.deepEqual(store.get('Node', undefined, 'pi'), before.node);
      assert.throws(() => store.watch({ fromRevision: 3 }, () => {}), (e) => isBrambleError(e, 'STORE_REVISION_TOO_OLD'));
      const w = collect(store, { fromRevision: 4 });
      await waitFor(() => w.events.length === 4, 'the retained events');
      assert.deepEqual(w.events.map((e) => [e.type, e.revision, e.object.metadata.name]),
        [['ADDED', 5, 'c5'], ['ADDED', 6, 'c6'], ['DELETED', 7, 'c1'], ['ADDED', 7, 'pi']]);
      w.cancel();
      const next = await store.propose({ ops: [{ type: 'put', object: configMap('c7') }] });
      assert.equal(next.revision, 8);
    } finally {
      await store.close();
    }
  }));

  test('forgetting the history drops every retained event, also after a reopen, and later writes and watches go on from there', () => withDir(async (dataDir) => {
    let store: LevelStore = await openLevelStore({ dataDir });
    try {
      await store.propose({ ops: [{ type: 'put', object: { ...configMap('c1'), data: { v: 'old' } } }] });
      await store.propose({ ops: [{ type: 'put', object: { ...configMap('c1'), data: { v: 'new' } } }] });
      const live = collect(store, { fromRevision: 2 });
      const writing = store.propose({ ops: [{ type: 'put', object: configMap('c2') }] });
      // Queued behind a batch being written: the history goes once the batch is on disk, and includes it.
      assert.equal(await store.forgetHistory!(), 3);
      assert.equal((await writing).revision, 3);
      assert.equal(store.oldestResumableRevision(), 3);
      assert.throws(() => store.watch({ fromRevision: 2 }, () => {}), (e) => isBrambleError(e, 'STORE_REVISION_TOO_OLD'));
      await store.propose({ ops: [{ type: 'put', object: configMap('c3') }] });
      await waitFor(() => live.events.length === 2, 'the live watch to see c2 and c3');
      live.cancel();
      await store.close();
      store = await openLevelStore({ dataDir });
      assert.equal(store.revision(), 4);
      assert.equal(store.oldestResumableRevision(), 3);
      const w = collect(store, { fromRevision: 3 });
      await waitFor(() => w.events.length === 1, 'the one event after the forgotten history');
      assert.deepEqual(w.events.map((e) => [e.revision, e.object.metadata.name]), [[4, 'c3']]);
      w.cancel();
    } finally {
      await store.close();
    }
  }));

  test('the previous labels on events survive a reopen and reach a resumed watch', () => withDir(async (dataDir) => {
    let store: LevelStore = await openLevelStore({ dataDir });
    try {
      await store.propose({ ops: [{ type: 'put', object: labelled('a', { app: 'web' }) }] });
      await store.propose({ ops: [{ type: 'put', object: labelled('a', { app: 'db' }) }] });
      await store.propose({ ops: [{ type: 'put', object: labelled('a', { app: 'db' }, { k: 'v' }) }] });
      await store.close();
      store = await openLevelStore({ dataDir });
      const w = collect(store, { fromRevision: 1 });
      await waitFor(() => w.events.length === 2, 'the replayed events');
      assert.deepEqual(w.events.map((e) => [e.revision, e.previousLabels]), [[2, { app: 'web' }], [3, undefined]]);
      w.cancel();
    } finally {
      await store.close();
    }
  }));

  test('proposals queued behind a batch are written together and see each other', () => withDir(async (dataDir) => {
    const store = await openLevelStore({ dataDir });
    try {
      const first = store.propose({ ops: [{ type: 'put', object: configMap('a'), precondition: { absent: true } }] });
      const queued = [
        store.propose({ ops: [{ type: 'put', object: configMap('a', 'default', { v: '2' }), precondition: { resourceVersion: '1' } }] }),
        store.propose({ ops: [{ type: 'put', object: configMap('a'), precondition: { absent: true } }] }),
        store.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'a', precondition: { resourceVersion: '2' } }] }),
      ];
      assert.equal(store.get('ConfigMap', 'default', 'a'), undefined, 'not visible before it is durable');
      const settled = Promise.allSettled(queued);
      assert.equal((await first).revision, 1);
      const results = await settled;
      assert.equal(results[0]?.status === 'fulfilled' && results[0].value.revision, 2);
      assert.ok(results[1]?.status === 'rejected' && isBrambleError(results[1].reason, 'ALREADY_EXISTS'));
      assert.equal(results[2]?.status === 'fulfilled' && results[2].value.revision, 3);
      assert.equal(store.get('ConfigMap', 'default', 'a'), undefined);
      assert.deepEqual(store.stats, { ...store.stats, batchesWritten: 2, commandsCommitted: 3, largestBatch: 2 });
    } finally {
      await store.close();
    }
  }));

  test('many concurrent writers share few batches', () => withDir(async (dataDir) => {
    const store = await openLevelStore({ dataDir });
    try {
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.propose({ ops: [{ type: 'put', object: configMap(`c${i}`) }] })));
      assert.equal(store.revision(), 200);
      assert.equal(store.stats.commandsCommitted, 200);
      assert.ok(store.stats.batchesWritten <= 3, `expected at most 3 batches, got ${store.stats.batchesWritten}`);
      assert.ok((await store.diskBytes()) > 0);
    } finally {
      await store.close();
    }
  }));

  test('a second open of the same directory fails naming the directory', () => withDir(async (dataDir) => {
    const store = await openLevelStore({ dataDir });
    try {
      await assert.rejects(openLevelStore({ dataDir }),
        (e) => isBrambleError(e, 'UNAVAILABLE') && e.message.includes(join(dataDir, 'store')));
    } finally {
      await store.close();
    }
  }));

  test('a closed store rejects writes and a close waits for queued ones', () => withDir(async (dataDir) => {
    const store = await openLevelStore({ dataDir });
    const pending = [1, 2, 3].map((i) => store.propose({ ops: [{ type: 'put', object: configMap(`c${i}`) }] }));
    await store.close();
    assert.deepEqual((await Promise.all(pending)).map((r) => r.revision), [1, 2, 3]);
    await assert.rejects(store.propose({ ops: [{ type: 'put', object: configMap('late') }] }), (e) => isBrambleError(e, 'UNAVAILABLE'));
    const reopened = await openLevelStore({ dataDir });
    try {
      assert.equal(reopened.revision(), 3);
    } finally {
      await reopened.close();
    }
  }));

  test('a retainEvents that is not a non-negative integer is refused', () => withDir(async (dataDir) => {
    await assert.rejects(openLevelStore({ dataDir, retainEvents: -1 }),
      (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /current value is -1/.test(e.message));
  }));

  /** A store with a few commits, closed, and its LevelDB directory. */
  async function seeded(dataDir: string, extra?: (db: Db) => Promise<void>): Promise<string> {
    const store = await openLevelStore({ dataDir });
    for (let i = 1; i <= 5; i++) await store.propose({ ops: [{ type: 'put', object: configMap(`c${i}`, 'default', { v: 'x'.repeat(100) }) }] });
    await store.close();
    const dir = join(dataDir, 'store');
    if (extra) {
      const db = new Level<string, unknown>(dir, { valueEncoding: 'utf8' });
      await db.open();
      try { await extra(db); } finally { await db.close(); }
    }
    return dir;
  }

  async function rejectsAsCorrupt(dataDir: string, reason: RegExp): Promise<void> {
    const dir = join(dataDir, 'store');
    await assert.rejects(openLevelStore({ dataDir }), (e) => {
      assert.ok(isBrambleError(e, 'STORE_FAILED'), `expected STORE_FAILED, got ${String(e)}`);
      assert.ok(e.message.startsWith(`the store in ${dir} is corrupt: `), e.message);
      assert.ok(e.message.endsWith('; restore a backup or move it away'), e.message);
      assert.match(e.message, reason);
      return true;
    });
  }

  const files = async (dir: string, re: RegExp): Promise<string[]> => (await readdir(dir)).filter((f) => re.test(f)).map((f) => join(dir, f));

  test('garbage in CURRENT is reported as a corrupt store, not as a lock', () => withDir(async (dataDir) => {
    const dir = await seeded(dataDir);
    await writeFile(join(dir, 'CURRENT'), 'garbage\n');
    await rejectsAsCorrupt(dataDir, /CURRENT/);
  }));

  test('garbage in the MANIFEST is reported as a corrupt store', () => withDir(async (dataDir) => {
    const dir = await seeded(dataDir);
    for (const f of await files(dir, /^MANIFEST-/)) await writeFile(f, 'garbage garbage garbage');
    await rejectsAsCorrupt(dataDir, /Corruption/);
  }));

  test('a garbled or truncated table file is reported as a corrupt store', () => withDir(async (dataDir) => {
    // A compaction moves the records from the .log into a .ldb table file.
    const dir = await seeded(dataDir, (db) => (db as unknown as { compactRange(a: string, b: string): Promise<void> }).compactRange('\u0000', '\uffff'));
    const tables = await files(dir, /\.ldb$/);
    assert.ok(tables.length > 0, 'the compaction wrote a table file');
    for (const f of tables) {
      const b = await readFile(f);
      b.fill(0x41, 20, b.length - 60);
      await writeFile(f, b);
    }
    await rejectsAsCorrupt(dataDir, /./);
    for (const f of tables) await writeFile(f, (await readFile(f)).subarray(0, 50));
    await rejectsAsCorrupt(dataDir, /ldb/);
    for (const f of tables) await unlink(f);
    await rejectsAsCorrupt(dataDir, /missing files/);
  }));

  test('a garbled .log file, which LevelDB skips without an error, is reported as a corrupt store', () => withDir(async (dataDir) => {
    const dir = await seeded(dataDir);
    const logs = await files(dir, /\.log$/);
    for (const f of logs) await writeFile(f, Buffer.alloc((await readFile(f)).length, 0x42));
    await rejectsAsCorrupt(dataDir, /none of bramble's records/);
  }));

  test('a missing CURRENT next to the other files is reported, not replaced by an empty store', () => withDir(async (dataDir) => {
    const dir = await seeded(dataDir);
    await unlink(join(dir, 'CURRENT'));
    await rejectsAsCorrupt(dataDir, /CURRENT file is missing/);
  }));

  test('a value that is not JSON is reported with its key', () => withDir(async (dataDir) => {
    await seeded(dataDir, (db) => db.put('o:ConfigMap/default/c2', '{not json'));
    await rejectsAsCorrupt(dataDir, /the value of o:ConfigMap\/default\/c2 is not valid JSON/);
  }));

  test('records that are JSON but not what the store writes are reported with the problem', () => withDir(async (dataDir) => {
    const cases: [string, string, RegExp][] = [
      ['o:ConfigMap/default/c2', JSON.stringify({ kind: 'ConfigMap', metadata: {} }), /the object at o:ConfigMap\/default\/c2 has no metadata.name/],
      ['o:ConfigMap/default/c3', JSON.stringify({ ...configMap('c4'), metadata: { name: 'c4', namespace: 'default', resourceVersion: '3' } }), /the object at o:ConfigMap\/default\/c3 is ConfigMap c4, which belongs under another key/],
      ['m:revision', '"seven"', /the revision record holds "seven"/],
      ['e:0000000000000003', '{}', /the events at e:0000000000000003 are not a list of events/],
      ['e:0000000000000004', JSON.stringify([{ type: 'MOVED', revision: 4, object: configMap('c4') }]), /a stored event has type "MOVED"/],
    ];
    for (const [i, [key, value, reason]] of cases.entries()) {
      const sub = join(dataDir, String(i));
      await seeded(sub, (db) => db.put(key, value));
      await rejectsAsCorrupt(sub, reason);
    }
  }));

  test('a revision whose events are missing is reported as a corrupt store', () => withDir(async (dataDir) => {
    await seeded(dataDir, (db) => db.del('e:0000000000000003'));
    await rejectsAsCorrupt(dataDir, /the events of revision 3 are missing/);
  }));

  /** A real LevelDB whose batches start failing, as a full or read-only disk makes them. */
  function failingDisk(): { openDb: (dir: string) => Db; fail(): void } {
    let failing = false;
    return {
      fail: () => { failing = true; },
      openDb: (dir) => {
        const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
        const batch = db.batch.bind(db) as (...args: unknown[]) => Promise<void>;
        (db as unknown as { batch: (...args: unknown[]) => Promise<void> }).batch = (...args) => (failing
          ? Promise.reject(Object.assign(new Error(`IO error: ${dir}/000003.log: No space left on device`), { code: 'LEVEL_IO_ERROR' }))
          : batch(...args));
        return db;
      },
    };
  }

  test('a batch the disk refuses fails the store for good: every write after it fails fast with the same reason and onFatal is told once', () => withDir(async (dataDir) => {
    const disk = failingDisk();
    const fatal: BrambleError[] = [];
    const store = await openLevelStore({ dataDir, openDb: disk.openDb, onFatal: (e) => fatal.push(e) });
    try {
      await store.propose({ ops: [{ type: 'put', object: configMap('before') }] });
      disk.fail();
      const batch = store.propose({ ops: [{ type: 'put', object: configMap('a') }] });
      const queued = store.propose({ ops: [{ type: 'put', object: configMap('b') }] });
      const results = await Promise.allSettled([batch, queued]);
      const reasons = results.map((r) => (r.status === 'rejected' ? r.reason as unknown : undefined));
      const dir = join(dataDir, 'store');
      assert.ok(reasons.every((e) => isBrambleError(e, 'STORE_FAILED')));
      assert.equal((reasons[0] as BrambleError).message,
        `the store could not write to ${dir}: IO error: ${dir}/000003.log: No space left on device; it accepts no more writes`);
      assert.equal(reasons[1], reasons[0]);
      await assert.rejects(store.propose({ ops: [{ type: 'put', object: configMap('later') }] }), (e) => e === reasons[0]);
      assert.deepEqual(fatal, [reasons[0]]);
      assert.equal(store.failure, reasons[0]);
      // What was committed before stays readable, and nothing of the refused writes shows.
      assert.equal(store.revision(), 1);
      assert.ok(store.get('ConfigMap', 'default', 'before'));
      assert.equal(store.get('ConfigMap', 'default', 'a'), undefined);
    } finally {
      await store.close();
    }
    const reopened = await openLevelStore({ dataDir });
    try {
      assert.equal(reopened.revision(), 1);
    } finally {
      await reopened.close();
    }
  }));
});
