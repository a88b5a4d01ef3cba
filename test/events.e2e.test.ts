// Events end to end: a crash-looping Pod on a real board. The scheduler's
// Scheduled and the agent's Started and BackOff (reported through
// Node.RecordEvents) show in `bramble get events` and at the end of
// `bramble describe pod`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startCluster, waitFor, type TestCluster } from './support/cluster.js';
import { busyboxPod, waitForBoardReady } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

describe('events of a Pod on a real board', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'events' }] });
    await waitForBoardReady(cluster, cluster.boards[0]!.nodeName);
  });

  after(async () => {
    await cluster?.close();
  });

  test('a crash-looping Pod shows Scheduled, Started and BackOff in get events and describe pod', async () => {
    const node = cluster.boards[0]!.nodeName;
    await cluster.apply([busyboxPod('crasher', { command: ['sh', '-c', 'echo bye; exit 1'] })]);
    const got = await waitFor('Started and BackOff events about pod/crasher', async () => {
      const r = await cluster.bramble(['get', 'events', '--field-selector', 'involvedObject.name=crasher']);
      return r.code === 0 && /BackOff/.test(r.stdout) && /Started/.test(r.stdout) ? r.stdout : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000, describe: () => cluster.diagnostics() });
    assert.match(got, /Normal\s+Scheduled\s+pod\/crasher\s+Successfully assigned default\/crasher to /);
    assert.match(got, /Normal\s+Started\s+pod\/crasher\s+Started container main/);
    assert.match(got, /Warning\s+BackOff\s+pod\/crasher\s+Back-off restarting failed container main in pod crasher_default/);

    const wide = await cluster.bramble(['get', 'events', '--field-selector', 'involvedObject.name=crasher,reason=Started', '-o', 'wide']);
    assert.equal(wide.code, 0, wide.stderr);
    assert.match(wide.stdout, new RegExp(`spec\\.containers\\{main\\}\\s+kubelet, ${node}`));

    const described = await cluster.bramble(['describe', 'pod', 'crasher']);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /\nEvents:\n/);
    assert.match(described.stdout, new RegExp(`Warning\\s+BackOff\\s+.+kubelet, ${node}\\s+Back-off restarting failed container main`));
  });
});
