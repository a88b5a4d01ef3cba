// A ReplicaSet on a real board: its Pods run on containerd, a deleted Pod is
// replaced, a scale-down removes Pods, and deleting the ReplicaSet lets the
// garbage collector remove every Pod and container it made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { KObject, Pod } from '../proto/model.js';
import { startCluster, TEST_IMAGE, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { isRunning, waitForBoardReady } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

function replicaSet(replicas: number): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'sleepers', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'sleepers' } },
      template: {
        metadata: { labels: { app: 'sleepers' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

describe('a ReplicaSet on a real board', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'rs' }] });
    board = cluster.boards[0]!;
    await waitForBoardReady(cluster, board.nodeName);
  });

  after(async () => {
    await cluster?.close();
  });

  async function pods(): Promise<Pod[]> {
    const r = await cluster.bramble(['get', 'pods', '-l', 'app=sleepers', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    // A list prints as `kind: List` with items, as kubectl does.
    return (JSON.parse(r.stdout) as { items?: Pod[] }).items ?? [];
  }

  /** Waits for exactly `n` Running Pods of the ReplicaSet, none terminating. */
  function running(n: number): Promise<Pod[]> {
    return waitFor(`${n} Running pods of the ReplicaSet`, async () => {
      const all = await pods();
      const live = all.filter((p) => !p.metadata.deletionTimestamp);
      return live.length === n && all.length === n && live.every(isRunning) ? live : undefined;
    }, { timeoutMs: 90_000, describe: () => cluster.diagnostics() });
  }

  async function podContainers(): Promise<string[]> {
    const ls = await board.ctr(['containers', 'ls', '-q']);
    return ls.stdout.split('\n').filter(Boolean);
  }

  test('keeps its replicas running, replaces a deleted Pod, scales down, and takes its Pods and containers with it when deleted', async () => {
    await cluster.apply([replicaSet(3)]);
    const first = await running(3);
    for (const p of first) {
      const owner = p.metadata.ownerReferences?.[0];
      assert.equal(owner?.kind, 'ReplicaSet');
      assert.equal(owner?.controller, true);
    }

    const victim = first[0]!.metadata.name;
    const del = await cluster.bramble(['delete', 'pod', victim]);
    assert.equal(del.code, 0, del.stderr);
    const replaced = await waitFor('a replacement Pod', async () => {
      const live = (await pods()).filter((p) => !p.metadata.deletionTimestamp && isRunning(p));
      return live.length === 3 && !live.some((p) => p.metadata.name === victim) ? live : undefined;
    }, { timeoutMs: 90_000, describe: () => cluster.diagnostics() });
    assert.equal(replaced.length, 3);

    await cluster.apply([replicaSet(1)]);
    await running(1);
    await waitFor('the ReplicaSet status to say 1 ready', async () => {
      const now = await cluster.get<KObject & { status?: { replicas?: number; readyReplicas?: number } }>('rs', 'sleepers');
      return now?.status?.replicas === 1 && now.status.readyReplicas === 1 ? now : undefined;
    }, { timeoutMs: 30_000 });

    const gone = await cluster.bramble(['delete', 'rs', 'sleepers']);
    assert.equal(gone.code, 0, gone.stderr);
    await waitFor('every Pod of the deleted ReplicaSet to be gone', async () => ((await pods()).length === 0 ? true : undefined), {
      timeoutMs: 90_000, describe: () => cluster.diagnostics(),
    });
    await waitFor('no container left on the board', async () => ((await podContainers()).length === 0 ? true : undefined), { timeoutMs: 60_000 });
  });
});
