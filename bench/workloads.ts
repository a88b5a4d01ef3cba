// Workload controllers on real containerd: a `bramble server` and two boards
// (test/support/cluster.ts). Measures how long a 30-replica Deployment of a
// local image takes to become fully available, how long a rolling update of it
// to another image takes and the fewest Ready Pods sampled meanwhile, and then
// the control plane's CPU and disk writes per idle minute with 10 Deployments
// (30 Pods) running, against the targets (< 0.5 CPU-s/min, 0 bytes).
// Run alone with `npx tsx bench/workloads.ts` (root, containerd, runc, CNI plugins).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Deployment, KObject, Pod } from '../proto/model.js';
import type { ClusterClient } from '../proto/generated/bramble/v1/Cluster.js';
import { startCluster, TEST_IMAGE, type TestCluster } from '../test/support/cluster.js';
import { ReadySampler } from '../test/support/ready-sampler.js';
import { idleSecondsFromEnv } from './api.js';
import { measureControlPlaneIdle, type ControlPlaneIdle } from './control-plane-idle.js';
import { benchClusterClient, waitForBoardsReady } from './bench-cluster.js';
import { closeBenchCluster, figure, waitFor, type Figure } from './util.js';

const IMAGE_V2 = 'bramble.test/busybox:2';
const BIG_REPLICAS = 30;
const IDLE_DEPLOYMENTS = 10;
const IDLE_REPLICAS = 3;
const SETTLE_SECONDS = 5;

export interface WorkloadsBenchReport {
  name: 'workloads';
  boards: number;
  deployment: {
    replicas: number;
    strategy: string;
    secondsToAvailable: Figure;
    rollingUpdate: { secondsToComplete: Figure; minReadySampled: number; floor: number; samples: number; metFloor: boolean };
  };
  idle: { deployments: number; pods: number } & ControlPlaneIdle;
}

function deployment(name: string, replicas: number, image: string): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, bench: 'workloads' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
      },
    },
  };
}


export async function runWorkloadsBench(opts: { idleSeconds?: number; log?: (m: string) => void } = {}): Promise<WorkloadsBenchReport> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[workloads] ${m}\n`));
  const idleSeconds = opts.idleSeconds ?? 60;
  let cluster: TestCluster | undefined;
  let client: ClusterClient | undefined;
  let failed = false;
  try {
    log('starting a server and 2 boards');
    cluster = await startCluster({ boards: [{ name: 'wla' }, { name: 'wlb' }] });
    const c = cluster;
    const cl: ClusterClient = (client = await benchClusterClient(c));
    const json = async <T>(args: string[]): Promise<T> => {
      const r = await c.bramble([...args, '-o', 'json']);
      if (r.code !== 0) throw new Error(`bramble ${args.join(' ')} failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    await waitForBoardsReady(c, { what: 'with the image', check: async (b) => (await b.ctr(['images', 'ls', '-q'])).stdout.includes(TEST_IMAGE) });
    for (const b of c.boards) {
      const tag = await b.ctr(['images', 'tag', TEST_IMAGE, IMAGE_V2]);
      if (tag.exitCode !== 0) throw new Error(`ctr images tag failed: ${tag.stderr}`);
    }
    const complete = (name: string, replicas: number, image: string) => async () => {
      const d = await c.get<Deployment>('deployment', name);
      const s = d?.status;
      const done = d && s && s.observedGeneration === d.metadata.generation && s.updatedReplicas === replicas
        && s.replicas === replicas && s.availableReplicas === replicas && d.spec.template.spec.containers[0]!.image === image;
      return done ? true : undefined;
    };

    log(`applying a ${BIG_REPLICAS}-replica Deployment`);
    const t0 = performance.now();
    await c.apply([deployment('big', BIG_REPLICAS, TEST_IMAGE)]);
    await waitFor('the Deployment to be available', 300_000, complete('big', BIG_REPLICAS, TEST_IMAGE), 100);
    const toAvailable = (performance.now() - t0) / 1000;

    log('rolling it to a new image');
    // Every state the Pods go through, from a watch: not only the moments a poll happens to see.
    const sampler = await ReadySampler.start(c.server.configPath, 'default', 'app=big');
    const t1 = performance.now();
    await c.apply([deployment('big', BIG_REPLICAS, IMAGE_V2)]);
    await waitFor('the rolling update to complete', 600_000, complete('big', BIG_REPLICAS, IMAGE_V2), 100);
    const updateSeconds = (performance.now() - t1) / 1000;
    const samples = sampler.stop();
    // The default strategy: 25% of 30 unavailable, rounded down.
    const floor = BIG_REPLICAS - Math.floor(BIG_REPLICAS * 0.25);
    const minReady = Math.min(...samples);

    log('deleting it, then applying 10 Deployments of 3 replicas for the idle window');
    const del = await c.bramble(['delete', 'deployment', 'big']);
    if (del.code !== 0) throw new Error(`delete failed: ${del.stderr}`);
    await waitFor('the big Deployment\'s Pods to be gone', 300_000, async () => ((await json<{ items?: Pod[] }>(['get', 'pods', '-l', 'app=big'])).items?.length ? undefined : true), 250);
    const names = Array.from({ length: IDLE_DEPLOYMENTS }, (_, i) => `idle-${i}`);
    await c.apply(names.map((n) => deployment(n, IDLE_REPLICAS, TEST_IMAGE)));
    for (const n of names) await waitFor(`${n} to be available`, 300_000, complete(n, IDLE_REPLICAS, TEST_IMAGE), 250);

    log(`idle: ${SETTLE_SECONDS} s settle, then ${idleSeconds} s measured`);
    const idle = await measureControlPlaneIdle(cl, c.server, { settleSeconds: SETTLE_SECONDS, idleSeconds });
    return {
      name: 'workloads',
      boards: 2,
      deployment: {
        replicas: BIG_REPLICAS,
        strategy: 'RollingUpdate, maxSurge 25%, maxUnavailable 25% (the defaults)',
        secondsToAvailable: figure(toAvailable, 's'),
        rollingUpdate: { secondsToComplete: figure(updateSeconds, 's'), minReadySampled: minReady, floor, samples: samples.length, metFloor: minReady >= floor },
      },
      idle: { deployments: IDLE_DEPLOYMENTS, pods: IDLE_DEPLOYMENTS * IDLE_REPLICAS, ...idle },
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
  runWorkloadsBench({ idleSeconds: idleSecondsFromEnv() }).then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
