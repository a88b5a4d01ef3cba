// Deployments and DaemonSets on real boards: a 4-replica Deployment rolls from
// one image to another on two boards with never fewer than replicas -
// maxUnavailable Ready Pods, a rollout to an image that does not exist fails
// `rollout status` while the old Pods keep serving, `rollout undo` goes back,
// and deleting the Deployment leaves nothing behind; a DaemonSet runs on every
// board, including one that joins later.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { DaemonSet, Deployment, KObject, Pod, ReplicaSet } from '../proto/model.js';
import { startCluster, TEST_IMAGE, waitFor, type TestCluster } from './support/cluster.js';
import { waitForBoardReady } from './support/e2e-objects.js';
import { isReadyPod, ReadySampler } from './support/ready-sampler.js';
import type { CliResult } from './support/server-process.js';
import { buildStandInImage } from './support/busybox-image.js';
import { k8sExamplesDir, K8S_EXAMPLES_SKIP } from '../control-plane/testing/k8s-examples.js';
import path from 'node:path';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

/** The second image: the same busybox under another name, tagged on every board. */
const IMAGE_V2 = 'bramble.test/busybox:2';
/** The name the documentation's nginx-deployment.yaml asks for, as containerd spells it. */
const NGINX_STAND_IN = 'docker.io/library/nginx:1.14.2';
const REPLICAS = 4;
const MAX_UNAVAILABLE = 1;

function deployment(image: string): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: REPLICAS,
      progressDeadlineSeconds: 20,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: MAX_UNAVAILABLE } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'app', image, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

function daemonSet(): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'exporter', namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: { app: 'exporter' } },
      template: {
        metadata: { labels: { app: 'exporter' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'exporter', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

/** Running with every container running (e2e-objects' isRunning looks for a container named main). */
const isRunning = (p: Pod): boolean =>
  p.status?.phase === 'Running' && p.spec.containers.every((c) => p.status?.containerStatuses?.find((s) => s.name === c.name)?.state.running !== undefined);

describe('Deployments and DaemonSets on real boards', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'da' }, { name: 'db' }, { name: 'dc', deferAgent: true }] });
    const nginx = await buildStandInImage(NGINX_STAND_IN, `trap 'exit 0' TERM; httpd -f -p 80 -h /var/www & wait`);
    for (const b of cluster.boards.slice(0, 2)) {
      const imported = await b.ctr(['images', 'import', nginx.tarPath]);
      assert.equal(imported.exitCode, 0, imported.stderr);
      await waitForBoardReady(cluster, b.nodeName);
      await waitFor('the busybox image on the board', async () => ((await b.ctr(['images', 'ls', '-q'])).stdout.includes(TEST_IMAGE) ? true : undefined), { timeoutMs: 60_000 });
      const tag = await b.ctr(['images', 'tag', TEST_IMAGE, IMAGE_V2]);
      assert.equal(tag.exitCode, 0, tag.stderr);
    }
  });

  after(async () => {
    await cluster?.close();
  });

  async function list<T extends KObject>(kind: string, selector: string, namespace = 'default'): Promise<T[]> {
    const r = await cluster.bramble(['get', kind, '-n', namespace, '-l', selector, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { items?: T[] }).items ?? [];
  }

  /** Ready Pods that are not being deleted, by image. */
  async function readyByImage(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const p of await list<Pod>('pods', 'app=web')) {
      if (!isReadyPod(p)) continue;
      const image = p.spec.containers[0]!.image;
      counts.set(image, (counts.get(image) ?? 0) + 1);
    }
    return counts;
  }

  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

  async function rolloutStatus(timeout: string): Promise<CliResult> {
    return cluster.bramble(['rollout', 'status', 'deployment/web', '--timeout', timeout]);
  }

  test('a Deployment rolls from v1 to v2 and back without dropping below replicas - maxUnavailable Ready Pods', async () => {
    await cluster.apply([deployment(TEST_IMAGE)]);
    const first = await rolloutStatus('120s');
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}\n${cluster.diagnostics()}`);
    assert.match(first.stdout, /deployment "web" successfully rolled out/);
    const start = await readyByImage();
    assert.equal(start.get(TEST_IMAGE), REPLICAS);
    const nodes = new Set((await list<Pod>('pods', 'app=web')).map((p) => p.spec.nodeName));
    assert.equal(nodes.size, 2, 'the Pods are spread over both boards');

    // Sample the Ready Pods all through the update.
    // Every state the Pods go through during the update, from a watch.
    const sampler = await ReadySampler.start(cluster.server.configPath, 'default', 'app=web');
    const set = await cluster.bramble(['set', 'image', 'deployment/web', `app=${IMAGE_V2}`]);
    assert.equal(set.code, 0, set.stderr);
    const rolled = await rolloutStatus('180s');
    const samples = sampler.stop();
    assert.equal(rolled.code, 0, `${rolled.stdout}\n${rolled.stderr}\n${cluster.diagnostics()}`);
    // 4 new Pods created, started and made Ready, 4 old ones deleted: far more than 8 events.
    assert.ok(samples.length >= 8, `the update was sampled (${samples.length} samples)`);
    assert.ok(Math.min(...samples) >= REPLICAS - MAX_UNAVAILABLE, `never fewer than ${REPLICAS - MAX_UNAVAILABLE} Ready Pods: ${samples.join(',')}`);
    assert.equal((await readyByImage()).get(IMAGE_V2), REPLICAS);
    const rss = await list<ReplicaSet>('rs', 'app=web');
    assert.equal(rss.length, 2);

    const undo = await cluster.bramble(['rollout', 'undo', 'deployment/web']);
    assert.equal(undo.code, 0, undo.stderr);
    const back = await rolloutStatus('180s');
    assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
    await waitFor('every Ready Pod back on v1', async () => {
      const m = await readyByImage();
      return m.get(TEST_IMAGE) === REPLICAS && total(m) === REPLICAS ? m : undefined;
    }, { timeoutMs: 60_000 });
    assert.equal((await list<ReplicaSet>('rs', 'app=web')).length, 2, 'undo reuses the v1 ReplicaSet');
  });

  test('a rollout to an image that does not exist fails rollout status while the old Pods keep serving', async () => {
    const set = await cluster.bramble(['set', 'image', 'deployment/web', 'app=bramble.test/absent:1']);
    assert.equal(set.code, 0, set.stderr);
    const stuck = await rolloutStatus('120s');
    assert.notEqual(stuck.code, 0, 'rollout status fails');
    assert.match(stuck.stderr, /exceeded its progress deadline/);
    const d = await cluster.get<Deployment>('deployment', 'web');
    assert.equal(d?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    const serving = await readyByImage();
    assert.ok((serving.get(TEST_IMAGE) ?? 0) >= REPLICAS - MAX_UNAVAILABLE, `old Pods keep serving: ${JSON.stringify([...serving])}`);
    const undo = await cluster.bramble(['rollout', 'undo', 'deployment/web']);
    assert.equal(undo.code, 0, undo.stderr);
    const back = await rolloutStatus('120s');
    assert.equal(back.code, 0, `${back.stdout}\n${back.stderr}`);
  });

  test('a deleted Pod of the Deployment is replaced', async () => {
    const before = (await list<Pod>('pods', 'app=web')).filter((p) => !p.metadata.deletionTimestamp);
    const victim = before[0]!.metadata.name;
    const del = await cluster.bramble(['delete', 'pod', victim]);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('a replacement Pod running', async () => {
      const live = (await list<Pod>('pods', 'app=web')).filter((p) => !p.metadata.deletionTimestamp && isRunning(p));
      return live.length === REPLICAS && !live.some((p) => p.metadata.name === victim) ? live : undefined;
    }, { timeoutMs: 90_000, describe: () => cluster.diagnostics() });
  });

  test('deleting the Deployment leaves no ReplicaSet, Pod or container behind', async () => {
    const del = await cluster.bramble(['delete', 'deployment', 'web']);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('no ReplicaSet or Pod of the Deployment', async () => {
      const left = [...(await list('rs', 'app=web')), ...(await list('pods', 'app=web'))];
      return left.length === 0 ? true : undefined;
    }, { timeoutMs: 90_000, describe: () => cluster.diagnostics() });
    for (const b of cluster.boards.slice(0, 2)) {
      await waitFor(`no container left on ${b.nodeName}`, async () => ((await b.ctr(['containers', 'ls', '-q'])).stdout.trim() === '' ? true : undefined), { timeoutMs: 60_000 });
    }
  });

  const examples = k8sExamplesDir();
  test("the Kubernetes documentation's nginx Deployment applies unchanged and runs (its image stood in for by busybox httpd)", { skip: examples === undefined && K8S_EXAMPLES_SKIP }, async () => {
    const file = path.join(examples!, 'controllers', 'nginx-deployment.yaml');
    const applied = await cluster.bramble(['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    const status = await cluster.bramble(['rollout', 'status', 'deployment/nginx-deployment', '--timeout', '120s']);
    assert.equal(status.code, 0, `${status.stdout}\n${status.stderr}\n${cluster.diagnostics()}`);
    const pods = (await list<Pod>('pods', 'app.kubernetes.io/name=nginx')).filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(pods.length, 3);
    assert.ok(pods.every(isRunning));
    const get = await cluster.bramble(['get', 'deploy', 'nginx-deployment']);
    assert.match(get.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    assert.match(get.stdout, /nginx-deployment\s+3\/3\s+3\s+3\s/);
    const del = await cluster.bramble(['delete', '-f', file]);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('the nginx Pods to be gone', async () => ((await list('pods', 'app.kubernetes.io/name=nginx')).length === 0 ? true : undefined), {
      timeoutMs: 90_000, describe: () => cluster.diagnostics(),
    });
  });

  test('a DaemonSet runs one Pod on each board, and on a board that joins later', async () => {
    await cluster.apply([daemonSet()]);
    const onBoards = (want: number) => waitFor(`a running exporter on ${want} boards`, async () => {
      const pods = (await list<Pod>('pods', 'app=exporter', 'kube-system')).filter((p) => !p.metadata.deletionTimestamp && isRunning(p));
      const nodes = new Set(pods.map((p) => p.spec.nodeName));
      return pods.length === want && nodes.size === want ? nodes : undefined;
    }, { timeoutMs: 90_000, describe: () => cluster.diagnostics() });
    const two = await onBoards(2);
    assert.deepEqual([...two].sort(), cluster.boards.slice(0, 2).map((b) => b.nodeName).sort());

    const late = cluster.boards[2]!;
    late.startAgent();
    await waitForBoardReady(cluster, late.nodeName);
    const three = await onBoards(3);
    assert.ok(three.has(late.nodeName), 'the new board got its Pod');
    const ds = await waitFor('the DaemonSet status to count three', async () => {
      const d = await cluster.get<DaemonSet>('ds', 'exporter', 'kube-system');
      return d?.status?.numberReady === 3 && d.status.desiredNumberScheduled === 3 ? d : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(ds.status?.updatedNumberScheduled, 3);
    const status = await cluster.bramble(['rollout', 'status', 'ds/exporter', '-n', 'kube-system', '--timeout', '30s']);
    assert.equal(status.code, 0, `${status.stdout}\n${status.stderr}`);

    const del = await cluster.bramble(['delete', 'ds', 'exporter', '-n', 'kube-system']);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('no exporter Pod left', async () => ((await list('pods', 'app=exporter', 'kube-system')).length === 0 ? true : undefined), {
      timeoutMs: 90_000, describe: () => cluster.diagnostics(),
    });
  });
});
