// The hardware run on a real Raspberry Pi: reads the board's facts, runs a real
// Bramble on it the way the end-to-end tests do (test/support/cluster.ts: a
// `bramble server` process, and a board netns with its own containerd and a
// `bramble agent` process, torn down after), runs a busybox Pod of the board's
// architecture (test/support/busybox-image.ts builds it from the board's own
// busybox-static) and watches both processes while idle. Writes the report and
// prints its summary; exit 1 when a check failed.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { execRunner } from '../agent/exec-runner.js';
import { detectIptablesBackend } from '../agent/iptables-backend.js';
import { kubernetesArch } from '../agent/stats.js';
import { clientVersion } from '../control-plane/cli/cli-version.js';
import { realClock } from '../proto/util/clock.js';
import { startCluster, waitFor, type TestCluster } from '../test/support/cluster.js';
import { busyboxPod, isRunning, waitForPod } from '../test/support/e2e-objects.js';
import type { BoardModel } from './board-model.js';
import { realBoardFiles } from './board-files.js';
import { readMemoryCgroup, readTemperature } from './board-probes.js';
import { buildReport, summaryText, type IdleMeasurement, type Outcome, type ReportInput } from './hardware-report.js';
import { idleFigures, sampleProcess } from './process-figures.js';
import type { RunOptions } from './run-options.js';

const POD = 'hardware-arch';
/** A Pi 3 with an SD card needs a while to import the image and start the first container. */
const POD_TIMEOUT_MS = 180_000;
/** Left after the Pod runs before the idle window opens: its start's writes are not idle writes. */
const SETTLE_MS = 10_000;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function probeIptables(): Promise<ReportInput['iptables']> {
  try {
    const backend = await detectIptablesBackend(execRunner);
    const save = await execRunner.run(backend.save, [], { timeoutMs: 10_000 });
    return { value: { mode: backend.mode, reason: backend.reason, saveExitCode: save.exitCode ?? -1 } };
  } catch (e) {
    return { error: `the iptables backend could not be probed: ${message(e)}` };
  }
}

/** The Pod prints `uname -m` and stays up, so the idle window includes a board with one running container. */
async function runArchPod(cluster: TestCluster): Promise<{ machine: string; pod: string }> {
  await cluster.apply([busyboxPod(POD, { command: ['sh', '-c', 'uname -m; exec sleep 3600'] })]);
  await waitForPod(cluster, POD, 'Running', isRunning, POD_TIMEOUT_MS);
  const machine = await waitFor(`the logs of pod ${POD}`, async () => {
    const r = await cluster.bramble(['logs', POD]);
    const first = r.code === 0 ? r.stdout.split('\n')[0]?.trim() : undefined;
    return first ? first : undefined;
  }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
  return { machine, pod: POD };
}

async function ticksPerSecond(): Promise<number> {
  const r = await execRunner.run('getconf', ['CLK_TCK'], { timeoutMs: 5_000 }).catch(() => undefined);
  const n = Number(r?.stdout.trim());
  // Linux's USER_HZ is 100 on every architecture Bramble runs on.
  return Number.isInteger(n) && n > 0 ? n : 100;
}

async function measureIdle(cluster: TestCluster, seconds: number): Promise<IdleMeasurement> {
  const server = cluster.server.pid;
  const agent = cluster.boards[0]!.agentPid;
  if (server === undefined || agent === undefined) throw new Error('the server and the agent must be running to be measured: one has exited');
  const hz = await ticksPerSecond();
  await realClock.sleep(SETTLE_MS);
  const start = realClock.now();
  const [s0, a0] = await Promise.all([sampleProcess(realBoardFiles, server), sampleProcess(realBoardFiles, agent)]);
  await realClock.sleep(seconds * 1000);
  const [s1, a1] = await Promise.all([sampleProcess(realBoardFiles, server), sampleProcess(realBoardFiles, agent)]);
  const elapsed = realClock.now() - start;
  return { windowSeconds: seconds, controlPlane: idleFigures(s0, s1, elapsed, hz), agent: idleFigures(a0, a1, elapsed, hz) };
}

/** Runs Bramble on the board; each part that cannot run is an error in the report, never a crash. */
async function runBramble(idleSeconds: number): Promise<{ container: Outcome<{ machine: string; pod: string }>; idle: Outcome<IdleMeasurement> }> {
  if (process.getuid?.() !== 0) {
    const error = 'needs root (containerd, network namespaces, iptables): run it with sudo';
    return { container: { error }, idle: { error } };
  }
  let cluster: TestCluster | undefined;
  let container: Outcome<{ machine: string; pod: string }> | undefined;
  try {
    cluster = await startCluster({ boards: [{ name: 'hw' }], serverReadyTimeoutMs: 60_000 });
    container = { value: await runArchPod(cluster) };
    return { container, idle: { value: await measureIdle(cluster, idleSeconds) } };
  } catch (e) {
    const error = `Bramble could not run on the board: ${message(e)}`;
    return { container: container ?? { error }, idle: { error } };
  } finally {
    await cluster?.close().catch((e: unknown) => process.stderr.write(`bramble hardware tests: teardown: ${message(e)}\n`));
  }
}

export async function runOnBoard(model: BoardModel, opts: RunOptions, out: { write(text: string): unknown } = process.stdout): Promise<number> {
  const [temperature, memoryCgroup, iptables] = await Promise.all([readTemperature(realBoardFiles), readMemoryCgroup(realBoardFiles), probeIptables()]);
  out.write(`bramble hardware tests on ${model.model}: starting Bramble, then ${opts.idleSeconds} s of idle measurement\n`);
  const { container, idle } = await runBramble(opts.idleSeconds);
  const report = buildReport({
    generatedAt: new Date(realClock.now()),
    brambleVersion: clientVersion(),
    model,
    architecture: kubernetesArch(process.arch),
    kernel: os.release(),
    memoryTotalBytes: os.totalmem(),
    temperature,
    memoryCgroup,
    iptables,
    container,
    idle,
  });
  await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  out.write(summaryText(report, opts.out));
  return report.ok ? 0 : 1;
}
