import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../../proto/util/errors.js';
import type { StoreEvent } from '../store/store.js';
import { create, RaftTestCluster, update } from '../testing/raft-cluster.js';
import { isNotLeader } from './raft-node.js';
import type { RaftStore } from './raft-store.js';

async function withCluster(fn: (c: RaftTestCluster) => Promise<void>, opts: Parameters<typeof RaftTestCluster.start>[0] = {}): Promise<void> {
  const c = await RaftTestCluster.start(opts);
  try {
    await fn(c);
  } finally {
    await c.destroy();
  }
}

test('a write on the leader commits and appears on every replica with the same revision and contents', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const first = await c.run(leader.propose(create('one', { k: 'v' })));
  assert.equal(first.objects[0]!.metadata.resourceVersion, String(first.revision));
  for (let i = 0; i < 5; i++) await c.run(leader.propose(create(`more-${i}`)));
  await c.until(() => c.converged(), 'every replica at the leader\'s revision');
  for (const s of c.running()) {
    assert.equal(s.revision(), first.revision + 5);
    assert.deepEqual(s.get('ConfigMap', 'default', 'one'), first.objects[0]);
  }
}));

test('concurrent writes share batches and keep one order on every replica', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const results = await c.run(Promise.all(Array.from({ length: 40 }, (_, i) => leader.propose(create(`cm-${i}`)))));
  const revisions = results.map((r) => r.revision).sort((x, y) => x - y);
  assert.deepEqual(revisions, revisions.map((_, i) => revisions[0]! + i), 'one revision each, no gaps');
  assert.ok(leader.node.stats.syncedBatches < 40, `40 writes took ${leader.node.stats.syncedBatches} fsynced batches on the leader`);
  await c.until(() => c.converged(), 'every replica at the leader\'s revision');
}));

test('writes proposed in one turn of the event loop reach the leader\'s disk in one fsynced batch', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  await c.settle();
  const before = leader.node.stats.syncedBatches;
  // All 20 are proposed before the loop takes its next Ready: that Ready appends them together.
  const results = await c.run(Promise.all(Array.from({ length: 20 }, (_, i) => leader.propose(create(`turn-${i}`)))));
  assert.equal(results.length, 20);
  assert.equal(leader.node.stats.syncedBatches - before, 1, `20 writes of one turn took ${leader.node.stats.syncedBatches - before} fsynced batches on the leader`);
  await c.until(() => c.converged(), 'every replica at the leader\'s revision');
}));

test('a precondition is decided when the entry is applied, identically on every replica, and a failed one makes no revision', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  // Both pass any check at propose time; only the one applied first can create the object.
  const [a, b] = await c.run(Promise.allSettled([leader.propose(create('race', { by: 'a' })), leader.propose(create('race', { by: 'b' }))]));
  assert.equal(a.status, 'fulfilled');
  assert.equal(b.status, 'rejected');
  assert.ok(isBrambleError((b as PromiseRejectedResult).reason, 'ALREADY_EXISTS'), String((b as PromiseRejectedResult).reason));
  const rv = (a as PromiseFulfilledResult<{ revision: number }>).value.revision;
  const stale = await c.run(Promise.allSettled([
    leader.propose(update('race', String(rv), { by: 'first update' })),
    leader.propose(update('race', String(rv), { by: 'second update' })),
  ]));
  assert.equal(stale[0].status, 'fulfilled');
  assert.equal(stale[1].status, 'rejected');
  assert.ok(isBrambleError((stale[1] as PromiseRejectedResult).reason, 'CONFLICT'));
  assert.match(String((stale[1] as PromiseRejectedResult).reason), /is at resourceVersion \d+, the request carried \d+/);
  await c.until(() => c.converged() && c.running().every((s) => s.stats.commandsFailed === 2), 'every replica applied all four');
  for (const s of c.running()) {
    assert.equal(s.revision(), rv + 1, 'two successes, two revisions');
    assert.equal((s.get('ConfigMap', 'default', 'race') as unknown as { data: { by: string } }).data.by, 'first update');
    assert.equal(s.stats.commandsFailed, 2);
  }
}));

test('a follower refuses a write with the leader\'s name', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  await c.until(() => c.followers().every((f) => f.node.status().leader === leader.node.id), 'followers know the leader');
  const follower = c.followers()[0]!;
  const err = await follower.propose(create('x')).then(() => undefined, (e: unknown) => e);
  assert.ok(isNotLeader(err), String(err));
  assert.equal(err.leader, leader.node.id);
  assert.ok(isBrambleError(err, 'NOT_LEADER'));
  assert.match(err.message, new RegExp(`the leader is ${leader.node.id}`));
}));

test('a restarted replica applies nothing twice and catches up', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  for (let i = 0; i < 5; i++) await c.run(leader.propose(create(`before-${i}`)));
  await c.until(() => c.converged(), 'all at the same revision');
  const id = c.followers()[0]!.node.id;
  await c.close(id);
  for (let i = 0; i < 5; i++) await c.run(leader.propose(create(`while-down-${i}`)));
  const back = await c.open(id);
  await c.until(() => c.converged(), 'the restarted replica caught up');
  assert.equal(back.stats.commandsCommitted, 5, 'only the five writes it missed are applied after the restart');
  assert.equal(back.stats.commandsFailed, 0);
  assert.equal(back.revision(), leader.revision());
}));

test('killing the leader elects another and every acknowledged write survives', () => withCluster(async (c) => {
  const old = await c.waitLeader();
  const acked: string[] = [];
  for (let i = 0; i < 5; i++) {
    await c.run(old.propose(create(`acked-${i}`)));
    acked.push(`acked-${i}`);
  }
  // One more in flight when the leader dies: its outcome is unknown, never a lie.
  const inFlight = old.propose(create('in-flight')).then(() => 'ok', () => 'failed');
  const oldId = old.node.id;
  await c.crash(oldId);
  assert.equal(await inFlight, 'failed');
  const next = await c.waitLeader();
  assert.notEqual(next.node.id, oldId);
  await c.run(next.propose(create('after-failover')));
  acked.push('after-failover');
  for (const s of c.running()) await c.until(() => acked.every((n) => s.get('ConfigMap', 'default', n) !== undefined), `${s.node.id} has every acknowledged write`);
  const reopened = await c.open(oldId);
  const reopenedAt = reopened.revision();
  await c.until(() => c.converged(), 'the old leader rejoined and caught up');
  for (const n of acked) assert.ok(c.store(oldId).get('ConfigMap', 'default', n), `${n} survived on the old leader`);
  // Exactly once across the crash: what it applies after the restart is exactly what its disk lacked.
  assert.equal(reopened.stats.commandsCommitted, reopened.revision() - reopenedAt);
}));

test('a linearizable read on a follower returns only after it has applied what the leader acknowledged', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  await c.until(() => c.followers().every((f) => f.node.status().leader === leader.node.id), 'followers know the leader');
  const follower = c.followers()[0]!;
  await c.run(leader.propose(create('seen')));
  await c.run(follower.linearizableRead());
  assert.ok(follower.get('ConfigMap', 'default', 'seen'));
}));

test('reads asked together on a follower share one ReadIndex', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  await c.until(() => c.followers().every((f) => f.node.status().leader === leader.node.id), 'followers know the leader');
  const follower = c.followers()[0]!;
  await c.run(leader.propose(create('seen')));
  const before = c.net.sentByType.get('MsgReadIndex') ?? 0;
  await c.run(Promise.all(Array.from({ length: 20 }, () => follower.linearizableRead())));
  assert.equal((c.net.sentByType.get('MsgReadIndex') ?? 0) - before, 1);
  assert.ok(follower.get('ConfigMap', 'default', 'seen'));
}));

test('a linearizable read on the leader resolves, and one on a member that knows no leader is refused', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  await c.run(leader.linearizableRead());
  // Not a member yet: it knows no leader, so it refuses at once instead of waiting for a timeout.
  const lone = await c.join('lonely');
  const err = await lone.linearizableRead().then(() => undefined, (e: unknown) => e);
  assert.ok(isNotLeader(err), String(err));
  assert.equal(err.leader, '');
  assert.match(err.message, /lonely is not the leader and knows no leader yet/);
}));

test('the applied barrier on the leader asks no other member and holds what was committed; on a follower it is a ReadIndex', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  await c.until(() => c.followers().every((f) => f.node.status().leader === leader.node.id), 'followers know the leader');
  const sent = (): number => [...c.net.sentByType.values()].reduce((a, b) => a + b, 0);
  // Proposed together: committed before the leader has applied them all, so the barrier has something to wait for.
  const writes = Array.from({ length: 10 }, (_, i) => leader.propose(create(`b-${i}`)));
  await c.until(() => leader.node.status().commit > leader.node.status().applied || leader.revision() >= 10, 'entries committed on the leader');
  const commit = leader.node.status().commit;
  await c.run(Promise.all([leader.appliedBarrier(), ...writes]));
  assert.ok(leader.node.status().applied >= commit, `applied ${leader.node.status().applied} of ${commit} committed`);
  await c.settle();
  const before = sent();
  await leader.appliedBarrier();
  assert.equal(sent() - before, 0, 'nothing sent: applied already holds every commit');

  const follower = c.followers()[0]!;
  const readIndexes = c.net.sentByType.get('MsgReadIndex') ?? 0;
  await c.run(follower.appliedBarrier());
  assert.equal((c.net.sentByType.get('MsgReadIndex') ?? 0) - readIndexes, 1);
  for (let i = 0; i < 10; i++) assert.ok(follower.get('ConfigMap', 'default', `b-${i}`));
}));

test('a watch on a follower sees every write with the leader\'s revisions', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const follower = c.followers()[0]!;
  const seen: StoreEvent[] = [];
  const w = follower.watch({ kind: 'ConfigMap', fromRevision: 0 }, (e) => seen.push(e));
  const r1 = await c.run(leader.propose(create('w')));
  const r2 = await c.run(leader.propose(update('w', String(r1.revision), { k: '2' })));
  await c.until(() => seen.length === 2, 'the follower delivered both events');
  w.cancel();
  assert.deepEqual(seen.map((e) => [e.type, e.revision]), [['ADDED', r1.revision], ['MODIFIED', r2.revision]]);
}));

test('a replica far behind a compacted log catches up by a snapshot plus the log tail', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const id = c.followers()[0]!.node.id;
  await c.close(id);
  for (let i = 0; i < 30; i++) await c.run(leader.propose(create(`cm-${i}`)));
  assert.ok(leader.node.status().lastIndex > 20);
  const back = await c.open(id);
  await c.until(() => c.converged(), 'the replica caught up');
  assert.equal(back.stats.snapshotsInstalled, 1);
  assert.equal(back.objectCount(), leader.objectCount());
  // What it installed is on disk: it reopens at the same state.
  await c.close(id);
  const again = await c.open(id);
  assert.equal(again.revision(), leader.revision());
  assert.deepEqual(again.list('ConfigMap'), leader.list('ConfigMap'));
}, { store: { compactEntries: 10, catchUpEntries: 2 } }));

test('a watch resumes on another replica from its revision without losing or repeating an event', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const [f1, f2] = c.followers();
  const seen: number[] = [];
  const w1 = f1!.watch({ kind: 'ConfigMap', fromRevision: 0 }, (e) => seen.push(e.revision));
  const all: number[] = [];
  for (let i = 0; i < 3; i++) all.push((await c.run(leader.propose(create(`first-${i}`)))).revision);
  await c.until(() => seen.length === 3, 'the first replica delivered three');
  w1.cancel();
  for (let i = 0; i < 3; i++) all.push((await c.run(leader.propose(create(`then-${i}`)))).revision);
  const w2 = f2!.watch({ kind: 'ConfigMap', fromRevision: seen.at(-1)! }, (e) => seen.push(e.revision));
  await c.until(() => seen.length === 6, 'the second replica delivered the rest');
  w2.cancel();
  assert.deepEqual(seen, all);
}));

test('a watch on a replica that catches up by a snapshot still sees every event, in order', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const follower = c.followers()[0]!;
  const seen: number[] = [];
  const w = follower.watch({ kind: 'ConfigMap', fromRevision: 0 }, (e) => seen.push(e.revision));
  c.net.isolate(follower.node.id);
  const revisions: number[] = [];
  for (let i = 0; i < 30; i++) revisions.push((await c.run(leader.propose(create(`cm-${i}`)))).revision);
  c.net.heal();
  await c.until(() => c.converged() && seen.length === 30, 'the cut-off replica caught up and delivered');
  w.cancel();
  assert.equal(follower.stats.snapshotsInstalled, 1);
  assert.deepEqual(seen, revisions);
}, { store: { compactEntries: 10, catchUpEntries: 2 } }));

test('a leader cut off from its quorum reports that it is no longer the leader, within an election timeout', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const changes: boolean[] = [];
  leader.leadership.onChange((l) => changes.push(l));
  c.net.isolate(leader.node.id);
  await c.until(() => !leader.leadership.isLeader(), 'the cut-off leader stepped down', 25);
  assert.deepEqual(changes, [false]);
  await c.until(() => c.leader() !== undefined && c.leader() !== leader, 'the others elected a leader');
  c.net.heal();
  await c.run(c.leader()!.propose(create('after-heal')));
  await c.until(() => c.converged(), 'the old leader caught up');
}));

test('a leader that steps down before a planned stop hands over without waiting for an election timeout', () => withCluster(async (c) => {
  const old = await c.waitLeader();
  await c.run(old.propose(create('before')));
  await c.until(() => c.converged(), 'converged');
  const started = c.clock.now();
  assert.equal(await c.run(old.stepDown()), true);
  await c.until(() => c.leader() !== undefined, 'the new leader reports itself');
  const next = c.leader()!;
  assert.notEqual(next, old);
  assert.ok(c.clock.now() - started < 1000, `the hand-over took ${c.clock.now() - started} ms, an election timeout is 1000 ms`);
  await c.close(old.node.id);
  await c.run(next.propose(create('after')));
}));

test('an idle cluster writes nothing to disk', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  await c.run(leader.propose(create('one')));
  await c.until(() => c.converged(), 'converged');
  for (let i = 0; i < 5; i++) {
    await c.clock.advance(c.tickMs);
    await c.settle();
  }
  const before = c.running().map((s) => s.node.stats.batches);
  for (let i = 0; i < 100; i++) {
    await c.clock.advance(c.tickMs);
    await c.settle();
  }
  assert.ok(leader.leadership.isLeader(), 'heartbeats kept the leader');
  assert.deepEqual(c.running().map((s) => s.node.stats.batches), before);
}));

test('with a small event window, updates, deletes and a snapshot install leave every replica at the same state after a restart', () => withCluster(async (c) => {
  const leader = await c.waitLeader();
  const put = (name: string, v: string) => ({ ops: [{ type: 'put' as const, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v } } }] });
  const del = (name: string) => ({ ops: [{ type: 'delete' as const, kind: 'ConfigMap', namespace: 'default', name }] });
  for (const name of ['a', 'b', 'c']) await c.run(leader.propose(put(name, `${name}1`)));
  const away = c.followers()[0]!.node.id;
  await c.close(away);
  // Past the event window (3) and the log's compaction point (10): the member away gets a snapshot.
  for (let i = 2; i < 8; i++) {
    await c.run(leader.propose(put('a', `a${i}`)));
    await c.run(leader.propose(put(i % 2 ? 'b' : 'd', `x${i}`)));
    if (i === 5) await c.run(leader.propose(del('c')));
  }
  await c.run(leader.propose(del('b')));
  await c.open(away);
  await c.until(() => c.converged(), 'the member away caught up');
  assert.equal(c.store(away).stats.snapshotsInstalled, 1);
  await c.run(leader.propose(put('c', 'c-again')));
  await c.until(() => c.converged(), 'all at the same revision');
  const want = { list: leader.list('ConfigMap'), revision: leader.revision(), oldest: leader.oldestResumableRevision() };
  assert.deepEqual(want.list.items.map((o) => o.metadata.name), ['a', 'c', 'd']);
  const events = async (s: RaftStore, from: number): Promise<StoreEvent[]> => {
    const seen: StoreEvent[] = [];
    // fromRevision 0 would mean "from now"; after 1, so a store that retains everything is compared too.
    const w = s.watch({ fromRevision: Math.max(from, 1) }, (e) => seen.push(e));
    // The backlog is delivered on later turns of the event loop (store-watch.ts), in chunks of 500.
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
    w.cancel();
    return seen;
  };
  const history = await events(leader, want.oldest);
  assert.ok(history.length > 0);
  for (const id of c.ids) await c.close(id);
  for (const id of c.ids) {
    const s = await c.open(id);
    assert.deepEqual(s.list('ConfigMap'), want.list, `${id} reopened at the same objects`);
    assert.equal(s.revision(), want.revision);
    // The window after a restart starts at the checkpoint at the latest (raft-store-disk.ts);
    // the events it holds are the ones the leader delivered, rebuilt from the log.
    const oldest = s.oldestResumableRevision();
    assert.ok(oldest >= want.oldest && oldest < want.revision, `${id} resumes from ${oldest}`);
    assert.deepEqual(await events(s, oldest), history.filter((e) => e.revision > oldest), `${id} retains the same events`);
  }
}, { store: { retainEvents: 3, compactEntries: 10, catchUpEntries: 2 } }));
