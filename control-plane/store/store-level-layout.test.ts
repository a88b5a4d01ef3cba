// The on-disk layout of the LevelDB store: a put's object is written once, in its
// event row, and reaches its o: row only when that row is compacted. These tests
// read the raw rows to check that, and that every way the rows can be left (updates
// inside the window, deletes, compaction, forgetting history, the previous layout
// where every put rewrote o:) opens to the same state.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import type { KObject } from '../../proto/model.js';
import { openLevelStore, type LevelStore } from './store-level.js';
import { createMemoryStore } from './store-memory.js';
import type { Command, Store } from './store.js';
import { configMap } from '../../test/support/store-contract.js';

async function withDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bramble-store-layout-'));
  try { await fn(dataDir); } finally { await rm(dataDir, { recursive: true, force: true }); }
}

/** Every row of a closed store, values parsed. */
async function rows(dataDir: string): Promise<Map<string, unknown>> {
  const db = new Level<string, string>(join(dataDir, 'store'), { valueEncoding: 'utf8' });
  await db.open();
  try {
    const out = new Map<string, unknown>();
    for await (const [k, v] of db.iterator()) out.set(k, JSON.parse(v));
    return out;
  } finally {
    await db.close();
  }
}

const put = (name: string, v: string): Command => ({ ops: [{ type: 'put', object: configMap(name, 'default', { v }) }] });
const del = (name: string): Command => ({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name }] });

function state(s: Store): Array<[string, string | undefined, string]> {
  return s.list('ConfigMap').items.map((o: KObject) => [o.metadata.name, o.metadata.resourceVersion, (o as { data?: { v?: string } }).data?.v ?? '']);
}

describe('the LevelDB store layout', () => {
  test('a put is written once, in its event row; its o: row comes when that row is compacted', () => withDir(async (dataDir) => {
    let store: LevelStore = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    await store.propose(put('a', 'a1'));
    await store.close();
    let raw = await rows(dataDir);
    assert.equal(raw.has('o:ConfigMap/default/a'), false, 'no o: row while the event row holds the object');
    assert.equal((raw.get('e:0000000000000001') as Array<{ object: { data: { v: string } } }>)[0]!.object.data.v, 'a1');

    store = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    assert.deepEqual(state(store), [['a', '1', 'a1']]);
    await store.propose(put('b', 'b1'));
    await store.propose(put('c', 'c1'));
    await store.close();
    raw = await rows(dataDir);
    assert.equal(raw.has('e:0000000000000001'), false, 'the event of revision 1 is compacted');
    assert.deepEqual((raw.get('o:ConfigMap/default/a') as KObject).metadata.resourceVersion, '1', 'and a, still current, went to its o: row');
    assert.equal(raw.has('o:ConfigMap/default/b'), false);
    store = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    assert.deepEqual(state(store), [['a', '1', 'a1'], ['b', '2', 'b1'], ['c', '3', 'c1']]);
    await store.close();
  }));

  test('updates, deletes and re-creates across compaction and reopens match the memory store, with concurrent proposals', () => withDir(async (dataDir) => {
    const names = ['a', 'b', 'c'];
    const memory = createMemoryStore({ retainEvents: 3 });
    let store: LevelStore = await openLevelStore({ dataDir, retainEvents: 3, sync: false });
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
    try {
      for (let round = 0; round < 12; round++) {
        const commands: Command[] = [];
        for (let i = 0; i < 6; i++) {
          const name = names[next() % names.length]!;
          const exists = memory.get('ConfigMap', 'default', name) !== undefined;
          const cmd = exists && next() % 3 === 0 ? del(name) : put(name, `${name}-${round}-${i}`);
          await memory.propose(cmd);
          commands.push(cmd);
        }
        // Proposed together: group commit writes them in batches while later ones are pending.
        await Promise.all(commands.map((c) => store.propose(c)));
        assert.deepEqual(state(store), state(memory), `round ${round} before reopening`);
        await store.close();
        const raw = await rows(dataDir);
        for (const [k, v] of raw) {
          if (!k.startsWith('o:')) continue;
          const o = v as KObject;
          const live = memory.get('ConfigMap', 'default', o.metadata.name);
          assert.ok(live, `${k} is deleted, so its o: row is gone (round ${round})`);
          // A stale o: row is allowed only while a retained event holds a newer version.
          if (live.metadata.resourceVersion !== o.metadata.resourceVersion) {
            assert.ok(Number(live.metadata.resourceVersion) > store.oldestResumableRevision(), `${k} is stale with its newer version compacted (round ${round})`);
          }
        }
        store = await openLevelStore({ dataDir, retainEvents: 3, sync: false });
        assert.deepEqual(state(store), state(memory), `round ${round} after reopening`);
        assert.equal(store.revision(), memory.revision());
        assert.equal(store.oldestResumableRevision(), memory.oldestResumableRevision());
      }
    } finally {
      await store.close();
      await memory.close();
    }
  }));

  test('forgetting the history writes every object to its o: row, so no older version stays on disk', () => withDir(async (dataDir) => {
    let store: LevelStore = await openLevelStore({ dataDir, sync: false });
    await store.propose(put('a', 'secret-plain'));
    await store.propose(put('b', 'b1'));
    await store.propose(put('a', 'sealed'));
    assert.equal(await store.forgetHistory!(), 3);
    await store.close();
    const raw = await rows(dataDir);
    assert.deepEqual([...raw.keys()].filter((k) => k.startsWith('e:')), []);
    assert.equal((raw.get('o:ConfigMap/default/a') as { data: { v: string } }).data.v, 'sealed');
    assert.equal((raw.get('o:ConfigMap/default/b') as { data: { v: string } }).data.v, 'b1');
    assert.ok(![...raw.values()].some((v) => JSON.stringify(v).includes('secret-plain')), 'the old value is in no row');
    store = await openLevelStore({ dataDir, sync: false });
    assert.deepEqual(state(store), [['a', '3', 'sealed'], ['b', '2', 'b1']]);
    await store.close();
  }));

  test('reopening with a smaller retainEvents writes the objects of the rows it compacts to their o: rows', () => withDir(async (dataDir) => {
    let store: LevelStore = await openLevelStore({ dataDir, retainEvents: 100, sync: false });
    for (const name of ['a', 'b', 'c', 'd']) await store.propose(put(name, `${name}1`));
    await store.propose(put('a', 'a2'));
    await store.close();
    store = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    assert.equal(store.oldestResumableRevision(), 3);
    await store.close();
    const raw = await rows(dataDir);
    assert.deepEqual([...raw.keys()].filter((k) => k.startsWith('e:')), ['e:0000000000000004', 'e:0000000000000005']);
    assert.deepEqual([...raw.keys()].filter((k) => k.startsWith('o:')), ['o:ConfigMap/default/b', 'o:ConfigMap/default/c']);
    assert.equal(raw.get('m:compacted'), 3);
    store = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    await store.propose(put('e', 'e1'));
    await store.close();
    store = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    assert.deepEqual(state(store), [['a', '5', 'a2'], ['b', '2', 'b1'], ['c', '3', 'c1'], ['d', '4', 'd1'], ['e', '6', 'e1']]);
    await store.close();
  }));

  test('a store of the previous layout (every put also rewrote o:) opens to the same state and goes on', () => withDir(async (dataDir) => {
    const db = new Level<string, unknown>(join(dataDir, 'store'), { valueEncoding: 'json' });
    await db.open();
    const cm = (rv: string, v: string): KObject => ({ ...configMap('a', 'default', { v }), metadata: { name: 'a', namespace: 'default', resourceVersion: rv } });
    const b = { ...configMap('b', 'default', { v: 'b1' }), metadata: { name: 'b', namespace: 'default', resourceVersion: '3' } };
    await db.batch([
      { type: 'put', key: 'm:format', value: 1 },
      { type: 'put', key: 'o:ConfigMap/default/a', value: cm('2', 'a2') },
      { type: 'put', key: 'e:0000000000000001', value: [{ type: 'ADDED', object: cm('1', 'a1'), revision: 1 }] },
      { type: 'put', key: 'e:0000000000000002', value: [{ type: 'MODIFIED', object: cm('2', 'a2'), revision: 2 }] },
      { type: 'put', key: 'e:0000000000000003', value: [{ type: 'ADDED', object: b, revision: 3 }] },
      { type: 'put', key: 'e:0000000000000004', value: [{ type: 'DELETED', object: { ...b, metadata: { ...b.metadata, resourceVersion: '4' } }, revision: 4 }] },
      { type: 'put', key: 'm:revision', value: 4 },
      { type: 'put', key: 'm:compacted', value: 0 },
    ]);
    await db.close();
    let store = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    assert.deepEqual(state(store), [['a', '2', 'a2']]);
    assert.equal(store.oldestResumableRevision(), 2);
    await store.propose(put('c', 'c1'));
    await store.close();
    store = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    assert.deepEqual(state(store), [['a', '2', 'a2'], ['c', '5', 'c1']]);
    await store.close();
  }));
  for (const [format, message] of [
    [4, /format is version 4; this bramble reads up to version 3 \(a newer bramble wrote it/],
    [3, /a replicated control plane member's store \(format 3\), which a single server cannot read: start bramble server with the data dir's cluster membership/],
  ] as const) {
    test(`a store of format ${format} (${format === 3 ? 'a replicated member\'s' : 'a newer bramble\'s'}) is refused at open by a single server, and left as it was`, () => withDir(async (dataDir) => {
      const db = new Level<string, unknown>(join(dataDir, 'store'), { valueEncoding: 'json' });
      await db.open();
      const a = { ...configMap('a', 'default', { v: 'a1' }), metadata: { name: 'a', namespace: 'default', resourceVersion: '1' } };
      await db.batch([
        { type: 'put', key: 'm:format', value: format },
        { type: 'put', key: 'e:0000000000000001', value: [{ type: 'ADDED', object: a, revision: 1 }] },
        { type: 'put', key: 'm:revision', value: 1 },
      ]);
      await db.close();
      const before = await rows(dataDir);
      await assert.rejects(openLevelStore({ dataDir, sync: false }), (err: Error) => {
        assert.match(err.message, message);
        return true;
      });
      assert.deepEqual(await rows(dataDir), before, 'not a row written, not even m:format');
    }));
  }
});
