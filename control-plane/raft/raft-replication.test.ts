import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftError, RawNode } from './raft-core.js';
import { MemoryStorage } from './raft-memory-storage.js';
import { seededRandom, TestNetwork } from './raft-test-network.js';
import { message, type Message } from './raft-types.js';

const isReason = (reason: RaftError['reason']) => (e: unknown) => e instanceof RaftError && e.reason === reason;

test('a follower that missed compacted entries catches up from a snapshot plus the log tail', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.isolate('c');
  for (let i = 0; i < 10; i++) net.propose('a', `p${i}`);
  net.compact('a');
  net.propose('a', 'tail');
  net.heal();
  net.tickAll(3);
  const c = net.member('c');
  assert.equal(c.snapshots, 1);
  assert.deepEqual(JSON.parse(c.snapshotData!), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9']);
  assert.deepEqual(net.appliedData('c'), ['tail']);
  assert.equal(net.node('c').status().commit, net.node('a').status().commit);
  assert.equal(net.node('a').status().progress!.get('c')!.state, 'replicate');
});

test('a snapshot reported failed is sent again', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.isolate('c');
  for (let i = 0; i < 3; i++) net.propose('a', `p${i}`);
  net.compact('a');
  net.heal();
  let failNext = true;
  net.filter = (m) => {
    if (m.type === 'MsgSnap' && failNext) {
      failNext = false; // the network reports it failed
      return false;
    }
    return true;
  };
  net.tickAll(4);
  assert.equal(net.trace.filter((m) => m.type === 'MsgSnap').length, 2);
  assert.equal(net.member('c').snapshots, 1);
  assert.equal(net.node('a').status().progress!.get('c')!.match, net.node('a').status().lastIndex);
});

test('a divergent follower is repaired in one round trip per term thanks to the conflict hints', () => {
  const net = new TestNetwork(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
  net.campaign('a');
  // a appends many entries of term 1 that only it has, then loses leadership.
  net.isolate('a');
  for (let i = 0; i < 50; i++) net.node('a').propose(`stale${i}`);
  net.deliver();
  net.campaign('b');
  for (let i = 0; i < 5; i++) net.propose('b', `new${i}`);
  net.heal();
  net.restart('a');
  const before = net.trace.length;
  net.tickAll(2);
  const rejects = net.trace.slice(before).filter((m) => m.type === 'MsgAppResp' && m.from === 'a' && m.reject);
  assert.ok(rejects.length <= 2, `${rejects.length} rejections`);
  assert.deepEqual(net.appliedData('a'), ['new0', 'new1', 'new2', 'new3', 'new4']);
});

test('MsgApps are batched by maxSizePerMsg and pipelined up to maxInflightMsgs', () => {
  const net = new TestNetwork(['a', 'b'], { maxSizePerMsg: 100, maxInflightMsgs: 3 });
  net.campaign('a');
  const a = net.node('a');
  const b = net.member('b');
  // Hold everything sent to b to watch the window fill.
  const held: Message[] = [];
  net.filter = (m) => {
    if (m.to === 'b' && m.type === 'MsgApp') {
      held.push(m);
      return false;
    }
    return true;
  };
  for (let i = 0; i < 20; i++) a.propose('x'.repeat(40)); // 64 bytes each with overhead: one per MsgApp
  net.deliver();
  const withEntries = held.filter((m) => m.entries.length > 0);
  assert.equal(withEntries.length, 3, 'the window of three is full');
  assert.ok(withEntries.every((m) => m.entries.length === 1));
  net.filter = () => true;
  net.deliver(held.splice(0));
  net.tickAll();
  assert.equal(b.node.status().lastIndex, a.status().lastIndex);
  assert.equal(b.applied.length, a.status().commit);
});

test('a follower that stays unreachable is probed again rather than streamed to', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  assert.equal(net.node('a').status().progress!.get('b')!.state, 'replicate');
  net.node('a').reportUnreachable('b');
  assert.equal(net.node('a').status().progress!.get('b')!.state, 'probe');
  net.tickAll();
  assert.equal(net.node('a').status().progress!.get('b')!.state, 'replicate');
});

test('leadership transfer: the leader catches the transferee up, then it wins at once', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.isolate('c');
  net.propose('a', 'x');
  net.heal();
  net.node('a').transferLeadership('c');
  net.deliver();
  assert.equal(net.leader(), 'c');
  assert.equal(net.node('c').status().term, 2);
  net.propose('c', 'y');
  net.tickAll();
  for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedData(id), ['x', 'y']);
});

test('a leader refuses proposals while it transfers leadership, and takes them again when the transfer times out', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.isolate('c');
  net.node('a').transferLeadership('c');
  net.deliver();
  assert.equal(net.node('a').status().leadTransferee, 'c');
  assert.throws(() => net.node('a').propose('x'), isReason('proposal-dropped'));
  net.tickAll(10);
  assert.equal(net.leader(), 'a');
  assert.equal(net.node('a').status().leadTransferee, '');
  net.propose('a', 'x');
  assert.deepEqual(net.appliedData('b'), ['x']);
});

test('a follower forwards a transfer request to its leader', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.node('b').transferLeadership('b');
  net.deliver();
  assert.equal(net.leader(), 'b');
});

test('a transferee campaigns past the leader lease of the other members', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.node('a').transferLeadership('b');
  net.deliver();
  // c heard from a a moment ago: only the transfer context lets b's vote through.
  assert.equal(net.leader(), 'b');
  assert.ok(net.trace.some((m) => m.type === 'MsgVote' && m.context === 'transfer'));
});

test('ReadIndex on the leader answers with the commit index only after a quorum acknowledged a heartbeat sent after it', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.propose('a', 'x');
  const a = net.member('a').node;
  assert.equal(a.hasReady(), false);
  a.readIndex('req-1');
  const rd = a.ready();
  assert.deepEqual(rd.readStates, [], 'nothing confirmed before the heartbeat round');
  const hb = rd.messages.filter((m) => m.type === 'MsgHeartbeat' && m.context !== '');
  assert.deepEqual(hb.map((m) => m.to), ['b', 'c']);
  a.advance(rd);
  // An answer to an older heartbeat (no context) confirms nothing.
  a.step(message({ type: 'MsgHeartbeatResp', from: 'b', to: 'a', term: 1 }));
  assert.deepEqual(a.ready().readStates, []);
  // One acknowledgement makes a quorum with the leader.
  a.step(message({ type: 'MsgHeartbeatResp', from: 'b', to: 'a', term: 1, context: hb[0]!.context }));
  assert.deepEqual(a.ready().readStates, [{ index: a.status().commit, context: 'req-1' }]);
});

test('ReadIndex through a follower is forwarded and answered with the leader\'s commit index', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.propose('a', 'x');
  const b = net.member('b');
  b.node.readIndex('req-b');
  let got: Array<{ index: number; context: string }> = [];
  for (let i = 0; i < 100 && got.length === 0; i++) {
    // Deliver a's messages until b has the answer.
    for (const m of net.members.values()) {
      while (m.node.hasReady()) {
        const rd = m.node.ready();
        m.storage.append(rd.entries);
        if (rd.hardState) m.storage.setHardState(rd.hardState);
        if (m.id === 'b') got = got.concat(rd.readStates);
        m.node.advance(rd);
        for (const msg of rd.messages) net.members.get(msg.to)?.node.step(msg);
      }
    }
  }
  assert.deepEqual(got, [{ index: net.node('a').status().commit, context: 'req-b' }]);
});

test('a new leader holds ReadIndex until an entry of its term is committed', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const a = new RawNode({ id: 'a', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(1), preVote: false });
  a.campaign();
  a.step(message({ type: 'MsgVoteResp', from: 'b', to: 'a', term: 1 }));
  assert.equal(a.status().role, 'leader');
  const rd = a.ready();
  s.append(rd.entries);
  a.advance(rd);
  a.readIndex('early');
  const rd2 = a.ready();
  assert.deepEqual(rd2.messages.filter((m) => m.type === 'MsgHeartbeat'), [], 'no heartbeat round before the commit');
  a.advance(rd2);
  a.step(message({ type: 'MsgAppResp', from: 'b', to: 'a', term: 1, index: 1 }));
  const rd3 = a.ready();
  assert.equal(a.status().commit, 1);
  const hb = rd3.messages.filter((m) => m.type === 'MsgHeartbeat' && m.context !== '');
  assert.equal(hb.length, 2, 'the held read starts its heartbeat round once committed');
  a.advance(rd3);
  a.step(message({ type: 'MsgHeartbeatResp', from: 'c', to: 'a', term: 1, context: hb[0]!.context }));
  assert.deepEqual(a.ready().readStates, [{ index: 1, context: 'early' }]);
});

test('a ReadIndex with no known leader throws not-leader', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const a = new RawNode({ id: 'a', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(1) });
  assert.throws(() => a.readIndex('x'), isReason('not-leader'));
});

test('a restarted member hands out again the committed entries after its applied index', () => {
  const net = new TestNetwork(['a']);
  net.campaign('a');
  net.propose('a', 'x');
  net.propose('a', 'y');
  const m = net.member('a');
  const n2 = new RawNode({ id: 'a', storage: m.storage, electionTick: 10, heartbeatTick: 1, random: seededRandom(2), applied: 2 });
  const rd = n2.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.data), ['y']);
  assert.equal(rd.hardState, undefined, 'nothing changed to persist');
  assert.throws(
    () => new RawNode({ id: 'a', storage: m.storage, electionTick: 10, heartbeatTick: 1, random: seededRandom(2), applied: 9 }),
    isReason('invalid'),
  );
  // A commit-only hard state that was never fsynced: applied stands in for the commit index.
  m.storage.setHardState({ ...m.storage.initialState().hardState, commit: 1 });
  const n3 = new RawNode({ id: 'a', storage: m.storage, electionTick: 10, heartbeatTick: 1, random: seededRandom(2), applied: 3 });
  assert.equal(n3.status().commit, 3);
  assert.equal(n3.hasReady(), false);
});

test('a restarted member keeps its term and vote, so it cannot vote twice in a term', () => {
  const s = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const mk = () => new RawNode({ id: 'c', storage: s, electionTick: 10, heartbeatTick: 1, random: seededRandom(1), preVote: false });
  const c = mk();
  c.step(message({ type: 'MsgVote', from: 'a', to: 'c', term: 1 }));
  const rd = c.ready();
  s.setHardState(rd.hardState!);
  c.advance(rd);
  const c2 = mk();
  c2.step(message({ type: 'MsgVote', from: 'b', to: 'c', term: 1 }));
  assert.equal(c2.ready().messages[0]!.reject, true);
});

test('config values out of range are refused with the rule and the value', () => {
  const s = MemoryStorage.bootstrap(['a']);
  assert.throws(() => new RawNode({ id: 'a', storage: s, electionTick: 1, heartbeatTick: 1, random: Math.random }), /electionTick must be greater than heartbeatTick \(1\): current value is 1/);
  assert.throws(() => new RawNode({ id: 'a', storage: s, electionTick: 10, heartbeatTick: 0, random: Math.random }), /heartbeatTick must be a positive integer: current value is 0/);
  assert.throws(() => new RawNode({ id: '', storage: s, electionTick: 10, heartbeatTick: 1, random: Math.random }), isReason('invalid'));
});

test('leadership goes only to a voter, and a transfer to a member being removed is abandoned', () => {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.add('l', new MemoryStorage());
  net.node('a').proposeConfChange({ type: 'addLearner', node: 'l' });
  net.deliver();
  assert.throws(() => net.node('a').transferLeadership('l'), isReason('invalid'));
  assert.throws(() => net.node('a').transferLeadership('nobody'), isReason('invalid'));
  net.isolate('c');
  net.node('a').transferLeadership('c');
  net.deliver();
  assert.equal(net.node('a').status().leadTransferee, 'c');
  net.node('a').applyConfChange({ type: 'remove', node: 'c' }); // as when the removal is applied
  assert.equal(net.node('a').status().leadTransferee, '');
  net.propose('a', 'x');
  assert.deepEqual(net.appliedData('b'), ['x']);
});
