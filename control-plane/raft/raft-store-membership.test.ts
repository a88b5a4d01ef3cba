import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../../proto/util/errors.js';
import { create, RaftTestCluster } from '../testing/raft-cluster.js';

test('a member is added as a learner, catches up by a snapshot, is promoted, and another is removed', async () => {
  const c = await RaftTestCluster.start();
  try {
    const leader = await c.waitLeader();
    for (let i = 0; i < 5; i++) await c.run(leader.propose(create(`before-${i}`)));
    const d = await c.join('d');
    assert.equal(d.revision(), 0);
    const learner = await c.run(leader.node.proposeConfChange({ type: 'addLearner', node: 'd', context: 'd.test:7443' }));
    assert.deepEqual(learner.learners, ['d']);
    await c.until(() => c.converged(), 'the learner caught up');
    assert.equal(d.stats.snapshotsInstalled, 1, 'a joiner gets its first state by a snapshot');
    assert.equal(d.objectCount(), 5);
    assert.ok(!d.leadership.isLeader());

    const promoted = await c.run(leader.node.proposeConfChange({ type: 'promote', node: 'd' }));
    assert.deepEqual([...promoted.voters].sort(), ['a', 'b', 'c', 'd']);
    await c.until(() => c.running().every((s) => s.node.status().confState.voters.length === 4), 'every member sees four voters');
    for (const s of c.running()) assert.equal(s.node.status().peers.d, 'd.test:7443', `${s.node.id} knows d's address`);
    assert.equal(d.node.status().peers.a, 'a.test:7443', 'the snapshot carried the other members\' addresses');

    const removed = c.running().find((s) => s !== leader && s !== d)!.node.id;
    const after = await c.run(leader.node.proposeConfChange({ type: 'remove', node: removed }));
    assert.ok(!after.voters.includes(removed));
    await c.close(removed);
    await c.run(leader.propose(create('after-remove')));
    await c.until(() => c.converged(), 'the remaining members converged');
    assert.equal(d.objectCount(), 6);
  } finally {
    await c.destroy();
  }
});

test('a second membership change while one is not applied is refused', async () => {
  const c = await RaftTestCluster.start();
  try {
    const leader = await c.waitLeader();
    await c.join('d');
    const first = leader.node.proposeConfChange({ type: 'addLearner', node: 'd', context: 'd.test:7443' });
    const second = await leader.node.proposeConfChange({ type: 'remove', node: 'd' }).then(() => undefined, (e: unknown) => e);
    assert.ok(isBrambleError(second, 'UNAVAILABLE'), String(second));
    assert.match(String(second), /one membership change at a time/);
    await c.run(first);
  } finally {
    await c.destroy();
  }
});

for (const [what, store] of [['', {}], [' (with the log compacted past the changes)', { compactEntries: 4, catchUpEntries: 1 }]] as const) {
  test(`addMember adds a learner, waits until it has caught up, then promotes it; removeMember removes one${what}`, async () => {
    const c = await RaftTestCluster.start({ store });
    try {
      const leader = await c.waitLeader();
      for (let i = 0; i < 5; i++) await c.run(leader.propose(create(`before-${i}`)));
      const d = await c.join('d');
      await c.run(leader.addMember('d', 'd.test:7443'));
      assert.deepEqual([...leader.node.status().confState.voters].sort(), ['a', 'b', 'c', 'd']);
      await c.until(() => d.objectCount() === 5, 'the new voter applied what it caught up on');
      // A restarted member rebuilds the same membership from its disk (compaction point plus the changes after it).
      const other = c.running().find((s) => s !== leader && s !== d)!.node.id;
      await c.close(other);
      const back = await c.open(other);
      assert.deepEqual([...back.node.status().confState.voters].sort(), ['a', 'b', 'c', 'd']);
      assert.deepEqual(back.node.status().confState.learners, []);
      await c.until(() => c.converged(), 'the restarted member caught up');
      await c.run(leader.removeMember('d'));
      assert.deepEqual([...leader.node.status().confState.voters].sort(), ['a', 'b', 'c']);
    } finally {
      await c.destroy();
    }
  });
}

test('addMember gives up on a member that does not catch up, leaving it a learner', async () => {
  const c = await RaftTestCluster.start();
  try {
    const leader = await c.waitLeader();
    // Never started: it cannot catch up.
    const err = await c.run(leader.addMember('ghost', 'ghost.test:7443', { catchUpTimeoutMs: 2000 })).then(() => undefined, (e: unknown) => e);
    assert.ok(isBrambleError(err, 'UNAVAILABLE'), String(err));
    assert.match((err as Error).message, /ghost has not caught up .* it stays a learner/);
    assert.deepEqual(leader.node.status().confState.learners, ['ghost']);
  } finally {
    await c.destroy();
  }
});
