import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawNode } from './raft-core.js';
import { MemoryStorage } from './raft-memory-storage.js';
import { seededRandom, TestNetwork } from './raft-test-network.js';
import { message, type Entry } from './raft-types.js';

const ent = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: `e${index}` });

function follower(id: string, log: Entry[], term: number, opts: { preVote?: boolean; checkQuorum?: boolean } = {}): RawNode {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  s.append(log);
  s.setHardState({ term, vote: '', commit: 0 });
  return new RawNode({ id, storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(7), ...opts });
}

test('a member cut off with pre-vote keeps its term and does not disrupt the leader when it comes back', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.isolate('c');
  net.tickAll(100);
  assert.equal(net.node('c').status().term, 1);
  assert.notEqual(net.node('c').status().role, 'candidate');
  net.heal();
  net.tickAll(30);
  assert.equal(net.leader(), 'a');
  assert.equal(net.node('a').status().term, 1);
  net.propose('a', 'after');
  net.tickAll();
  assert.deepEqual(net.appliedData('c'), ['after']);
});

test('without pre-vote a member that comes back with a higher term forces a new election', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
  net.campaign('a');
  net.isolate('c');
  net.tickAll(100);
  assert.ok(net.node('c').status().term > 1);
  net.heal();
  net.tickAll(60);
  assert.ok(net.node('a').status().term > 1, 'the old leader moved to the higher term');
});

test('a leader that hears from no quorum within an election timeout steps down (check-quorum)', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.isolate('a');
  // Each check covers one election timeout; the first after the cut may still count replies from before it.
  net.tickAll(21);
  assert.equal(net.node('a').status().role, 'follower');
  assert.equal(net.node('a').status().term, 1, 'stepping down does not change the term');
  // Meanwhile b or c won the next term.
  const leader = net.leader();
  assert.ok(leader === 'b' || leader === 'c');
});

test('a leader that keeps its quorum stays leader through many check-quorum rounds', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.cutLink('a', 'c');
  net.tickAll(200);
  // a still hears b: a quorum of two. c cannot win: b and a are in lease and its pre-votes fail.
  assert.equal(net.leader(), 'a');
  assert.equal(net.node('a').status().term, 1);
});

test('a follower in a leader lease ignores a vote request of a higher term', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  const b = net.node('b');
  b.step(message({ type: 'MsgVote', from: 'c', to: 'b', term: 5, index: 100, logTerm: 100 }));
  assert.equal(b.status().term, 1);
  assert.equal(b.ready().messages.filter((m) => m.type === 'MsgVoteResp').length, 0);
});

test('a vote is granted only to a candidate whose log is at least as up to date (§5.4.1)', () => {
  const log = [ent(1, 1), ent(2, 2)];
  const cases: Array<[number, number, boolean]> = [
    [2, 2, true], // same
    [3, 2, true], // longer, same last term
    [1, 3, true], // higher last term wins over length
    [1, 2, false], // shorter with the same last term
    [5, 1, false], // longer but an older last term
  ];
  for (const [index, logTerm, granted] of cases) {
    const n = follower('b', log, 2, { preVote: false });
    n.step(message({ type: 'MsgVote', from: 'a', to: 'b', term: 3, index, logTerm }));
    const resp = n.ready().messages.find((m) => m.type === 'MsgVoteResp');
    assert.ok(resp, `no answer for ${index}/${logTerm}`);
    assert.equal(!resp.reject, granted, `candidate last entry ${index}/${logTerm}`);
    assert.equal(n.status().term, 3);
  }
});

test('a member votes once per term', () => {
  const n = follower('b', [], 0, { preVote: false });
  n.step(message({ type: 'MsgVote', from: 'a', to: 'b', term: 1 }));
  n.step(message({ type: 'MsgVote', from: 'c', to: 'b', term: 1 }));
  n.step(message({ type: 'MsgVote', from: 'a', to: 'b', term: 1 }));
  const answers = n.ready().messages.map((m) => [m.to, m.reject]);
  assert.deepEqual(answers, [['a', false], ['c', true], ['a', false]]);
});

test('a pre-vote is answered at the asked term without changing our term or vote', () => {
  const n = follower('b', [ent(1, 1)], 1);
  n.step(message({ type: 'MsgPreVote', from: 'a', to: 'b', term: 2, index: 1, logTerm: 1 }));
  const rd = n.ready();
  assert.deepEqual(rd.messages.map((m) => [m.type, m.term, m.reject]), [['MsgPreVoteResp', 2, false]]);
  assert.equal(n.status().term, 1);
  assert.equal(n.status().vote, '');
});

test('a pre-candidate that loses falls back to follower at its own term', () => {
  const n = follower('a', [ent(1, 1)], 1);
  n.campaign();
  assert.equal(n.status().role, 'preCandidate');
  n.ready();
  n.step(message({ type: 'MsgPreVoteResp', from: 'b', to: 'a', term: 2, reject: true }));
  n.step(message({ type: 'MsgPreVoteResp', from: 'c', to: 'a', term: 2, reject: true }));
  // A rejection carrying a higher term than ours moves us to it (as a follower); the pre-vote term itself does not.
  assert.equal(n.status().role, 'follower');
});

test('a learner and a member outside the config never campaign', () => {
  const s = MemoryStorage.bootstrap(['a']);
  const learner = new RawNode({ id: 'l', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(3) });
  for (let i = 0; i < 100; i++) learner.tick();
  learner.campaign();
  assert.equal(learner.status().role, 'follower');
  assert.equal(learner.hasReady(), false);
});

/** A member other than `dead` that leads (the dead one, cut off, still believes it does). */
function newLeader(net: TestNetwork, dead: string): string | undefined {
  for (const m of net.members.values()) if (m.id !== dead && m.node.status().role === 'leader') return m.id;
  return undefined;
}

/** Ticks until a leader other than `dead` exists; the ticks it took, or undefined within `max`. */
function ticksToNewLeader(net: TestNetwork, dead: string, max: number): number | undefined {
  for (let i = 1; i <= max; i++) {
    for (const m of net.members.values()) if (m.id !== dead) m.node.tick();
    net.deliver();
    if (newLeader(net, dead) !== undefined) return i;
  }
  return undefined;
}

test('followers that lose their stream to a dead leader elect a new one within a few ticks, without splitting the vote', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const net = new TestNetwork(['a', 'b', 'c'], { random: seededRandom(seed) });
    net.campaign('a');
    net.isolate('a'); // its process is gone
    net.node('b').reportUnreachable('a');
    net.node('c').reportUnreachable('a');
    const ticks = ticksToNewLeader(net, 'a', 10);
    assert.ok(ticks !== undefined && ticks <= 5, `seed ${seed}: a new leader after ${ticks} ticks (the election timeout is 10 to 20)`);
    const l = newLeader(net, 'a')!;
    // One campaign won at the next term: the survivors did not both stand at once.
    assert.equal(net.node(l).status().term, 2, `seed ${seed}`);
  }
});

test('without the report, followers wait out the election timeout after a leader dies', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.isolate('a');
  assert.equal(ticksToNewLeader(net, 'a', 9), undefined);
});

test('a follower told that a live leader is unreachable does not depose it: the others keep their lease', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.node('b').reportUnreachable('a'); // one lane broke; a itself is fine and reaches everyone
  net.tickAll(40);
  assert.equal(net.leader(), 'a');
  assert.equal(net.node('a').status().term, 1);
  assert.equal(net.node('b').status().leader, 'a', 'the next heartbeat gave b its leader back');
});

test('an unreachable peer that is not the leader changes nothing on a follower', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.node('c').reportUnreachable('b');
  assert.equal(net.node('c').status().leader, 'a');
  net.isolate('a');
  assert.equal(ticksToNewLeader(net, 'a', 9), undefined, 'c still waits a whole election timeout');
});
