// Pods benchmark on real containerd: a `bramble server` (no embedded agent) and
// two boards (network namespaces, each with its own containerd and agent) from
// test/support/cluster.ts. Measures Apply → Running latency of busybox Pods
// applied one at a time over gRPC, where that time goes (API, scheduler, agent),
// the agents' and control plane's memory and idle CPU with the Pods running, and
// the bytes the control plane writes to disk while the boards only heartbeat.
// Run alone with `npx tsx bench/pods.ts` (root, containerd, runc, CNI plugins).
import * as grpc from '@grpc/grpc-js';
import { benchClusterClient } from './bench-cluster.js';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { realClock } from '../proto/util/clock.js';
import type { KObject, NodeObject, Pod } from '../proto/model.js';
import type { ClusterClient } from '../proto/generated/bramble/v1/Cluster.js';
import type { WatchEvent__Output } from '../proto/generated/bramble/v1/WatchEvent.js';
import { startCluster, TEST_IMAGE, type ClusterBoard, type TestCluster } from '../test/support/cluster.js';
import { shimPidsOf } from '../test/support/containerd.js';
import { idleSecondsFromEnv } from './api.js';
import {
  closeBenchCluster, figure, MB, readCpuSeconds, readRssBytes, readWriteBytes, round, sleep, summarizeMs, timeMs, waitFor,
  type Figure, type LatencySummary,
} from './util.js';

const BOARD_LABEL = 'bench.bramble.dev/board';
const DEADLINE_MS = 30_000;
const RUNNING_DEADLINE_MS = 60_000;
/** Quiet time after the last Pod started, so start-up work does not count as idle. */
const SETTLE_SECONDS = 5;

export interface PodsBenchOptions {
  /** Pods applied one at a time (default 50). */
  pods?: number;
  /** How many of them go to the first board (default 20); the rest go to the second. */
  podsOnFirstBoard?: number;
  idleSeconds?: number;
  log?: (message: string) => void;
}

export interface ProcessFigures {
  pid: number;
  rss: Figure;
  cpuSecondsPerIdleMinute?: Figure;
}

export interface PodsBenchReport {
  name: 'pods';
  pods: number;
  podsPerBoard: Record<string, number>;
  applyToRunning: LatencySummary & { targetP99: number; sloP99: number; metTarget: boolean; note: string };
  /** Where the time went, per Pod, from the client's point of view (watch event arrival times). */
  stages: {
    applyCall: LatencySummary;
    applyToBound: LatencySummary;
    boundToRunning: LatencySummary;
    /** The slowest Pods, with when they were applied (seconds after the first Apply). */
    slowest: { name: string; board: string; appliedAtSecond: number; totalMs: number; applyToBoundMs: number; boundToRunningMs: number }[];
    note: string;
  };
  /** 1-minute load average of the machine before and after the Pods were applied: other work on it inflates the latencies. */
  loadAverage: { beforePods: number; afterPods: number };
  /** When the agent processes were spawned, in seconds relative to the first Apply (negative: before it). */
  agentsSpawnedAtSecond: number;
  /** Cost of one `ctr` process inside a board: the agent runs several per Pod start. */
  ctrCall: { tasksLs: LatencySummary; imagesLs: LatencySummary };
  agent: { board: string; podsRunning: number } & ProcessFigures & {
    containerd: { pid: number; rss: Figure };
    shims: { count: number; rss: Figure };
  };
  otherAgent: { board: string; podsRunning: number } & ProcessFigures;
  controlPlane: {
    pid: number;
    rssWith2BoardsAnd50Pods: Figure;
    rssAfterIdle: Figure;
    idle: {
      seconds: number;
      settleSeconds: number;
      writeBytes: Figure;
      writeBytesPerMinute: Figure;
      cpuSecondsPerIdleMinute: Figure;
      /** Store writes during the idle window (revision delta) and which objects they touched. */
      storeRevisions: number;
      storeEvents: Record<string, number>;
      /** Files under the server data dir that grew or shrank during the idle window. */
      dataDirChanges: Record<string, number>;
    };
  };
}

// ------------------------------------------------------------------ gRPC helpers

function unary<Res>(what: string, call: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) =>
    call((err, res) => (err ? reject(new Error(`${what} failed: ${err.message}`)) : res ? resolve(res) : reject(new Error(`${what} returned nothing`)))));
}

const opts = (): grpc.CallOptions => ({ deadline: realClock.now() + DEADLINE_MS });

async function getNode(client: ClusterClient, name: string): Promise<NodeObject> {
  const res = await unary<{ object: string }>(`Get Node ${name}`, (cb) => client.Get({ kind: 'Node', name }, new grpc.Metadata(), opts(), cb));
  return JSON.parse(res.object) as NodeObject;
}

export async function revision(client: ClusterClient): Promise<number> {
  return (await unary<{ revision: number }>('Version', (cb) => client.Version({}, new grpc.Metadata(), opts(), cb))).revision;
}

function applyPod(client: ClusterClient, pod: Pod): Promise<unknown> {
  return unary('Apply', (cb) => client.Apply({ objects: [JSON.stringify(pod)] }, new grpc.Metadata(), opts(), cb));
}

function benchPod(name: string, board: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'bramble-bench-pods' } },
    spec: {
      terminationGracePeriodSeconds: 1,
      nodeSelector: { [BOARD_LABEL]: board },
      containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  };
}

function isRunning(p: Pod): boolean {
  return p.status?.phase === 'Running' && !!p.status.containerStatuses?.some((c) => c.name === 'main' && c.state.running !== undefined);
}

interface PodTimes {
  bound?: number;
  running?: number;
  nodeName?: string;
}

/** Follows every Pod event of the namespace and notes when each Pod was first seen bound and Running. */
class PodWatcher {
  readonly times = new Map<string, PodTimes>();
  private readonly waiters = new Map<string, () => void>();
  private readonly call: grpc.ClientReadableStream<WatchEvent__Output>;
  private failure: Error | undefined;

  constructor(client: ClusterClient, fromRevision: number) {
    this.call = client.Watch({ kind: 'Pod', namespace: 'default', fromRevision });
    this.call.on('data', (ev: WatchEvent__Output) => {
      const at = performance.now();
      const pod = JSON.parse(ev.object) as Pod;
      const t = this.times.get(pod.metadata.name) ?? {};
      this.times.set(pod.metadata.name, t);
      if (pod.spec.nodeName && t.bound === undefined) {
        t.bound = at;
        t.nodeName = pod.spec.nodeName;
      }
      if (isRunning(pod) && t.running === undefined) {
        t.running = at;
        this.waiters.get(pod.metadata.name)?.();
      }
    });
    this.call.on('error', (e: grpc.ServiceError) => {
      if (e.code !== grpc.status.CANCELLED) this.failure = new Error(`the Pod watch failed: ${e.message}`);
    });
  }

  /** Resolves with the arrival time of the event that showed the Pod Running. */
  running(name: string, timeoutMs: number, describe: () => string): Promise<number> {
    const now = this.times.get(name)?.running;
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(name);
        reject(this.failure ?? new Error(`pod ${name} must be Running within ${timeoutMs} ms\n${describe()}`));
      }, timeoutMs);
      this.waiters.set(name, () => {
        clearTimeout(timer);
        this.waiters.delete(name);
        resolve(this.times.get(name)!.running!);
      });
    });
  }

  close(): void {
    this.call.cancel();
  }
}

/** Counts the store events of every kind (by kind/name) during a window, to name what the control plane writes. */
export class EventCounter {
  readonly counts: Record<string, number> = {};
  private readonly call: grpc.ClientReadableStream<WatchEvent__Output>;

  constructor(client: ClusterClient, fromRevision: number) {
    this.call = client.Watch({ kind: '', namespace: '', fromRevision });
    this.call.on('data', (ev: WatchEvent__Output) => {
      const o = JSON.parse(ev.object) as KObject;
      const key = `${ev.type} ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
      this.counts[key] = (this.counts[key] ?? 0) + 1;
    });
    this.call.on('error', () => undefined);
  }

  close(): void {
    this.call.cancel();
  }
}

// ------------------------------------------------------------------ processes and files

/** containerd shims serving this containerd, and their total RSS. */
async function shimsOf(address: string): Promise<{ count: number; rssBytes: number }> {
  let count = 0;
  let rssBytes = 0;
  for (const pid of await shimPidsOf(address)) {
    try {
      rssBytes += await readRssBytes(pid);
      count++;
    } catch { /* exited meanwhile */ }
  }
  return { count, rssBytes };
}

export async function fileSizes(dir: string, into = new Map<string, number>(), base = dir): Promise<Map<string, number>> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await fileSizes(p, into, base);
    else if (entry.isFile()) into.set(path.relative(base, p), (await stat(p).catch(() => ({ size: 0 }))).size);
  }
  return into;
}

export function sizeChanges(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const d = (after.get(name) ?? 0) - (before.get(name) ?? 0);
    if (d !== 0 || !before.has(name) || !after.has(name)) out[name] = d;
  }
  return out;
}

async function ctrCallTimes(board: ClusterBoard, samples: number): Promise<PodsBenchReport['ctrCall']> {
  const tasksLs: number[] = [];
  const imagesLs: number[] = [];
  for (let i = 0; i < samples; i++) {
    tasksLs.push(await timeMs(() => board.ctr(['tasks', 'ls'])));
    imagesLs.push(await timeMs(() => board.ctr(['images', 'ls', '-q'])));
  }
  return { tasksLs: summarizeMs(tasksLs), imagesLs: summarizeMs(imagesLs) };
}

export const mbFigure = (bytes: number): Figure => figure(bytes / MB, 'MB');

function pidOf(board: ClusterBoard): number {
  const pid = board.agentPid;
  if (pid === undefined) throw new Error(`the agent of ${board.nodeName} must be running: it exited\n${board.agentOutput().slice(-3000)}`);
  return pid;
}

// ------------------------------------------------------------------ the section

export async function runPodsBench(options: PodsBenchOptions = {}): Promise<PodsBenchReport> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[pods] ${m}\n`));
  const podCount = options.pods ?? 50;
  const onFirst = Math.min(podCount, options.podsOnFirstBoard ?? 20);
  const idleSeconds = options.idleSeconds ?? 60;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/ctr') || !existsSync('/usr/lib/cni/bridge')) {
    throw new Error('the pods bench must run as root with containerd, runc and the CNI plugins installed (scripts/install-test-deps.sh)');
  }

  let cluster: TestCluster | undefined;
  let client: ClusterClient | undefined;
  let watcher: PodWatcher | undefined;
  let counter: EventCounter | undefined;
  let failed = false;
  try {
    log('starting a server and 2 boards');
    cluster = await startCluster({ boards: [{ name: 'pba', labels: { [BOARD_LABEL]: 'a' } }, { name: 'pbb', labels: { [BOARD_LABEL]: 'b' } }] });
    const agentsSpawned = performance.now();
    const c = cluster;
    const [boardA, boardB] = c.boards as [ClusterBoard, ClusterBoard];
    const cl: ClusterClient = (client = await benchClusterClient(c));
    for (const b of c.boards) {
      await waitFor(`node ${b.nodeName} to be Ready with its board label`, 60_000, async () => {
        const node = await getNode(cl, b.nodeName);
        const ready = node.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
        return ready && node.metadata.labels?.[BOARD_LABEL] ? node : undefined;
      }, 250).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n${c.diagnostics()}`);
      });
    }

    log(`applying ${podCount} Pods one at a time (${onFirst} on board a, ${podCount - onFirst} on board b)`);
    const w = (watcher = new PodWatcher(cl, await revision(cl)));
    const total: number[] = [];
    const applyCall: number[] = [];
    const toBound: number[] = [];
    const boundToRunning: number[] = [];
    const perPod: PodsBenchReport['stages']['slowest'] = [];
    const loadBefore = os.loadavg()[0]!;
    let first: number | undefined;
    // Board a gets every (podCount/onFirst)-th Pod, so both boards fill up side by side.
    const onA = new Set(Array.from({ length: onFirst }, (_, k) => Math.floor((k * podCount) / Math.max(1, onFirst))));
    for (let i = 0; i < podCount; i++) {
      const name = `bench-${String(i).padStart(3, '0')}`;
      const t0 = performance.now();
      first ??= t0;
      await applyPod(cl, benchPod(name, onA.has(i) ? 'a' : 'b'));
      const tApplied = performance.now();
      const tRunning = await w.running(name, RUNNING_DEADLINE_MS, () => c.diagnostics());
      const t = w.times.get(name)!;
      total.push(tRunning - t0);
      applyCall.push(tApplied - t0);
      toBound.push((t.bound ?? tRunning) - t0);
      boundToRunning.push(tRunning - (t.bound ?? tRunning));
      perPod.push({
        name, board: t.nodeName ?? '', appliedAtSecond: round((t0 - first) / 1000),
        totalMs: round(tRunning - t0), applyToBoundMs: round((t.bound ?? tRunning) - t0), boundToRunningMs: round(tRunning - (t.bound ?? tRunning)),
      });
    }
    const loadAfter = os.loadavg()[0]!;
    const podsPerBoard: Record<string, number> = {};
    for (const t of w.times.values()) if (t.nodeName) podsPerBoard[t.nodeName] = (podsPerBoard[t.nodeName] ?? 0) + 1;
    const serverPid = c.server.pid;
    if (serverPid === undefined) throw new Error('the bramble server must be running: it exited');
    const cpRss = await readRssBytes(serverPid);

    log('timing single ctr calls in board a');
    const ctrCall = await ctrCallTimes(boardA, 10);

    log(`idle: ${SETTLE_SECONDS} s settle, then ${idleSeconds} s measured`);
    await sleep(SETTLE_SECONDS * 1000);
    const agentA = pidOf(boardA);
    const agentB = pidOf(boardB);
    const rev0 = await revision(cl);
    counter = new EventCounter(cl, rev0);
    const files0 = await fileSizes(c.server.dataDir);
    const w0 = await readWriteBytes(serverPid);
    const cpu0 = await Promise.all([serverPid, agentA, agentB].map(readCpuSeconds));
    const t0 = performance.now();
    await sleep(idleSeconds * 1000);
    const cpu1 = await Promise.all([serverPid, agentA, agentB].map(readCpuSeconds));
    const w1 = await readWriteBytes(serverPid);
    const elapsed = (performance.now() - t0) / 1000;
    const files1 = await fileSizes(c.server.dataDir);
    const rev1 = await revision(cl);
    const perMinute = (delta: number): number => (elapsed > 0 ? (delta / elapsed) * 60 : 0);
    const shims = await shimsOf(boardA.containerd.address);

    const stillRunning = [...w.times.values()].filter((t) => t.running !== undefined).length;
    if (stillRunning < podCount) throw new Error(`all ${podCount} Pods must have been Running: ${stillRunning} were`);
    const p99 = total.length > 0 ? summarizeMs(total).p99 : 0;
    return {
      name: 'pods',
      pods: podCount,
      podsPerBoard,
      applyToRunning: {
        ...summarizeMs(total),
        targetP99: 1000,
        sloP99: 5000,
        metTarget: p99 <= 1000,
        note: 'from the Apply call to the arrival of the Watch event showing phase Running with the container running; one Pod at a time; busybox `sleep 3600`, image already imported, imagePullPolicy IfNotPresent',
      },
      stages: {
        applyCall: summarizeMs(applyCall),
        applyToBound: summarizeMs(toBound),
        boundToRunning: summarizeMs(boundToRunning),
        slowest: perPod.sort((a, b) => b.totalMs - a.totalMs).slice(0, 5),
        note: 'applyToBound: Apply call + scheduler bind, until the watch shows spec.nodeName; boundToRunning: assignment stream, agent reconcile (CNI, ctr), status report and its store write',
      },
      agentsSpawnedAtSecond: round((agentsSpawned - (first ?? agentsSpawned)) / 1000),
      loadAverage: { beforePods: round(loadBefore, 2), afterPods: round(loadAfter, 2) },
      ctrCall,
      agent: {
        board: boardA.nodeName,
        podsRunning: podsPerBoard[boardA.nodeName] ?? 0,
        pid: agentA,
        rss: mbFigure(await readRssBytes(agentA)),
        cpuSecondsPerIdleMinute: figure(perMinute(cpu1[1]! - cpu0[1]!), 's/min', 3),
        containerd: { pid: boardA.containerd.pid, rss: mbFigure(await readRssBytes(boardA.containerd.pid)) },
        shims: { count: shims.count, rss: mbFigure(shims.rssBytes) },
      },
      otherAgent: {
        board: boardB.nodeName,
        podsRunning: podsPerBoard[boardB.nodeName] ?? 0,
        pid: agentB,
        rss: mbFigure(await readRssBytes(agentB)),
        cpuSecondsPerIdleMinute: figure(perMinute(cpu1[2]! - cpu0[2]!), 's/min', 3),
      },
      controlPlane: {
        pid: serverPid,
        rssWith2BoardsAnd50Pods: mbFigure(cpRss),
        rssAfterIdle: mbFigure(await readRssBytes(serverPid)),
        idle: {
          seconds: round(elapsed),
          settleSeconds: SETTLE_SECONDS,
          writeBytes: figure(w1 - w0, 'bytes', 0),
          writeBytesPerMinute: figure(perMinute(w1 - w0), 'bytes/min', 0),
          cpuSecondsPerIdleMinute: figure(perMinute(cpu1[0]! - cpu0[0]!), 's/min', 3),
          storeRevisions: rev1 - rev0,
          storeEvents: { ...counter.counts },
          dataDirChanges: sizeChanges(files0, files1),
        },
      },
    };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    counter?.close();
    watcher?.close();
    client?.close();
    await closeBenchCluster(cluster, failed, log);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runPodsBench({ idleSeconds: idleSecondsFromEnv() }).then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
