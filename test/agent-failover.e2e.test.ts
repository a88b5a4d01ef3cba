// An agent given several control-plane addresses, the first of them dead: a
// real `bramble agent` process in a board's netns, with its own containerd,
// joins through the second address, stays Ready on it, and writes down where
// it went. The multi-member server side (Raft) is not wired yet; a dead port
// stands for a member that is down.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { NodeObject } from '../proto/model.js';
import { freePort } from './support/server-process.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');
/** Shorter than the default 40 s, so staying Ready past it twice proves the heartbeats arrive. */
const GRACE_SECONDS = 12;

function readyCondition(node: NodeObject | undefined): { status?: string } | undefined {
  return node?.status?.conditions?.find((c) => c.type === 'Ready');
}

describe('an agent failing over between control-plane addresses', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;
  let deadAddress = '';

  before(async () => {
    const deadPort = await freePort();
    cluster = await startCluster({
      serverArgs: ['--node-monitor-grace-period', `${GRACE_SECONDS}s`],
      boards: [{
        name: 'fo',
        // Nothing listens there: the agent must move on to the real server.
        serverArg: (up) => {
          deadAddress = `${up.split(':')[0]}:${deadPort}`;
          return `${deadAddress},${up}`;
        },
      }],
    });
    board = cluster.boards[0]!;
  });

  after(async () => {
    await cluster?.close();
  });

  test('given --server DOWN,UP the agent joins through the second address and stays Ready past the grace period', async () => {
    await waitFor('the node Ready', async () => {
      const ready = readyCondition(await cluster.get<NodeObject>('node', board.nodeName));
      return ready?.status === 'True' ? true : undefined;
    }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    // Ready beyond twice the grace period: only heartbeats reaching the server keep it so.
    const until = Date.now() + 2 * GRACE_SECONDS * 1_000 + 5_000;
    const seen = new Set<string>();
    await waitFor('the grace period to pass twice with the node Ready', async () => {
      seen.add(readyCondition(await cluster.get<NodeObject>('node', board.nodeName))?.status ?? 'absent');
      return Date.now() > until ? true : undefined;
    }, { timeoutMs: 4 * GRACE_SECONDS * 1_000, intervalMs: 1_000 });
    assert.deepEqual([...seen], ['True'], `the node must stay Ready:\n${cluster.diagnostics()}`);
    assert.ok(board.agentPid, `the agent must still run:\n${board.agentOutput().slice(-3000)}`);
    const left = board.agentOutput().split('\n').filter((l) => l.includes('join not taken there') && l.includes(deadAddress));
    assert.equal(left.length, 1, `the agent must say once that it left ${deadAddress}:\n${board.agentOutput().slice(-3000)}`);
  });
});
