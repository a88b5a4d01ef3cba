import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { isBrambleError } from '../../proto/util/errors.js';
import type { StoreEvent } from './store.js';
import { importLevelStore, openLevelStore, type Db } from './store-level.js';
import type { StoreSnapshot } from './store-state.js';
import { configMap, node, waitFor } from '../../test/support/store-contract.js';

async function withDirs(fn: (a: string, b: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'bramble-import-test-'));
  try {
    await fn(join(root, 'a'), join(root, 'b'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A LevelDB store with some history, and its snapshot. */
async function source(dataDir: string, retainEvents: number, writes: number): Promise<StoreSnapshot> {
  const store = await openLevelStore({ dataDir, retainEvents, sync: false });
  try {
    for (let i = 0; i < writes; i++) await store.propose({ ops: [{ type: 'put', object: configMap(`c${i % 7}`, 'default', { v: String(i) }) }] });
    await store.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'c0' }, { type: 'put', object: node('pi') }] });
    return store.snapshot();
  } finally {
    await store.close();
  }
}

describe('importing a snapshot into a new LevelDB store', () => {
  test('the imported store opens with the same objects, revision, compacted revision and resumable events', () => withDirs(async (a, b) => {
    const snapshot = await source(a, 5, 20);
    assert.ok(snapshot.compactedRevision > 0);
    const imported = await importLevelStore({ dataDir: b, snapshot });
    assert.deepEqual(imported, { objects: snapshot.objects.length, events: snapshot.events.length });
    const store = await openLevelStore({ dataDir: b, retainEvents: 5 });
    try {
      assert.deepEqual(store.snapshot(), snapshot);
      assert.equal(store.oldestResumableRevision(), snapshot.compactedRevision);
      const events: StoreEvent[] = [];
      const w = store.watch({ fromRevision: snapshot.compactedRevision }, (e) => events.push(e));
      await waitFor(() => events.length >= snapshot.events.length, 'the replayed events');
      w.cancel();
      assert.deepEqual(events, snapshot.events);
      const next = await store.propose({ ops: [{ type: 'put', object: configMap('after') }] });
      assert.equal(next.revision, snapshot.revision + 1);
    } finally {
      await store.close();
    }
  }));

  test('thousands of objects are written in several batches and all read back', () => withDirs(async (_a, b) => {
    const objects = Array.from({ length: 2500 }, (_, i) => ({ ...configMap(`cm-${String(i).padStart(4, '0')}`), metadata: { name: `cm-${String(i).padStart(4, '0')}`, namespace: 'default', resourceVersion: '1' } }));
    const events = objects.map((o): StoreEvent => ({ type: 'ADDED', object: o, revision: 1 }));
    const batches: number[] = [];
    const openDb = (dir: string): Db => {
      const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
      const batch = db.batch.bind(db) as (ops: unknown[], o: unknown) => Promise<void>;
      (db as unknown as { batch: typeof batch }).batch = (ops, o) => { batches.push(ops.length); return batch(ops, o); };
      return db;
    };
    await importLevelStore({ dataDir: b, snapshot: { revision: 1, compactedRevision: 0, objects, events }, openDb });
    assert.ok(batches.length >= 3, `batches: ${batches.join(', ')}`);
    assert.ok(batches.every((n) => n <= 1000));
    const store = await openLevelStore({ dataDir: b, retainEvents: 10_000 });
    try {
      assert.equal(store.objectCount(), 2500);
      assert.equal(store.list('ConfigMap').items.length, 2500);
    } finally {
      await store.close();
    }
  }));

  test('a directory that already holds a store, or anything, is refused and left as it was', () => withDirs(async (a, b) => {
    const snapshot = await source(a, 5, 3);
    await assert.rejects(importLevelStore({ dataDir: a, snapshot }), (e) => isBrambleError(e, 'ALREADY_EXISTS') && /is not empty/.test(e.message));
    const store = await openLevelStore({ dataDir: a });
    assert.equal(store.revision(), snapshot.revision);
    await store.close();
    await mkdir(join(b, 'store'), { recursive: true });
    await writeFile(join(b, 'store', 'notes.txt'), 'mine');
    await assert.rejects(importLevelStore({ dataDir: b, snapshot }), /notes\.txt/);
    assert.deepEqual(await readdir(join(b, 'store')), ['notes.txt']);
  }));

  test('a snapshot the store would not restore, or one holding an object twice, is refused before anything is written', () => withDirs(async (a, b) => {
    const snapshot = await source(a, 5, 3);
    await assert.rejects(importLevelStore({ dataDir: b, snapshot: { ...snapshot, events: snapshot.events.slice(1) } }),
      (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /the events of revision \d+ are missing/.test(e.message));
    await assert.rejects(importLevelStore({ dataDir: join(b, 'x'), snapshot: { ...snapshot, objects: [snapshot.objects[0]!, snapshot.objects[0]!] } }),
      /holds ConfigMap default\/c1 twice/);
    await assert.rejects(readdir(join(b, 'store')));
  }));

  test('an import cut short by the disk leaves files the store refuses to open', () => withDirs(async (a, b) => {
    const snapshot = await source(a, 5, 3);
    const openDb = (dir: string): Db => {
      const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
      const batch = db.batch.bind(db) as (ops: unknown[], o: { sync?: boolean }) => Promise<void>;
      (db as unknown as { batch: typeof batch }).batch = (ops, o) => (o.sync ? Promise.reject(new Error('IO error: No space left on device')) : batch(ops, o));
      return db;
    };
    await assert.rejects(importLevelStore({ dataDir: b, snapshot, openDb }), (e) => isBrambleError(e, 'STORE_FAILED') && /No space left on device/.test(e.message));
    await assert.rejects(openLevelStore({ dataDir: b }), (e) => isBrambleError(e, 'STORE_FAILED') && /is corrupt/.test(e.message));
  }));
});
