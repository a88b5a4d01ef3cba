// Pod environment and security context end to end on a real board: envFrom
// and the downward API reach the container, $(VAR) is expanded in args, the
// process runs as runAsUser, a read-only root refuses writes, and a missing
// ConfigMap holds the container in CreateContainerConfigError until applied.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { KObject, Pod } from '../proto/model.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, mainStatus, waitForBoardReady, waitForPod } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

describe('pod env and security on a real board', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)', concurrency: true }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'env' }] });
    board = cluster.boards[0]!;
    await waitForBoardReady(cluster, board.nodeName);
  });

  after(async () => {
    await cluster?.close();
  });

  /** The pod's log once it shows `marker`. */
  async function logsWith(name: string, marker: string): Promise<string[]> {
    let last = '';
    await waitFor(`bramble logs ${name} to show ${marker}`, async () => {
      const r = await cluster.bramble(['logs', name]);
      last = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
      return r.code === 0 && r.stdout.includes(marker) ? r.stdout : undefined;
    }, { timeoutMs: 30_000, describe: () => `last: ${last}\n${cluster.diagnostics()}` });
    return last.split('\n');
  }

  test('envFrom a ConfigMap with a prefix and a Secret, downward API fields and $(VAR) in args reach the container', async () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    await cluster.apply([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-cfg', namespace: 'default' }, data: { MODE: 'fast', LEVEL: '3' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secret', namespace: 'default' }, type: 'Opaque', data: { TOKEN: b64('t0k3n') } },
      busyboxPod('envy', {
        command: ['sh', '-c'],
        // Single quotes: after Bramble's expansion the shell must not run the literal $(LITERAL) as a command.
        args: ["env; echo 'ARG=$(CFG_MODE)-$(MY_POD_NAME) $$(LITERAL)'; echo env-done; sleep 3600"],
        envFrom: [{ configMapRef: { name: 'app-cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'app-secret' } }],
        env: [
          { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'MY_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'COMBINED', value: '$(CFG_LEVEL)/$(MY_NS)' },
        ],
      }),
    ]);
    const pod = await waitForPod(cluster, 'envy', 'to be Running with an IP', (p) => isRunning(p) && !!p.status?.podIP);
    const lines = await logsWith('envy', 'env-done');
    for (const expected of [
      'CFG_MODE=fast', 'CFG_LEVEL=3', 'TOKEN=t0k3n', 'MY_POD_NAME=envy', 'MY_NS=default', `MY_NODE=${board.nodeName}`,
      `MY_IP=${pod.status!.podIP}`, 'COMBINED=3/default', 'ARG=fast-envy $(LITERAL)',
    ]) {
      assert.ok(lines.includes(expected), `the container must see "${expected}":\n${lines.join('\n')}`);
    }
    assert.ok(!lines.includes('MODE=fast'), 'the prefix applies to every ConfigMap key');
  });

  test('runAsUser 1000 runs the process as uid 1000, and a read-only root refuses writes', async () => {
    await cluster.apply([busyboxPod('secure', {
      command: ['sh', '-c', 'echo "UID=$(id -u) GID=$(id -g)"; if touch /probe 2>/dev/null; then echo ROOT=writable; else echo ROOT=readonly; fi; echo sec-done; sleep 3600'],
      securityContext: { runAsUser: 1000, runAsGroup: 2000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    })]);
    await waitForPod(cluster, 'secure', 'to be Running', isRunning);
    const lines = await logsWith('secure', 'sec-done');
    assert.ok(lines.includes('UID=1000 GID=2000'), lines.join('\n'));
    assert.ok(lines.includes('ROOT=readonly'), lines.join('\n'));
  });

  test('runAsNonRoot with a root image is held in CreateContainerConfigError', async () => {
    await cluster.apply([busyboxPod('rooty', { command: ['sleep', '3600'], securityContext: { runAsNonRoot: true } })]);
    const pod = await waitForPod(cluster, 'rooty', 'to wait with CreateContainerConfigError', (p) => mainStatus(p)?.state.waiting?.reason === 'CreateContainerConfigError');
    assert.match(mainStatus(pod)?.state.waiting?.message ?? '', /image will run as root/);
  });

  test('a missing ConfigMap holds the container in CreateContainerConfigError until it is applied', async () => {
    await cluster.apply([busyboxPod('waiter', {
      command: ['sh', '-c', 'echo "GOT=$LATE_KEY"; sleep 3600'],
      envFrom: [{ configMapRef: { name: 'late-cfg' }, prefix: 'LATE_' }],
    })]);
    const waiting = await waitForPod(cluster, 'waiter', 'to wait with CreateContainerConfigError', (p) => mainStatus(p)?.state.waiting?.reason === 'CreateContainerConfigError');
    assert.match(mainStatus(waiting)?.state.waiting?.message ?? '', /configmap "late-cfg" not found/);
    assert.notEqual(waiting.status?.phase, 'Failed');
    assert.equal(mainStatus(waiting)?.restartCount, 0);
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late-cfg', namespace: 'default' }, data: { KEY: 'arrived' } };
    await cluster.apply([cm]);
    await waitForPod(cluster, 'waiter', 'to be Running once the ConfigMap exists', (p: Pod) => isRunning(p));
    assert.ok((await logsWith('waiter', 'GOT=')).includes('GOT=arrived'));
  });
});
