// What the control plane costs while nothing happens, measured the one way the
// workloads and cronjobs sections share: a settle, then an idle window over
// which its CPU seconds, bytes written (/proc/PID/io), store revisions and the
// events by object, and the data-dir files that changed size are taken.
import { performance } from 'node:perf_hooks';
import type { ClusterClient } from '../proto/generated/bramble/v1/Cluster.js';
import type { TestCluster } from '../test/support/cluster.js';
import { EventCounter, fileSizes, mbFigure, revision, sizeChanges } from './pods.js';
import { figure, readCpuSeconds, readRssBytes, readThreadCpuSeconds, readWriteBytes, round, sleep, threadCpuDelta, type Figure } from './util.js';

/** The issue targets for an idle control plane: under half a CPU-second a minute, nothing written. */
export const IDLE_CPU_TARGET_SECONDS_PER_MINUTE = 0.5;

export interface ControlPlaneIdle {
  seconds: number;
  settleSeconds: number;
  cpuSecondsPerMinute: Figure & { target: number; metTarget: boolean };
  /** The window's CPU seconds by thread: the main (JavaScript) thread's user and system time, the rest by thread name. */
  cpuByThread: ReturnType<typeof threadCpuDelta>;
  writeBytes: Figure & { target: number; metTarget: boolean };
  storeRevisions: number;
  storeEvents: Record<string, number>;
  dataDirChanges: Record<string, number>;
  controlPlaneRss: Figure;
}

export async function measureControlPlaneIdle(
  client: ClusterClient, server: TestCluster['server'], opts: { settleSeconds: number; idleSeconds: number },
): Promise<ControlPlaneIdle> {
  const pid = server.pid;
  if (pid === undefined) throw new Error('the bramble server exited');
  await sleep(opts.settleSeconds * 1000);
  const rev0 = await revision(client);
  const counter = new EventCounter(client, rev0);
  try {
    const files0 = await fileSizes(server.dataDir);
    const w0 = await readWriteBytes(pid);
    const cpu0 = await readCpuSeconds(pid);
    const threads0 = await readThreadCpuSeconds(pid);
    const t0 = performance.now();
    await sleep(opts.idleSeconds * 1000);
    const cpu1 = await readCpuSeconds(pid);
    const threads1 = await readThreadCpuSeconds(pid);
    const w1 = await readWriteBytes(pid);
    const elapsed = (performance.now() - t0) / 1000;
    const files1 = await fileSizes(server.dataDir);
    const rev1 = await revision(client);
    const cpuPerMinute = ((cpu1 - cpu0) / elapsed) * 60;
    return {
      seconds: round(elapsed),
      settleSeconds: opts.settleSeconds,
      cpuSecondsPerMinute: {
        ...figure(cpuPerMinute, 's/min', 3), target: IDLE_CPU_TARGET_SECONDS_PER_MINUTE, metTarget: cpuPerMinute < IDLE_CPU_TARGET_SECONDS_PER_MINUTE,
      },
      cpuByThread: threadCpuDelta(threads0, threads1, pid),
      writeBytes: { ...figure(w1 - w0, 'bytes', 0), target: 0, metTarget: w1 - w0 === 0 },
      storeRevisions: rev1 - rev0,
      storeEvents: { ...counter.counts },
      dataDirChanges: sizeChanges(files0, files1),
      controlPlaneRss: mbFigure(await readRssBytes(pid)),
    };
  } finally {
    counter.close();
  }
}
