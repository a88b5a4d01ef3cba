// Real netns + CNI bridge/host-local, inside a throwaway board netns so no bridge
// or iptables rule ever lands on the host.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execRunner } from './exec-runner.js';
import { CniNetwork, podNetnsName } from './network-cni.js';
import { createBoard, pickFreeBoardIndex, type Board } from '../test/support/board.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/lib/cni/bridge') && existsSync('/usr/lib/cni/host-local');

describe('CniNetwork on a board', { skip: !canRun && 'needs root and the CNI plugins (scripts/install-test-deps.sh)' }, () => {
  const suffix = randomBytes(3).toString('hex');
  let dir = '';
  let board: Board | undefined;
  let network: CniNetwork;
  const uidA = `na${suffix}-1111-4000-8000-000000000001`;
  const uidB = `nb${suffix}-2222-4000-8000-000000000002`;
  const leaseFiles = async () => (await readdir(join(dir, 'cni', 'ipam', 'bramble')).catch(() => [] as string[])).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  const netnsList = async () => (await execRunner.run('ip', ['netns', 'list'])).stdout;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bnet-'));
    board = await createBoard(`net${suffix}`, await pickFreeBoardIndex());
    network = new CniNetwork({
      config: { podCIDR: '10.42.9.0/24', clusterCIDR: '10.42.0.0/16', bridgeName: 'bramble0' },
      dataDir: join(dir, 'cni'),
      runner: board.runner,
      // The old default, whose rules the masquerade test below looks for.
      ipMasq: true,
    });
  });

  after(async () => {
    for (const uid of [uidA, uidB]) await network?.deletePod(uid).catch(() => undefined);
    await board?.destroy().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('ensurePod gives the Pod its own netns with an address from the node range, reachable from the board', async () => {
    const pod = await network.ensurePod(uidA, 'web', 'default');
    assert.equal(pod.netnsPath, `/var/run/netns/${podNetnsName(uidA)}`);
    assert.match(pod.ip, /^10\.42\.9\.\d+$/);
    assert.notEqual(pod.ip, '10.42.9.1', 'the bridge is the gateway');
    assert.deepEqual(await leaseFiles(), [pod.ip]);
    const addr = await execRunner.run('ip', ['-n', podNetnsName(uidA), '-4', 'addr', 'show', 'eth0']);
    assert.match(addr.stdout, new RegExp(`inet ${pod.ip.replace(/\./g, '\\.')}/24`));
    const lo = await execRunner.run('ip', ['-n', podNetnsName(uidA), 'link', 'show', 'lo']);
    assert.match(lo.stdout, /UP/);
    const ping = await board!.runner.run('/bin/busybox', ['ping', '-c', '1', '-W', '2', pod.ip], { timeoutMs: 10_000 });
    assert.equal(ping.exitCode, 0, ping.stderr + ping.stdout);
  });

  test('ensurePod twice returns the same sandbox without a second lease', async () => {
    const first = await network.ensurePod(uidA, 'web', 'default');
    const second = await network.ensurePod(uidA, 'web', 'default');
    assert.deepEqual(second, first);
    assert.equal((await leaseFiles()).length, 1);
  });

  test('two Pods get different addresses and listPods reports both', async () => {
    const a = await network.ensurePod(uidA, 'web', 'default');
    const b = await network.ensurePod(uidB, 'db', 'default');
    assert.notEqual(a.ip, b.ip);
    assert.deepEqual((await network.listPods()).map((p) => p.podUid).sort(), [uidA, uidB].sort());
    const ping = await execRunner.run('ip', ['netns', 'exec', podNetnsName(uidA), '/bin/busybox', 'ping', '-c', '1', '-W', '2', b.ip], { timeoutMs: 10_000 });
    assert.equal(ping.exitCode, 0, 'Pods on one bridge reach each other');
  });

  test('the bridge and its masquerade rules live in the board, not on the host', async () => {
    const boardBridge = await board!.runner.run('ip', ['-4', '-o', 'addr', 'show', 'bramble0']);
    assert.match(boardBridge.stdout, /inet 10\.42\.9\.1\/24/);
    const hostAddrs = await execRunner.run('ip', ['-4', '-o', 'addr', 'show']);
    assert.doesNotMatch(hostAddrs.stdout, /inet 10\.42\.9\.1\//);
    const ip = (await network.listPods())[0]!.ip;
    const pattern = new RegExp(`${ip.replace(/\./g, '\\.')}/32`);
    const boardNat = await board!.runner.run('iptables', ['-t', 'nat', '-S']);
    const hostNat = await execRunner.run('iptables', ['-t', 'nat', '-S']);
    assert.match(boardNat.stdout, pattern);
    assert.doesNotMatch(hostNat.stdout, pattern);
  });

  test('deletePod removes the netns and releases the address, and a second delete reports nothing', async () => {
    const pod = await network.ensurePod(uidB, 'db', 'default');
    assert.equal(await network.deletePod(uidB), true);
    assert.equal((await netnsList()).includes(podNetnsName(uidB)), false);
    assert.equal((await leaseFiles()).includes(pod.ip), false);
    assert.deepEqual((await network.listPods()).map((p) => p.podUid), [uidA]);
    assert.equal(await network.deletePod(uidB), false);
  });

  test('a hostPort is DNATed to the Pod in the board\'s nat table, and deletePod takes the rules away', async () => {
    const uidP = `np${suffix}-3333-4000-8000-000000000003`;
    try {
      const pod = await network.ensurePod(uidP, 'hp', 'default', { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] });
      const nat = (await board!.runner.run('iptables', ['-t', 'nat', '-S'])).stdout;
      assert.match(nat, new RegExp(`--dport 18080 .*--to-destination ${pod.ip.replace(/\./g, '\\.')}:80`));
      assert.equal(await network.deletePod(uidP), true);
      assert.doesNotMatch((await board!.runner.run('iptables', ['-t', 'nat', '-S'])).stdout, /--dport 18080/);
    } finally {
      await network.deletePod(uidP).catch(() => undefined);
    }
  });

  test('a Pod whose netns vanished is rebuilt with its old address and deletes cleanly', async () => {
    const before = await network.ensurePod(uidA, 'web', 'default');
    await execRunner.run('ip', ['netns', 'delete', podNetnsName(uidA)]);
    assert.deepEqual(await network.listPods(), []);
    const again = await network.ensurePod(uidA, 'web', 'default');
    assert.equal(again.ip, before.ip);
    assert.deepEqual(await leaseFiles(), [again.ip]);
    assert.equal(await network.deletePod(uidA), true);
    assert.deepEqual(await leaseFiles(), []);
    assert.doesNotMatch((await board!.runner.run('iptables', ['-t', 'nat', '-S'])).stdout, /-N CNI-(?!HOSTPORT-)/, 'no masquerade or DNAT chain is left behind');
  });

  test('cleanup removes the sandboxes, the bridge and portmap\'s base chains', async () => {
    await network.ensurePod(uidA, 'web', 'default', { portMappings: [{ hostPort: 18081, containerPort: 80, protocol: 'tcp' }] });
    const result = await network.cleanup();
    assert.deepEqual(result, { pods: 1, bridge: true });
    assert.equal((await netnsList()).includes(podNetnsName(uidA)), false);
    assert.notEqual((await board!.runner.run('ip', ['link', 'show', 'bramble0'])).exitCode, 0);
    assert.doesNotMatch((await board!.runner.run('iptables', ['-t', 'nat', '-S'])).stdout, /CNI-/);
  });
});
