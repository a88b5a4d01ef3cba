// Eviction on real containerd, with the server's default settings: a
// Deployment of 4 replicas spread over two boards; the second board's agent is
// killed (SIGKILL: an unplugged board says no goodbye) and the time is taken
// until all 4 replicas run on the first board. Then the agent comes back, and
// the time is taken until its stale Pods are gone and exactly 4 run.
// Run alone with `npx tsx bench/eviction.ts` (root, containerd, runc, CNI plugins).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { KObject, Pod } from '../proto/model.js';
import { startCluster, TEST_IMAGE, type TestCluster } from '../test/support/cluster.js';
import { waitForBoardsReady } from './bench-cluster.js';
import { closeBenchCluster, figure, waitFor, type Figure } from './util.js';

const REPLICAS = 4;

export interface EvictionBenchReport {
  name: 'eviction';
  replicas: number;
  podsOnStoppedBoard: number;
  secondsToRunningElsewhere: Figure;
  secondsToNoDuplicateAfterReturn: Figure;
  note: string;
}

function deployment(): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'evict', namespace: 'default' },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: 'evict' } },
      template: {
        metadata: { labels: { app: 'evict' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
      },
    },
  };
}

const running = (p: Pod): boolean => !p.metadata.deletionTimestamp && p.status?.phase === 'Running'
  && (p.status.containerStatuses ?? []).some((s) => s.state.running !== undefined);

export async function runEvictionBench(opts: { log?: (m: string) => void } = {}): Promise<EvictionBenchReport> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[eviction] ${m}\n`));
  let cluster: TestCluster | undefined;
  let failed = false;
  try {
    log('starting a server and 2 boards');
    cluster = await startCluster({ boards: [{ name: 'eva' }, { name: 'evb' }] });
    const c = cluster;
    const [a, b] = c.boards as [TestCluster['boards'][number], TestCluster['boards'][number]];
    const pods = async (): Promise<Pod[]> => {
      const r = await c.bramble(['get', 'pods', '-l', 'app=evict', '-o', 'json']);
      if (r.code !== 0) throw new Error(`bramble get pods failed: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { items?: Pod[] }).items ?? [];
    };
    await waitForBoardsReady(c);
    await c.apply([deployment()]);
    const spread = await waitFor('4 Pods running on both boards', 120_000, async () => {
      const live = (await pods()).filter(running);
      const onB = live.filter((p) => p.spec.nodeName === b.nodeName).length;
      return live.length === REPLICAS && onB > 0 && onB < REPLICAS ? onB : undefined;
    }, 250);

    log(`killing the agent of ${b.nodeName} (${spread} Pods there)`);
    const t0 = performance.now();
    await b.stopAgent('SIGKILL');
    await waitFor(`all ${REPLICAS} replicas running on ${a.nodeName}`, 600_000, async () => {
      const live = (await pods()).filter((p) => running(p) && p.spec.nodeName === a.nodeName);
      return live.length >= REPLICAS ? true : undefined;
    }, 500);
    const elsewhere = (performance.now() - t0) / 1000;

    log('starting the agent again');
    const t1 = performance.now();
    b.startAgent();
    await waitFor('no Pod left on the returned board and exactly 4 running', 300_000, async () => {
      const all = await pods();
      const left = all.filter((p) => p.spec.nodeName === b.nodeName);
      return left.length === 0 && all.filter(running).length === REPLICAS ? true : undefined;
    }, 500);
    const back = (performance.now() - t1) / 1000;
    return {
      name: 'eviction',
      replicas: REPLICAS,
      podsOnStoppedBoard: spread,
      secondsToRunningElsewhere: figure(elsewhere, 's'),
      secondsToNoDuplicateAfterReturn: figure(back, 's'),
      note: 'default server settings: a node is judged after its heartbeat grace period, its Pods evicted after their unreachable toleration; the time includes both and the replacements starting',
    };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await closeBenchCluster(cluster, failed, log);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runEvictionBench().then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
