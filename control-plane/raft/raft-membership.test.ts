import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftError, RawNode } from './raft-core.js';
import { MemoryStorage } from './raft-memory-storage.js';
import { seededRandom, TestNetwork } from './raft-test-network.js';
import { encodeConfChange, message } from './raft-types.js';

const isReason = (reason: RaftError['reason']) => (e: unknown) => e instanceof RaftError && e.reason === reason;

/** A new replica: no log, no config, so it waits for the leader. */
function join(net: TestNetwork, id: string): void {
  net.add(id, new MemoryStorage());
}

/**
 * Adds a new replica as a learner the way the host does: once the change is applied,
 * the leader's host snapshots its state (naming the learner) for the learner to start from.
 */
function addLearner(net: TestNetwork, leader: string, id: string): void {
  join(net, id);
  net.node(leader).proposeConfChange({ type: 'addLearner', node: id, context: `${id}:1234` });
  net.deliver();
  net.compact(leader);
  net.tickAll(2);
}

test('a learner joins from a snapshot plus the log tail, and is promoted to a voter', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.propose('a', 'before');
  addLearner(net, 'a', 'd');
  net.propose('a', 'after');
  net.tickAll();
  assert.deepEqual(net.node('a').status().confState, { voters: ['a', 'b', 'c'], learners: ['d'] });
  assert.equal(net.member('d').snapshots, 1);
  assert.deepEqual(net.member('d').snapshotData, JSON.stringify(['before']));
  assert.deepEqual(net.appliedData('d'), ['after']);
  assert.deepEqual(net.member('d').confState, { voters: ['a', 'b', 'c'], learners: ['d'] });
  assert.equal(net.node('a').status().progress!.get('d')!.isLearner, true);
  net.node('a').proposeConfChange({ type: 'promote', node: 'd' });
  net.deliver();
  net.tickAll();
  for (const id of ['a', 'b', 'c', 'd']) assert.deepEqual(net.member(id).confState, { voters: ['a', 'b', 'c', 'd'], learners: [] }, id);
  // d now counts: with a and b cut off, c and d are no quorum of four, but any three are.
  net.isolate('a');
  net.tickAll(40);
  const leader = net.leader();
  assert.ok(leader !== undefined && leader !== 'a');
});

test('a new replica with no config refuses entries from the log and waits for a snapshot', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.add('d', new MemoryStorage()); // no snapshot on the leader: nothing it could send yet
  net.node('a').proposeConfChange({ type: 'addLearner', node: 'd' });
  net.deliver();
  net.tickAll(5);
  assert.equal(net.node('d').status().lastIndex, 0, 'd did not take entries without the config they build on');
  assert.equal(net.node('a').status().progress!.get('d')!.match, 0);
  net.compact('a');
  net.tickAll(2);
  assert.equal(net.member('d').snapshots, 1);
  assert.deepEqual(net.node('d').status().confState, { voters: ['a', 'b', 'c'], learners: ['d'] });
  assert.equal(net.node('a').status().progress!.get('d')!.match, net.node('a').status().lastIndex);
});

test('a learner does not count toward commit', () => {
  const net = new TestNetwork(['a', 'b']);
  net.campaign('a');
  addLearner(net, 'a', 'l');
  net.cutLink('a', 'b');
  const commit = net.node('a').status().commit;
  net.propose('a', 'x');
  assert.equal(net.node('a').status().progress!.get('l')!.match, net.node('a').status().lastIndex, 'the learner has it');
  assert.equal(net.node('a').status().commit, commit, 'but a and l are not a quorum of {a, b}');
});

test('a learner does not count toward check-quorum: a leader that only hears learners steps down', () => {
  const net = new TestNetwork(['a', 'b']);
  net.campaign('a');
  join(net, 'l');
  net.node('a').proposeConfChange({ type: 'addLearner', node: 'l' });
  net.deliver();
  net.cutLink('a', 'b');
  net.tickAll(21);
  assert.notEqual(net.node('a').status().role, 'leader');
});

test('a learner and a new replica outside the config never campaign', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  join(net, 'd');
  join(net, 'e');
  net.node('a').proposeConfChange({ type: 'addLearner', node: 'd' });
  net.deliver();
  net.isolate('d');
  net.isolate('e');
  net.tickAll(100);
  for (const id of ['d', 'e']) {
    assert.equal(net.node(id).status().role, 'follower', id);
    assert.equal(net.trace.filter((m) => m.from === id && (m.type === 'MsgPreVote' || m.type === 'MsgVote')).length, 0, id);
  }
});

test('a member removed from the config stops campaigning and the rest carry on', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.node('a').proposeConfChange({ type: 'remove', node: 'c' });
  net.deliver();
  net.tickAll();
  assert.deepEqual(net.member('c').confState, { voters: ['a', 'b'], learners: [] });
  net.isolate('c');
  const before = net.trace.length;
  net.tickAll(100);
  assert.equal(net.trace.slice(before).filter((m) => m.from === 'c').length, 0, 'c sends nothing');
  net.heal();
  net.propose('a', 'two of two');
  assert.deepEqual(net.appliedData('b'), ['two of two']);
});

test('a leader that removes itself steps down and the others elect a new leader', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.node('a').proposeConfChange({ type: 'remove', node: 'a' });
  net.deliver();
  assert.notEqual(net.node('a').status().role, 'leader');
  net.tickAll(40);
  const leader = net.leader();
  assert.ok(leader === 'b' || leader === 'c', `leader ${leader}`);
  net.propose(leader, 'x');
  net.tickAll();
  assert.deepEqual(net.appliedData(leader === 'b' ? 'c' : 'b'), ['x']);
});

test('one membership change at a time: a second is refused until the first is applied', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  join(net, 'd');
  join(net, 'e');
  const a = net.node('a');
  a.proposeConfChange({ type: 'addLearner', node: 'd' });
  assert.throws(() => a.proposeConfChange({ type: 'addLearner', node: 'e' }), isReason('conf-change-pending'));
  net.deliver();
  a.proposeConfChange({ type: 'addLearner', node: 'e' });
  net.deliver();
  assert.deepEqual(a.status().confState.learners, ['d', 'e']);
});

test('a new leader refuses membership changes until it has applied the first entry of its term', () => {
  const s = MemoryStorage.bootstrap(['a']);
  const net = new TestNetwork([]);
  net.add('a', s);
  const a = net.node('a');
  a.campaign();
  assert.equal(a.status().role, 'leader');
  assert.throws(() => a.proposeConfChange({ type: 'addLearner', node: 'b' }), isReason('conf-change-pending'));
  net.deliver(); // persists, commits and applies the leader's empty entry
  a.proposeConfChange({ type: 'addLearner', node: 'b' });
});

test('membership changes that make no sense are refused as invalid', () => {
  const net = new TestNetwork(['a', 'b']);
  net.campaign('a');
  const a = net.node('a');
  assert.throws(() => a.proposeConfChange({ type: 'addLearner', node: 'b' }), isReason('invalid'));
  assert.throws(() => a.proposeConfChange({ type: 'promote', node: 'x' }), isReason('invalid'));
  assert.throws(() => a.proposeConfChange({ type: 'remove', node: 'x' }), isReason('invalid'));
  assert.throws(() => a.proposeConfChange({ type: 'bogus' as 'remove', node: 'b' }), isReason('invalid'));
  assert.throws(() => net.node('b').proposeConfChange({ type: 'remove', node: 'a' }), isReason('not-leader'));
});

test('a committed but unapplied membership change keeps a member from campaigning until it is applied', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const b = new RawNode({ id: 'b', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(5) });
  const cc = { type: 'addLearner' as const, node: 'x' };
  b.step(message({ type: 'MsgApp', from: 'a', to: 'b', term: 1, entries: [{ index: 1, term: 1, type: 'conf', data: encodeConfChange(cc) }], commit: 1 }));
  const rd = b.ready();
  assert.equal(rd.committedEntries.length, 1);
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
  b.campaign();
  assert.equal(b.status().role, 'follower', 'the change may alter the quorum: no campaign before it is applied');
  b.applyConfChange(cc);
  b.advance(rd);
  b.campaign();
  assert.equal(b.status().role, 'preCandidate');
});

test('a member restarted with applied past its snapshot keeps the membership changes it applied', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.node('a').proposeConfChange({ type: 'remove', node: 'c' });
  net.deliver();
  net.tickAll();
  const b = net.member('b');
  const applied = b.node.status().applied;
  // b's storage still has the bootstrap config {a, b, c} in its snapshot; the removal is an entry at or before applied.
  assert.deepEqual(b.storage.initialState().confState.voters, ['a', 'b', 'c']);
  const restarted = net.restart('b', { applied });
  assert.deepEqual(restarted.node.status().confState, { voters: ['a', 'b'], learners: [] });
  assert.deepEqual(restarted.node.ready().committedEntries, [], 'nothing handed out again');
});

test('a leader does not send a new replica a snapshot from before it joined', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.propose('a', 'x');
  net.compact('a'); // before the change: names only a, b and c
  join(net, 'd');
  net.node('a').proposeConfChange({ type: 'addLearner', node: 'd' });
  net.deliver();
  net.tickAll(3);
  assert.equal(net.trace.filter((m) => m.type === 'MsgSnap').length, 0);
  net.compact('a');
  net.tickAll(2);
  assert.equal(net.member('d').snapshots, 1);
});

test('a member removed while cut off, which never learns it, does not disrupt the cluster when it comes back', () => {
  const net = new TestNetwork(['a', 'b', 'c', 'd']);
  net.campaign('a');
  net.isolate('d');
  net.node('a').proposeConfChange({ type: 'remove', node: 'd' });
  net.deliver();
  net.tickAll();
  assert.deepEqual(net.node('a').status().confState.voters, ['a', 'b', 'c']);
  net.heal();
  net.tickAll(100);
  assert.equal(net.leader(), 'a');
  assert.equal(net.node('a').status().term, 1);
  assert.ok(net.trace.some((m) => m.from === 'd' && m.type === 'MsgPreVote'), 'd did try');
  assert.equal(net.node('d').status().term, 1, 'pre-vote kept d from raising its term');
});
