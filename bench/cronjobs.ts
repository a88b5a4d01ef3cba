// CronJobs on real containerd: a `bramble server` and two boards. Ten CronJobs
// with the schedule `*/1 * * * *` run for two scheduled minutes (20 runs); for
// each run it measures the delay from the scheduled minute to the Job's
// creation (the Job's creationTimestamp, set by the server) and to its Pod's
// container starting (the container's startedAt, reported by the agent), as
// p50/p99. Then five CronJobs that do not fire in the window: the control
// plane's CPU seconds and bytes written per idle minute (targets < 0.5 and 0).
// Run alone with `npx tsx bench/cronjobs.ts` (root, containerd, runc, CNI plugins).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KObject, Pod } from '../proto/model.js';
import type { ClusterClient } from '../proto/generated/bramble/v1/Cluster.js';
import { startCluster, TEST_IMAGE, type TestCluster } from '../test/support/cluster.js';
import { idleSecondsFromEnv } from './api.js';
import { measureControlPlaneIdle, type ControlPlaneIdle } from './control-plane-idle.js';
import { benchClusterClient, waitForBoardsReady } from './bench-cluster.js';
import { closeBenchCluster, summarizeMs, waitFor, type LatencySummary } from './util.js';

const FIRING = 10;
const MINUTES = 2;
const IDLE_CRONJOBS = 5;
/** Quiet time after the firing CronJobs and their Jobs and Pods are deleted: the cascade and its garbage are not idle. */
const SETTLE_SECONDS = 30;

export interface CronJobsBenchReport {
  name: 'cronjobs';
  runs: number;
  scheduleToJobCreated: LatencySummary;
  scheduleToContainerStarted: LatencySummary;
  note: string;
  idle: { cronJobs: number } & ControlPlaneIdle;
}

function cronJob(name: string, schedule: string): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default' },
    spec: {
      schedule,
      successfulJobsHistoryLimit: 5,
      jobTemplate: {
        spec: {
          template: {
            metadata: { labels: { bench: 'cronjobs' } },
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 1,
              containers: [{ name: 'run', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', 'echo ran'] }],
            },
          },
        },
      },
    },
  };
}

/** When the Pod's container started, by the agent's clock (this machine's). */
function containerStarted(p: Pod): number | undefined {
  const s = p.status?.containerStatuses?.[0]?.state;
  const at = s?.running?.startedAt ?? s?.terminated?.startedAt;
  const ms = at ? Date.parse(at) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

export async function runCronJobsBench(opts: { idleSeconds?: number; log?: (m: string) => void } = {}): Promise<CronJobsBenchReport> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[cronjobs] ${m}\n`));
  const idleSeconds = opts.idleSeconds ?? 60;
  let cluster: TestCluster | undefined;
  let client: ClusterClient | undefined;
  let failed = false;
  try {
    log('starting a server and 2 boards');
    cluster = await startCluster({ boards: [{ name: 'cja' }, { name: 'cjb' }] });
    const c = cluster;
    const cl: ClusterClient = (client = await benchClusterClient(c));
    const json = async <T>(args: string[]): Promise<T> => {
      const r = await c.bramble([...args, '-o', 'json']);
      if (r.code !== 0) throw new Error(`bramble ${args.join(' ')} failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    await waitForBoardsReady(c);

    const names = Array.from({ length: FIRING }, (_, i) => `tick-${i}`);
    await c.apply(names.map((n) => cronJob(n, '*/1 * * * *')));
    const appliedAt = Date.now();
    // Runs scheduled strictly after the apply: the first whole minute after it, and the ones after.
    const firstMinute = Math.floor(appliedAt / 60_000) * 60_000 + 60_000;
    const minutes = Array.from({ length: MINUTES }, (_, k) => firstMinute + k * 60_000);
    log(`waiting for ${FIRING * MINUTES} runs, the last at ${new Date(minutes.at(-1)!).toISOString()}`);
    const toJob: number[] = [];
    const toStart: number[] = [];
    await waitFor('every scheduled run to have started its container', (minutes.at(-1)! - Date.now()) + 120_000, async () => {
      const jobs = (await json<{ items?: KObject[] }>(['get', 'jobs'])).items ?? [];
      const pods = (await json<{ items?: Pod[] }>(['get', 'pods', '-l', 'bench=cronjobs'])).items ?? [];
      toJob.length = 0;
      toStart.length = 0;
      for (const name of names) {
        for (const m of minutes) {
          const jobName = `${name}-${Math.floor(m / 60_000)}`;
          const job = jobs.find((j) => j.metadata.name === jobName);
          if (!job) return undefined;
          toJob.push(Date.parse(job.metadata.creationTimestamp!) - m);
          const pod = pods.find((p) => p.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid));
          const started = pod && containerStarted(pod);
          if (started === undefined) return undefined;
          toStart.push(started - m);
        }
      }
      return true;
    }, 1000);
    for (const n of names) await c.bramble(['delete', 'cronjob', n]);

    await c.apply(Array.from({ length: IDLE_CRONJOBS }, (_, i) => cronJob(`yearly-${i}`, '0 0 1 1 *')));
    log(`idle with ${IDLE_CRONJOBS} CronJobs that do not fire: ${SETTLE_SECONDS} s settle, then ${idleSeconds} s measured`);
    const idle = await measureControlPlaneIdle(cl, c.server, { settleSeconds: SETTLE_SECONDS, idleSeconds });
    return {
      name: 'cronjobs',
      runs: toJob.length,
      scheduleToJobCreated: summarizeMs(toJob),
      scheduleToContainerStarted: summarizeMs(toStart),
      note: `${FIRING} CronJobs "*/1 * * * *" over ${MINUTES} scheduled minutes; ms from the scheduled minute to the Job's creationTimestamp and to its container's startedAt (server and agents on this machine's clock)`,
      idle: { cronJobs: IDLE_CRONJOBS, ...idle },
    };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    client?.close();
    await closeBenchCluster(cluster, failed, log);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runCronJobsBench({ idleSeconds: idleSecondsFromEnv() }).then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
