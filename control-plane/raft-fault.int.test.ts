// Fault tests of the replicated control plane with real processes on loopback:
// three `bramble server` members under concurrent load from several clients while
// a nemesis kills the leader, pauses and partitions members and restarts them.
// The recorded history must be linearizable (a verdict of 'unknown' within the
// checker's budget fails too: a history nobody could decide proves nothing), no
// acknowledged write may be lost, and every member must end with the same
// revision and contents. Then: a watch cut by the kill of its member and resumed
// elsewhere sees every event once; members join and leave (the leader too) under
// load; a member's snapshot restored into a new data dir serves the same data.
// BRAMBLE_FAULT_SEED=N replays a run's choices (timing still varies).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openCluster, type ClusterConnection } from './cli/cli-client.js';
import { readClientConfig } from './pki/client-config.js';
import { checkStoreHistory } from './testing/store-history-check.js';
import type { StoreOperation } from './testing/linearizability-model.js';
import { StoreWorkload, WORKLOAD_NAMESPACE } from './testing/store-workload.js';
import { FaultCluster } from '../test/support/fault-cluster.js';
import { Nemesis } from '../test/support/nemesis.js';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../test/support/server-process.js';

const SEED = Number(process.env.BRAMBLE_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS_PER_MEMBER = 2;
const CHECK_BUDGET_MS = 30_000;

/** Every ConfigMap of the workload as one member holds it, read from its own state. */
async function contentsOn(conn: ClusterConnection): Promise<{ revision: number; objects: string[] }> {
  const res = await conn.list({ kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE, consistency: 'serializable' });
  return { revision: Number(res.revision), objects: [...res.objects].sort() };
}

/**
 * What each member holds, read again until all agree or the deadline passes: a member
 * that reports the leader's applied index may not have answered the read yet.
 */
async function contentsOfAll(cluster: FaultCluster, names: readonly string[], ms = 15_000): Promise<{ name: string; revision: number; objects: string[] }[]> {
  const conns = await Promise.all(names.map((n) => cluster.connect(n)));
  const deadline = Date.now() + ms;
  for (;;) {
    const views = await Promise.all(conns.map(async (c, i) => ({ name: names[i]!, ...(await contentsOn(c)) })));
    const same = views.every((v) => v.revision === views[0]!.revision && JSON.stringify(v.objects) === JSON.stringify(views[0]!.objects));
    if (same || Date.now() > deadline) return views;
    await delay(200);
  }
}

/**
 * Each acknowledged create or update of a key is the final value of that key, or a
 * later write replaced it: the final resourceVersion is above it, or the key is gone
 * and some delete of it may have taken effect.
 */
function lostWrites(history: readonly StoreOperation[], final: Map<string, { value: string; resourceVersion: number } | undefined>): string[] {
  const lost: string[] = [];
  for (const op of history) {
    const o = op.result?.output;
    if (op.input.type !== 'create' && op.input.type !== 'update') continue;
    if (o?.type !== 'written' || o.revision === undefined) continue;
    const now = final.get(op.input.key);
    if (now === undefined) {
      const deleted = history.some((d) => d.input.type === 'delete' && d.input.key === op.input.key && d.result?.output.type !== 'failed');
      if (!deleted) lost.push(`${op.input.key}: ${op.input.value} at ${o.revision} acknowledged, the key is gone and no delete of it ran`);
    } else if (now.resourceVersion < o.revision || (now.resourceVersion === o.revision && now.value !== op.input.value)) {
      lost.push(`${op.input.key}: ${op.input.value} at ${o.revision} acknowledged, the key ends at ${JSON.stringify(now.value)} ${now.resourceVersion}`);
    }
  }
  return lost;
}

describe('a replicated control plane under faults', { timeout: 240_000 }, () => {
  let cluster: FaultCluster;

  before(async () => {
    cluster = await FaultCluster.start(['cp1', 'cp2', 'cp3']);
    await cluster.waitHealthy({ converged: true });
  });
  after(async () => {
    await cluster?.close();
  });

  test('under kills, pauses, partitions and restarts, the history is linearizable, no acknowledged write is lost, and the members converge', async () => {
    const clients: ClusterConnection[] = [];
    for (const name of ['cp1', 'cp2', 'cp3']) for (let i = 0; i < CLIENTS_PER_MEMBER; i++) clients.push(await cluster.connect(name));
    const workload = new StoreWorkload({ clients, seed: SEED, prefix: 'nemesis-', sleep: (ms) => delay(ms), thinkMs: 5 });
    const nemesis = new Nemesis(cluster, { seed: SEED });
    const context = (): string => `seed ${SEED} (BRAMBLE_FAULT_SEED=${SEED} replays it)\n${nemesis.describe()}\nload: ${JSON.stringify(workload.stats)}`;

    workload.start();
    try {
      await nemesis.run();
    } finally {
      await workload.stop();
      cluster.heal();
    }
    const healthy = await cluster.waitHealthy({ converged: true, timeoutMs: 30_000 });
    const reader = await cluster.connect(healthy.leader);
    const final = await workload.finalReads(reader);
    const history = workload.history();
    assert.ok(workload.stats.answered > 200, `the load got work done: ${context()}`);

    assert.deepEqual(workload.anomalies, [], `answers no correct server gives: ${context()}`);
    const lost = lostWrites(history, final);
    assert.deepEqual(lost, [], `acknowledged writes lost: ${context()}`);

    const started = Date.now();
    const verdict = checkStoreHistory(history, { timeBudgetMs: CHECK_BUDGET_MS });
    // 'unknown' fails too: a history the checker cannot decide proves nothing.
    assert.equal(verdict.result, 'ok', `${verdict.message}\n${context()}`);
    console.log(`checked ${history.length} operations in ${Date.now() - started} ms: ${verdict.message}; ${context()}`);

    const views = await contentsOfAll(cluster, ['cp1', 'cp2', 'cp3']);
    for (const v of views.slice(1)) {
      assert.equal(v.revision, views[0]!.revision, `${v.name} is at the revision of ${views[0]!.name}`);
      assert.deepEqual(v.objects, views[0]!.objects, `${v.name} holds what ${views[0]!.name} holds`);
    }
  });
  test('a watch resumed on another member from the last revision it saw, after its member was killed, gets every later event exactly once', async () => {
    const healthy = await cluster.waitHealthy({ converged: true });
    const names = ['cp1', 'cp2', 'cp3'];
    // Watch on a follower, write through the leader, resume on the third member.
    const watched = names.find((n) => n !== healthy.leader)!;
    const resumeOn = names.find((n) => n !== healthy.leader && n !== watched)!;
    const writer = await cluster.connect(healthy.leader);
    const from = Number((await writer.list({ kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE })).revision);

    type Seen = { revision: number; type: string; name: string; resourceVersion: string };
    const seen: Seen[] = [];
    /** Streams events into `into`; `done` resolves with the error that ended the stream, if any. */
    const consume = (conn: ClusterConnection, fromRevision: number, into: Seen[]): { cancel(): void; done: Promise<unknown> } => {
      const stream = conn.watch({ kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE, fromRevision });
      const done = (async () => {
        try {
          for await (const e of stream) {
            const o = JSON.parse(e.object) as { metadata: { name: string; resourceVersion: string } };
            into.push({ revision: Number(e.revision), type: e.type, name: o.metadata.name, resourceVersion: o.metadata.resourceVersion });
          }
          return undefined;
        } catch (err) {
          return err;
        }
      })();
      return { cancel: () => stream.cancel(), done };
    };
    const within = <T>(what: string, p: Promise<T>, ms = 20_000): Promise<T> => Promise.race([
      p, delay(ms, undefined, { ref: false }).then(() => assert.fail(`${what} within ${ms} ms`)),
    ]);
    const eventually = async (what: string, check: () => boolean, ms = 20_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
        await delay(50);
      }
    };

    let writes = 0;
    let writing = true;
    const writeLoop = (async () => {
      while (writing) {
        const n = writes++;
        await writer.apply({ objects: [JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `w${n % 5}`, namespace: WORKLOAD_NAMESPACE }, data: { v: String(n) } })] });
        if (n % 7 === 6) await writer.delete({ kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE, name: `w${n % 5}` });
        await delay(10);
      }
    })();
    try {
      const first = consume(await cluster.connect(watched), from, seen);
      await eventually('30 events on the first member', () => seen.length >= 30);
      await cluster.member(watched).server.kill();
      const why = await within('the end of the watch on the killed member', first.done);
      assert.ok(why instanceof Error, `the watch on the killed member ended with an error, not quietly: ${String(why)}`);
      const before = seen.length;
      const last = seen[seen.length - 1]!.revision;
      const second = consume(await cluster.connect(resumeOn), last, seen);
      await eventually('30 more events on the second member', () => seen.length >= before + 30);
      writing = false;
      await writeLoop;
      const end = Number((await writer.list({ kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE })).revision);
      await eventually(`events up to revision ${end}`, () => seen.length > 0 && seen[seen.length - 1]!.revision >= end);

      // What a watch that never broke sees, from a member that stayed up all along.
      const reference: Seen[] = [];
      const unbroken = consume(await cluster.connect(healthy.leader), from, reference);
      await eventually('the reference watch to catch up', () => reference.length > 0 && reference[reference.length - 1]!.revision >= end);
      unbroken.cancel();
      second.cancel();
      await within('the watches to end once cancelled', Promise.all([unbroken.done, second.done]));
      const upTo = (list: Seen[]) => list.filter((e) => e.revision <= end);
      assert.deepEqual(upTo(seen), upTo(reference), `the resumed watch (from ${from}, cut at ${last} on ${watched}, resumed on ${resumeOn}) saw exactly the events of an unbroken one`);
      const revisions = upTo(seen).map((e) => e.revision);
      assert.equal(new Set(revisions).size, revisions.length, 'no revision is delivered twice');
    } finally {
      writing = false;
      await writeLoop.catch(() => undefined);
      await cluster.member(watched).server.restart();
    }
  });

  test('while writes continue, a fourth member joins and one is removed, and the members then serve identical data and a linearizable history', async () => {
    let view = await cluster.waitHealthy({ converged: true });
    // Load through the first member, which neither joins nor leaves.
    const clients = [await cluster.connect('cp1'), await cluster.connect('cp1'), await cluster.connect('cp1')];
    const workload = new StoreWorkload({ clients, seed: SEED + 1, prefix: 'join-', sleep: (ms) => delay(ms), thinkMs: 10 });
    const context = (): string => `seed ${SEED}; load: ${JSON.stringify(workload.stats)}`;
    workload.start();
    let removed = '';
    try {
      await cluster.add('cp4');
      // A joiner starts as a learner; the leader promotes it once it has caught up.
      const deadline = Date.now() + 30_000;
      for (;;) {
        view = await cluster.waitHealthy({ timeoutMs: 30_000 });
        if (view.members.some((m) => m.name === 'cp4' && m.role === 'follower')) break;
        if (Date.now() > deadline) assert.fail(`cp4 became a voter within 30 s: ${JSON.stringify(view.members)}`);
        await delay(200);
      }
      removed = ['cp2', 'cp3'].find((n) => n !== view.leader)!;
      const leaderConn = await cluster.connect(view.leader);
      const res = await leaderConn.removeMember({ name: removed });
      assert.deepEqual(res.members.map((m) => m.name).sort(), ['cp1', 'cp2', 'cp3', 'cp4'].filter((n) => n !== removed));
      await cluster.retire(removed);
    } finally {
      await workload.stop();
    }
    view = await cluster.waitHealthy({ converged: true, timeoutMs: 30_000 });
    assert.deepEqual(view.members.map((m) => m.name).sort(), ['cp1', 'cp2', 'cp3', 'cp4'].filter((n) => n !== removed));
    await workload.finalReads(await cluster.connect(view.leader));
    const verdict = checkStoreHistory(workload.history(), { timeBudgetMs: CHECK_BUDGET_MS });
    assert.equal(verdict.result, 'ok', `${verdict.message}\n${context()}`);
    assert.ok(workload.stats.answered > 50, `the load got work done: ${context()}`);
    assert.deepEqual(workload.anomalies, [], `answers no correct server gives: ${context()}`);

    const members = view.members.map((m) => m.name);
    const views = await contentsOfAll(cluster, members);
    const cp4 = views.find((v) => v.name === 'cp4')!;
    for (const v of views) {
      assert.equal(v.revision, cp4.revision, `${v.name} is at the revision of the new member cp4`);
      assert.deepEqual(v.objects, cp4.objects, `${v.name} holds what the new member cp4 holds`);
    }
  });
  test('while writes continue, a fifth member joins and the leader itself is removed, and the rest elect another and serve identical data', async () => {
    let view = await cluster.waitHealthy({ converged: true });
    const before = view.members.map((m) => m.name);
    const old = view.leader;
    const loadOn = before.find((n) => n !== old)!;
    const clients = [await cluster.connect(loadOn), await cluster.connect(loadOn), await cluster.connect(loadOn)];
    const workload = new StoreWorkload({ clients, seed: SEED + 2, prefix: 'leave-', sleep: (ms) => delay(ms), thinkMs: 10 });
    const context = (): string => `seed ${SEED}; removed leader ${old}, load through ${loadOn}; load: ${JSON.stringify(workload.stats)}`;
    workload.start();
    try {
      await cluster.add('cp5');
      const deadline = Date.now() + 30_000;
      for (;;) {
        view = await cluster.waitHealthy({ timeoutMs: 30_000 });
        if (view.members.some((m) => m.name === 'cp5' && m.role === 'follower')) break;
        if (Date.now() > deadline) assert.fail(`cp5 became a voter within 30 s: ${JSON.stringify(view.members)}`);
        await delay(200);
      }
      const leaderConn = await cluster.connect(view.leader);
      const res = await leaderConn.removeMember({ name: view.leader });
      assert.deepEqual(res.members.map((m) => m.name).sort(), [...before, 'cp5'].filter((n) => n !== view.leader).sort());
      await cluster.retire(view.leader);
    } finally {
      await workload.stop();
    }
    const removed = view.leader;
    view = await cluster.waitHealthy({ converged: true, timeoutMs: 30_000 });
    assert.notEqual(view.leader, removed);
    assert.deepEqual(view.members.map((m) => m.name).sort(), [...before, 'cp5'].filter((n) => n !== removed).sort());
    await workload.finalReads(await cluster.connect(view.leader));
    const verdict = checkStoreHistory(workload.history(), { timeBudgetMs: CHECK_BUDGET_MS });
    assert.equal(verdict.result, 'ok', `${verdict.message}\n${context()}`);
    assert.ok(workload.stats.answered > 50, `the load got work done: ${context()}`);
    assert.deepEqual(workload.anomalies, [], `answers no correct server gives: ${context()}`);
    const views = await contentsOfAll(cluster, view.members.map((m) => m.name));
    for (const v of views.slice(1)) {
      assert.equal(v.revision, views[0]!.revision, `${v.name} is at the revision of ${views[0]!.name}`);
      assert.deepEqual(v.objects, views[0]!.objects, `${v.name} holds what ${views[0]!.name} holds`);
    }
  });

  test('a member\'s store saved to a snapshot file and restored into a new data dir is served whole by a server started on it', async () => {
    const view = await cluster.waitHealthy({ converged: true });
    const source = cluster.member(view.members[0]!.name);
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-fault-restore-'));
    let restoredServer: ServerProcess | undefined;
    try {
      const file = path.join(root, 'cp1.snap');
      const saved = await runBramble(['--config', source.server.configPath, '--server', source.address, 'store', 'snapshot', 'save', file], { timeoutMs: 60_000 });
      assert.equal(saved.code, 0, explain(saved));
      const dir = path.join(root, 'restored');
      await fs.mkdir(dir, { mode: 0o700 });
      // The cluster's identity comes along (CA, join token); Secrets' keys travel beside the backup.
      await fs.cp(path.join(source.server.dataDir, 'tls'), path.join(dir, 'tls'), { recursive: true });
      await fs.copyFile(path.join(source.server.dataDir, 'token'), path.join(dir, 'token'));
      const keys = path.join(source.server.dataDir, 'cred', 'encryption-keys.json');
      const restored = await runBramble(['store', 'snapshot', 'restore', file, '--data-dir', dir, '--encryption-keys', keys], { timeoutMs: 60_000 });
      assert.equal(restored.code, 0, explain(restored));
      restoredServer = await startServerProcess({ dataDir: dir, extraArgs: ['--snapshot-schedule', 'none'] });
      const cfg = await readClientConfig(restoredServer.configPath);
      const conn = openCluster(cfg, { configPath: restoredServer.configPath, server: `127.0.0.1:${restoredServer.grpcPort}` });
      try {
        const served = await contentsOn(conn);
        // No write ran since the members converged: every member holds what the snapshot held.
        for (const name of view.members.map((m) => m.name)) {
          const member = await contentsOn(await cluster.connect(name));
          assert.deepEqual(served.objects, member.objects, `the restored server serves what ${name} holds`);
        }
        assert.ok(served.objects.length > 0, 'the workload left ConfigMaps to compare');
      } finally {
        conn.close();
      }
    } finally {
      await restoredServer?.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
