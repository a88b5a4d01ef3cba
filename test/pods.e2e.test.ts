// Pods end to end on a real board: a `bramble server` process, an agent in a
// board netns with its own containerd, runc and CNI bridge. Independent Pods
// run side by side, so the tests of this file run concurrently.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KObject, NodeObject as Node, Pod } from '../proto/model.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, inCidr, isRunning, mainStatus, waitForPod, waitForBoardReady } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

describe('pods on a real board', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)', concurrency: true }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'pods' }] });
    board = cluster.boards[0]!;
    await waitForBoardReady(cluster, board.nodeName);
  });

  after(async () => {
    await cluster?.close();
  });

  test('an httpd Pod gets an IP from its board’s pod CIDR and serves a ConfigMap file over HTTP on it', async () => {
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'www', namespace: 'default' }, data: { 'index.html': 'hello from a configmap\n' } };
    await cluster.apply([
      cm,
      busyboxPod('web', {
        command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
        volumeMounts: [{ name: 'www', mountPath: '/www', readOnly: true }],
      }, { volumes: [{ name: 'www', configMap: { name: 'www' } }] }),
    ]);
    const pod = await waitForPod(cluster, 'web', 'to be Running with an IP', (p) => isRunning(p) && !!p.status?.podIP);
    assert.equal(pod.spec.nodeName, board.nodeName);
    const node = await cluster.get<Node>('node', board.nodeName);
    const cidr = node?.spec?.podCIDR ?? '';
    assert.ok(cidr && inCidr(pod.status!.podIP!, cidr), `pod IP ${pod.status?.podIP} must lie in the board's pod CIDR ${cidr}`);
    // httpd may need a moment after the container is running; busybox wget's -T crashes here, so the runner times out instead.
    const body = await waitFor('httpd to answer on the pod IP', async () => {
      const r = await board.board.runner.run('/bin/busybox', ['wget', '-qO-', `http://${pod.status!.podIP}:8080/`], { timeoutMs: 5000 }).catch(() => undefined);
      return r?.exitCode === 0 ? r.stdout : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(body, 'hello from a configmap\n');
  });

  test('env values, ConfigMap and Secret keys and files are visible inside, and bramble logs shows them', async () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    await cluster.apply([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { mode: 'production', 'greeting.txt': 'hi from a file' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, type: 'Opaque', data: { password: b64('s3cret-value'), token: b64('tok-from-file') } },
      busyboxPod('printer', {
        command: ['sh', '-c', [
          'echo "PLAIN=$PLAIN"',
          'echo "FROM_CM=$FROM_CM"',
          'echo "FROM_SECRET=$FROM_SECRET"',
          'echo "CM_FILE=$(cat /etc/settings/greeting.txt)"',
          'echo "SECRET_FILE=$(cat /etc/creds/token)"',
          'echo done-printing',
          'sleep 3600',
        ].join('; ')],
        env: [
          { name: 'PLAIN', value: 'plain value' },
          { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
          { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        ],
        volumeMounts: [
          { name: 'settings', mountPath: '/etc/settings', readOnly: true },
          { name: 'creds', mountPath: '/etc/creds', readOnly: true },
        ],
      }, { volumes: [{ name: 'settings', configMap: { name: 'settings' } }, { name: 'creds', secret: { secretName: 'creds' } }] }),
    ]);
    await waitForPod(cluster, 'printer', 'to be Running', isRunning);
    let lastLogs = '';
    await waitFor('bramble logs printer to show everything printed', async () => {
      const r = await cluster.bramble(['logs', 'printer']);
      lastLogs = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
      return r.code === 0 && r.stdout.includes('done-printing') ? r.stdout : undefined;
    }, { timeoutMs: 30_000, describe: () => `last: ${lastLogs}\n${cluster.diagnostics()}` });
    const lines = lastLogs.split('\n');
    for (const expected of ['PLAIN=plain value', 'FROM_CM=production', 'FROM_SECRET=s3cret-value', 'CM_FILE=hi from a file', 'SECRET_FILE=tok-from-file']) {
      assert.ok(lines.includes(expected), `bramble logs must show the line "${expected}":\n${lastLogs}`);
    }
  });

  test('a crashing container is restarted with back-off and shows CrashLoopBackOff with its exit code', async () => {
    await cluster.apply([busyboxPod('crasher', { command: ['sh', '-c', 'exit 3'] }, { restartPolicy: 'Always' })]);
    let sawBackOff: Pod | undefined;
    const pod = await waitForPod(cluster, 'crasher', 'to reach restartCount 2 after CrashLoopBackOff', (p) => {
      const s = mainStatus(p);
      if (s?.state.waiting?.reason === 'CrashLoopBackOff') sawBackOff ??= p;
      return (s?.restartCount ?? 0) >= 2 && sawBackOff !== undefined;
    }, 120_000);
    const backOff = mainStatus(sawBackOff);
    assert.equal(backOff?.lastState?.terminated?.exitCode, 3, JSON.stringify(backOff));
    assert.ok((mainStatus(pod)?.restartCount ?? 0) >= 2);
    assert.equal(mainStatus(pod)?.lastState?.terminated?.exitCode, 3);
  });

  test('a failing liveness probe restarts the container', async () => {
    await cluster.apply([busyboxPod('unhealthy', {
      command: ['sh', '-c', 'touch /tmp/healthy; sleep 4; rm -f /tmp/healthy; sleep 3600'],
      livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2 },
    })]);
    const first = await waitForPod(cluster, 'unhealthy', 'to be Running', isRunning);
    assert.equal(mainStatus(first)?.restartCount, 0);
    const pod = await waitForPod(cluster, 'unhealthy', 'to be restarted by its liveness probe', (p) => (mainStatus(p)?.restartCount ?? 0) >= 1, 90_000);
    const s = mainStatus(pod);
    assert.ok(s?.lastState?.terminated !== undefined, `the killed attempt must show as lastState.terminated: ${JSON.stringify(s)}`);
    assert.notEqual(s.containerID, mainStatus(first)?.containerID, 'the restart must be a new container');
  });

  test('deleting a Pod removes its containers, netns and IP lease before it disappears from bramble get pods', async () => {
    await cluster.apply([busyboxPod('doomed', { command: ['sleep', '3600'] })]);
    const pod = await waitForPod(cluster, 'doomed', 'to be Running with an IP', (p) => isRunning(p) && !!p.status?.podIP);
    const uid = pod.metadata.uid!;
    const netns = `/var/run/netns/bramble-${uid.slice(0, 12)}`;
    const leaseDir = join(board.dataDir, 'ipam', 'bramble');
    const ours = async (): Promise<string[]> => {
      const ids = (await board.ctr(['containers', 'ls', '-q'])).stdout.split('\n').map((x) => x.trim());
      return ids.filter((id) => id.startsWith(uid.slice(0, 12)));
    };
    const leases = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const f of await readdir(leaseDir).catch(() => [] as string[])) {
        if ((await readFile(join(leaseDir, f), 'utf8').catch(() => '')).split(/\r?\n/)[0]?.trim() === uid) out.push(f);
      }
      return out;
    };
    assert.equal((await ours()).length, 1, 'the running Pod must have its container');
    assert.ok(existsSync(netns), `the running Pod must have its netns ${netns}`);
    assert.deepEqual(await leases(), [pod.status!.podIP], 'the running Pod must hold a lease for its IP');

    const del = await cluster.bramble(['delete', 'pod', 'doomed']);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('pod doomed to disappear from bramble get pods', async () => {
      const r = await cluster.bramble(['get', 'pods', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const items = (JSON.parse(r.stdout) as { items: KObject[] }).items;
      return items.some((p) => p.metadata.name === 'doomed') ? undefined : true;
    }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    assert.deepEqual(await ours(), [], 'no container of the deleted Pod may remain');
    assert.equal(existsSync(netns), false, `the netns ${netns} must be gone`);
    assert.deepEqual(await leases(), [], 'the IP lease must be released');
  });
});
