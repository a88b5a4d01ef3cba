// Network probes end to end on a real board: the agent probes a Pod's IP over
// the board's CNI bridge, with httpGet for readiness and tcpSocket for liveness.
// busybox httpd -vv logs every request it answers, so `bramble logs` shows that
// the probes really reached the container. The Pods are independent: the tests run concurrently.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Container, Pod, Probe } from '../proto/model.js';
import { startCluster, waitFor, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, mainStatus, waitForPod, waitForBoardReady } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

/** An httpd Pod serving /www/index.html from an emptyDir, logging each request and its response code. */
function httpdPod(name: string, probes: Pick<Container, 'readinessProbe' | 'livenessProbe'>): Pod {
  return busyboxPod(name, {
    command: ['sh', '-c', 'echo ok > /www/index.html && exec httpd -f -vv -p 8080 -h /www'],
    volumeMounts: [{ name: 'www', mountPath: '/www' }],
    ...probes,
  }, { volumes: [{ name: 'www', emptyDir: {} }] });
}

function podCondition(p: Pod, type: string): string | undefined {
  return p.status?.conditions?.find((c) => c.type === type)?.status;
}

const fastProbe = { initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2 } satisfies Partial<Probe>;

describe('network probes on a real board', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)', concurrency: true }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'probes' }] });
    const nodeName = cluster.boards[0]!.nodeName;
    await waitForBoardReady(cluster, nodeName);
  });

  after(async () => {
    await cluster?.close();
  });

  /** Waits until httpd has logged `count` answers with the given status code, and returns the log. */
  async function waitForResponses(pod: string, code: number, count: number): Promise<string> {
    let last = '';
    return waitFor(`httpd in ${pod} to log ${count} probe answers with ${code}`, async () => {
      const r = await cluster.bramble(['logs', pod]);
      last = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
      const n = r.stdout.split('\n').filter((l) => l.endsWith(`response:${code}`)).length;
      return r.code === 0 && n >= count ? r.stdout : undefined;
    }, { timeoutMs: 45_000, intervalMs: 1000, describe: () => `last logs: ${last}\n${cluster.diagnostics()}` });
  }

  test('an httpGet readiness probe on a served file makes the Pod Ready, and a tcpSocket liveness probe on the open port keeps it alive', async () => {
    await cluster.apply([httpdPod('ready-web', {
      readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, ...fastProbe },
      livenessProbe: { tcpSocket: { port: 8080 }, ...fastProbe },
    })]);
    const pod = await waitForPod(cluster, 'ready-web', 'to be Ready', (p) => isRunning(p) && podCondition(p, 'Ready') === 'True');
    assert.equal(mainStatus(pod)?.ready, true, JSON.stringify(pod.status));
    assert.equal(podCondition(pod, 'ContainersReady'), 'True', JSON.stringify(pod.status?.conditions));
    const logs = await waitForResponses('ready-web', 200, 5);
    assert.match(logs, /url:\/index\.html/);
    // Five probe periods later the tcpSocket liveness probe (threshold 2) would have killed a container it could not reach.
    const later = await cluster.get<Pod>('pod', 'ready-web');
    assert.equal(mainStatus(later)?.restartCount, 0, JSON.stringify(later?.status));
    assert.equal(mainStatus(later)?.containerID, mainStatus(pod)?.containerID);
    assert.equal(mainStatus(later)?.ready, true);
  });

  test('an httpGet readiness probe on a missing path keeps a Running Pod not Ready', async () => {
    await cluster.apply([httpdPod('unready-web', { readinessProbe: { httpGet: { path: '/missing.html', port: 8080 }, ...fastProbe } })]);
    await waitForPod(cluster, 'unready-web', 'to be Running', isRunning);
    const logs = await waitForResponses('unready-web', 404, 3);
    assert.match(logs, /url:\/missing\.html/);
    const pod = await cluster.get<Pod>('pod', 'unready-web');
    assert.ok(pod && isRunning(pod), `the Pod must stay Running: ${JSON.stringify(pod?.status)}`);
    assert.equal(mainStatus(pod)?.ready, false, JSON.stringify(pod.status));
    assert.equal(podCondition(pod, 'Ready'), 'False', JSON.stringify(pod.status?.conditions));
    assert.equal(mainStatus(pod)?.restartCount, 0, 'a failing readiness probe must not restart the container');
  });

  test('a tcpSocket liveness probe on a port nothing listens on restarts the container', async () => {
    await cluster.apply([busyboxPod('deaf', {
      command: ['sleep', '3600'],
      livenessProbe: { tcpSocket: { port: 9999 }, ...fastProbe },
    })]);
    const first = await waitForPod(cluster, 'deaf', 'to be Running', isRunning);
    // The probe may already have killed an attempt before the first poll saw one
    // running (its period is a second); what counts is that this one is killed too.
    const before = mainStatus(first)?.restartCount ?? 0;
    const pod = await waitForPod(cluster, 'deaf', 'to be restarted by its liveness probe', (p) => (mainStatus(p)?.restartCount ?? 0) > before, 90_000);
    const s = mainStatus(pod);
    assert.ok(s?.lastState?.terminated !== undefined, `the killed attempt must show as lastState.terminated: ${JSON.stringify(s)}`);
    assert.notEqual(s.containerID, mainStatus(first)?.containerID, 'the restart must be a new container');
  });
});
