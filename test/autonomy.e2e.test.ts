// Edge autonomy end to end: with the control plane killed, a board keeps its
// Pods running and restarting; an agent killed meanwhile resumes from its cached
// assignments without restarting anything; and a control plane started again on
// the same data dir sees the node come back and catches up with what happened.
// The tests are steps of one outage, so they run in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ASSIGNMENTS_FILE } from '../agent/assignments-cache.js';
import { LABEL_RESTART_COUNT } from '../agent/runtime.js';
import type { NodeObject, Pod } from '../proto/model.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, mainStatus, waitForPod } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

interface Attempt {
  id: string;
  restarts: number;
  /** The containerd task of the attempt, when it has one. */
  task?: { pid: number; status: string };
}

async function tasksOf(board: ClusterBoard): Promise<Map<string, { pid: number; status: string }>> {
  const r = await board.ctr(['tasks', 'ls']);
  if (r.exitCode !== 0) throw new Error(`ctr tasks ls exited with ${r.exitCode}: ${r.stderr.trim()}`);
  const out = new Map<string, { pid: number; status: string }>();
  for (const line of r.stdout.split('\n').slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id && pid && status) out.set(id, { pid: Number(pid), status });
  }
  return out;
}

/** The containers of a Pod on the board, as containerd has them, oldest attempt first. */
async function attemptsOf(board: ClusterBoard, uid: string): Promise<Attempt[]> {
  const ls = await board.ctr(['containers', 'ls', '-q']);
  if (ls.exitCode !== 0) throw new Error(`ctr containers ls exited with ${ls.exitCode}: ${ls.stderr.trim()}`);
  const ids = ls.stdout.split('\n').map((x) => x.trim()).filter((id) => id.startsWith(uid.slice(0, 12)));
  const tasks = await tasksOf(board);
  const attempts: Attempt[] = [];
  for (const id of ids) {
    const info = await board.ctr(['containers', 'info', id]);
    // Removed between the listing and now: the agent keeps one dead attempt only.
    if (info.exitCode !== 0) continue;
    const labels = (JSON.parse(info.stdout) as { Labels?: Record<string, string> | null }).Labels ?? {};
    attempts.push({ id, restarts: Number(labels[LABEL_RESTART_COUNT] ?? NaN), task: tasks.get(id) });
  }
  return attempts.sort((a, b) => a.restarts - b.restarts);
}

function newestRestarts(attempts: Attempt[]): number {
  return attempts.length === 0 ? -1 : Math.max(...attempts.map((a) => a.restarts));
}

function containerIdOf(pod: Pod | undefined): string {
  return (mainStatus(pod)?.containerID ?? '').replace(/^containerd:\/\//, '');
}

function isReady(node: NodeObject | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe('a board on its own while the control plane is away', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;
  let serverDown = false;
  // Facts carried from one step of the outage to the next.
  let steadyUid = '';
  let crashyUid = '';
  let steadyContainer = '';
  let steadyPid = 0;
  let serverRestartsBeforeOutage = 0;

  const describeBoard = async (): Promise<string> =>
    `steady: ${JSON.stringify(await attemptsOf(board, steadyUid).catch(String))}\ncrashy: ${JSON.stringify(await attemptsOf(board, crashyUid).catch(String))}`;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'edge' }] });
    board = cluster.boards[0]!;
    await waitFor('the board to be Ready', async () => (isReady(await cluster.get<NodeObject>('node', board.nodeName)) ? true : undefined), {
      timeoutMs: 60_000, describe: () => cluster.diagnostics(),
    });
    await cluster.apply([
      busyboxPod('steady', { command: ['sleep', '3600'] }),
      busyboxPod('crashy', { command: ['sh', '-c', 'sleep 2; exit 1'] }, { restartPolicy: 'Always' }),
    ]);
    const steady = await waitForPod(cluster, 'steady', 'to be Running', isRunning);
    steadyUid = steady.metadata.uid!;
    steadyContainer = containerIdOf(steady);
    const crashy = await waitForPod(cluster, 'crashy', 'to be bound with a uid', (p) => !!p.spec.nodeName && !!p.metadata.uid);
    crashyUid = crashy.metadata.uid!;
    await waitFor('the crashing Pod to have its first attempt on the board', async () => ((await attemptsOf(board, crashyUid)).length > 0 ? true : undefined), {
      timeoutMs: 30_000, describe: () => cluster.diagnostics(),
    });
  });

  after(async () => {
    // close() lists Pods through the control plane, so a step that failed mid-outage must not leave it down.
    if (serverDown) await cluster?.server.restart().catch((e: unknown) => process.stderr.write(`restarting the server for teardown: ${String(e)}\n`));
    await cluster?.close();
  });

  test('with the control plane killed, a running Pod keeps its task and a crashing Pod keeps being restarted by its board', async () => {
    const pid = (await tasksOf(board)).get(steadyContainer)?.pid;
    assert.ok(steadyContainer && pid, `the steady Pod must have a running task: ${await describeBoard()}`);
    steadyPid = pid;
    serverRestartsBeforeOutage = mainStatus(await cluster.get<Pod>('pod', 'crashy'))?.restartCount ?? 0;
    const restartsAtKill = newestRestarts(await attemptsOf(board, crashyUid));

    const logMark = board.agentOutput().length;
    const exit = await cluster.server.kill();
    serverDown = true;
    assert.equal(exit.signal, 'SIGKILL', `the server must have been killed: ${JSON.stringify(exit)}`);

    await waitFor('the agent to notice the control plane is gone', async () =>
      /control plane unreachable|assignment stream ended/.test(board.agentOutput().slice(logMark)) ? true : undefined, {
      timeoutMs: 30_000, describe: () => board.agentOutput().slice(logMark),
    });
    const attempts = await waitFor(`a new attempt of the crashing Pod beyond restart ${restartsAtKill}`, async () => {
      const a = await attemptsOf(board, crashyUid);
      return newestRestarts(a) > restartsAtKill ? a : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500, describe: () => `${board.agentOutput().slice(-3000)}` });
    assert.ok(attempts.every((a) => Number.isInteger(a.restarts)), `every attempt must carry ${LABEL_RESTART_COUNT}: ${JSON.stringify(attempts)}`);

    const steady = await attemptsOf(board, steadyUid);
    assert.deepEqual(steady.map((a) => a.id), [steadyContainer], 'the running Pod must keep its one container');
    assert.deepEqual(steady[0]?.task, { pid: steadyPid, status: 'RUNNING' }, 'the running Pod’s task must be the same process, still running');
  });

  test('an agent killed with SIGKILL while the control plane is down resumes from its cached assignments and restarts nothing', async () => {
    assert.ok(serverDown && steadyPid > 0, 'this step needs the control plane down and the steady Pod observed (previous test)');
    const cached = JSON.parse(await readFile(join(board.dataDir, ASSIGNMENTS_FILE), 'utf8')) as { pods: Pod[] };
    assert.deepEqual(cached.pods.map((p) => p.metadata.uid).sort(), [steadyUid, crashyUid].sort(), 'both Pods must be in the cached assignments');

    const steadyBefore = await attemptsOf(board, steadyUid);
    const firstAgent = board.agentPid;
    const logMark = board.agentOutput().length;
    await board.stopAgent('SIGKILL');
    const restartsAtAgentKill = newestRestarts(await attemptsOf(board, crashyUid));
    board.startAgent();
    assert.notEqual(board.agentPid, firstAgent);

    const resumed = await waitFor('the new agent to resume its cached pods', async () =>
      board.agentOutput().slice(logMark).split('\n').find((l) => l.includes('resumed the pods assigned before the restart')), {
      timeoutMs: 30_000, describe: () => board.agentOutput().slice(logMark),
    });
    assert.match(resumed, /"pods":2\b/, resumed);
    // Only a desired Pod is restarted: without the cache the new agent would leave the crashed attempt alone.
    await waitFor(`the resumed agent to restart the crashing Pod beyond restart ${restartsAtAgentKill}`, async () =>
      newestRestarts(await attemptsOf(board, crashyUid)) > restartsAtAgentKill ? true : undefined, {
      timeoutMs: 60_000, intervalMs: 500, describe: () => board.agentOutput().slice(logMark),
    });
    const steadyAfter = await attemptsOf(board, steadyUid);
    assert.deepEqual(steadyAfter, steadyBefore, 'the resumed agent must neither restart nor replace the running Pod’s container');
    assert.deepEqual(steadyAfter[0]?.task, { pid: steadyPid, status: 'RUNNING' });
  });

  test('the control plane started again on the same data dir sees the node Ready and catches up with the restarts made while it was away', async () => {
    assert.ok(serverDown, 'this step needs the control plane down (previous tests)');
    await cluster.server.restart();
    serverDown = false;

    // Figures live in the server's memory only: numbers in CPU% mean a heartbeat reached the new process.
    let lastNodes = '';
    await waitFor('the node to be Ready with fresh figures in bramble get nodes', async () => {
      const r = await cluster.bramble(['get', 'nodes']);
      lastNodes = `${r.stdout}${r.stderr}`;
      const row = r.stdout.split('\n').find((l) => l.startsWith(`${board.nodeName} `));
      const cells = row?.trim().split(/\s{2,}/) ?? [];
      return cells[1] === 'Ready' && cells.some((c) => /^\d+%$/.test(c)) ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 1000, describe: () => `last output:\n${lastNodes}\n${cluster.diagnostics()}` });

    const onBoard = newestRestarts(await attemptsOf(board, crashyUid));
    assert.ok(onBoard > serverRestartsBeforeOutage, `the board must have restarted the Pod during the outage: ${onBoard} vs ${serverRestartsBeforeOutage} before it`);
    const crashy = await waitForPod(cluster, 'crashy', `to report restartCount ≥ ${onBoard} as seen on the board`,
      (p) => (mainStatus(p)?.restartCount ?? -1) >= onBoard, 60_000);
    assert.ok((mainStatus(crashy)?.restartCount ?? 0) >= onBoard);

    // A new Pod running proves the assignment stream is back and synced; the synced agent must still keep the old one.
    await cluster.apply([busyboxPod('after-outage', { command: ['sleep', '3600'] })]);
    await waitForPod(cluster, 'after-outage', 'to be Running once the board is back', isRunning);
    const steady = await cluster.get<Pod>('pod', 'steady');
    assert.ok(steady && isRunning(steady), `the steady Pod must be Running: ${JSON.stringify(steady?.status)}`);
    assert.equal(containerIdOf(steady), steadyContainer, 'the steady Pod must report the same container');
    assert.equal(mainStatus(steady)?.restartCount, 0);
    const steadyNow = await attemptsOf(board, steadyUid);
    assert.deepEqual(steadyNow.map((a) => [a.id, a.task?.pid, a.task?.status]), [[steadyContainer, steadyPid, 'RUNNING']], await describeBoard());
  });
});
