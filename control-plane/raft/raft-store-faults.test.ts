import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Level } from 'level';
import { join } from 'node:path';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { Db } from '../store/store-level.js';
import { create, RaftTestCluster } from '../testing/raft-cluster.js';
import { seededRandom } from './raft-test-network.js';
import { openRaftStore } from './raft-store.js';
import { MemoryNetwork } from './raft-transport-memory.js';

test('a replica with a damaged Raft record refuses to start, naming the record and the directory', async () => {
  const c = await RaftTestCluster.start();
  try {
    const leader = await c.waitLeader();
    await c.run(leader.propose(create('x')));
    const id = c.followers()[0]!.node.id;
    await c.close(id);
    const dir = join(c.dataDir(id), 'store');
    const db = new Level<string, unknown>(dir);
    await db.put('r:hs', '{"term":"two"}');
    await db.close();
    const err = await openRaftStore({ dataDir: c.dataDir(id), id, transport: new MemoryNetwork().transport(id) }).then(() => undefined, (e: unknown) => e);
    assert.ok(isBrambleError(err, 'STORE_FAILED'), String(err));
    assert.match((err as Error).message, new RegExp(`the store in ${dir} is corrupt: the Raft hard state at r:hs has term "two"`));
  } finally {
    await c.destroy();
  }
});

test('a crashed replica applies nothing twice after its restart and catches up', async () => {
  const c = await RaftTestCluster.start();
  try {
    const leader = await c.waitLeader();
    for (let i = 0; i < 5; i++) await c.run(leader.propose(create(`before-${i}`)));
    await c.until(() => c.converged(), 'converged');
    const id = c.followers()[0]!.node.id;
    await c.crash(id);
    for (let i = 0; i < 5; i++) await c.run(leader.propose(create(`while-down-${i}`)));
    const back = await c.open(id);
    await c.until(() => c.converged(), 'the crashed replica caught up');
    assert.equal(back.stats.commandsCommitted, 5);
  } finally {
    await c.destroy();
  }
});

test('a leader whose disk refuses a batch stops for good, rejects its writes with STORE_FAILED, and the others carry on', async () => {
  let failing = '';
  const fatal: BrambleError[] = [];
  const openDb = (dir: string): Db => {
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    const batch = db.batch.bind(db) as (...args: unknown[]) => unknown;
    (db as unknown as { batch: (...args: unknown[]) => unknown }).batch = (...args: unknown[]) => {
      if (failing && dir.includes(`/${failing}/`)) return Promise.reject(Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' }));
      return batch(...args);
    };
    return db;
  };
  const c = await RaftTestCluster.start({ store: { openDb, onFatal: (e) => fatal.push(e) } });
  try {
    const leader = await c.waitLeader();
    await c.run(leader.propose(create('before')));
    failing = leader.node.id;
    const err = await c.run(leader.propose(create('refused'))).then(() => undefined, (e: unknown) => e);
    assert.ok(isBrambleError(err, 'STORE_FAILED'), String(err));
    assert.match((err as Error).message, /No space left on device; it accepts no more writes/);
    assert.equal(fatal.length, 1);
    assert.ok(!leader.leadership.isLeader());
    const later = await leader.propose(create('later')).then(() => undefined, (e: unknown) => e);
    assert.equal(later, fatal[0]);
    await c.until(() => c.running().some((s) => s !== leader && s.leadership.isLeader()), 'another leader', 100);
    const next = c.running().find((s) => s !== leader && s.leadership.isLeader())!;
    await c.run(next.propose(create('after')));
  } finally {
    failing = '';
    await c.destroy();
  }
});

test('a write pending on a leader that loses its quorum is rejected, not left hanging', async () => {
  const c = await RaftTestCluster.start();
  try {
    const leader = await c.waitLeader();
    c.net.isolate(leader.node.id);
    const err = await c.run(leader.propose(create('cut-off')), 'the write settled', 40).then(() => undefined, (e: unknown) => e);
    assert.ok(isBrambleError(err, 'UNAVAILABLE'), String(err));
    assert.match((err as Error).message, /lost leadership before the write was applied; it may still commit/);
  } finally {
    await c.destroy();
  }
});

test('on a network that loses a fifth of the messages and duplicates some, every acknowledged write is on every replica', async () => {
  const c = await RaftTestCluster.start();
  try {
    c.net.faults = { drop: 0.2, duplicate: 0.1, random: seededRandom(42) };
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const leader = await c.waitLeader();
      const name = `lossy-${i}`;
      const ok = await c.run(leader.propose(create(name)), 'the write settled', 400).then(() => true, () => false);
      if (ok) acked.push(name);
    }
    assert.ok(acked.length >= 10, `only ${acked.length} of 20 writes were acknowledged`);
    c.net.faults = undefined;
    await c.until(() => c.converged(), 'converged once the network is sound');
    for (const s of c.running()) for (const n of acked) assert.ok(s.get('ConfigMap', 'default', n), `${n} on ${s.node.id}`);
  } finally {
    await c.destroy();
  }
});
