// Init containers, native sidecars and container logs across restarts, end to
// end on a real board. The Pods are independent, so the tests run concurrently.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Container, Pod } from '../proto/model.js';
import { startCluster, TEST_IMAGE, waitFor, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, mainStatus, waitForBoardReady, waitForPod } from './support/e2e-objects.js';
import { brambleBin } from './support/server-process.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

const box = (name: string, extra: Partial<Container>): Container => ({ name, image: TEST_IMAGE, imagePullPolicy: 'Never', ...extra });

describe('init containers, sidecars and logs on a real board', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)', concurrency: true }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'init' }] });
    await waitForBoardReady(cluster, cluster.boards[0]!.nodeName);
  });

  after(async () => {
    await cluster?.close();
  });

  test('an init container writes a file into an emptyDir that the app container then reads and prints', async () => {
    // The first init container holds the Pod in its initializing state until the test,
    // having seen that state, tells it to go on through exec; a fixed sleep instead left a
    // window a one-second poll could miss on a loaded machine.
    const pod = busyboxPod('greeter', {
      command: ['sh', '-c', 'cat /work/greeting; sleep 3600'],
      volumeMounts: [{ name: 'work', mountPath: '/work' }],
    }, {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        box('wait', { command: ['sh', '-c', 'until [ -e /work/go ]; do sleep 0.2; done'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }),
        box('write', { command: ['sh', '-c', 'echo "hello from init" > /work/greeting'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }),
      ],
    });
    await cluster.apply([pod]);
    const pending = await waitForPod(cluster, 'greeter', 'to be initializing', (p) => p.status?.phase === 'Pending' && !!p.status.initContainerStatuses?.[0]?.state.running);
    assert.equal(pending.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'False');
    assert.equal(pending.status?.initContainerStatuses?.[1]?.state.waiting?.reason, 'PodInitializing');
    const early = await cluster.bramble(['exec', 'greeter', '--', 'true']);
    assert.notEqual(early.code, 0, 'the app container cannot be exec’d into before it starts');
    assert.match(early.stderr, /is not running: its phase is Pending/);
    const go = await cluster.bramble(['exec', 'greeter', '-c', 'wait', '--', 'touch', '/work/go']);
    assert.equal(go.code, 0, go.stderr);
    const running = await waitForPod(cluster, 'greeter', 'to be Running', isRunning);
    assert.deepEqual(running.status?.initContainerStatuses?.map((s) => [s.name, s.state.terminated?.reason]), [['wait', 'Completed'], ['write', 'Completed']]);
    assert.equal(running.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
    const logs = await waitFor('the app container to print the file', async () => {
      const r = await cluster.bramble(['logs', 'greeter']);
      return r.code === 0 && r.stdout.includes('hello from init') ? r.stdout : undefined;
    });
    assert.equal(logs, 'hello from init\n');
    const init = await cluster.bramble(['logs', 'greeter', '-c', 'write']);
    assert.equal(init.code, 0, init.stderr);
  });

  test('a sidecar starts before the app container and keeps running beside it', async () => {
    const pod = busyboxPod('with-sidecar', {
      command: ['sh', '-c', 'echo app-up; sleep 3600'],
    }, {
      initContainers: [box('side', { restartPolicy: 'Always', command: ['sh', '-c', 'echo side-up; sleep 3600'] })],
    });
    await cluster.apply([pod]);
    const p = await waitForPod(cluster, 'with-sidecar', 'to be Running with its sidecar', (x) => isRunning(x) && !!x.status?.initContainerStatuses?.[0]?.state.running);
    const side = p.status!.initContainerStatuses![0]!;
    assert.equal(side.started, true);
    assert.ok(Date.parse(side.state.running!.startedAt) <= Date.parse(mainStatus(p)!.state.running!.startedAt), 'the sidecar started first');
    const row = await cluster.bramble(['get', 'pods', 'with-sidecar']);
    assert.match(row.stdout.split('\n')[1] ?? '', /^with-sidecar\s+2\/2\s+Running/);
    const sideLogs = await cluster.bramble(['logs', 'with-sidecar', '-c', 'side']);
    assert.equal(sideLogs.stdout, 'side-up\n');
    const inSide = await cluster.bramble(['exec', 'with-sidecar', '-c', 'side', '--', 'sh', '-c', 'echo in-$0', 'side']);
    assert.deepEqual([inSide.code, inSide.stdout], [0, 'in-side\n'], inSide.stderr);
  });

  test('a sidecar does not keep a run-to-completion Pod from succeeding: it is stopped once the app container is done', async () => {
    const pod = busyboxPod('one-shot', { command: ['sh', '-c', 'echo work-done'] }, {
      restartPolicy: 'Never',
      initContainers: [box('shipper', { restartPolicy: 'Always', command: ['sh', '-c', 'sleep 3600'] })],
    });
    await cluster.apply([pod]);
    const p = await waitForPod(cluster, 'one-shot', 'to succeed with its sidecar stopped', (x) => x.status?.phase === 'Succeeded' && !!x.status.initContainerStatuses?.[0]?.state.terminated);
    assert.equal(mainStatus(p)?.state.terminated?.exitCode, 0);
    assert.equal(p.status?.initContainerStatuses?.[0]?.restartCount, 0);
  });

  test('logs -f goes on with the new instance when the container restarts, and --previous shows the one before', async () => {
    // Each instance prints its number (counted in an emptyDir), lives a few seconds and exits.
    const pod: Pod = busyboxPod('counter', {
      command: ['sh', '-c', 'n=$(( $(cat /d/n 2>/dev/null || echo 0) + 1 )); echo $n > /d/n; echo instance-$n; sleep 4'],
      volumeMounts: [{ name: 'd', mountPath: '/d' }],
    }, { volumes: [{ name: 'd', emptyDir: {} }] });
    await cluster.apply([pod]);
    await waitForPod(cluster, 'counter', 'to be Running', isRunning);
    const follow = spawn(brambleBin(), ['--config', cluster.server.configPath, 'logs', '-f', 'counter'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BRAMBLE_LOG_LEVEL: 'warn' } });
    let out = '';
    let err = '';
    follow.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    follow.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => follow.once('close', (code) => resolve(code)));
    try {
      await waitFor('logs -f to show two instances', async () => (/instance-1\n[^]*instance-2\n/.test(out) ? true : undefined), {
        timeoutMs: 60_000, describe: () => `logs -f printed ${JSON.stringify(out)}; stderr ${err}`,
      });
    } finally {
      follow.kill('SIGINT');
    }
    assert.equal(await exited, 0, err);
    const { previous, current } = await waitFor('a stable pair of instances', async () => {
      const cur = await cluster.bramble(['logs', 'counter']);
      const prev = await cluster.bramble(['logs', 'counter', '--previous']);
      const again = await cluster.bramble(['logs', 'counter']);
      if (prev.code !== 0 || cur.stdout !== again.stdout) return undefined;
      return { previous: prev.stdout, current: cur.stdout };
    });
    const n = Number(/^instance-(\d+)\n$/.exec(current)?.[1]);
    assert.ok(n >= 2, `current log ${JSON.stringify(current)}`);
    assert.equal(previous, `instance-${n - 1}\n`);
    const short = await cluster.bramble(['logs', 'counter', '-p']);
    assert.match(short.stdout, /^instance-\d+\n$/);
  });
});
