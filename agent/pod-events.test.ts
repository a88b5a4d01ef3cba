import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import type { Container, Pod } from '../proto/model.js';
import type { PodEventReport } from '../proto/types.js';
import { settleReconciler } from '../test/support/reconciler.js';
import { FakeNetwork } from './network-fake.js';
import { PodEventBuffer } from './pod-events.js';
import { PodReconciler } from './pod-reconciler.js';
import { FakeRuntime } from './runtime-fake.js';

function makePod(name: string, containers: Container[]): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `0123456789ab-${name}` }, spec: { nodeName: 'pi-1', containers } };
}

interface Seen { reason: string; type: string; message: string; container?: string }

async function harness(t: TestContext) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-events-'));
  const seen: Seen[] = [];
  const rec = new PodReconciler({
    runtime, network: new FakeNetwork('10.42.1.0/24'), clock, dataDir: dir, reportStatus: () => undefined,
    recordEvent: (_pod, type, reason, message, container) => void seen.push({ type, reason, message, container }),
  });
  rec.start();
  t.after(async () => {
    await rec.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const advance = async (ms: number): Promise<void> => {
    for (let done = 0; done < ms; done += 1000) {
      await clock.advance(1000);
      await settleReconciler(rec);
    }
  };
  return { clock, runtime, rec, seen, advance };
}

describe('agent events', () => {
  test('a crash-looping container records Started for each start and BackOff while it waits', async (t) => {
    const h = await harness(t);
    h.runtime.scriptStart('app', { exitCode: 1 });
    h.rec.setDesired([makePod('crash', [{ name: 'app', image: 'busybox:1' }])], [], [], { synced: true });
    await settleReconciler(h.rec);
    await h.advance(35_000);
    const started = h.seen.filter((e) => e.reason === 'Started');
    assert.equal(started.length, 3);
    assert.deepEqual(started[0], { type: 'Normal', reason: 'Started', message: 'Started container app', container: 'app' });
    const backOff = h.seen.find((e) => e.reason === 'BackOff');
    assert.deepEqual(backOff, {
      type: 'Warning', reason: 'BackOff', container: 'app',
      message: 'Back-off restarting failed container app in pod crash_default(0123456789ab-crash)',
    });
  });

  test('failed liveness probes record Unhealthy each time, then Killing', async (t) => {
    const h = await harness(t);
    h.runtime.setExec(['check'], { exitCode: 1, stdout: '', stderr: 'sick' });
    const probe = { exec: { command: ['check'] }, periodSeconds: 10, failureThreshold: 3 };
    h.rec.setDesired([makePod('live', [{ name: 'app', image: 'busybox:1', livenessProbe: probe }])], [], [], { synced: true });
    await settleReconciler(h.rec);
    await h.advance(25_000);
    const unhealthy = h.seen.filter((e) => e.reason === 'Unhealthy');
    assert.equal(unhealthy.length, 3);
    assert.deepEqual(unhealthy[0], { type: 'Warning', reason: 'Unhealthy', message: 'Liveness probe failed: exec exited with 1: sick', container: 'app' });
    assert.deepEqual(h.seen.find((e) => e.reason === 'Killing'), {
      type: 'Normal', reason: 'Killing', message: 'Container app failed liveness probe, will be restarted', container: 'app',
    });
  });

  test('a deleted pod records Killing for its running containers', async (t) => {
    const h = await harness(t);
    const pod = makePod('bye', [{ name: 'app', image: 'busybox:1' }]);
    h.rec.setDesired([pod], [], [], { synced: true });
    await settleReconciler(h.rec);
    h.rec.setDesired([], [], [], { synced: true });
    await h.advance(3_000);
    assert.deepEqual(h.seen.filter((e) => e.reason === 'Killing').map((e) => e.message), ['Stopping container app']);
  });
});

describe('PodEventBuffer', () => {
  const pod = makePod('web', []);

  test('repeats are folded into one report with a count, sent after the flush delay in one call', async () => {
    const clock = new FakeClock();
    const sent: PodEventReport[][] = [];
    const buf = new PodEventBuffer({ clock, send: async (b) => void sent.push(b) });
    for (let i = 0; i < 10; i++) buf.record(pod, 'Warning', 'BackOff', 'Back-off restarting failed container app', 'app');
    buf.record(pod, 'Normal', 'Started', 'Started container app', 'app');
    assert.equal(sent.length, 0);
    await clock.advance(5_000);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.map((r) => [r.reason, r.count, r.fieldPath]), [['BackOff', 10, 'spec.containers{app}'], ['Started', 1, 'spec.containers{app}']]);
    assert.equal(buf.pendingCount, 0);
  });

  test('a failed send keeps the events, merged with later repeats, for the next try', async () => {
    const clock = new FakeClock();
    let fail = true;
    const sent: PodEventReport[][] = [];
    const buf = new PodEventBuffer({ clock, send: async (b) => { if (fail) throw new Error('unreachable'); sent.push(b); } });
    buf.record(pod, 'Warning', 'BackOff', 'Back-off', 'app');
    await clock.advance(5_000);
    buf.record(pod, 'Warning', 'BackOff', 'Back-off', 'app');
    fail = false;
    await clock.advance(5_000);
    assert.deepEqual(sent.map((b) => b.map((r) => r.count)), [[2]]);
  });

  test('at most maxPending distinct events wait, the oldest dropped first, and long messages are cut', async () => {
    const clock = new FakeClock();
    const sent: PodEventReport[][] = [];
    const buf = new PodEventBuffer({ clock, maxPending: 3, send: async (b) => void sent.push(b) });
    for (let i = 0; i < 5; i++) buf.record(pod, 'Normal', 'Pulled', `image ${i}`);
    buf.record(pod, 'Warning', 'Unhealthy', 'x'.repeat(5000));
    assert.equal(buf.dropped, 3);
    await clock.advance(5_000);
    assert.deepEqual(sent[0]!.map((r) => r.message!.length > 100 ? r.message!.length : r.message), ['image 3', 'image 4', 1024]);
  });
});
