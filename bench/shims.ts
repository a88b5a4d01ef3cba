// Node overhead per Pod on real containerd, before and after shim grouping: a
// `bramble server` and one board (a network namespace with its own containerd
// and `bramble agent`, test/support/cluster.ts) running 20 Pods of two
// containers each (app + sidecar, as Deployments with a log shipper look).
// Before: `bramble agent --shim-group container`, a shim per container; after:
// the default, `--shim-group pod`, one shim for a Pod's containers. Each mode
// gets a fresh cluster. Measured by proportional set size
// (/proc/PID/smaps_rollup, which splits shared pages fairly among the processes
// that map them): the agent, containerd and its shims, once the board is Ready
// with no Pod (the base) and again with every Pod Running.
// Run alone with `npx tsx bench/shims.ts` (root, containerd, runc, CNI plugins).
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Pod } from '../proto/model.js';
import type { ShimGroupMode } from '../agent/runtime.js';
import { startCluster, TEST_IMAGE, type TestCluster } from '../test/support/cluster.js';
import { shimPidsOf } from '../test/support/containerd.js';
import { waitForBoardsReady } from './bench-cluster.js';
import { figure, MB, round, sleep, waitFor, type Figure } from './util.js';

const PODS = 20;
const CONTAINERS = ['app', 'sidecar'] as const;
/** Quiet time after the last Pod started, so start-up allocations have settled. */
const SETTLE_MS = 5000;

export interface NodePss {
  shims: number;
  agentPss: Figure;
  containerdPss: Figure;
  shimsPss: Figure;
  totalPss: Figure;
}

export interface ShimsModeFigures {
  /** The `bramble agent --shim-group` value of this run. */
  shimGroup: ShimGroupMode;
  /** The board Ready, no Pod. */
  base: NodePss;
  withPods: NodePss;
  /** withPods.totalPss / PODS: what the node spends per Pod, its base included. */
  perPodPss: Figure;
  /** (withPods − base) / PODS: what one more Pod costs. */
  marginalPerPodPss: Figure;
}

export interface ShimsBenchReport {
  name: 'shims';
  pods: number;
  containersPerPod: number;
  before: ShimsModeFigures;
  after: ShimsModeFigures;
  /** after.withPods.totalPss / before.withPods.totalPss: below 1 is a saving. */
  ratio: number;
  note: string;
}

/** Pss of one process in bytes, from smaps_rollup ("Pss: N kB"). */
export function parsePssBytes(smapsRollup: string): number {
  const m = /^Pss:\s+(\d+)\s+kB/m.exec(smapsRollup);
  if (!m) throw new Error('smaps_rollup must have a Pss line: none found');
  return Number(m[1]) * 1024;
}

async function pssOf(pid: number): Promise<number> {
  return parsePssBytes(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
}

function benchPod(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `shims-${i}`, namespace: 'default', labels: { app: 'bramble-bench-shims' } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: CONTAINERS.map((name) => ({ name, image: TEST_IMAGE, imagePullPolicy: 'IfNotPresent' as const, command: ['sleep', '3600'] })),
    },
  };
}

function allRunning(p: Pod): boolean {
  return p.status?.phase === 'Running' && CONTAINERS.every((n) => p.status?.containerStatuses?.some((c) => c.name === n && c.state.running !== undefined));
}

async function measureNode(cluster: TestCluster): Promise<NodePss> {
  const board = cluster.boards[0]!;
  const agentPid = board.agentPid;
  if (agentPid === undefined) throw new Error(`the agent of ${board.nodeName} is not running:\n${board.agentOutput().slice(-2000)}`);
  const shims = await shimPidsOf(board.containerd.address);
  let shimsPss = 0;
  for (const pid of shims) shimsPss += await pssOf(pid);
  const agentPss = await pssOf(agentPid);
  const containerdPss = await pssOf(board.containerd.pid);
  return {
    shims: shims.length,
    agentPss: figure(agentPss / MB, 'MB'),
    containerdPss: figure(containerdPss / MB, 'MB'),
    shimsPss: figure(shimsPss / MB, 'MB'),
    totalPss: figure((agentPss + containerdPss + shimsPss) / MB, 'MB'),
  };
}

async function measureMode(shimGroup: ShimGroupMode, log: (m: string) => void): Promise<ShimsModeFigures> {
  const cluster = await startCluster({ boards: [{ name: 'shim', agentArgs: ['--shim-group', shimGroup] }] });
  try {
    await waitForBoardsReady(cluster);
    await sleep(SETTLE_MS);
    const base = await measureNode(cluster);
    log(`--shim-group ${shimGroup}: ${PODS} Pods × ${CONTAINERS.length} containers`);
    await cluster.apply(Array.from({ length: PODS }, (_, i) => benchPod(i)));
    await waitFor(`${PODS} Pods Running with both containers`, 180_000, async () => {
      const r = await cluster.bramble(['get', 'pods', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const pods = (JSON.parse(r.stdout) as { items?: Pod[] }).items ?? [];
      return pods.filter(allRunning).length === PODS ? true : undefined;
    }, 1000);
    await sleep(SETTLE_MS);
    const withPods = await measureNode(cluster);
    const expectedShims = shimGroup === 'pod' ? PODS : PODS * CONTAINERS.length;
    if (withPods.shims !== expectedShims) throw new Error(`--shim-group ${shimGroup} must run ${expectedShims} shims for ${PODS} Pods: found ${withPods.shims}`);
    return {
      shimGroup,
      base,
      withPods,
      perPodPss: figure(withPods.totalPss.value / PODS, 'MB', 2),
      marginalPerPodPss: figure((withPods.totalPss.value - base.totalPss.value) / PODS, 'MB', 2),
    };
  } finally {
    await cluster.close();
  }
}

export async function runShimsBench(opts: { log?: (m: string) => void } = {}): Promise<ShimsBenchReport> {
  const log = opts.log ?? (() => undefined);
  const before = await measureMode('container', log);
  const after = await measureMode('pod', log);
  return {
    name: 'shims',
    pods: PODS,
    containersPerPod: CONTAINERS.length,
    before,
    after,
    ratio: round(after.withPods.totalPss.value / before.withPods.totalPss.value, 2),
    note: 'agent + containerd + shims of one board by proportional set size; before = --shim-group container (a shim per container), after = the default --shim-group pod',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runShimsBench({ log: (m) => process.stderr.write(`${m}\n`) }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => { process.stderr.write(`${String(e)}\n`); process.exitCode = 1; },
  );
}
