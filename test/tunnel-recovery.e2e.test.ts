// A Wi-Fi flap or a server restart must never leave a board's tunnel (logs,
// exec) dead until its agent restarts. One real board (its own netns,
// containerd and agent process) runs a Pod; the control plane is restarted on
// the same address, then the address the board reaches it at is removed from
// the host (packets to it vanish, as on a Wi-Fi drop) for as long as it takes
// the agent to give its connection up, and put back. Each time `bramble logs`
// and `bramble exec` must work again, with the same agent process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execRunner } from '../agent/exec-runner.js';
import { realClock } from '../proto/util/clock.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, waitForBoardReady, waitForPod } from './support/e2e-objects.js';
import { runBramble, type CliResult } from './support/server-process.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');
const POD = 'talker';
const LINE = 'talker says hello';
/** Each CLI attempt while the tunnel may be stale: a request sent down a dead stream gets no answer. */
const ATTEMPT_MS = 8_000;

describe('the tunnel after the control plane goes away and comes back', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;
  let agentPid: number | undefined;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'flap' }] });
    board = cluster.boards[0]!;
    await waitForBoardReady(cluster, board.nodeName);
    await cluster.apply([busyboxPod(POD, { command: ['sh', '-c', `echo '${LINE}'; exec sleep 3600`] })]);
    await waitForPod(cluster, POD, 'to be Running', isRunning);
    agentPid = board.agentPid;
    assert.ok(agentPid, 'the agent must be running');
  });

  after(async () => {
    await cluster?.close();
  });

  /** The CLI with a short deadline; a run past it is killed and rejects. */
  const cli = (args: string[]): Promise<CliResult> => runBramble(['--config', cluster.server.configPath, ...args], { timeoutMs: ATTEMPT_MS });

  /** Logs and exec both answer through the tunnel; undefined (try again) while either does not. */
  const tunnelWorks = async (): Promise<true | undefined> => {
    const logs = await cli(['logs', POD]);
    if (logs.code !== 0 || !logs.stdout.includes(LINE)) return undefined;
    const exec = await cli(['exec', POD, '--', 'echo', 'tunnel is back']);
    return exec.code === 0 && exec.stdout === 'tunnel is back\n' ? true : undefined;
  };

  /** Polls until logs and exec work, and returns how long it took. */
  const waitForTunnel = async (what: string, timeoutMs: number): Promise<number> => {
    const started = realClock.now();
    await waitFor(what, tunnelWorks, { timeoutMs, intervalMs: 500, describe: () => cluster.diagnostics() });
    return realClock.now() - started;
  };

  test('logs and exec work through the tunnel to begin with', async () => {
    await waitForTunnel('logs and exec on a fresh cluster', 30_000);
  });

  test('logs and exec work again after the server restarts on the same address, with the same agent process', async (t) => {
    await cluster.server.restart();
    const ms = await waitForTunnel('logs and exec after the server restarted', 60_000);
    t.diagnostic(`tunnel back ${ms} ms after the server was ready again`);
    assert.equal(board.agentPid, agentPid, 'the agent was not restarted');
  });

  /** The host interface holding the address the board reaches the server at, and a way to take it away and put it back. */
  const serverAddress = async (t: { after(fn: () => Promise<void>): void }) => {
    const ip = board.board.hostIp;
    const shown = await execRunner.run('ip', ['-4', '-o', 'addr', 'show', 'to', `${ip}/32`]);
    const dev = shown.stdout.trim().split(/\s+/)[1];
    assert.ok(dev && shown.stdout.includes(`${ip}/24`), `the host must hold ${ip}/24: ${shown.stdout}${shown.stderr}`);
    let removed = false;
    const put = async (op: 'add' | 'del'): Promise<void> => {
      const r = await execRunner.run('ip', ['addr', op, `${ip}/24`, 'dev', dev]);
      assert.equal(r.exitCode, 0, `ip addr ${op} ${ip}/24 dev ${dev}: ${r.stderr}`);
      removed = op === 'del';
    };
    // Put back even when the test fails, or the teardown cannot reach the board.
    t.after(async () => {
      if (removed) await execRunner.run('ip', ['addr', 'add', `${ip}/24`, 'dev', dev]);
    });
    /** The agent's TCP connections to the server, as the board's kernel has them. */
    const connections = async (): Promise<number> => {
      const r = await board.board.runner.run('ss', ['-Htn', 'state', 'established', 'dst', `${ip}:${cluster.grpcPort}`], { timeoutMs: 10_000 });
      return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
    };
    return { vanish: () => put('del'), reappear: () => put('add'), connections };
  };

  const heartbeatFailures = (): number => board.agentOutput().split('heartbeat failed').length - 1;

  test('logs and exec work again after a flap shorter than the keepalive: heartbeats fail, the connection survives', async (t) => {
    const address = await serverAddress(t);
    const failuresBefore = heartbeatFailures();
    await address.vanish();
    await waitFor('the agent to see a heartbeat fail', async () => (heartbeatFailures() > failuresBefore ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 250, describe: () => board.agentOutput().slice(-3000) });
    assert.ok((await address.connections()) > 0, 'the connection is still held: only the keepalive gives it up');
    await address.reappear();
    const ms = await waitForTunnel('logs and exec after a short flap', 60_000);
    t.diagnostic(`tunnel back ${ms} ms after the address returned`);
    assert.equal(board.agentPid, agentPid, 'the agent was not restarted');
  });

  test('logs and exec work again after the server\'s address disappears until the agent gives its connection up, then comes back', async (t) => {
    const address = await serverAddress(t);
    assert.ok((await address.connections()) > 0, 'the agent holds a connection to the server before the flap');
    await address.vanish();
    const gone = realClock.now();
    // Nothing tells either side: the agent's keepalives must find the connection dead.
    await waitFor('the agent to give up its connection to the vanished address', async () => ((await address.connections()) === 0 ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 500, describe: () => board.agentOutput().slice(-3000) });
    const noticedMs = realClock.now() - gone;
    const stale = await cli(['logs', POD]).catch(() => undefined);
    assert.notEqual(stale?.code, 0, 'no logs while the board cannot be reached');
    await address.reappear();
    const ms = await waitForTunnel('logs and exec after the address came back', 120_000);
    t.diagnostic(`agent dropped its connection ${noticedMs} ms after the address vanished; tunnel back ${ms} ms after it returned`);
    assert.equal(board.agentPid, agentPid, 'the agent was not restarted');
  });
});
