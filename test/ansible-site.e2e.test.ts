// site.yml, upgrade.yml and reset.yml for real, against three throwaway Debian
// 12 hosts (two servers and an agent; see support/chroot-host.ts) reached
// through Ansible's chroot connection. No systemd runs in a chroot, so the play
// runs with bramble_manage_services=false and the test does systemd's part: it
// starts each host's containerd and the command of the unit the play wrote,
// inside the host's chroot and network namespace. The first server starts the
// control plane (--cluster-init), the second joins it (--join), the agent is
// given both; every board's node is Ready and runs a Pod. Two servers, not one:
// the join path of site.yml, a follower forwarding writes to the leader, and
// upgrade.yml restarting a server while the other runs the bramble commands are
// only reached with a second server.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Deployment, NodeObject, Pod } from '../proto/model.js';
import { sleepingDeployment } from '../control-plane/testing/deployment-fixtures.js';
import { execRunner } from '../agent/exec-runner.js';
import { buildBusyboxImage, BUSYBOX_IMAGE_NAME } from './support/busybox-image.js';
import { createChrootHost, PI_CMDLINE, unitCommand, type ChrootHost, type HostProcess } from './support/chroot-host.js';
import { waitFor } from './support/cluster.js';
import { busyboxPod, describePod, isRunning } from './support/e2e-objects.js';
import { createLan } from './support/lan.js';
import { pickFreeBoardIndex } from './support/board.js';
import { repoRoot, tempDir } from './support/server-process.js';
import { CONTROLLER_CACHE, packBramble, playbook, fleetInventory } from './support/ansible-run.js';


const UPGRADE_VERSION = '0.1.1';

/** An evicted replica runs out a 15 s grace period while its replacement starts on another board. */
const webDeployment = (): Deployment => sleepingDeployment('web', { image: BUSYBOX_IMAGE_NAME, replicas: 2, terminationGracePeriodSeconds: 15 });

/** The package again with another version in its package.json: the "new release" of the upgrade. */
async function repackWithVersion(pkg: string, work: string, version: string): Promise<string> {
  const dir = path.join(work, `repack-${version}`);
  await mkdir(dir, { recursive: true });
  const untar = await execRunner.run('tar', ['-xzf', pkg, '-C', dir], { timeoutMs: 60_000 });
  assert.equal(untar.exitCode, 0, untar.stderr);
  const manifest = path.join(dir, 'package', 'package.json');
  await writeFile(manifest, JSON.stringify({ ...JSON.parse(await readFile(manifest, 'utf8')), version }, null, 2) + '\n');
  const out = path.join(work, `bramble-${version}.tgz`);
  const tar = await execRunner.run('tar', ['-czf', out, '-C', dir, 'package'], { timeoutMs: 60_000 });
  assert.equal(tar.exitCode, 0, tar.stderr);
  return out;
}

/** Containers running on the hosts, from containerd's own view (not the API's: the control plane restarts during the upgrade). */
async function runningTasks(hosts: ChrootHost[]): Promise<number> {
  let n = 0;
  for (const h of hosts) {
    const r = await h.run(['ctr', '-n', 'bramble', 'tasks', 'ls'], 10_000);
    n += r.stdout.split('\n').filter((l) => /\bRUNNING\b/.test(l)).length;
  }
  return n;
}

/** containerd of the host, as systemd would start it after the play enabled it. */
async function startContainerd(h: ChrootHost): Promise<HostProcess> {
  const p = h.start(['containerd'], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
  await waitFor(`containerd of ${h.name} to answer`, async () => ((await h.run(['ctr', 'version'], 10_000)).exitCode === 0 ? true : undefined), {
    timeoutMs: 30_000, intervalMs: 200, describe: p.output,
  });
  return p;
}

async function startUnit(h: ChrootHost, unit: string): Promise<HostProcess> {
  const { argv, env } = unitCommand(await readFile(h.file(`etc/systemd/system/${unit}`), 'utf8'));
  return h.start(argv, env);
}

async function cli<T>(h: ChrootHost, args: string[]): Promise<T | undefined> {
  const r = await h.run(['/usr/local/bin/bramble', ...args, '-o', 'json'], 30_000);
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as T) : undefined;
}

interface ClusterStatus { leader: string; members: { name: string; role: string; error?: string }[] }

/** The members that answer as leader or follower, named, once there is a leader; [] when there is none. */
async function healthyMembers(h: ChrootHost): Promise<string[]> {
  const status = await cli<ClusterStatus>(h, ['cluster', 'status']);
  if (!status?.leader) return [];
  return status.members.filter((m) => !m.error && (m.role === 'leader' || m.role === 'follower')).map((m) => m.name).sort();
}

function isReady(n: NodeObject): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

test('site.yml installs Bramble on three Debian hosts that join and run Pods, a second run changes nothing, upgrade.yml keeps a Deployment running and a second upgrade.yml changes nothing, and reset.yml leaves nothing', { timeout: 900_000 }, async (t) => {
  const work = await tempDir(t, 'bramble-ansible-site-');
  const pkg = await packBramble(work);
  await mkdir(CONTROLLER_CACHE, { recursive: true });
  // The Node.js build stays cached; the install trees of this run's packages (a new one for every
  // change of the source) would pile up at some 50 MB each.
  const cachedBefore = new Set(await readdir(CONTROLLER_CACHE));
  t.after(async () => {
    for (const name of await readdir(CONTROLLER_CACHE)) {
      if (!cachedBefore.has(name) && !name.startsWith('node-linux-')) await rm(path.join(CONTROLLER_CACHE, name), { recursive: true, force: true });
    }
  });
  const lan = await createLan('site', await pickFreeBoardIndex());
  t.after(() => lan.destroy());
  const s1 = await createChrootHost('s1', lan);
  t.after(() => s1.destroy());
  const s2 = await createChrootHost('s2', lan);
  t.after(() => s2.destroy());
  const a1 = await createChrootHost('a1', lan);
  t.after(() => a1.destroy());
  const all = [s1, s2, a1];
  const fleet = { server: [s1, s2], agent: [a1] };
  const inv = path.join(work, 'inventory.json');
  await writeFile(inv, fleetInventory(fleet, { bramble_package: pkg }));
  const image = await buildBusyboxImage();
  const running: HostProcess[] = [];
  t.after(async () => {
    for (const p of running.reverse()) await p.stop(5_000);
  });
  const diagnostics = (): string => running.map((p) => p.output().slice(-3000)).join('\n---\n');
  const units: Record<string, { host: ChrootHost; unit: string; proc?: HostProcess }> = {
    s1: { host: s1, unit: 'bramble-server.service' },
    s2: { host: s2, unit: 'bramble-server.service' },
    a1: { host: a1, unit: 'bramble-agent.service' },
  };
  /** systemd's part: containerd (with the test image where the agent imports it), then the unit's command. */
  const boot = async (name: string): Promise<void> => {
    const u = units[name]!;
    running.push(await startContainerd(u.host));
    await mkdir(u.host.file('var/lib/bramble/agent/images'), { recursive: true });
    await copyFile(image.tarPath, u.host.file('var/lib/bramble/agent/images/busybox.tar'));
    u.proc = await startUnit(u.host, u.unit);
    running.push(u.proc);
  };

  // The first server starts once the play has written its unit and release: the play waits for its token.
  const play = playbook('site.yml', inv);
  const firstUnit = s1.file('etc/systemd/system/bramble-server.service');
  let playDone = false;
  void play.then(() => (playDone = true));
  await waitFor('the play to write s1\'s bramble-server.service', async () => (existsSync(firstUnit) || playDone ? true : undefined), { timeoutMs: 300_000, intervalMs: 250 });
  if (!existsSync(firstUnit)) assert.fail(`site.yml must write the first server's unit:\n${(await play).output.slice(-4000)}`);
  await boot('s1');
  const first = await play;
  assert.equal(first.code, 0, `site.yml must succeed:\n${first.output.slice(-6000)}\n${diagnostics()}`);
  for (const h of all) assert.ok((first.recap[h.name]?.changed ?? 0) > 0, `the first run must change ${h.name}: ${JSON.stringify(first.recap)}`);

  // What the play wrote.
  const version = JSON.parse(await readFile(path.join(repoRoot(), 'package.json'), 'utf8')).version as string;
  for (const h of all) {
    assert.equal((await readFile(h.file('boot/firmware/cmdline.txt'), 'utf8')), `${PI_CMDLINE} cgroup_enable=cpuset cgroup_enable=memory cgroup_memory=1\n`);
    assert.equal(await readFile(h.file('etc/modules-load.d/bramble.conf'), 'utf8'), 'br_netfilter\noverlay\n');
    const sysctl = await readFile(h.file('etc/sysctl.d/90-bramble.conf'), 'utf8');
    assert.match(sysctl, /^net\.ipv4\.ip_forward = 1$/m);
    assert.match(sysctl, /^net\.bridge\.bridge-nf-call-iptables = 1$/m);
    for (const bin of ['usr/bin/containerd', 'usr/sbin/runc', 'usr/lib/cni/bridge', 'usr/sbin/iptables', 'usr/sbin/sysctl']) assert.ok(existsSync(h.file(bin)), `${h.name} must have /${bin}`);
    const node = await h.run(['/opt/bramble/node/bin/node', '-p', 'process.versions.node']);
    assert.ok(Number(node.stdout.split('.')[0]) >= 20, `${h.name} must run Node.js 20 or newer: ${node.stdout}${node.stderr}`);
    assert.equal((await h.run(['/usr/local/bin/bramble', '--version'])).stdout.trim(), version);
    assert.ok(existsSync(h.file('opt/bramble/current/node_modules/classic-level/prebuilds/linux-arm64')), 'the install tree must carry classic-level\'s arm64 prebuild');
    const unit = await readFile(h.file(`etc/systemd/system/${units[h.name]!.unit}`), 'utf8');
    assert.match(unit, /^MemoryMax=\d+M$/m);
    assert.match(unit, /^Restart=always$/m);
  }
  const firstToken = (await readFile(s1.file('var/lib/bramble/token'), 'utf8')).trim();
  assert.equal((await stat(s1.file('var/lib/bramble/token'))).mode & 0o777, 0o600, 'the first server\'s token file must be mode 0600');
  assert.ok(unitCommand(await readFile(firstUnit, 'utf8')).argv.includes('--cluster-init'));
  const joiner = unitCommand(await readFile(s2.file('etc/systemd/system/bramble-server.service'), 'utf8')).argv;
  assert.equal(joiner.includes('--cluster-init'), false);
  assert.deepEqual(joiner.slice(joiner.indexOf('--join'), joiner.indexOf('--join') + 4), ['--join', `${s1.board.boardIp}:7443`, '--token-file', '/etc/bramble/token']);
  const agentCmd = unitCommand(await readFile(a1.file('etc/systemd/system/bramble-agent.service'), 'utf8')).argv;
  assert.deepEqual(agentCmd.slice(1, 4), ['agent', `--server=${s1.board.boardIp}:7443`, `--server=${s2.board.boardIp}:7443`]);
  assert.ok(agentCmd.includes('--token-file'), agentCmd.join(' '));
  for (const h of [s2, a1]) {
    assert.equal((await stat(h.file('etc/bramble/token'))).mode & 0o777, 0o600, `${h.name}'s token file must be mode 0600`);
    assert.equal((await readFile(h.file('etc/bramble/token'), 'utf8')).trim(), firstToken);
  }

  // The second server joins, then the agent; every board runs a Pod.
  await boot('s2');
  await waitFor('s1 and s2 to be healthy members of the control plane', async () => ((await healthyMembers(s1)).join(',') === 's1,s2' ? true : undefined),
    { timeoutMs: 90_000, intervalMs: 1000, describe: diagnostics });
  await boot('a1');
  await waitFor('every board to be Ready', async () => {
    const nodes = await cli<{ items: NodeObject[] }>(s1, ['get', 'nodes']);
    return (nodes?.items ?? []).filter(isReady).map((n) => n.metadata.name).sort().join(',') === 'a1,s1,s2' ? true : undefined;
  }, { timeoutMs: 90_000, intervalMs: 1000, describe: diagnostics });
  for (const h of all) {
    await writeFile(s1.file(`tmp/pod-${h.name}.json`), JSON.stringify(busyboxPod(`on-${h.name}`, { command: ['sleep', '3600'] }, { nodeName: h.name })));
    const r = await s1.run(['/usr/local/bin/bramble', 'apply', '-f', `/tmp/pod-${h.name}.json`]);
    assert.equal(r.exitCode, 0, r.stderr);
  }
  for (const h of all) {
    let last: Pod | undefined;
    await waitFor(`pod on-${h.name} to run`, async () => {
      last = await cli<Pod>(s1, ['get', 'pod', `on-${h.name}`]);
      return last && isRunning(last) ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 1000, describe: () => `${describePod(last)}\n${diagnostics()}` });
  }

  const second = await playbook('site.yml', inv);
  assert.equal(second.code, 0, second.output.slice(-4000));
  assert.deepEqual(Object.fromEntries(Object.entries(second.recap).map(([h, r]) => [h, r.changed])), { s1: 0, s2: 0, a1: 0 }, `a second run must change nothing:\n${second.output.slice(-6000)}`);

  // upgrade.yml to a second version, while a 2-replica Deployment keeps a replica
  // running throughout. The play runs in the boards' namespaces (the bramble
  // commands talk to the servers), and the test restarts a board's unit when the
  // play switches its current release, as systemd would.
  for (const h of all) assert.equal((await s1.run(['/usr/local/bin/bramble', 'delete', 'pod', `on-${h.name}`, '--force'])).exitCode, 0);
  await writeFile(s1.file('tmp/web.json'), JSON.stringify(webDeployment()));
  assert.equal((await s1.run(['/usr/local/bin/bramble', 'apply', '-f', '/tmp/web.json'])).exitCode, 0);
  await waitFor('deployment web to have 2 available replicas', async () => {
    const d = await cli<{ status?: { availableReplicas?: number } }>(s1, ['get', 'deployment', 'web']);
    return d?.status?.availableReplicas === 2 ? true : undefined;
  }, { timeoutMs: 90_000, intervalMs: 1000, describe: diagnostics });
  // Only web's two replicas are left running on the boards (the deleted Pods' containers are gone), so the samples count web alone.
  await waitFor('the boards to run web\'s 2 containers alone', async () => ((await runningTasks(all)) === 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  const v2 = await repackWithVersion(pkg, work, UPGRADE_VERSION);
  const netnsInv = path.join(work, 'inventory-netns.json');
  await writeFile(netnsInv, fleetInventory(fleet, { bramble_package: v2 }, (h) => ({ ansible_chroot_exe: h.chrootInNetns })));
  const releases: Record<string, string> = {};
  for (const h of all) releases[h.name] = await readlink(h.file('opt/bramble/current'));
  let upgrading = true;
  const samples: number[] = [];
  const watcher = (async () => {
    while (upgrading) {
      for (const [name, u] of Object.entries(units)) {
        const now = await readlink(u.host.file('opt/bramble/current')).catch(() => releases[name]!);
        if (now !== releases[name]) {
          releases[name] = now;
          await u.proc?.stop(15_000);
          u.proc = await startUnit(u.host, u.unit);
          running.push(u.proc);
        }
      }
      samples.push(await runningTasks(all));
      await delay(250);
    }
  })();
  const upgrade = await playbook('upgrade.yml', netnsInv);
  upgrading = false;
  await watcher;
  assert.equal(upgrade.code, 0, `upgrade.yml must succeed:\n${upgrade.output.slice(-6000)}\n${diagnostics()}`);
  assert.ok(samples.length > 0 && Math.min(...samples) >= 1, `a replica of web must run throughout the upgrade: running containers sampled ${samples.join(',')}`);
  const nodes = await cli<{ items: NodeObject[] }>(s1, ['get', 'nodes']);
  assert.deepEqual((nodes?.items ?? []).map((n) => [n.metadata.name, n.status?.nodeInfo?.kubeletVersion, isReady(n), n.spec?.unschedulable ?? false]).sort(),
    [['a1', UPGRADE_VERSION, true, false], ['s1', UPGRADE_VERSION, true, false], ['s2', UPGRADE_VERSION, true, false]]);
  // Both servers restarted on the new release and came back as members.
  await waitFor('s1 and s2 to be healthy members after the upgrade', async () => ((await healthyMembers(s2)).join(',') === 's1,s2' ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 1000, describe: diagnostics });

  // Run again with the same package (as after a run a failing board stopped): every board already
  // runs the release, Ready and schedulable, so none is cordoned, drained or restarted.
  const currentBefore = Object.fromEntries(await Promise.all(all.map(async (h) => [h.name, await readlink(h.file('opt/bramble/current'))] as const)));
  const again = await playbook('upgrade.yml', netnsInv);
  assert.equal(again.code, 0, `a second upgrade.yml must succeed:\n${again.output.slice(-6000)}\n${diagnostics()}`);
  assert.deepEqual(Object.fromEntries(Object.entries(again.recap).map(([h, r]) => [h, r.changed])), { s1: 0, s2: 0, a1: 0 },
    `a second upgrade.yml to the same release must change nothing (cordon, drain and uncordon report a change when they run):\n${again.output.slice(-6000)}`);
  for (const h of all) assert.equal(await readlink(h.file('opt/bramble/current')), currentBefore[h.name], `${h.name} keeps its release`);
  const after = await cli<{ items: NodeObject[] }>(s1, ['get', 'nodes']);
  assert.deepEqual((after?.items ?? []).map((n) => [n.metadata.name, n.spec?.unschedulable ?? false]).sort(), [['a1', false], ['s1', false], ['s2', false]]);

  // reset.yml, with systemd's part first: the services stop. The reset runs in each
  // board's network namespace (ansible_chroot_exe), where the agent made its changes.
  for (const name of ['a1', 's2', 's1']) await units[name]!.proc?.stop(15_000);
  const reset = await playbook('reset.yml', netnsInv, ['-e', 'bramble_reset_data=true']);
  assert.equal(reset.code, 0, reset.output.slice(-6000));
  for (const h of all) {
    for (const p of ['etc/systemd/system/bramble-server.service', 'etc/systemd/system/bramble-agent.service', 'opt/bramble', 'usr/local/bin/bramble',
      'etc/bramble', 'var/lib/bramble', 'etc/modules-load.d/bramble.conf', 'etc/sysctl.d/90-bramble.conf']) {
      assert.equal(existsSync(h.file(p)), false, `reset.yml must remove /${p} from ${h.name}`);
    }
    const containers = await h.run(['ctr', '-n', 'bramble', 'containers', 'ls', '-q']);
    assert.equal(containers.stdout.trim(), '', `reset.yml must remove ${h.name}'s containers`);
    const netns = await h.run(['ip', 'netns', 'list']);
    assert.equal(netns.stdout.trim(), '', `reset.yml must remove ${h.name}'s Pod network namespaces`);
    const rules = await h.run(['iptables-save']);
    assert.doesNotMatch(rules.stdout, /BRAMBLE/, `reset.yml must remove ${h.name}'s Bramble rules`);
    const links = await h.run(['ip', '-o', 'link', 'show']);
    assert.doesNotMatch(links.stdout, /bramble0/, `reset.yml must remove ${h.name}'s bridge`);
    const routes = await h.run(['ip', 'route', 'show', 'proto', '66']);
    assert.equal(routes.stdout.trim(), '', `reset.yml must remove ${h.name}'s routes to other boards' Pods`);
  }
});
