// Scheduling end to end: real boards report their labels and resources, and the
// control plane's scheduler places Pods, or keeps them Pending with the reason.
// Boards on one machine all report its memory, so "too big" means bigger than the machine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { NodeObject, Pod } from '../proto/model.js';
import { startCluster, waitFor, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, waitForPod } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');
const DISK = 'bramble.test/disk';

function unschedulable(p: Pod): string | undefined {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c?.status === 'False' ? (c.message ?? '') : undefined;
}

describe('placement of Pods on real boards', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)', concurrency: true }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'ssd', labels: { [DISK]: 'ssd' } }, { name: 'sd', labels: { [DISK]: 'sd' } }] });
    for (const b of cluster.boards) {
      await waitFor(`board ${b.nodeName} to be Ready`, async () => {
        const node = await cluster.get<NodeObject>('node', b.nodeName);
        return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? node : undefined;
      }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    }
  });

  after(async () => {
    await cluster?.close();
  });

  test('a nodeSelector steers each Pod to the board with the matching label', async () => {
    const [ssd, sd] = [cluster.board('ssd'), cluster.board('sd')];
    await cluster.apply([
      busyboxPod('on-ssd', { command: ['sleep', '3600'] }, { nodeSelector: { [DISK]: 'ssd' } }),
      busyboxPod('on-sd', { command: ['sleep', '3600'] }, { nodeSelector: { [DISK]: 'sd' } }),
    ]);
    const [p1, p2] = await Promise.all([
      waitForPod(cluster, 'on-ssd', 'to be Running', isRunning),
      waitForPod(cluster, 'on-sd', 'to be Running', isRunning),
    ]);
    assert.equal(p1.spec.nodeName, ssd.nodeName);
    assert.equal(p2.spec.nodeName, sd.nodeName);
  });

  test('a Pod requesting more memory than any board has stays Pending with Insufficient memory', async () => {
    const node = await cluster.get<NodeObject>('node', cluster.boards[0]!.nodeName);
    assert.ok(node?.status?.allocatable?.memory, `the Node must report allocatable memory: ${JSON.stringify(node?.status)}`);
    await cluster.apply([busyboxPod('too-big', { command: ['sleep', '3600'], resources: { requests: { memory: '4096Gi' } } })]);
    const pod = await waitForPod(cluster, 'too-big', 'to be marked unschedulable', (p) => unschedulable(p) !== undefined);
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.spec.nodeName, undefined);
    assert.match(unschedulable(pod)!, /^0\/2 nodes are available: .*2 Insufficient memory/);
  });

  test('a Pod whose nodeSelector matches no board stays Pending with a message saying so', async () => {
    await cluster.apply([busyboxPod('nowhere', { command: ['sleep', '3600'] }, { nodeSelector: { [DISK]: 'nvme' } })]);
    const pod = await waitForPod(cluster, 'nowhere', 'to be marked unschedulable', (p) => unschedulable(p) !== undefined);
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.spec.nodeName, undefined);
    assert.match(unschedulable(pod)!, /^0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector/);
  });
});
