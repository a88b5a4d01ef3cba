// Shim grouping benchmark on real containerd: 20 Pods of two containers each
// (app + sidecar, as Deployments with a log shipper look) started through the
// agent's CtrRuntime on one board (a network namespace with its own containerd),
// first with a shim per container (no group: before), then with the Pod's
// containers in one group (after). Measures, by proportional set size
// (/proc/PID/smaps_rollup, which splits shared pages fairly among the processes
// that map them), containerd plus its shims, in total and per Pod.
// The agent is not in the sum: its memory does not depend on how shims are
// grouped, and the `pods` section measures it.
// Run alone with `npx tsx bench/shims.ts` (root, containerd, runc, CNI plugins).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CtrRuntime } from '../agent/runtime-ctr.js';
import type { ContainerSpec } from '../agent/runtime.js';
import { createBoard, pickFreeBoardIndex, type Board } from '../test/support/board.js';
import { shimPidsOf, startContainerd, type RunningContainerd } from '../test/support/containerd.js';
import { buildBusyboxImage } from '../test/support/busybox-image.js';
import { figure, makeTempDir, MB, removeDir, round, type Figure } from './util.js';

const PODS = 20;
const CONTAINERS_PER_POD = 2;

export interface ShimsModeFigures {
  shims: number;
  containerdPss: Figure;
  shimsPss: Figure;
  totalPss: Figure;
  perPodPss: Figure;
}

export interface ShimsBenchReport {
  name: 'shims';
  pods: number;
  containersPerPod: number;
  before: ShimsModeFigures;
  after: ShimsModeFigures;
  /** after.totalPss / before.totalPss: below 1 is a saving. */
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

async function measureMode(runtime: CtrRuntime, containerd: RunningContainerd, image: string, dir: string, grouped: boolean, mode: string): Promise<ShimsModeFigures> {
  const ids: string[] = [];
  try {
    for (let p = 0; p < PODS; p++) {
      for (let c = 0; c < CONTAINERS_PER_POD; c++) {
        const spec: ContainerSpec = {
          id: `${mode}-p${p}-c${c}`,
          image,
          command: ['sleep', '3600'],
          env: {},
          mounts: [],
          labels: { 'bramble.bench': mode },
          logPath: path.join(dir, `${mode}-p${p}-c${c}.log`),
          hostNetwork: true,
          ...(grouped ? { shimGroup: `pod-${mode}-${p}` } : {}),
        };
        ids.push(spec.id);
        await runtime.start(spec);
      }
    }
    const shims = await shimPidsOf(containerd.address);
    let shimsPss = 0;
    for (const pid of shims) shimsPss += await pssOf(pid);
    const containerdPss = await pssOf(containerd.pid);
    const total = shimsPss + containerdPss;
    return {
      shims: shims.length,
      containerdPss: figure(containerdPss / MB, 'MB'),
      shimsPss: figure(shimsPss / MB, 'MB'),
      totalPss: figure(total / MB, 'MB'),
      perPodPss: figure(total / PODS / MB, 'MB', 2),
    };
  } finally {
    for (const id of ids) await runtime.remove(id).catch(() => undefined);
  }
}

export async function runShimsBench(opts: { log?: (m: string) => void } = {}): Promise<ShimsBenchReport> {
  const log = opts.log ?? (() => undefined);
  const dir = await makeTempDir('shims');
  let board: Board | undefined;
  let containerd: RunningContainerd | undefined;
  try {
    board = await createBoard('bshim', await pickFreeBoardIndex());
    containerd = await startContainerd({ dir: path.join(dir, 'ctd'), netnsPath: board.netnsPath });
    const runtime = new CtrRuntime({ address: containerd.address, runner: board.runner, pollIntervalMs: 50 });
    const image = await buildBusyboxImage();
    await runtime.importImage(image.tarPath);
    log(`${PODS} Pods × ${CONTAINERS_PER_POD} containers, a shim each`);
    const before = await measureMode(runtime, containerd, image.name, dir, false, 'before');
    log(`${PODS} Pods × ${CONTAINERS_PER_POD} containers, a shim per Pod`);
    const after = await measureMode(runtime, containerd, image.name, dir, true, 'after');
    return {
      name: 'shims',
      pods: PODS,
      containersPerPod: CONTAINERS_PER_POD,
      before,
      after,
      ratio: round(after.totalPss.value / before.totalPss.value, 2),
      note: 'containerd + shims by proportional set size, with every Pod running; the agent is left out (grouping does not change it; see the pods section)',
    };
  } finally {
    await containerd?.stop().catch(() => undefined);
    await board?.destroy().catch(() => undefined);
    await removeDir(dir).catch(() => undefined);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runShimsBench({ log: (m) => process.stderr.write(`${m}\n`) }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => { process.stderr.write(`${String(e)}\n`); process.exitCode = 1; },
  );
}
