// With a process probe, the pod reconciler notices exits by the pids of running
// containers and lists the runtime (ctr processes on a board) only when a pid is
// gone, after it changed containers itself, or on the periodic full pass.
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
import { FakeProcessProbe } from './process-probe.js';
import { FakeRuntime } from './runtime-fake.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, LABEL_RESTART_COUNT, type ContainerSpec } from './runtime.js';

/** A FakeRuntime whose containers' pids live exactly as long as the containers run. */
class PidRuntime extends FakeRuntime {
  readonly live = new Set<number>();
  private readonly pids = new Map<string, number>();

  override async start(spec: ContainerSpec) {
    const info = await super.start(spec);
    if (info.state === 'running' && info.pid !== undefined) {
      this.live.add(info.pid);
      this.pids.set(spec.id, info.pid);
    }
    return info;
  }

  override exit(id: string, exitCode: number): void {
    super.exit(id, exitCode);
    this.live.delete(this.pids.get(id) ?? -1);
  }

  override async stop(id: string, graceSeconds: number): Promise<boolean> {
    const stopped = await super.stop(id, graceSeconds);
    this.live.delete(this.pids.get(id) ?? -1);
    return stopped;
  }

  pidOf(id: string): number | undefined {
    return this.pids.get(id);
  }
}

const startedIds = (h: Harness): string[] => h.runtime.callsOf('start').map((a) => (a[0] as ContainerSpec).id);


interface Harness {
  clock: FakeClock;
  runtime: PidRuntime;
  rec: PodReconciler;
  /** Clock time since the reconciler started. */
  elapsed(): number;
  /** Advances in 1 s steps up to `ms` after the start, settling after each. */
  advanceTo(ms: number): Promise<void>;
  listsSince(ms: number): number[];
}

async function harness(t: TestContext, pods: Pod[], probe?: FakeProcessProbe, before?: (runtime: PidRuntime) => void): Promise<Harness> {
  const clock = new FakeClock();
  const runtime = new PidRuntime(clock);
  runtime.images.add('busybox:1.36');
  before?.(runtime);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-probe-'));
  const rec = new PodReconciler({
    runtime, network: new FakeNetwork('10.42.1.0/24'), clock, dataDir, reportStatus: () => undefined,
    processProbe: probe ?? new FakeProcessProbe((pid) => runtime.live.has(pid)),
  });
  t.after(async () => {
    await rec.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const settle = (): Promise<void> => settleReconciler(rec);
  const t0 = clock.now();
  rec.setDesired(pods, [], [], { synced: true });
  rec.start();
  await settle();
  return {
    clock, runtime, rec,
    elapsed: () => clock.now() - t0,
    async advanceTo(ms) {
      while (clock.now() - t0 < ms) {
        await clock.advance(1000);
        await settle();
      }
    },
    listsSince: (ms) => runtime.calls.filter((c) => c.method === 'list' && c.at - t0 >= ms).map((c) => c.at - t0),
  };
}

test('an idle board lists the runtime once a minute, on the full pass, and reconciles every pod from that one list', async (t) => {
  const pods = ['a', 'b', 'c'].map(sleeper);
  const probe = new FakeProcessProbe();
  const h = await harness(t, pods, probe);
  assert.equal(h.runtime.callsOf('start').length, 3);
  // The first quick resync lists once after the starts; from then on the pids answer.
  await h.advanceTo(10_000);
  const asked = probe.asked.length;
  const original = h.rec.reconcile.bind(h.rec);
  const reconciled: number[] = [];
  h.rec.reconcile = (uid: string) => {
    reconciled.push(h.elapsed());
    return original(uid);
  };
  await h.advanceTo(119_000);
  assert.deepEqual(h.listsSince(10_000), [60_000]);
  assert.equal(reconciled.length, 3, `the full pass reconciles every pod: ${JSON.stringify(reconciled)}`);
  assert.ok(probe.asked.length - asked >= 3 * 9, 'every quick resync checks the three pids');
  assert.equal(h.runtime.callsOf('start').length, 3, 'nothing restarted');
});

test('a container whose process is gone is noticed by the next quick resync and restarted after its back-off', async (t) => {
  const pod = sleeper('crash');
  const h = await harness(t, [pod]);
  await h.advanceTo(12_000);
  const [id] = startedIds(h);
  h.runtime.exit(id!, 3);
  await h.advanceTo(15_000);
  assert.deepEqual(h.listsSince(12_000), [15_000], 'listed at the first resync after the exit');
  const s = h.rec.lastStatus(pod.metadata.uid!)?.containerStatuses?.[0];
  assert.equal(s?.state.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(s?.lastState?.terminated?.exitCode, 3);
  await h.advanceTo(25_000);
  const restarted = id!.replace(/-0$/, '-1');
  assert.deepEqual(startedIds(h), [id, restarted]);
  assert.ok(h.runtime.live.has(h.runtime.pidOf(restarted)!), 'the restarted container runs');
});

test('an exit the probe cannot see (its pid reused) is still found by the full pass within a minute', async (t) => {
  const pod = sleeper('reused');
  const h = await harness(t, [pod], new FakeProcessProbe(() => true));
  await h.advanceTo(12_000);
  h.runtime.exit(startedIds(h)[0]!, 1);
  await h.advanceTo(59_000);
  assert.deepEqual(h.listsSince(12_000), []);
  assert.equal(h.rec.lastStatus(pod.metadata.uid!)?.containerStatuses?.[0]?.state.running !== undefined, true);
  await h.advanceTo(61_000);
  // The full pass lists at 60 s; the back-off (10 s from the exit) is over, so the restart
  // follows at once, and its own list after it.
  assert.deepEqual(h.listsSince(12_000), [60_000, 60_000]);
  const s = h.rec.lastStatus(pod.metadata.uid!)?.containerStatuses?.[0];
  assert.equal(s?.lastState?.terminated?.exitCode, 1);
  assert.equal(s?.restartCount, 1);
});

test('a running container without a known pid makes every quick resync list the runtime', async (t) => {
  const pod = sleeper('nopid');
  const h = await harness(t, [pod], undefined, (runtime) => {
    // Adopted from an earlier agent, as a runtime that could not tell the pid reports it.
    runtime.seed({ id: 'nopid-012345-app-0', image: 'busybox:1.36', env: {}, mounts: [], logPath: '/dev/null', labels: {
      [LABEL_POD_UID]: pod.metadata.uid!, [LABEL_POD_NAME]: 'nopid', [LABEL_POD_NAMESPACE]: 'default', [LABEL_CONTAINER_NAME]: 'app', [LABEL_RESTART_COUNT]: '0',
    } });
  });
  assert.equal(h.runtime.callsOf('start').length, 0, 'adopted, not started again');
  await h.advanceTo(30_000);
  assert.deepEqual(h.listsSince(10_000), [10_000, 15_000, 20_000, 25_000, 30_000]);
});

test('knownContainers is the last list, read without listing again', async (t) => {
  const h = await harness(t, [sleeper('a'), sleeper('b')]);
  await h.advanceTo(6000);
  const lists = h.runtime.callsOf('list').length;
  const known = h.rec.knownContainers().map((c) => ({ id: c.id, state: c.state, pid: c.pid }));
  assert.equal(h.runtime.callsOf('list').length, lists);
  const actual = (await h.runtime.list()).map((c) => ({ id: c.id, state: c.state, pid: c.pid }));
  assert.deepEqual(known, actual);
  assert.equal(known.length, 2);
});
