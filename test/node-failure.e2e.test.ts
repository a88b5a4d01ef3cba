// Node failure and maintenance on real boards. A board whose agent dies (unplugged:
// its containerd keeps the containers running, nobody reports) is marked
// Ready=Unknown after the grace period and tainted unreachable:NoExecute; once the
// default toleration runs out its Pods are deleted gracefully and their Deployment
// makes replacements on the other board. When the agent comes back it stops the
// replaced Pods, so exactly the wanted number run. `bramble drain` then empties a
// board while the Deployment stays available on the other. The server runs with
// short settings (10 s grace, 10 s toleration) to keep the test short. The tests
// are steps of one story, so they run in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { TAINT_NODE_UNREACHABLE, type Deployment, type NodeObject, type Pod } from '../proto/model.js';
import { startCluster, TEST_IMAGE, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { waitForBoardReady } from './support/e2e-objects.js';
import { sleepingDeployment } from '../control-plane/testing/deployment-fixtures.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

const GRACE_SECONDS = 10;
const TOLERATION_SECONDS = 10;

/** Two replicas, a 1 s grace period: evictions and drains here need no long wait. */
const deployment = (): Deployment => sleepingDeployment('web', { image: TEST_IMAGE, replicas: 2, terminationGracePeriodSeconds: 1 });

const isRunning = (p: Pod): boolean => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state.running !== undefined;
const live = (p: Pod): boolean => !p.metadata.deletionTimestamp;

/** The running task ids of a board's containerd. */
async function runningTasks(board: ClusterBoard): Promise<string[]> {
  const r = await board.ctr(['tasks', 'ls']);
  if (r.exitCode !== 0) throw new Error(`ctr tasks ls exited with ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter(([id, , status]) => id && status === 'RUNNING').map(([id]) => id!);
}

const runsOn = (tasks: string[], pod: Pod): boolean => tasks.some((id) => id.startsWith((pod.metadata.uid ?? '').slice(0, 12)));

describe('node failure and drain on real boards', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let a: ClusterBoard;
  let b: ClusterBoard;
  /** The Pod that ran on board b before it was unplugged. */
  let lost: Pod;

  before(async () => {
    cluster = await startCluster({
      boards: [{ name: 'na' }, { name: 'nb' }],
      serverArgs: ['--node-monitor-grace-period', `${GRACE_SECONDS}s`, '--default-unreachable-toleration-seconds', String(TOLERATION_SECONDS)],
    });
    [a, b] = cluster.boards as [ClusterBoard, ClusterBoard];
    for (const board of cluster.boards) await waitForBoardReady(cluster, board.nodeName);
  });
  after(async () => {
    await cluster?.close();
  });

  async function pods(): Promise<Pod[]> {
    const r = await cluster.bramble(['get', 'pods', '-l', 'app=web', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { items?: Pod[] }).items ?? [];
  }
  const describeAll = async (): Promise<string> =>
    (await pods()).map((p) => `${p.metadata.name} on ${p.spec.nodeName} ${p.status?.phase}${p.metadata.deletionTimestamp ? ' (terminating)' : ''}`).join('\n');
  const placement = (list: Pod[]): string[] => list.filter(live).filter(isRunning).map((p) => p.spec.nodeName!).sort();

  test('a Deployment of 2 replicas is spread over both boards', async () => {
    await cluster.apply([deployment()]);
    const spread = await waitFor('both replicas running', async () => {
      const list = await pods();
      return placement(list).length === 2 ? list : undefined;
    }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    assert.deepEqual(placement(spread), [a.nodeName, b.nodeName].sort(), 'one replica on each board');
    lost = spread.find((p) => p.spec.nodeName === b.nodeName)!;
  });

  test('an unplugged board is tainted unreachable and its Pod runs on the other board within the toleration + 30 s', async () => {
    const unplugged = Date.now();
    await b.stopAgent('SIGKILL');
    const node = await waitFor('board b to be Unknown and tainted', async () => {
      const n = await cluster.get<NodeObject>('node', b.nodeName);
      const ready = n?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
      return ready === 'Unknown' && n?.spec.taints?.some((t) => t.key === TAINT_NODE_UNREACHABLE && t.effect === 'NoExecute') ? n : undefined;
    }, { timeoutMs: (GRACE_SECONDS + 15) * 1000 });
    assert.ok(node.spec.taints?.find((t) => t.key === TAINT_NODE_UNREACHABLE)?.timeAdded, 'the taint is dated');
    await waitFor('both replicas running on board a', async () => {
      const list = await pods();
      return placement(list).join() === [a.nodeName, a.nodeName].join() ? list : undefined;
    }, { timeoutMs: (GRACE_SECONDS + TOLERATION_SECONDS + 30) * 1000 - (Date.now() - unplugged), intervalMs: 500, describe: () => cluster.diagnostics() });
    const old = await cluster.get<Pod>('pod', lost.metadata.name);
    assert.ok(old?.metadata.deletionTimestamp, 'the lost Pod is Terminating until its board confirms');
    assert.ok(runsOn(await runningTasks(b), lost), 'the unplugged board\'s containerd still runs it');
  });

  test('the board that comes back stops the replaced Pod: exactly 2 run', async () => {
    b.startAgent();
    await waitFor('board b Ready and untainted', async () => {
      const n = await cluster.get<NodeObject>('node', b.nodeName);
      const ready = n?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
      return ready === 'True' && !(n?.spec.taints ?? []).some((t) => t.key === TAINT_NODE_UNREACHABLE) ? n : undefined;
    }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    await waitFor('the replaced Pod gone from the store', async () => ((await cluster.get<Pod>('pod', lost.metadata.name)) ? undefined : true), {
      timeoutMs: 30_000, describe: () => cluster.diagnostics(),
    });
    await waitFor('its container stopped on board b', async () => (runsOn(await runningTasks(b), lost) ? undefined : true), { timeoutMs: 15_000 });
    const list = await pods();
    assert.equal(list.length, 2, await describeAll());
    assert.deepEqual(placement(list), [a.nodeName, a.nodeName]);
  });

  test('drain empties a board while the Deployment stays available on the other', async () => {
    const r = await cluster.bramble(['drain', a.nodeName, '--ignore-daemonsets', '--timeout', '60s']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${await describeAll()}`);
    assert.match(r.stdout, new RegExp(`^node/${a.nodeName} cordoned\n`));
    assert.match(r.stdout, new RegExp(`node/${a.nodeName} drained\n$`));
    assert.equal((await cluster.get<NodeObject>('node', a.nodeName))?.spec.unschedulable, true);
    await waitFor('both replicas running on board b, the Deployment available', async () => {
      const list = await pods();
      const d = await cluster.get<Deployment>('deployment', 'web');
      const available = d?.status?.conditions?.find((c) => c.type === 'Available')?.status === 'True' && d.status.availableReplicas === 2;
      return available && placement(list).join() === [b.nodeName, b.nodeName].join() && list.every(live) ? true : undefined;
    }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    assert.deepEqual(await runningTasks(a), [], 'nothing runs on the drained board');
    const un = await cluster.bramble(['uncordon', a.nodeName]);
    assert.equal(un.stdout, `node/${a.nodeName} uncordoned\n`);
  });
});
