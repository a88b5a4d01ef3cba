// `bramble exec` end to end on one real board: the command runs in the container
// through the control plane and the board's tunnel, its stdout and stderr arrive
// apart, its exit code becomes the CLI's, stdin is forwarded with -i, and the
// failures (wrong container, a board whose agent is down) say what is wrong.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execRunner } from '../agent/exec-runner.js';
import { shellQuote } from '../agent/exec-stream.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { brambleBin } from './support/server-process.js';
import { busyboxPod, isRunning, waitForBoardReady, waitForPod } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

describe('bramble exec on a real board', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'exec' }] });
    board = cluster.boards[0]!;
    await waitForBoardReady(cluster, board.nodeName);
    await cluster.apply([busyboxPod('shell', { command: ['sleep', '3600'] })]);
    await waitForPod(cluster, 'shell', 'to be Running', isRunning);
  });

  after(async () => {
    await cluster?.close();
  });

  test('stdout and stderr arrive apart and the CLI exits with the command’s exit code', async () => {
    const r = await cluster.bramble(['exec', 'shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\ncommand terminated with exit code 3\n');
  });

  test('a command that succeeds exits 0, and the command may follow the pod without --', async () => {
    const r = await cluster.bramble(['exec', 'shell', 'echo', 'hello']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
  });

  test('-i passes piped stdin to the command, and its end ends the command’s stdin', async () => {
    const input = 'line one\nline two\n'.repeat(2000);
    const r = await cluster.bramble(['exec', '-i', 'shell', '--', 'cat'], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, input);
  });

  test('a program that is not in the container exits 127, as kubectl reports it', async () => {
    const r = await cluster.bramble(['exec', 'shell', '--', 'no-such-program']);
    assert.equal(r.code, 127, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /command terminated with exit code 127/);
  });

  test('-it gives the command a terminal of this terminal’s size, with its exit code', async () => {
    // `script` is the local terminal here: the CLI's stdin and stdout are its pty, 50 rows of 132 columns.
    const cli = [brambleBin(), '--config', cluster.server.configPath, 'exec', '-it', 'shell', '--', 'sh', '-c', 'sleep 1; stty size; tty; exit 4'].map(shellQuote).join(' ');
    const r = await execRunner.run('script', ['-q', '-e', '-c', `stty cols 132 rows 50; ${cli}`, '/dev/null'], { timeoutMs: 30_000, env: { SHELL: '/bin/sh' } });
    assert.equal(r.exitCode, 4, `${r.stdout}\n${r.stderr}`);
    // Read after a moment: ctr resizes the container's pty just after the command starts. Each pty on the way adds a \r.
    assert.match(r.stdout, /50 132\r*\n/);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, /command terminated with exit code 4/);
  });

  test('a client that goes away kills the command in the container and its ctr process', async () => {
    const child = spawn(brambleBin(), ['--config', cluster.server.configPath, 'exec', 'shell', '--', 'sleep', '4242'], { stdio: 'ignore' });
    const sleeping = async (): Promise<boolean> => {
      const ps = await cluster.bramble(['exec', 'shell', '--', 'ps']);
      return ps.stdout.includes('sleep 4242');
    };
    await waitFor('the exec to run', async () => ((await sleeping()) ? true : undefined), { timeoutMs: 20_000 });
    child.kill('SIGKILL');
    await waitFor('the command to be killed', async () => ((await sleeping()) ? undefined : true), { timeoutMs: 20_000 });
    const ps = await execRunner.run('ps', ['-eo', 'args']);
    assert.ok(!ps.stdout.includes('sleep 4242'), `no ctr process may be left:\n${ps.stdout}`);
  });

  test('a wrong container name fails naming it and the pod’s containers', async () => {
    const r = await cluster.bramble(['exec', 'shell', '-c', 'nope', '--', 'true']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /container "nope" is not in pod "shell" in namespace "default": its containers are main/);
  });

  test('exec into a pod whose board’s agent is stopped fails at once naming the node', async () => {
    await board.stopAgent('SIGKILL');
    const started = Date.now();
    const r = await cluster.bramble(['exec', 'shell', '--', 'true']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`node "${board.nodeName}" is not connected`));
    assert.ok(Date.now() - started < 10_000, 'the failure must come within seconds');
  });
});
