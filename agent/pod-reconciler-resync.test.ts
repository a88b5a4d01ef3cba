// The pod reconciler's periodic pass over every pod must not come as one burst:
// on containerd each reconcile lists the runtime through ctr processes, and a
// Pod assigned meanwhile would queue behind all of them.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import type { Pod } from '../proto/model.js';
import { FakeNetwork } from './network-fake.js';
import { settleReconciler, sleeper } from '../test/support/reconciler.js';
import { PodReconciler } from './pod-reconciler.js';
import { FakeRuntime } from './runtime-fake.js';


async function runningReconciler(t: TestContext, pods: Pod[]): Promise<{ clock: FakeClock; runtime: FakeRuntime; rec: PodReconciler; settle(): Promise<void> }> {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-resync-'));
  const rec = new PodReconciler({
    runtime, network: new FakeNetwork('10.42.1.0/24'), clock, dataDir, fullResyncMs: 60_000, reportStatus: () => undefined,
  });
  t.after(async () => {
    await rec.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const settle = (): Promise<void> => settleReconciler(rec);
  rec.setDesired(pods, [], [], { synced: true });
  rec.start();
  await settle();
  assert.equal(runtime.callsOf('start').length, pods.length, 'every pod must have started before the test');
  return { clock, runtime, rec, settle };
}

test('the periodic full resync reconciles the pods one after another over half the interval, not all at once', async (t) => {
  const pods = ['a', 'b', 'c', 'd'].map(sleeper);
  const { clock, rec, settle } = await runningReconciler(t, pods);
  const t0 = clock.now();
  const advanceTo = async (ms: number): Promise<void> => {
    while (clock.now() - t0 < ms) {
      await clock.advance(1000);
      await settle();
    }
  };
  // The first quick resync sees the new containers and reconciles each pod once more.
  await advanceTo(10_000);
  const reconciled: { uid: string; at: number }[] = [];
  const original = rec.reconcile.bind(rec);
  rec.reconcile = (uid: string) => {
    reconciled.push({ uid, at: clock.now() - t0 });
    return original(uid);
  };
  await advanceTo(100_000);
  const times = reconciled.map((r) => r.at);
  assert.equal(new Set(reconciled.map((r) => r.uid)).size, 4, `every pod must be reconciled in the pass: ${JSON.stringify(reconciled)}`);
  assert.equal(times.length, 4, `each pod once: ${JSON.stringify(reconciled)}`);
  // Spread over 30 s, 7.5 s apart, starting with the pass at 60 s.
  assert.deepEqual(times, [60_000, 67_500, 75_000, 82_500]);
});

test('a reconcile that starts, stops and removes nothing lists the runtime once', async (t) => {
  const pod = sleeper('idle');
  const { runtime, rec } = await runningReconciler(t, [pod]);
  const before = runtime.callsOf('list').length;
  await rec.reconcile(pod.metadata.uid!);
  assert.equal(runtime.callsOf('list').length - before, 1);
});
