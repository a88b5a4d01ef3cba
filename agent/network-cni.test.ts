import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBrambleError } from '../proto/util/errors.js';
import { FakeRunner, type RecordedCall } from './exec-runner.js';
import { CniNetwork, podNetnsName } from './network-cni.js';

const UID = '0123456789abcdef-0000';
const NETNS = `bramble-0123456789ab`;

describe('CniNetwork', () => {
  let dir = '';
  let leaseDir = '';
  let runner: FakeRunner;
  let nsDir = '';
  let netns: { add(name: string): void; readonly size: number };
  let net: CniNetwork;

  const isPlugin = (c: RecordedCall) => c.file === '/opt/cni/bin/bridge';
  const cniCommand = (c: RecordedCall) => c.env?.CNI_COMMAND;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bramble-cni-unit-'));
    leaseDir = join(dir, 'ipam', 'bramble');
    nsDir = join(dir, 'netns');
    mkdirSync(nsDir);
    runner = new FakeRunner();
    // The fake machine: `ip netns` keeps one file per namespace in nsDir, as it does in
    // /var/run/netns; the plugin writes and removes host-local lease files.
    netns = {
      add: (name) => writeFileSync(join(nsDir, name), ''),
      get size() { return readdirSync(nsDir).length; },
    };
    runner.on(['ip', 'netns', 'add'], (c) => { netns.add(c.args[2]!); return {}; });
    runner.on(['ip', 'netns', 'delete'], (c) => { unlinkSync(join(nsDir, c.args[2]!)); return {}; });
    runner.on((c) => isPlugin(c) && cniCommand(c) === 'ADD', (c) => {
      const ip = /IP=([\d.]+)/.exec(c.env?.CNI_ARGS ?? '')?.[1] ?? '10.42.1.5';
      mkdirSync(leaseDir, { recursive: true });
      writeFileSync(join(leaseDir, ip), `${c.env?.CNI_CONTAINERID}\r\neth0`);
      return { stdout: JSON.stringify({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: c.env?.CNI_NETNS }], ips: [{ address: `${ip}/24`, gateway: '10.42.1.1', interface: 0 }] }) };
    });
    runner.on((c) => isPlugin(c) && cniCommand(c) === 'DEL', (c) => {
      mkdirSync(leaseDir, { recursive: true });
      for (const f of readdirSync(leaseDir)) {
        if (readFileSync(join(leaseDir, f), 'utf8').startsWith(`${c.env?.CNI_CONTAINERID}\r\n`)) unlinkSync(join(leaseDir, f));
      }
      return {};
    });
    net = new CniNetwork({
      config: { podCIDR: '10.42.1.0/24', clusterCIDR: '10.42.0.0/16', bridgeName: 'cni-test0' },
      dataDir: dir,
      runner,
      cniPath: '/opt/cni/bin',
      netnsDir: nsDir,
    });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function lease(ip: string, uid: string) {
    await mkdir(leaseDir, { recursive: true });
    await writeFile(join(leaseDir, ip), `${uid}\r\neth0`);
  }

  test('ensurePod creates the netns, brings lo up and calls the bridge plugin with host-local IPAM', async () => {
    const pod = await net.ensurePod(UID, 'web', 'shop');
    assert.deepEqual(pod, { podUid: UID, netnsPath: join(nsDir, NETNS), ip: '10.42.1.5' });
    assert.deepEqual(runner.calls.filter((c) => c.file === 'ip').map((c) => c.args), [
      ['netns', 'add', NETNS],
      ['-n', NETNS, 'link', 'set', 'lo', 'up'],
    ]);
    const add = runner.calls.find(isPlugin)!;
    assert.deepEqual(add.args, []);
    assert.deepEqual(add.env, {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: UID,
      CNI_NETNS: join(nsDir, NETNS),
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=${UID}`,
    });
    assert.deepEqual(JSON.parse(add.input!), {
      cniVersion: '1.0.0',
      name: 'bramble',
      type: 'bridge',
      bridge: 'cni-test0',
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.42.1.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
    });
  });

  test('ensurePod of a Pod that has its netns and lease returns them without calling a plugin', async () => {
    netns.add(NETNS);
    await lease('10.42.1.9', UID);
    assert.deepEqual(await net.ensurePod(UID, 'web', 'shop'), { podUid: UID, netnsPath: join(nsDir, NETNS), ip: '10.42.1.9' });
    assert.equal(runner.calls.filter(isPlugin).length, 0);
    assert.equal(runner.calls.length, 0, 'the netns is looked up in its directory, not with ip netns list');
  });

  test('a lease whose netns vanished is released and the same address asked for again', async () => {
    await lease('10.42.1.9', UID);
    const pod = await net.ensurePod(UID, 'web', 'shop');
    assert.equal(pod.ip, '10.42.1.9');
    assert.deepEqual(runner.calls.filter(isPlugin).map(cniCommand), ['DEL', 'ADD']);
    assert.match(runner.calls.filter(isPlugin)[1]!.env!.CNI_ARGS!, /;IP=10\.42\.1\.9$/);
  });

  test('a failed ADD is undone (DEL, netns removed) and reported with the plugin message', async () => {
    runner.on((c) => isPlugin(c) && cniCommand(c) === 'ADD', { exitCode: 1, stdout: JSON.stringify({ code: 11, msg: 'failed to allocate for range 0', details: 'no IP addresses available' }) });
    await assert.rejects(net.ensurePod(UID, 'web', 'shop'), (e: unknown) =>
      isBrambleError(e, 'RUNTIME_FAILED') && e.message.includes('failed to allocate for range 0: no IP addresses available'));
    assert.deepEqual(runner.calls.filter(isPlugin).map(cniCommand), ['ADD', 'DEL']);
    assert.equal(netns.size, 0);
  });

  test('deletePod calls DEL with the ADD configuration, deletes the netns and reports true', async () => {
    await net.ensurePod(UID, 'web', 'shop');
    const [add] = runner.calls.filter(isPlugin);
    assert.equal(await net.deletePod(UID), true);
    const del = runner.calls.filter(isPlugin)[1]!;
    assert.equal(del.input, add!.input);
    assert.equal(del.env?.CNI_CONTAINERID, UID);
    assert.equal(del.env?.CNI_IFNAME, 'eth0');
    assert.deepEqual(runner.argsOf(['netns', 'delete']), [['netns', 'delete', NETNS]]);
    assert.deepEqual(await readdir(leaseDir), []);
  });

  test('deletePod of an unknown Pod reports false and calls no plugin', async () => {
    assert.equal(await net.deletePod(UID), false);
    assert.equal(runner.calls.filter(isPlugin).length, 0);
  });

  test('the netns directory missing (before the first ip netns add) means no namespaces', async () => {
    await rm(nsDir, { recursive: true });
    await lease('10.42.1.9', UID);
    assert.deepEqual(await net.listPods(), []);
    assert.equal(await net.deletePod('ffffffffffff-unknown'), false);
  });

  test('listPods reports only Pods with both a netns and a lease in this board\'s data dir', async () => {
    netns.add(NETNS);
    netns.add(podNetnsName('ffffffffffff-other-board'));
    netns.add(podNetnsName('eeeeeeeeeeee-no-netns-yet'));
    await lease('10.42.1.9', UID);
    await lease('10.42.1.10', 'dddddddddddd-netns-gone');
    await writeFile(join(leaseDir, 'last_reserved_ip.0'), '10.42.1.10');
    assert.deepEqual(await net.listPods(), [{ podUid: UID, netnsPath: join(nsDir, NETNS), ip: '10.42.1.9' }]);
    assert.equal(runner.calls.length, 0);
  });

  test('the bridge masquerades only when asked to (ipMasq), since that hides the source Pod IP across boards', async () => {
    const masq = new CniNetwork({ config: { podCIDR: '10.42.1.0/24', clusterCIDR: '10.42.0.0/16', bridgeName: 'b0' }, dataDir: dir, runner, ipMasq: true });
    assert.equal(masq.netconf().ipMasq, true);
    assert.equal(net.netconf().ipMasq, false);
  });

  test('hostPorts chain the portmap plugin after the bridge, with the bridge result as prevResult', async () => {
    const isPortmap = (c: RecordedCall) => c.file === '/opt/cni/bin/portmap';
    const mappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }, { hostPort: 5353, containerPort: 53, protocol: 'udp' as const }];
    await net.ensurePod(UID, 'web', 'shop', { portMappings: mappings });
    const add = runner.calls.find(isPortmap)!;
    assert.equal(add.env?.CNI_COMMAND, 'ADD');
    assert.equal(add.env?.CNI_CONTAINERID, UID);
    const conf = JSON.parse(add.input!) as Record<string, unknown>;
    assert.deepEqual({ ...conf, prevResult: undefined }, {
      cniVersion: '1.0.0', name: 'bramble', type: 'portmap', capabilities: { portMappings: true }, snat: true,
      runtimeConfig: { portMappings: mappings }, prevResult: undefined,
    });
    assert.deepEqual((conf.prevResult as { ips: unknown[] }).ips, [{ address: '10.42.1.5/24', gateway: '10.42.1.1', interface: 0 }]);

    // A new CniNetwork (a restarted agent) still calls portmap DEL, before the bridge's, with the same mappings.
    const restarted = new CniNetwork({ config: { podCIDR: '10.42.1.0/24', clusterCIDR: '10.42.0.0/16', bridgeName: 'cni-test0' }, dataDir: dir, runner, cniPath: '/opt/cni/bin', netnsDir: nsDir });
    runner.calls.length = 0;
    assert.equal(await restarted.deletePod(UID), true);
    const order = runner.calls.filter((c) => isPlugin(c) || isPortmap(c)).map((c) => `${c.file.split('/').pop()} ${cniCommand(c)}`);
    assert.deepEqual(order, ['portmap DEL', 'bridge DEL']);
    const del = runner.calls.find(isPortmap)!;
    assert.deepEqual((JSON.parse(del.input!) as { runtimeConfig: unknown }).runtimeConfig, { portMappings: mappings });
    runner.calls.length = 0;
    assert.equal(await restarted.deletePod(UID), false);
    assert.equal(runner.calls.filter(isPortmap).length, 0);
  });

  test('a Pod without hostPorts never calls portmap', async () => {
    await net.ensurePod(UID, 'web', 'shop', { portMappings: [] });
    await net.deletePod(UID);
    assert.equal(runner.calls.filter((c) => c.file.endsWith('/portmap')).length, 0);
  });

  test('a failed portmap ADD undoes the bridge ADD and the netns', async () => {
    runner.on((c) => c.file.endsWith('/portmap') && cniCommand(c) === 'ADD', { exitCode: 1, stdout: JSON.stringify({ msg: 'port 8080 in use' }) });
    await assert.rejects(net.ensurePod(UID, 'web', 'shop', { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }), /portmap plugin exited with 1: port 8080 in use/);
    assert.deepEqual(runner.calls.filter((c) => c.file.startsWith('/opt/cni/bin/')).map((c) => `${c.file.split('/').pop()} ${cniCommand(c)}`), ['bridge ADD', 'portmap ADD', 'portmap DEL', 'bridge DEL']);
    assert.equal(netns.size, 0);
    assert.deepEqual(await readdir(leaseDir), []);
  });

  test('cleanup deletes every sandbox with a lease here, then the bridge', async () => {
    await net.ensurePod(UID, 'web', 'shop', { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    netns.add(podNetnsName('ffffffffffff-other-board'));
    runner.calls.length = 0;
    assert.deepEqual(await net.cleanup(), { pods: 1, bridge: true });
    assert.deepEqual(runner.argsOf(['link', 'delete']), [['link', 'delete', 'cni-test0', 'type', 'bridge']]);
    assert.equal(netns.size, 1, 'another board\'s netns is left alone');
    runner.on(['link', 'delete'], { exitCode: 1, stderr: 'Cannot find device "cni-test0"' });
    assert.deepEqual(await net.cleanup(), { pods: 0, bridge: false });
  });

  test('concurrent ensurePod calls for one Pod make one sandbox', async () => {
    const [a, b] = await Promise.all([net.ensurePod(UID, 'web', 'shop'), net.ensurePod(UID, 'web', 'shop')]);
    assert.deepEqual(a, b);
    assert.equal(runner.calls.filter(isPlugin).length, 1);
  });
});
