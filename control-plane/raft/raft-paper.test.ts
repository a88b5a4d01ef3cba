// The Raft paper's rules, one member at a time (the scenarios of etcd-io/raft's
// raft_paper_test.go, §5): the member under test is a RawNode; its peers are
// played by hand-written messages. Pre-vote and check-quorum are off here, as in
// the paper; their tests are in raft-election.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawNode } from './raft-core.js';
import { MemoryStorage } from './raft-memory-storage.js';
import { seededRandom, TestNetwork } from './raft-test-network.js';
import { message, type Entry, type HardState, type Message, type Ready } from './raft-types.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i + 1));
/** Entries with these terms, starting at index `from`. */
const terms = (from: number, ...ts: number[]): Entry[] => ts.map((term, i) => ({ index: from + i, term, type: 'normal', data: '' }));

class Solo {
  readonly storage: MemoryStorage;
  readonly node: RawNode;
  /** Every committed entry handed out so far. */
  readonly applied: Entry[] = [];

  constructor(readonly id: string, peers: string[], o: { log?: Entry[]; hs?: Partial<HardState>; electionTick?: number; seed?: number } = {}) {
    this.storage = MemoryStorage.bootstrap(peers);
    if (o.log) this.storage.append(o.log);
    if (o.hs) this.storage.setHardState({ term: 0, vote: '', commit: 0, ...o.hs });
    this.node = new RawNode({
      id, storage: this.storage, electionTick: o.electionTick ?? 10, heartbeatTick: 1, random: seededRandom(o.seed ?? 1), preVote: false, checkQuorum: false,
    });
  }

  /** One host round: persist, collect, advance. */
  round(): Ready {
    const rd = this.node.ready();
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    this.applied.push(...rd.committedEntries);
    this.node.advance(rd);
    return rd;
  }

  /** Every message until there is nothing more to do, sorted by recipient. */
  msgs(): Message[] {
    const out: Message[] = [];
    while (this.node.hasReady()) out.push(...this.round().messages);
    return out.sort((a, b) => a.to.localeCompare(b.to) || a.type.localeCompare(b.type));
  }

  committed(): Entry[] {
    while (this.node.hasReady()) this.round();
    return this.applied;
  }

  step(m: Partial<Message> & Pick<Message, 'type'>): void {
    this.node.step(message({ to: this.id, ...m }));
  }

  /** Campaign and win with the votes of every peer. */
  becomeLeader(): void {
    this.node.campaign();
    const term = this.node.status().term;
    for (const m of this.msgs()) if (m.type === 'MsgVote') this.step({ type: 'MsgVoteResp', from: m.to, term });
    assert.equal(this.node.status().role, 'leader');
  }

  /** The leader's empty entry acknowledged by everyone: committed. */
  commitNoop(): void {
    for (const m of this.msgs()) if (m.type === 'MsgApp') this.step(acceptAndReply(m));
    this.msgs();
  }
}

function acceptAndReply(m: Message): Message {
  return message({ type: 'MsgAppResp', from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

for (const role of ['follower', 'candidate', 'leader'] as const) {
  test(`a ${role} that receives a message of a higher term moves to it as a follower (§5.1)`, () => {
    const r = new Solo('1', ids(3));
    if (role === 'follower') r.step({ type: 'MsgHeartbeat', from: '2', term: 1 });
    if (role === 'candidate') r.node.campaign();
    if (role === 'leader') r.becomeLeader();
    r.step({ type: 'MsgApp', from: '2', term: 2 });
    assert.equal(r.node.status().term, 2);
    assert.equal(r.node.status().role, 'follower');
    assert.equal(r.node.status().leader, '2');
  });
}

test('a message of a stale term is ignored (§5.1)', () => {
  const r = new Solo('1', ids(3), { hs: { term: 2 } });
  r.step({ type: 'MsgApp', from: '2', term: 1, entries: terms(1, 1) });
  r.step({ type: 'MsgVote', from: '3', term: 1 });
  assert.equal(r.node.status().lastIndex, 0);
  assert.equal(r.node.status().vote, '');
  assert.equal(r.msgs().length, 0);
});

test('a member starts as a follower (§5.2)', () => {
  assert.equal(new Solo('1', ids(3)).node.status().role, 'follower');
});

test('a leader sends heartbeats to every follower each heartbeat interval, with the commit each is known to hold (§5.2)', () => {
  const r = new Solo('1', ids(3));
  r.becomeLeader();
  r.msgs();
  r.node.tick();
  const hb = r.msgs().filter((m) => m.type === 'MsgHeartbeat');
  assert.deepEqual(hb.map((m) => [m.to, m.term, m.commit]), [['2', 1, 0], ['3', 1, 0]]);
});

for (const role of ['follower', 'candidate'] as const) {
  test(`a ${role} that hears nothing for an election timeout starts an election at the next term, voting for itself (§5.2)`, () => {
    const r = new Solo('1', ids(3));
    if (role === 'follower') r.step({ type: 'MsgHeartbeat', from: '2', term: 1 });
    else r.node.campaign();
    r.msgs();
    for (let i = 1; i < 2 * 10; i++) r.node.tick();
    assert.equal(r.node.status().term, 2);
    assert.equal(r.node.status().role, 'candidate');
    assert.equal(r.node.status().vote, '1');
    const votes = r.msgs().filter((m) => m.type === 'MsgVote');
    assert.deepEqual(votes.map((m) => [m.to, m.term, m.index, m.logTerm]), [['2', 2, 0, 0], ['3', 2, 0, 0]]);
  });
}

test('an election is won with a majority of votes, lost with a majority of rejections, else still pending (§5.2)', () => {
  const cases: Array<[number, Record<string, boolean>, string]> = [
    [1, {}, 'leader'],
    [3, { 2: true, 3: true }, 'leader'],
    [3, { 2: true }, 'leader'],
    [5, { 2: true, 3: true, 4: true, 5: true }, 'leader'],
    [5, { 2: true, 3: true }, 'leader'],
    [3, { 2: false, 3: false }, 'follower'],
    [5, { 2: false, 3: false, 4: false, 5: false }, 'follower'],
    [5, { 2: true, 3: false, 4: false, 5: false }, 'follower'],
    [3, {}, 'candidate'],
    [5, { 2: true }, 'candidate'],
    [5, { 2: false, 3: false }, 'candidate'],
  ];
  for (const [size, votes, want] of cases) {
    const r = new Solo('1', ids(size));
    r.node.campaign();
    for (const [id, granted] of Object.entries(votes)) r.step({ type: 'MsgVoteResp', from: id, term: 1, reject: !granted });
    assert.equal(r.node.status().role, want, `${size} members, votes ${JSON.stringify(votes)}`);
    assert.equal(r.node.status().term, 1);
  }
});

test('a follower votes for at most one candidate per term, first come first served (§5.2)', () => {
  const cases: Array<[string, string, boolean]> = [['', '2', false], ['', '3', false], ['2', '2', false], ['3', '3', false], ['2', '3', true], ['3', '2', true]];
  for (const [vote, candidate, reject] of cases) {
    const r = new Solo('1', ids(3), { hs: { term: 1, vote } });
    r.step({ type: 'MsgVote', from: candidate, term: 1 });
    assert.deepEqual(r.msgs().map((m) => [m.type, m.to, m.term, m.reject]), [['MsgVoteResp', candidate, 1, reject]]);
  }
});

test('a candidate that hears from a leader of its term or a later one becomes its follower (§5.2)', () => {
  for (const term of [1, 2]) {
    const r = new Solo('1', ids(3));
    r.node.campaign();
    assert.equal(r.node.status().role, 'candidate');
    r.step({ type: 'MsgApp', from: '2', term });
    assert.equal(r.node.status().role, 'follower');
    assert.equal(r.node.status().term, term);
  }
});

test('election timeouts are randomized over [electionTick, 2*electionTick) (§5.2)', () => {
  const r = new Solo('1', ids(3), { seed: 42 });
  const seen = new Set<number>();
  for (let round = 0; round < 500; round++) {
    r.step({ type: 'MsgHeartbeat', from: '2', term: r.node.status().term + 1 });
    r.msgs();
    let t = 0;
    while (!r.msgs().some((m) => m.type === 'MsgVote')) {
      r.node.tick();
      t++;
    }
    seen.add(t);
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
});

test('a leader appends a proposal and sends it with the index and term of the entry before it (§5.3)', () => {
  const r = new Solo('1', ids(3));
  r.becomeLeader();
  r.commitNoop();
  const li = r.node.status().lastIndex;
  r.node.propose('some data');
  const rd = r.node.ready();
  assert.deepEqual(rd.entries, [{ index: li + 1, term: 1, type: 'normal', data: 'some data' }]);
  assert.deepEqual(
    rd.messages.map((m) => [m.type, m.to, m.index, m.logTerm, m.commit, m.entries.map((e) => e.data)]),
    [['MsgApp', '2', li, 1, li, ['some data']], ['MsgApp', '3', li, 1, li, ['some data']]],
  );
  assert.equal(r.node.status().commit, li);
});

test('a leader commits an entry once a majority holds it, and tells followers the new commit index (§5.3)', () => {
  const r = new Solo('1', ids(3));
  r.becomeLeader();
  r.commitNoop();
  const li = r.node.status().lastIndex;
  r.node.propose('some data');
  for (const m of r.msgs()) r.step(acceptAndReply(m));
  assert.equal(r.node.status().commit, li + 1);
  const rd = r.round();
  assert.deepEqual(rd.committedEntries.map((e) => e.data), ['some data']);
  assert.deepEqual(rd.messages.map((m) => [m.type, m.commit]), [['MsgApp', li + 1], ['MsgApp', li + 1]]);
});

test('an entry is committed only when a majority, the leader included, holds it (§5.3)', () => {
  const cases: Array<[number, string[], boolean]> = [
    [1, [], true], [3, [], false], [3, ['2'], true], [3, ['2', '3'], true],
    [5, [], false], [5, ['2'], false], [5, ['2', '3'], true], [5, ['2', '3', '4', '5'], true],
  ];
  for (const [size, acceptors, committed] of cases) {
    const r = new Solo('1', ids(size));
    r.becomeLeader();
    r.commitNoop();
    const li = r.node.status().lastIndex;
    r.node.propose('some data');
    for (const m of r.msgs()) if (acceptors.includes(m.to)) r.step(acceptAndReply(m));
    r.msgs();
    assert.equal(r.node.status().commit > li, committed, `${size} members, acceptors ${acceptors}`);
  }
});

test('committing an entry commits every entry before it, those of earlier leaders too (§5.3)', () => {
  for (const log of [[], terms(1, 2), terms(1, 1, 2), terms(1, 1)]) {
    const r = new Solo('1', ids(3), { log, hs: { term: 2 } });
    r.becomeLeader();
    r.node.propose('some data');
    // Answer every MsgApp until the leader has nothing more to send.
    for (let msgs = r.msgs(); msgs.length > 0; msgs = r.msgs()) for (const m of msgs) if (m.type === 'MsgApp') r.step(acceptAndReply(m));
    const li = log.length;
    assert.deepEqual(
      r.committed().map((e) => [e.index, e.term, e.data]),
      [...log.map((e) => [e.index, e.term, '']), [li + 1, 3, ''], [li + 2, 3, 'some data']],
    );
  }
});

test('a follower applies entries up to the commit index its leader sends (§5.3)', () => {
  const cases: Array<[Entry[], number]> = [
    [[{ index: 1, term: 1, type: 'normal', data: 'a' }], 1],
    [[{ index: 1, term: 1, type: 'normal', data: 'a' }, { index: 2, term: 1, type: 'normal', data: 'b' }], 2],
    [[{ index: 1, term: 1, type: 'normal', data: 'a' }, { index: 2, term: 1, type: 'normal', data: 'b' }], 1],
  ];
  for (const [ents, commit] of cases) {
    const r = new Solo('1', ids(3));
    r.step({ type: 'MsgApp', from: '2', term: 1, entries: ents, commit });
    assert.equal(r.node.status().commit, commit);
    assert.deepEqual(r.committed(), ents.slice(0, commit));
  }
});

test('a follower refuses entries unless it holds the entry before them with the same term, and hints where to retry (§5.3)', () => {
  const ents = terms(1, 1, 2);
  const cases: Array<[number, number, number, boolean, number, number]> = [
    // logTerm, index → answer index, reject, rejectHint, hint logTerm
    [0, 0, 1, false, 0, 0], // below the commit index: answered with the commit index
    [1, 1, 1, false, 0, 0],
    [2, 2, 2, false, 0, 0],
    [1, 2, 2, true, 1, 1], // our entry 2 has term 2: retry after 1
    [3, 3, 3, true, 2, 2], // we have no entry 3
  ];
  for (const [logTerm, index, wIndex, wReject, wHint, wHintTerm] of cases) {
    const r = new Solo('1', ids(3), { log: ents, hs: { term: 2, commit: 1 } });
    r.step({ type: 'MsgApp', from: '2', term: 2, logTerm, index });
    const got = r.msgs().map((m) => [m.type, m.to, m.term, m.index, m.reject, m.rejectHint, m.logTerm]);
    assert.deepEqual(got, [['MsgAppResp', '2', 2, wIndex, wReject, wHint, wHintTerm]], `MsgApp after ${index}/${logTerm}`);
  }
});

test('a follower drops its conflicting tail and appends what is new, persisting it (§5.3)', () => {
  const cases: Array<[number, number, Entry[], number[], number[]]> = [
    [2, 2, terms(3, 3), [1, 2, 3], [3]],
    [1, 1, terms(2, 3, 4), [1, 3, 4], [3, 4]],
    [0, 0, terms(1, 1), [1, 2], []],
    [0, 0, terms(1, 3), [3], [3]],
  ];
  for (const [index, logTerm, ents, wTerms, wUnstable] of cases) {
    const r = new Solo('1', ids(3), { log: terms(1, 1, 2), hs: { term: 2 } });
    // (A leader of term 4: no leader sends entries of a term after its own; such a message is dropped as malformed.)
    r.step({ type: 'MsgApp', from: '2', term: 4, logTerm, index, entries: ents });
    const rd = r.round();
    assert.deepEqual(rd.entries.map((e) => e.term), wUnstable);
    assert.deepEqual(r.storage.entries(1, r.storage.lastIndex() + 1).map((e) => e.term), wTerms);
  }
});

test('a new leader brings every divergent follower log of figure 7 in line with its own (§5.3)', () => {
  const leaderLog = terms(1, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
  const followers = [
    terms(1, 1, 1, 1, 4, 4, 5, 5, 6, 6), // (a) missing one
    terms(1, 1, 1, 1, 4, 4), // (b) missing many
    terms(1, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6), // (c) one extra uncommitted
    terms(1, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7), // (d) extra of a later term
    terms(1, 1, 1, 1, 4, 4, 4, 4), // (e) divergent term 4
    terms(1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3), // (f) divergent terms 2 and 3
  ];
  for (const [i, flog] of followers.entries()) {
    const net = new TestNetwork([], { preVote: false, checkQuorum: false });
    const ls = MemoryStorage.bootstrap(['1', '2', '3']);
    ls.append(leaderLog);
    ls.setHardState({ term: 8, vote: '', commit: leaderLog.length });
    net.add('1', ls);
    const fs = MemoryStorage.bootstrap(['1', '2', '3']);
    fs.append(flog);
    fs.setHardState({ term: 7, vote: '', commit: 0 });
    net.add('2', fs);
    // 3 only votes for 1 (2 may hold a more up-to-date log and refuse): it is played by hand.
    net.node('1').campaign();
    net.deliver([message({ type: 'MsgVoteResp', from: '3', to: '1', term: 9 })]);
    assert.equal(net.leader(), '1', `follower (${'abcdef'[i]})`);
    net.propose('1', 'x');
    const log = (s: MemoryStorage) => s.entries(1, s.lastIndex() + 1).map((e) => `${e.term}:${e.data}`);
    assert.deepEqual(log(fs), log(ls), `follower (${'abcdef'[i]})`);
  }
});

test('a vote request carries the candidate\'s last index and term (§5.4.1)', () => {
  for (const [ents, wTerm] of [[terms(1, 1), 2], [terms(1, 1, 2), 3]] as const) {
    const r = new Solo('1', ids(3));
    r.step({ type: 'MsgApp', from: '2', term: wTerm - 1, entries: [...ents] });
    r.msgs();
    for (let i = 1; i < 2 * 10; i++) r.node.tick();
    const votes = r.msgs().filter((m) => m.type === 'MsgVote');
    assert.deepEqual(votes.map((m) => [m.to, m.term, m.index, m.logTerm]), ['2', '3'].map((to) => [to, wTerm, ents.at(-1)!.index, ents.at(-1)!.term]));
  }
});

test('a voter refuses a candidate whose log is less up to date than its own (§5.4.1)', () => {
  const cases: Array<[Entry[], number, number, boolean]> = [
    [terms(1, 1), 1, 1, false], [terms(1, 1), 1, 2, false], [terms(1, 1, 1), 1, 1, true],
    [terms(1, 1), 2, 1, false], [terms(1, 1), 2, 2, false], [terms(1, 1, 1), 2, 1, false],
    [terms(1, 2), 1, 1, true], [terms(1, 2), 1, 2, true], [terms(1, 2, 2), 1, 1, true], [terms(1, 1, 1), 1, 1, true],
  ];
  for (const [log, logTerm, index, reject] of cases) {
    const r = new Solo('1', ids(2), { log });
    r.step({ type: 'MsgVote', from: '2', term: 3, logTerm, index });
    const got = r.msgs();
    assert.equal(got.length, 1);
    assert.equal(got[0]!.reject, reject, `log ${log.map((e) => e.term)} vs candidate ${index}/${logTerm}`);
  }
});

test('a leader commits by counting only entries of its own term (§5.4.2)', () => {
  for (const [acked, wCommit] of [[1, 0], [2, 0], [3, 3]]) {
    const r = new Solo('1', ids(2), { log: terms(1, 1, 2), hs: { term: 2 } });
    r.becomeLeader(); // term 3, its empty entry at index 3
    r.msgs();
    r.step({ type: 'MsgAppResp', from: '2', term: 3, index: acked });
    r.msgs();
    assert.equal(r.node.status().commit, wCommit, `follower acknowledged up to ${acked}`);
  }
});

test('figure 8: an entry of an earlier term on a majority is not committed, and a later leader may replace it (§5.4.2)', () => {
  const net = new TestNetwork(['1', '2', '3', '4', '5'], { preVote: false, checkQuorum: false, maxSizePerMsg: 1 });
  const campaignUntilLeader = (id: string) => {
    for (let i = 0; i < 3 && net.node(id).status().role !== 'leader'; i++) net.campaign(id);
    assert.equal(net.node(id).status().role, 'leader', `${id} won`);
  };
  const log = (id: string) => {
    const s = net.member(id).storage;
    return s.entries(1, s.lastIndex() + 1).map((e) => `${e.term}:${e.data}`);
  };
  // (a) 1 leads term 1 and gets its entry at index 2 to 2 only.
  net.campaign('1');
  for (const id of ['3', '4', '5']) net.cutLink('1', id);
  net.propose('1', 'term1-entry');
  // (b) 1 crashes; 5 wins term 2 with 3 and 4, and appends at index 2 and 3 entries nobody else gets.
  net.heal();
  net.restart('1');
  net.isolate('1');
  net.cutLink('5', '2');
  net.filter = (m) => !(m.type === 'MsgApp' && m.from === '5');
  campaignUntilLeader('5');
  net.propose('5', 'term2-entry');
  // (c) 5 is down; 1 comes back, wins term 3 with 2 and 3, and copies its term-1 entry to 3 but not its own empty entry of term 3.
  net.heal();
  net.restart('5');
  net.isolate('5');
  net.cutLink('1', '4');
  // The network loses the term-3 entry from every MsgApp (and delivers the rest, so followers still answer).
  net.filter = (m) => {
    if (m.type === 'MsgApp') m.entries = m.entries.filter((e) => e.term !== 3);
    return true;
  };
  campaignUntilLeader('1');
  net.tickAll(3);
  for (const id of ['1', '2', '3']) assert.deepEqual(log(id).slice(0, 2), ['1:', '1:term1-entry'], `${id} holds the term-1 entry`);
  const progress = net.node('1').status().progress!;
  assert.deepEqual(['2', '3'].map((id) => progress.get(id)!.match), [2, 2], 'the leader knows it is on a majority');
  assert.equal(net.node('1').status().commit, 1, 'and still does not commit it');
  // (d) 1 is down; 5 wins again (its last term 2 beats the term-1 entry) and replaces entry 2 everywhere.
  net.filter = () => true;
  net.heal();
  net.restart('1');
  net.isolate('1');
  campaignUntilLeader('5');
  net.propose('5', 'after');
  net.tickAll();
  for (const id of ['2', '3', '4', '5']) {
    assert.deepEqual(net.appliedData(id), ['term2-entry', 'after'], `${id} applied the new leader's entries and never the replaced one`);
    assert.equal(log(id)[1], '2:');
  }
});
