// Agents end to end: two boards (netns + containerd + `bramble agent` process)
// join a real `bramble server`, import the air-gap image, pull from a registry,
// refuse a bad token, and adopt their containers after a kill -9.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject, NodeObject, Pod } from '../proto/model.js';
import { ociPlatform } from './support/busybox-image.js';
import { startCluster, TEST_IMAGE, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, mainStatus, waitForPod } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge') && existsSync('/usr/bin/docker-registry');
const BOARD_LABEL = 'bramble.test/board';

/** Rows of a `bramble get` table as header → cell maps (cells are three or more spaces apart, headers have none). */
function parseTable(stdout: string): Record<string, string>[] {
  const [head, ...rows] = stdout.trimEnd().split('\n');
  const headers = (head ?? '').trim().split(/\s+/);
  return rows.map((r) => {
    const cells = r.trim().split(/\s{2,}/);
    return Object.fromEntries(headers.map((h, i) => [h, cells[i] ?? '']));
  });
}

async function taskPid(board: ClusterBoard, containerId: string): Promise<number | undefined> {
  const r = await board.ctr(['tasks', 'ls']);
  const line = r.stdout.split('\n').find((l) => l.trim().split(/\s+/)[0] === containerId);
  const pid = Number(line?.trim().split(/\s+/)[1]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

describe('agents joining a real control plane', { skip: !canRun && 'needs root, containerd, CNI plugins and docker-registry (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let a: ClusterBoard;
  let b: ClusterBoard;

  before(async () => {
    cluster = await startCluster({
      boards: [
        { name: 'a', labels: { [BOARD_LABEL]: 'a' } },
        { name: 'b', labels: { [BOARD_LABEL]: 'b' }, registry: true },
      ],
    });
    [a, b] = [cluster.boards[0]!, cluster.boards[1]!];
  });

  after(async () => {
    await cluster?.close();
  });

  test('two boards join, become Ready and are listed with their architecture and figures', async () => {
    const arch = ociPlatform().architecture;
    let last = '';
    const rows = await waitFor('both nodes Ready with figures in bramble get nodes', async () => {
      const r = await cluster.bramble(['get', 'nodes']);
      last = `${r.stdout}${r.stderr}`;
      if (r.code !== 0) return undefined;
      const table = parseTable(r.stdout);
      const ours = [a, b].map((x) => table.find((row) => row.NAME === x.nodeName));
      return ours.every((row) => row?.STATUS === 'Ready' && /^\d+%$/.test(row['CPU%'] ?? '') && /^\d+%$/.test(row['MEM%'] ?? '')) ? table : undefined;
    }, { timeoutMs: 60_000, describe: () => `last output:\n${last}\n${cluster.diagnostics()}` });
    assert.equal(rows.length, 2, last);
    for (const row of rows) assert.equal(row.ARCH, arch, `node ${row.NAME} must report ARCH ${arch}:\n${last}`);
    for (const x of [a, b]) {
      const node = await cluster.get<NodeObject>('node', x.nodeName);
      assert.equal(node?.metadata.labels?.[BOARD_LABEL], x.labels[BOARD_LABEL], 'the --labels of the agent must be on the Node');
      assert.match(node?.spec.podCIDR ?? '', /^10\.42\.\d+\.0\/24$/);
      // The image came from <agent data dir>/images/busybox.tar: no board has a registry holding it under this name.
      const images = await x.ctr(['images', 'ls', '-q']);
      assert.ok(images.stdout.split('\n').includes(TEST_IMAGE), `board ${x.nodeName} must have imported ${TEST_IMAGE}: ${images.stdout}`);
    }
    assert.notEqual((await cluster.get<NodeObject>('node', a.nodeName))?.spec.podCIDR, (await cluster.get<NodeObject>('node', b.nodeName))?.spec.podCIDR);
  });

  test('an agent with a wrong token secret is refused, exits non-zero and creates no Node', async () => {
    const sep = cluster.token.lastIndexOf('.');
    const secret = cluster.token.slice(sep + 1);
    const wrongSecret = [...secret].map((ch) => (ch === 'a' ? 'b' : 'a')).join('');
    const dir = await mkdtemp(join(tmpdir(), 'bramble-intruder-'));
    try {
      const res = await cluster.runAgent(a, [
        '--server', `${a.board.hostIp}:${cluster.grpcPort}`,
        '--token', `${cluster.token.slice(0, sep + 1)}${wrongSecret}`,
        '--node-name', 'intruder',
        '--data-dir', dir,
        '--containerd-address', a.containerd.address,
      ], 30_000);
      assert.notEqual(res.code, 0, `the agent must fail: ${res.output}`);
      const id = cluster.token.slice(cluster.token.indexOf('::') + 2, sep);
      assert.match(res.output, new RegExp(`join token "${id}" has the wrong secret`), res.output);
      assert.equal(res.output.includes(wrongSecret), false, 'the failure must not repeat the secret');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(await cluster.get('node', 'intruder'), undefined);
    const nodes = await cluster.bramble(['get', 'nodes', '-o', 'json']);
    assert.deepEqual((JSON.parse(nodes.stdout) as { items: KObject[] }).items.map((n) => n.metadata.name).sort(), [a.nodeName, b.nodeName].sort());
  });

  test('a Pod with imagePullPolicy Always pulls its image from a local registry and runs', async () => {
    const registry = b.registry!;
    const before = await b.ctr(['images', 'ls', '-q']);
    assert.equal(before.stdout.split('\n').includes(registry.busyboxImage), false, 'the board must not hold the registry image before the Pod');
    await cluster.apply([busyboxPod('pulled', { image: registry.busyboxImage, imagePullPolicy: 'Always', command: ['sleep', '3600'] }, { nodeSelector: { [BOARD_LABEL]: 'b' } })]);
    const pod = await waitForPod(cluster, 'pulled', 'to be Running', isRunning);
    assert.equal(pod.spec.nodeName, b.nodeName);
    const after = await b.ctr(['images', 'ls', '-q']);
    assert.ok(after.stdout.split('\n').includes(registry.busyboxImage), `board b must hold the pulled image: ${after.stdout}`);
  });

  test('an agent killed with SIGKILL and started again adopts its running container', async () => {
    // The first attempt exits once, so the adopted container carries a restartCount a restarted agent must not lose.
    await cluster.apply([busyboxPod('steady', {
      command: ['sh', '-c', 'if [ -e /state/ran ]; then exec sleep 3600; fi; touch /state/ran; exit 1'],
      volumeMounts: [{ name: 'state', mountPath: '/state' }],
    }, { nodeSelector: { [BOARD_LABEL]: 'a' }, volumes: [{ name: 'state', emptyDir: {} }] })]);
    const before = await waitForPod(cluster, 'steady', 'to be Running after one restart', (p) => isRunning(p) && mainStatus(p)?.restartCount === 1);
    const status = mainStatus(before)!;
    const containerId = (status.containerID ?? '').replace(/^containerd:\/\//, '');
    assert.ok(containerId, `the Pod must report its container: ${JSON.stringify(status)}`);
    const pid = await taskPid(a, containerId);
    assert.ok(pid, `containerd must run a task for ${containerId}`);

    // The dead first attempt is kept beside the running one (for lastState), as the kubelet does.
    const podContainers = async (): Promise<string[]> =>
      (await a.ctr(['containers', 'ls', '-q'])).stdout.split('\n').filter((id) => id.startsWith(before.metadata.uid!.slice(0, 12))).sort();
    const containersBefore = await podContainers();
    assert.ok(containersBefore.includes(containerId), `containerd must hold ${containerId}: ${containersBefore.join(', ')}`);

    const firstPid = a.agentPid;
    await a.stopAgent('SIGKILL');
    assert.equal(a.agentPid, undefined);
    a.startAgent();
    assert.notEqual(a.agentPid, firstPid);
    // A Pod the restarted agent starts proves it synced with the control plane and reconciled everything it has.
    await cluster.apply([busyboxPod('after-restart', { command: ['sleep', '3600'] }, { nodeSelector: { [BOARD_LABEL]: 'a' } })]);
    await waitForPod(cluster, 'after-restart', 'to be Running on the restarted agent', isRunning);

    const afterPod = await cluster.get<Pod>('pod', 'steady');
    assert.ok(afterPod && isRunning(afterPod), `the adopted Pod must still be Running: ${JSON.stringify(afterPod?.status)}`);
    assert.equal(mainStatus(afterPod)?.containerID, status.containerID, 'the container must be the same one');
    assert.equal(mainStatus(afterPod)?.restartCount, 1, 'adoption is not a restart, and the count survives the agent');
    assert.equal(mainStatus(afterPod)?.state.running?.startedAt, status.state.running?.startedAt);
    assert.equal(await taskPid(a, containerId), pid, 'the task must be the same process');
    assert.deepEqual(await podContainers(), containersBefore, 'the restarted agent must neither make nor remove containers of the Pod');
  });
});
