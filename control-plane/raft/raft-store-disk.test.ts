// The replicated member's layout (raft-store-disk.ts), read from the raw rows: a write
// is its Raft entry and nothing else, a compaction checkpoints the state as it is, and
// every way the rows can be left opens to the state the member had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { FakeClock } from '../../proto/util/clock.js';
import { openLevelStore } from '../store/store-level.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Command, StoreEvent } from '../store/store.js';
import { configMap, create, RaftTestCluster } from '../testing/raft-cluster.js';
import { openRaftStore, type RaftStore, type RaftStoreOptions } from './raft-store.js';
import { seededRandom } from './raft-test-network.js';
import { MemoryNetwork } from './raft-transport-memory.js';

async function rows(dataDir: string): Promise<Map<string, string>> {
  const db = new Level<string, string>(join(dataDir, 'store'), { valueEncoding: 'utf8' });
  await db.open();
  try {
    const out = new Map<string, string>();
    for await (const [k, v] of db.iterator()) out.set(k, v);
    return out;
  } finally {
    await db.close();
  }
}

async function patch(dataDir: string, ops: Array<{ type: 'put'; key: string; value: unknown } | { type: 'del'; key: string }>): Promise<void> {
  const db = new Level<string, unknown>(join(dataDir, 'store'), { valueEncoding: 'json' });
  await db.open();
  try { await db.batch(ops); } finally { await db.close(); }
}

const keysOf = (r: Map<string, string>, prefix: string): string[] => [...r.keys()].filter((k) => k.startsWith(prefix));

async function withOne(fn: (c: RaftTestCluster) => Promise<void>, store: Partial<RaftStoreOptions> = {}): Promise<void> {
  const c = await RaftTestCluster.start({ ids: ['a'], store: { sync: false, ...store } });
  try { await fn(c); } finally { await c.destroy(); }
}

async function events(c: RaftTestCluster, s: RaftStore, from: number): Promise<StoreEvent[]> {
  const seen: StoreEvent[] = [];
  // fromRevision 0 would mean "from now"; after 1, so a store that retains everything is compared too.
  const w = s.watch({ fromRevision: Math.max(from, 1) }, (e) => seen.push(e));
  // The backlog is delivered on later turns of the event loop (store-watch.ts), in chunks of 500.
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  w.cancel();
  return seen;
}

test('a write puts only its Raft entry (and the applied index) into LevelDB: no object row, no event row', () => withOne(async (c) => {
  const a = await c.waitLeader();
  for (const n of ['x', 'y', 'z']) await c.run(a.propose(create(n, { v: n })));
  const want = { list: a.list('ConfigMap'), revision: a.revision() };
  const history = await events(c, a, a.oldestResumableRevision());
  assert.equal(history.length, 2, 'the events after revision 1');
  await c.close('a');
  const r = await rows(c.dataDir('a'));
  assert.deepEqual(keysOf(r, 'o:'), []);
  assert.deepEqual(keysOf(r, 'e:'), []);
  assert.equal(r.get('m:format'), '3');
  assert.deepEqual(JSON.parse(r.get('m:checkpoint')!), { index: 1, revision: 0 }, 'the bootstrap\'s checkpoint: an empty state at index 1');
  assert.equal(r.has('m:revision'), false);
  const entries = keysOf(r, 'r:e:').map((k) => r.get(k)!);
  for (const n of ['x', 'y', 'z']) assert.equal(entries.filter((e) => e.includes(`"name":"${n}"`)).length, 1, `${n}'s command is in one entry`);

  const back = await c.open('a');
  assert.deepEqual(back.list('ConfigMap'), want.list, 'the objects come back from the log');
  assert.equal(back.revision(), want.revision);
  assert.equal(back.stats.replayedAtOpen, 3);
  assert.equal(back.stats.commandsCommitted, 0, 'nothing is applied to disk again');
  assert.deepEqual(await events(c, back, back.oldestResumableRevision()), history, 'the retained events are rebuilt as they were');
}));

test('a log compaction writes every key changed since the checkpoint once, as it is then, in the batch that drops the entries', () => withOne(async (c) => {
  const a = await c.waitLeader();
  const put = (name: string, v: string): Command => ({ ops: [{ type: 'put', object: configMap(name, { v }) }] });
  const states = new Map([[a.revision(), a.list('ConfigMap')]]);
  const write = async (command: Command): Promise<void> => {
    await c.run(a.propose(command));
    states.set(a.revision(), a.list('ConfigMap'));
  };
  await write(put('keep', 'k1'));
  await write(put('gone', 'g1'));
  await write({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'gone' }] });
  // Until the second compaction (the first may come before the delete).
  for (let i = 1; a.node.stats.compactions < 2; i++) {
    assert.ok(i < 50, 'the log compacts');
    await write(put('busy', `b${i}`));
  }
  // After the checkpoint: the o: rows keep the state as of it; the log has the rest.
  await write(put('keep', 'k2'));
  assert.equal(a.node.stats.compactions, 2);
  const want = { list: a.list('ConfigMap'), revision: a.revision() };
  await c.close('a');

  const r = await rows(c.dataDir('a'));
  assert.deepEqual(keysOf(r, 'e:'), []);
  const checkpoint = JSON.parse(r.get('m:checkpoint')!) as { index: number; revision: number };
  const atCheckpoint = states.get(checkpoint.revision)!;
  assert.ok(atCheckpoint && atCheckpoint.items.some((o) => o.metadata.name === 'busy'), `the checkpoint is at revision ${checkpoint.revision}, after the delete`);
  assert.ok(checkpoint.index >= JSON.parse(r.get('r:snap')!).index, 'no entry after the checkpoint is compacted');
  assert.deepEqual(keysOf(r, 'o:'), ['o:ConfigMap/default/busy', 'o:ConfigMap/default/keep'], 'the deleted object has no row');
  assert.deepEqual(keysOf(r, 'o:').map((k) => JSON.parse(r.get(k)!)), atCheckpoint.items, 'each row holds its object as of the checkpoint');

  const back = await c.open('a');
  assert.deepEqual(back.list('ConfigMap'), want.list);
  assert.equal(back.revision(), want.revision);
  assert.equal(back.oldestResumableRevision(), checkpoint.revision, 'watches resume from the checkpoint on');
  const after = (await events(c, back, checkpoint.revision)).map((e) => [e.type, e.object.metadata.name, e.revision]);
  assert.deepEqual(after.at(-1), ['MODIFIED', 'keep', want.revision]);
  assert.equal(after.length, want.revision - checkpoint.revision, 'one event per revision after the checkpoint, rebuilt from the log');
}, { compactEntries: 10, catchUpEntries: 2 }));

test('random writes, compactions and restarts always open to the state a memory store reaches on the same commands', () => withOne(async (c) => {
  const random = seededRandom(7);
  const model = createMemoryStore();
  let s = await c.waitLeader();
  const names = ['p', 'q', 'r', 's'];
  let compactions = 0;
  for (let step = 0; step < 120; step++) {
    const name = names[Math.floor(random() * names.length)]!;
    const roll = random();
    const command: Command = roll < 0.2
      ? { ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name }] }
      : roll < 0.3
        ? create(name, { step: String(step) })
        : { ops: [{ type: 'put', object: configMap(name, { step: String(step) }) }, { type: 'put', object: configMap(`${name}-twin`, { step: String(step) }) }] };
    const [mine, theirs] = await Promise.allSettled([c.run(s.propose(command)), model.propose(command)]);
    assert.equal(mine.status, theirs.status, `step ${step}: the same outcome`);
    if (step % 17 === 16) {
      compactions += s.node.stats.compactions;
      await c.close('a');
      s = await c.open('a');
      await c.waitLeader();
      assert.deepEqual(s.list('ConfigMap'), model.list('ConfigMap'), `step ${step}: reopened at the model's state`);
      assert.equal(s.revision(), model.revision());
    }
  }
  assert.ok(compactions > 0, 'the run compacted the log');
}, { compactEntries: 6, catchUpEntries: 1 }));

test('a single server\'s store (format 2, objects in event rows) becomes a member\'s: every object in its row, no event row', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'raft-disk-'));
  try {
    const plain = await openLevelStore({ dataDir, retainEvents: 2, sync: false });
    for (const n of ['x', 'y', 'z']) await plain.propose(create(n, { v: '1' }));
    await plain.propose({ ops: [{ type: 'put', object: configMap('x', { v: '2' }) }] });
    await plain.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'y' }] });
    const before = plain.list('ConfigMap');
    await plain.close();
    assert.ok(keysOf(await rows(dataDir), 'e:').length > 0, 'the single server kept event rows');

    const clock = new FakeClock();
    const store = await openRaftStore({ dataDir, id: 'a', transport: new MemoryNetwork().transport('a'), bootstrap: [{ id: 'a', address: 'a:7443' }], clock, sync: false });
    assert.deepEqual(store.list('ConfigMap'), before);
    await store.close();
    const r = await rows(dataDir);
    assert.deepEqual(keysOf(r, 'e:'), []);
    assert.equal(r.has('m:revision') || r.has('m:compacted'), false);
    assert.equal(r.get('m:format'), '3');
    assert.deepEqual(keysOf(r, 'o:').map((k) => JSON.parse(r.get(k)!)), before.items);
    assert.deepEqual(JSON.parse(r.get('m:checkpoint')!), { index: 1, revision: before.revision });

    const again = await openRaftStore({ dataDir, id: 'a', transport: new MemoryNetwork().transport('a'), clock, sync: false });
    try {
      assert.deepEqual(again.list('ConfigMap'), before);
    } finally {
      await again.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

for (const [what, ops, message] of [
  ['a checkpoint that is not {index, revision}', [{ type: 'put', key: 'm:checkpoint', value: { index: -1 } }], /the checkpoint at m:checkpoint holds \{"index":-1\}, not \{index, revision\}/],
  ['a checkpoint after the applied index', [{ type: 'put', key: 'm:checkpoint', value: { index: 99, revision: 0 } }], /the checkpoint at m:checkpoint is at index 99, after the applied index/],
  ['a log compacted past the checkpoint', [{ type: 'put', key: 'm:checkpoint', value: { index: 0, revision: 0 } }], /the Raft log starts at index 2, but the state on disk is of index 0 \(m:checkpoint\): the entries between are gone/],
  ['an object row newer than the checkpoint', [{ type: 'put', key: 'o:ConfigMap/default/x', value: configMap('x', {}, '5') }], /the object at o:ConfigMap\/default\/x has metadata.resourceVersion "5", which is not a revision up to the store's 0/],
] as const) {
  test(`a member's store with ${what} is refused at open with STORE_FAILED naming it`, () => withOne(async (c) => {
    const a = await c.waitLeader();
    await c.run(a.propose(create('x')));
    await c.close('a');
    await patch(c.dataDir('a'), [...ops]);
    await assert.rejects(c.open('a'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORE_FAILED');
      assert.match(err.message, message);
      return true;
    });
  }));
}
