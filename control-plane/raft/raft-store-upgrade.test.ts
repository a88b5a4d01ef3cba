import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { openLevelStore } from '../store/store-level.js';
import { create } from '../testing/raft-cluster.js';
import { openRaftStore } from './raft-store.js';
import { MemoryNetwork } from './raft-transport-memory.js';

test('an existing single-server store becomes the first member of a cluster with every object and revision kept', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'raft-upgrade-'));
  try {
    const plain = await openLevelStore({ dataDir });
    for (const n of ['x', 'y', 'z']) await plain.propose(create(n, { was: 'single' }));
    const before = plain.list('ConfigMap');
    await plain.close();

    const clock = new FakeClock();
    const store = await openRaftStore({ dataDir, id: 'a', transport: new MemoryNetwork().transport('a'), bootstrap: [{ id: 'a', address: 'a:7443' }], clock });
    try {
      assert.deepEqual(store.list('ConfigMap'), before);
      for (let i = 0; i < 300 && !store.leadership.isLeader(); i++) await clock.advance(100);
      assert.ok(store.leadership.isLeader(), 'a lone member elects itself');
      const r = await store.propose(create('after'));
      assert.equal(r.revision, before.revision + 1, 'revisions go on from the single server\'s');
    } finally {
      await store.close();
    }
    // And it stays a Raft member: reopened without a bootstrap, it is still its own cluster.
    const again = await openRaftStore({ dataDir, id: 'a', transport: new MemoryNetwork().transport('a'), clock });
    try {
      assert.equal(again.revision(), before.revision + 1);
      assert.deepEqual(again.node.status().confState.voters, ['a']);
    } finally {
      await again.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a bootstrap that leaves this member out is refused before anything is written', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'raft-upgrade-'));
  try {
    await assert.rejects(
      openRaftStore({ dataDir, id: 'a', transport: new MemoryNetwork().transport('a'), bootstrap: [{ id: 'b', address: 'b:7443' }] }),
      /the bootstrap members must include this member a: current value is b/,
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
