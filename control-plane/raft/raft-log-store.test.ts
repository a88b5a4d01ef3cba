import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStoreDb, range, type Db } from '../store/store-level.js';
import { entryKey, META_APPLIED, RAFT_CONF, RAFT_HARD_STATE, RaftLogStore, type RaftLogStoreOptions, type StoredConf } from './raft-log-store.js';
import type { Entry, HardState } from './raft-types.js';

const conf: StoredConf = { voters: ['a', 'b', 'c'], learners: [], peers: { a: 'a:1', b: 'b:1', c: 'c:1' } };

async function withDir(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'raft-log-store-'));
  try {
    await fn(dataDir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function open(dataDir: string, opts: RaftLogStoreOptions & { bootstrap?: StoredConf } = {}): Promise<{ db: Db; log: RaftLogStore }> {
  const { db } = await openStoreDb({ dataDir });
  try {
    const log = await RaftLogStore.load(db, opts);
    if (log.bootstrapOps.length > 0) await db.batch(log.bootstrapOps, { sync: true });
    return { db, log };
  } catch (err) {
    await db.close();
    throw err;
  }
}

function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: 'normal', data: `cmd-${i}-${term}` });
  return out;
}

/** Persists entries and hard state as the host loop does, applying up to `applied`. */
async function persist(db: Db, log: RaftLogStore, entries: Entry[], hardState?: HardState, applied?: number): Promise<void> {
  const { ops, wroteHardState } = log.readyOps({ entries, hardState });
  if (applied !== undefined) ops.push(...log.appliedOps(applied, undefined));
  await db.batch(ops, { sync: true });
  log.persisted({ entries, hardState, wroteHardState, applied });
}

async function entryKeys(db: Db): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of db.keys(range('r:e:'))) keys.push(k);
  return keys;
}

test('a reopened log keeps its term, vote, entries and applied index', async () => {
  await withDir(async (dir) => {
    let { db, log } = await open(dir);
    await persist(db, log, ents(1, 3, 2), { term: 2, vote: 'b', commit: 2 }, 2);
    await db.close();
    ({ db, log } = await open(dir));
    try {
      assert.deepEqual(log.storage.initialState().hardState, { term: 2, vote: 'b', commit: 2 });
      assert.equal(log.storage.lastIndex(), 3);
      assert.deepEqual(log.storage.entries(1, 4), ents(1, 3, 2));
      assert.equal(log.applied, 2);
    } finally {
      await db.close();
    }
  });
});

test('a Ready that only moves the commit index writes nothing, so an idle member writes nothing', async () => {
  await withDir(async (dir) => {
    const { db, log } = await open(dir);
    try {
      await persist(db, log, ents(1, 1, 1), { term: 1, vote: 'a', commit: 0 });
      const { ops } = log.readyOps({ entries: [], hardState: { term: 1, vote: 'a', commit: 1 } });
      assert.deepEqual(ops, []);
      const vote = log.readyOps({ entries: [], hardState: { term: 2, vote: 'c', commit: 1 } });
      assert.deepEqual(vote.ops, [{ type: 'put', key: RAFT_HARD_STATE, value: { term: 2, vote: 'c', commit: 1 } }]);
    } finally {
      await db.close();
    }
  });
});

test('the commit index read back is at least the applied index, as what is applied was committed', async () => {
  await withDir(async (dir) => {
    let { db, log } = await open(dir);
    await persist(db, log, ents(1, 4, 1), { term: 1, vote: 'a', commit: 0 });
    await persist(db, log, [], undefined, 3);
    await db.close();
    ({ db, log } = await open(dir));
    try {
      assert.equal(log.storage.initialState().hardState.commit, 3);
    } finally {
      await db.close();
    }
  });
});

test('a new leader\'s entries replace the conflicting tail on disk too', async () => {
  await withDir(async (dir) => {
    let { db, log } = await open(dir);
    await persist(db, log, ents(1, 5, 1), { term: 1, vote: 'a', commit: 0 });
    await persist(db, log, ents(3, 3, 2), { term: 2, vote: 'b', commit: 0 });
    await db.close();
    ({ db, log } = await open(dir));
    try {
      assert.equal(log.storage.lastIndex(), 3);
      assert.equal(log.storage.term(3), 2);
      assert.deepEqual(await entryKeys(db), [entryKey(1), entryKey(2), entryKey(3)]);
    } finally {
      await db.close();
    }
  });
});

for (const [what, key, value, message] of [
  ['a hard state that is not JSON', RAFT_HARD_STATE, '{"term":', /the value of r:hs is not valid JSON/],
  ['a hard state with a negative term', RAFT_HARD_STATE, '{"term":-1,"vote":"a","commit":0}', /r:hs has term -1/],
  ['an entry without its term', entryKey(2), '{"term":1}', /the entry at r:e:0000000000000002 does not start with its term and a newline/],
  ['a conf entry that does not decode', entryKey(2), '1c\n{}', /the entry at r:e:0000000000000002 is a conf change that does not decode/],
  ['a membership without voters', RAFT_CONF, '{"learners":[],"peers":{}}', /r:conf has voters that are not a list/],
  ['an applied index past the log', META_APPLIED, '9', /the applied index 9 \(m:applied\) is outside the log kept, 0 to 3/],
] as const) {
  test(`a log with ${what} is refused, naming the key`, async () => {
    await withDir(async (dir) => {
      const { db, log } = await open(dir);
      await persist(db, log, ents(1, 3, 1), { term: 1, vote: 'a', commit: 0 });
      await db.put(key, value, { valueEncoding: 'utf8' });
      await db.close();
      await assert.rejects(open(dir), message);
    });
  });
}

test('a log with an entry missing in the middle is refused, naming the missing key', async () => {
  await withDir(async (dir) => {
    const { db, log } = await open(dir);
    await persist(db, log, ents(1, 3, 1), { term: 1, vote: 'a', commit: 0 });
    await db.del(entryKey(2));
    await db.close();
    await assert.rejects(open(dir), /the entry at r:e:0000000000000002 is missing \(the next one kept is r:e:0000000000000003\)/);
  });
});

test('a log whose terms go down is refused', async () => {
  await withDir(async (dir) => {
    const { db, log } = await open(dir);
    await persist(db, log, ents(1, 3, 2), { term: 2, vote: 'a', commit: 0 });
    await db.put(entryKey(3), '1\nx', { valueEncoding: 'utf8' });
    await db.close();
    await assert.rejects(open(dir), /the entry at r:e:0000000000000003 has term 1, below the 2/);
  });
});

test('compaction by count keeps the catch-up tail, deletes older entry keys and survives a reopen', async () => {
  await withDir(async (dir) => {
    let { db, log } = await open(dir, { compactEntries: 10, catchUpEntries: 3 });
    await persist(db, log, ents(1, 10, 1), { term: 1, vote: 'a', commit: 0 }, 10);
    assert.equal(log.compactionPoint(10), undefined, 'ten entries are within the limit');
    await persist(db, log, ents(11, 12, 1), undefined, 12);
    const point = log.compactionPoint(12);
    assert.equal(point, 9);
    await db.batch(log.compactionOps(point!), { sync: true });
    log.persisted({ entries: [], wroteHardState: false, compactTo: point });
    assert.equal(log.storage.firstIndex(), 10);
    await db.close();
    ({ db, log } = await open(dir, { compactEntries: 10, catchUpEntries: 3 }));
    try {
      assert.equal(log.storage.firstIndex(), 10);
      assert.equal(log.storage.lastIndex(), 12);
      assert.equal(log.storage.term(9), 1);
      assert.deepEqual(await entryKeys(db), [entryKey(10), entryKey(11), entryKey(12)]);
    } finally {
      await db.close();
    }
  });
});

test('compaction by bytes starts when the kept entries are over the byte limit', async () => {
  await withDir(async (dir) => {
    const { db, log } = await open(dir, { compactEntries: 1000, compactBytes: 4096, catchUpEntries: 100 });
    try {
      const big = ents(1, 20, 1).map((e) => ({ ...e, data: 'x'.repeat(300) }));
      await persist(db, log, big, { term: 1, vote: 'a', commit: 0 }, 20);
      const point = log.compactionPoint(20);
      // A quarter of 4096 bytes holds three entries of 324 bytes: the rest go.
      assert.equal(point, 17);
    } finally {
      await db.close();
    }
  });
});

test('a bootstrap starts the log at a snapshot at index 1 with the membership, so joiners get a snapshot', async () => {
  await withDir(async (dir) => {
    let { db, log } = await open(dir, { bootstrap: conf });
    assert.equal(log.storage.firstIndex(), 2);
    await db.close();
    // Read back, and never bootstrapped again over a log that exists.
    ({ db, log } = await open(dir, { bootstrap: { voters: ['x'], learners: [], peers: {} } }));
    try {
      assert.deepEqual(log.bootstrapOps, []);
      assert.deepEqual(log.storage.initialState(), {
        hardState: { term: 1, vote: '', commit: 1 },
        confState: { voters: ['a', 'b', 'c'], learners: [] },
      });
      assert.equal(log.storage.firstIndex(), 2);
      assert.equal(log.storage.term(1), 1);
      assert.equal(log.applied, 1);
      assert.deepEqual(log.conf, conf);
    } finally {
      await db.close();
    }
  });
});

test('the snapshot the core sends is the state machine at the applied index, captured when the core asks', async () => {
  await withDir(async (dir) => {
    const { db, log } = await open(dir, { bootstrap: conf });
    try {
      await persist(db, log, ents(2, 4, 3), { term: 3, vote: 'a', commit: 0 }, 3);
      const requested: number[] = [];
      log.storage.onSnapshotRequested = (meta) => requested.push(meta.index);
      const snap = log.storage.snapshot();
      assert.deepEqual(snap.meta, { index: 3, term: 3, confState: { voters: ['a', 'b', 'c'], learners: [] } });
      assert.deepEqual(requested, [3]);
    } finally {
      await db.close();
    }
  });
});

test('a compaction point records the membership as of that index, which the core starts from on restart', async () => {
  await withDir(async (dir) => {
    let { db, log } = await open(dir, { bootstrap: conf, compactEntries: 3, catchUpEntries: 1 });
    const entries: Entry[] = [
      { term: 2, index: 2, type: 'normal', data: '' },
      { term: 2, index: 3, type: 'conf', data: JSON.stringify({ type: 'addLearner', node: 'd', context: 'd:1' }) },
      { term: 2, index: 4, type: 'normal', data: 'x' },
      { term: 2, index: 5, type: 'conf', data: JSON.stringify({ type: 'promote', node: 'd' }) },
      { term: 2, index: 6, type: 'normal', data: 'y' },
    ];
    await persist(db, log, entries, { term: 2, vote: 'a', commit: 0 }, 6);
    const point = log.compactionPoint(6);
    assert.equal(point, 5);
    const ops = log.compactionOps(4);
    assert.deepEqual(ops.at(-1), { type: 'put', key: 'r:snap', value: { index: 4, term: 2, voters: ['a', 'b', 'c'], learners: ['d'] } });
    await db.batch(ops, { sync: true });
    log.persisted({ entries: [], wroteHardState: false, compactTo: 4 });
    assert.deepEqual(log.storage.initialState().confState, { voters: ['a', 'b', 'c'], learners: ['d'] });
    await db.close();
    ({ db, log } = await open(dir));
    try {
      assert.deepEqual(log.storage.initialState().confState, { voters: ['a', 'b', 'c'], learners: ['d'] });
      assert.equal(log.storage.firstIndex(), 5);
    } finally {
      await db.close();
    }
  });
});
