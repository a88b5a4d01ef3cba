// Scheduler benchmark: how fast the scheduler controller binds a burst of
// pending Pods against the real LevelDB store (fsync on, as on a board), for a
// small and a large cluster, and how long one pure schedule() decision takes.
// Run alone with `npx tsx bench/scheduler.ts`; prints one JSON report.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { realClock } from '../proto/util/clock.js';
import type { NodeObject, Pod } from '../proto/model.js';
import { SchedulerController } from '../control-plane/controllers/controller-scheduler.js';
import { schedule } from '../control-plane/controllers/scheduler.js';
import type { NodePods } from '../control-plane/controllers/scheduler-filters.js';
import { newNodePods } from '../control-plane/controllers/scheduler-score.js';
import { makeNode, makePod } from '../control-plane/testing/scheduler-fixtures.js';
import { openLevelStore } from '../control-plane/store/store-level.js';
import type { Store } from '../control-plane/store/store.js';

export interface SchedulerRunFigures {
  nodes: number;
  pods: number;
  store: 'level';
  secondsToBindAll: number;
  podsPerSecond: number;
  /** Disk batches the store wrote while binding, and binds per batch on average. */
  storeBatches: number;
  bindsPerBatch: number;
  scheduleCallMicros: { p50: number; p99: number; samples: number };
}

export interface SchedulerBenchReport {
  name: 'scheduler';
  targetPodsPerSecondAt100Nodes: number;
  metTarget: boolean;
  runs: SchedulerRunFigures[];
}

const CREATE_CHUNK = 500;
const OWNERS = 20;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function createAll(store: Store, objects: (NodeObject | Pod)[]): Promise<void> {
  for (let i = 0; i < objects.length; i += CREATE_CHUNK) {
    const chunk = objects.slice(i, i + CREATE_CHUNK);
    await store.propose({ ops: chunk.map((object) => ({ type: 'put' as const, object, precondition: { absent: true as const } })) });
  }
}

function benchPod(i: number): Pod {
  const owner = i % OWNERS;
  return makePod(`p-${String(i).padStart(5, '0')}`, { cpu: '50m', memory: '64Mi', ownerUid: `rs-${owner}`, labels: { app: `app-${owner}` } });
}

/** Waits until every Pod is bound, counting binds from a watch (no polling of the store). */
function allBound(store: Store, total: number, timeoutMs: number): { done: Promise<void>; cancel(): void } {
  const bound = new Set<string>();
  let cancel = (): void => {};
  const done = new Promise<void>((resolve, reject) => {
    const timer = realClock.setTimeout(() => reject(new Error(`only ${bound.size}/${total} pods bound after ${timeoutMs} ms`)), timeoutMs);
    const watch = store.watch({ kind: 'Pod', fromRevision: store.revision() }, (e) => {
      if ((e.object as Pod).spec?.nodeName) bound.add(e.object.metadata.name);
      if (bound.size === total) {
        timer.cancel();
        watch.cancel();
        resolve();
      }
    });
    cancel = () => {
      timer.cancel();
      watch.cancel();
    };
  });
  return { done, cancel };
}

/** Times schedule() alone on the cluster as the run left it (every node holding its share). */
function timeScheduleCalls(store: Store, samples: number): SchedulerRunFigures['scheduleCallMicros'] {
  const nodes = store.list('Node').items as NodeObject[];
  // Held the way the controller holds them: with running totals per node.
  const byNode = new Map<string, NodePods>();
  for (const p of store.list('Pod').items as Pod[]) {
    const n = p.spec.nodeName;
    if (!n) continue;
    let held = byNode.get(n);
    if (!held) byNode.set(n, (held = newNodePods()));
    held.add(p);
  }
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const pod = benchPod(1_000_000 + i);
    Object.freeze(pod);
    const t0 = performance.now();
    schedule(pod, nodes, byNode);
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 10) / 10;
  return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)), samples };
}

export async function runSchedulerRun(nodeCount: number, podCount: number): Promise<SchedulerRunFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-bench-scheduler-'));
  const store = await openLevelStore({ dataDir: dir });
  const controller = new SchedulerController({ store, clock: realClock });
  try {
    const nodes = Array.from({ length: nodeCount }, (_, i) =>
      makeNode(`node-${String(i).padStart(4, '0')}`, { cpu: '4', memory: '4Gi', pods: '110' }));
    await createAll(store, nodes);
    await createAll(store, Array.from({ length: podCount }, (_, i) => benchPod(i)));
    const batchesBefore = store.stats.batchesWritten;
    const waiter = allBound(store, podCount, 120_000);
    const t0 = performance.now();
    controller.start();
    try {
      await waiter.done;
    } finally {
      waiter.cancel();
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      nodes: nodeCount,
      pods: podCount,
      store: 'level',
      secondsToBindAll: Math.round(seconds * 1000) / 1000,
      podsPerSecond: Math.round(podCount / seconds),
      storeBatches: store.stats.batchesWritten - batchesBefore,
      bindsPerBatch: Math.round(podCount / Math.max(1, store.stats.batchesWritten - batchesBefore)),
      scheduleCallMicros: timeScheduleCalls(store, 2000),
    };
  } finally {
    await controller.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runSchedulerBench(opts: { pods?: number; nodeCounts?: number[] } = {}): Promise<SchedulerBenchReport> {
  const pods = opts.pods ?? 2000;
  const runs: SchedulerRunFigures[] = [];
  for (const n of opts.nodeCounts ?? [100, 1000]) runs.push(await runSchedulerRun(n, pods));
  const at100 = runs.find((r) => r.nodes === 100);
  const target = 1000;
  return { name: 'scheduler', targetPodsPerSecondAt100Nodes: target, metTarget: at100 ? at100.podsPerSecond >= target : false, runs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runSchedulerBench().then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
