import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBrambleError } from '../proto/errors.js';
import { openLevelStore, type LevelStore } from './store-level.js';
import { collect, configMap, labelled, node, storeContractTests, waitFor } from '../test/support/store-contract.js';

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
});
