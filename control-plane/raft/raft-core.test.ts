import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftError, RawNode } from './raft-core.js';
import { MemoryStorage } from './raft-memory-storage.js';
import { seededRandom, TestNetwork } from './raft-test-network.js';
import { message } from './raft-types.js';

test('a single member elects itself and commits what it is proposed', () => {
  const net = new TestNetwork(['a']);
  net.campaign('a');
  assert.equal(net.node('a').status().role, 'leader');
  net.propose('a', 'x');
  net.propose('a', 'y');
  assert.deepEqual(net.appliedData('a'), ['x', 'y']);
  assert.equal(net.node('a').status().commit, 3); // the leader's empty entry, then x and y
});

test('three members elect the campaigner and replicate and apply every proposal on all of them', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  assert.equal(net.leader(), 'a');
  for (const id of ['b', 'c']) {
    assert.equal(net.node(id).status().role, 'follower');
    assert.equal(net.node(id).status().leader, 'a');
  }
  for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
  net.tickAll(); // a heartbeat round tells followers the last commit index
  for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedData(id), ['p0', 'p1', 'p2', 'p3', 'p4']);
  assert.equal(net.node('b').status().term, 1); // pre-vote did not bump the term, the election did once
});

test('the vote is in the hardState of the Ready that sends the vote requests', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const n = new RawNode({ id: 'a', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(1), preVote: false });
  n.campaign();
  const rd = n.ready();
  assert.deepEqual(rd.hardState, { term: 1, vote: 'a', commit: 0 });
  assert.equal(rd.mustSync, true);
  assert.deepEqual(rd.messages.map((m) => [m.type, m.to, m.term]), [['MsgVote', 'b', 1], ['MsgVote', 'c', 1]]);
});

test('a member grants its vote in a Ready that also persists it', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const n = new RawNode({ id: 'b', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(1), preVote: false });
  n.step(message({ type: 'MsgVote', from: 'a', to: 'b', term: 1, index: 0, logTerm: 0 }));
  const rd = n.ready();
  assert.deepEqual(rd.hardState, { term: 1, vote: 'a', commit: 0 });
  assert.deepEqual(rd.messages.map((m) => [m.type, m.to, m.term, m.reject]), [['MsgVoteResp', 'a', 1, false]]);
});

test('ticks alone elect a leader, and the leader keeps followers quiet with heartbeats', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  let ticks = 0;
  while (net.leader() === undefined && ticks < 100) {
    net.tickAll();
    ticks++;
  }
  const leader = net.leader();
  assert.ok(leader !== undefined, 'no leader after 100 ticks');
  assert.ok(ticks >= 10 && ticks < 20, `elected after ${ticks} ticks, the timeout is in [10, 20)`);
  const term = net.node(leader).status().term;
  net.tickAll(50);
  assert.equal(net.leader(), leader);
  assert.equal(net.node(leader).status().term, term);
  assert.ok(net.trace.some((m) => m.type === 'MsgHeartbeat'));
});

test('proposing on a follower throws not-leader naming the leader', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  assert.throws(() => net.node('b').propose('x'), (e) => e instanceof RaftError && e.reason === 'not-leader' && e.leader === 'a');
});

test('messages of local-only types or addressed to another member are dropped from the network', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  const b = net.node('b');
  b.step(message({ type: 'MsgHup', from: 'c', to: 'b', term: 5 }));
  b.step(message({ type: 'MsgVote', from: 'c', to: 'x', term: 9, index: 100, logTerm: 100 }));
  b.step(message({ type: 'MsgApp', from: 'a', to: 'b', term: 1, index: 1, logTerm: 1, entries: [{ term: 1, index: 7, type: 'normal', data: '' }] }));
  net.deliver();
  assert.equal(b.status().term, 1);
  assert.equal(b.status().role, 'follower');
  assert.equal(b.status().lastIndex, 1);
});

test('no message from the network, however wrong or stale, makes step throw or break the log', () => {
  const rnd = seededRandom(99);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const types = ['MsgApp', 'MsgAppResp', 'MsgVote', 'MsgVoteResp', 'MsgPreVote', 'MsgPreVoteResp', 'MsgSnap', 'MsgHeartbeat', 'MsgHeartbeatResp',
    'MsgTransferLeader', 'MsgTimeoutNow', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgHup', 'MsgBeat', 'MsgProp', 'MsgUnreachable', 'MsgSnapStatus', 'MsgCheckQuorum'] as const;
  const nums = [0, 1, 2, 3, 5, 100, -1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER];
  for (let round = 0; round < 30; round++) {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const target = pick(['a', 'b']);
    const n = net.node(target);
    const before = net.member(target).applied.map((e) => `${e.index}:${e.term}`);
    for (let i = 0; i < 200; i++) {
      const idx = pick(nums);
      const m = message({
        type: pick(types), from: pick(['a', 'b', 'c', 'x', '']), to: pick([target, target, 'zz']), term: pick(nums), logTerm: pick(nums), index: idx,
        commit: pick(nums), reject: rnd() < 0.5, rejectHint: pick(nums), context: pick(['', '1', 'transfer', 'zz']),
        entries: rnd() < 0.5 ? [] : [{ index: Number.isFinite(idx) ? idx + 1 : 1, term: pick(nums), type: pick(['normal', 'conf', 'weird'] as const) as 'normal', data: 'e' }],
        ...(rnd() < 0.2 ? { snapshot: rnd() < 0.5 ? undefined : { meta: { index: pick(nums), term: pick(nums), confState: { voters: ['a', 'b', 'c'], learners: [] } }, data: '' } } : {}),
      });
      n.step(m);
      net.deliver();
    }
    // The entries it applied before stay applied as they were: nothing rewrote the committed log.
    const after = net.member(target).applied.map((e) => `${e.index}:${e.term}`);
    assert.deepEqual(after.slice(0, before.length), before);
  }
});

test('the host may step messages between ready() and advance(): nothing is handed out twice and replaced entries are not taken as durable', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const n = new RawNode({ id: 'b', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(1) });
  const e = (index: number, term: number, data: string) => ({ index, term, type: 'normal' as const, data });
  n.step(message({ type: 'MsgApp', from: 'a', to: 'b', term: 1, entries: [e(1, 1, 'x'), e(2, 1, 'y')], commit: 1 }));
  const rd1 = n.ready();
  assert.deepEqual(rd1.entries.map((x) => x.data), ['x', 'y']);
  assert.deepEqual(rd1.committedEntries.map((x) => x.data), ['x']);
  // Before rd1 is durable, a new leader replaces entry 2 and commits it.
  n.step(message({ type: 'MsgApp', from: 'c', to: 'b', term: 2, index: 1, logTerm: 1, entries: [e(2, 2, 'z')], commit: 2 }));
  const rd2 = n.ready();
  assert.deepEqual(rd2.entries.map((x) => x.data), ['z'], 'only the new entry');
  assert.deepEqual(rd2.committedEntries.map((x) => x.data), ['z'], 'x is not handed out again');
  for (const rd of [rd1, rd2]) {
    s.append(rd.entries);
    if (rd.hardState) s.setHardState(rd.hardState);
  }
  n.advance(rd1);
  assert.equal(n.hasReady(), false, 'what rd2 holds is with the host already');
  n.advance(rd2);
  assert.equal(n.hasReady(), false);
  assert.deepEqual(s.entries(1, 3).map((x) => x.data), ['x', 'z']);
  assert.equal(n.status().applied, 2);
});
