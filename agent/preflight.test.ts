import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../proto/util/log.js';
import { blockingFindings, type Finding, type PreflightOptions } from './preflight.js';
import { checkBoard, CHECK_NAMES, preflightAgent } from './preflight-checks.js';
import { checkBridgeNetfilter, checkCgroups, checkForwarding, checkPageSize, enabledV1Controllers } from './preflight-kernel.js';
import { FakeHostProbe, ok } from './preflight-probe-fake.js';
import { checkClock, checkDisk, checkMemory, memAvailableBytes } from './preflight-resources.js';
import { RELEASE_FLOOR_MS } from '../proto/util/clock-sanity.js';
import { checkCniPlugins, checkContainerd, checkIptables, checkRunc, serverVersion } from './preflight-runtime.js';

const opts: PreflightOptions = { containerdAddress: '/run/containerd/containerd.sock', cniPath: '/usr/lib/cni', dataDir: '/var/lib/bramble/agent', now: RELEASE_FLOOR_MS + 86_400_000 };
const V1_PROC_CGROUPS = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\ncpu\t1\t1\t1\nmemory\t4\t50\t1\npids\t8\t1\t1\n';
const quiet = silentLogger();

function v1Board(procCgroups: string): FakeHostProbe {
  const probe = new FakeHostProbe();
  probe.filesystems.set('/sys/fs/cgroup', { type: 0x01021994, availableBytes: 0 });
  probe.files.delete('/sys/fs/cgroup/cgroup.controllers');
  probe.files.set('/proc/cgroups', procCgroups);
  return probe;
}

describe('preflight: the whole board', () => {
  test('a healthy board has every check ok, one finding per check, in order', async () => {
    const findings = await checkBoard(new FakeHostProbe(), opts);
    assert.deepEqual(findings.map((f) => f.check), CHECK_NAMES);
    assert.deepEqual(findings.filter((f) => f.status !== 'ok'), []);
    assert.ok(findings.every((f) => f.fix === ''), 'nothing to fix');
  });

  test('a check that throws is a fatal finding of its own rather than a crash', async () => {
    const probe = new FakeHostProbe();
    probe.readFile = async () => { throw new Error('EACCES'); };
    const findings = await checkBoard(probe, opts);
    const cgroup = findings.find((f) => f.check === 'cgroup')!;
    assert.equal(cgroup.status, 'fatal');
    assert.equal(cgroup.code, 'CHECK_FAILED');
    assert.match(cgroup.detail, /EACCES/);
  });

  test('the agent refuses to start on a fatal finding, naming it and its fix', async () => {
    const probe = new FakeHostProbe();
    probe.commands.delete('runc --version');
    await assert.rejects(preflightAgent(probe, opts, [], quiet), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'FAILED_PRECONDITION');
      assert.match(e.message, /runc \(RUNC_MISSING\): runc is not installed.*fix: apt install runc/);
      assert.match(e.message, /--ignore-check/);
      return true;
    });
  });

  test('the agent starts on warnings, and on a fatal finding it was told to ignore', async () => {
    const probe = new FakeHostProbe();
    probe.commands.delete('runc --version');
    probe.files.delete('/proc/sys/net/bridge/bridge-nf-call-iptables');
    const findings = await preflightAgent(probe, opts, ['runc'], quiet);
    assert.equal(findings.find((f) => f.check === 'runc')!.status, 'fatal');
    assert.equal(findings.find((f) => f.check === 'bridge-netfilter')!.status, 'warning');
    await preflightAgent(probe, opts, ['all'], quiet);
  });

  test('blockingFindings keeps only fatal findings that are not ignored', () => {
    const f = (check: string, status: Finding['status']): Finding => ({ check, status, code: 'X', detail: '', fix: '' });
    const all = [f('a', 'fatal'), f('b', 'warning'), f('c', 'fatal'), f('d', 'ok')];
    assert.deepEqual(blockingFindings(all, ['c']).map((x) => x.check), ['a']);
    assert.deepEqual(blockingFindings(all, ['all']), []);
  });
});

describe('preflight: cgroups', () => {
  test('cgroup v2 with cpu and memory in cgroup.controllers is ok', async () => {
    const f = await checkCgroups(new FakeHostProbe());
    assert.deepEqual([f.status, f.code], ['ok', 'CGROUP_V2']);
  });

  test('cgroup v2 without the memory controller is fatal with the cmdline.txt flags of the file the board has', async () => {
    const probe = new FakeHostProbe();
    probe.files.set('/sys/fs/cgroup/cgroup.controllers', 'cpuset cpu io pids\n');
    probe.files.set('/boot/firmware/cmdline.txt', 'console=serial0,115200 root=PARTUUID=1234-02 rootwait\n');
    const f = await checkCgroups(probe);
    assert.deepEqual([f.status, f.code], ['fatal', 'CGROUP_MEMORY_DISABLED']);
    assert.match(f.detail, /cgroup v2: the memory controller is not enabled/);
    assert.equal(f.fix, 'append " cgroup_enable=cpuset cgroup_enable=memory cgroup_memory=1" to the single line of /boot/firmware/cmdline.txt, then reboot');
  });

  test('an older board without /boot/firmware is told /boot/cmdline.txt', async () => {
    const probe = new FakeHostProbe();
    probe.files.set('/sys/fs/cgroup/cgroup.controllers', 'cpuset io memory pids\n');
    probe.files.set('/boot/cmdline.txt', 'root=/dev/mmcblk0p2\n');
    const f = await checkCgroups(probe);
    assert.equal(f.code, 'CGROUP_CPU_DISABLED');
    assert.match(f.fix, /of \/boot\/cmdline\.txt, then reboot$/);
  });

  test('cgroup v1 reads the enabled column of /proc/cgroups', async () => {
    assert.deepEqual(enabledV1Controllers(V1_PROC_CGROUPS), ['cpuset', 'cpu', 'memory', 'pids']);
    assert.deepEqual([(await checkCgroups(v1Board(V1_PROC_CGROUPS))).code], ['CGROUP_V1']);
    const disabled = await checkCgroups(v1Board(V1_PROC_CGROUPS.replace('memory\t4\t50\t1', 'memory\t0\t1\t0')));
    assert.deepEqual([disabled.status, disabled.code], ['fatal', 'CGROUP_MEMORY_DISABLED']);
    assert.match(disabled.detail, /^cgroup v1: the memory controller is not enabled \(\/proc\/cgroups: cpuset cpu pids\)/);
  });

  test('no controller list at all is fatal', async () => {
    const probe = new FakeHostProbe();
    probe.files.delete('/sys/fs/cgroup/cgroup.controllers');
    assert.deepEqual([(await checkCgroups(probe)).status, (await checkCgroups(probe)).code], ['fatal', 'CGROUP_UNREADABLE']);
  });
});

describe('preflight: containerd, runc, CNI plugins, iptables', () => {
  test('containerd answering is ok with its server version', async () => {
    const f = await checkContainerd(new FakeHostProbe(), opts);
    assert.deepEqual([f.status, f.code, f.detail], ['ok', 'CONTAINERD_OK', 'containerd 1.6.20~ds1 answers at /run/containerd/containerd.sock']);
    assert.equal(serverVersion('Client:\n  Version: 1\nServer:\n  Version:  v1.7.0\n'), 'v1.7.0');
  });

  test('containerd not installed is fatal: apt install containerd runc', async () => {
    const probe = new FakeHostProbe();
    probe.commands.set('ctr --version', 'missing');
    const f = await checkContainerd(probe, opts);
    assert.deepEqual([f.status, f.code, f.fix], ['fatal', 'CONTAINERD_MISSING', 'apt install containerd runc']);
  });

  test('a socket that refuses is fatal and names the socket; a unix:// address is a path', async () => {
    const probe = new FakeHostProbe();
    probe.refusedSockets.set('/run/c.sock', 'ECONNREFUSED');
    const f = await checkContainerd(probe, { ...opts, containerdAddress: 'unix:///run/c.sock' });
    assert.deepEqual([f.status, f.code], ['fatal', 'CONTAINERD_UNREACHABLE']);
    assert.equal(f.detail, 'containerd is not reachable at /run/c.sock (ECONNREFUSED)');
    assert.match(f.fix, /^systemctl enable --now containerd .*apt install containerd runc/);
  });

  test('a socket that accepts but ctr version fails is fatal', async () => {
    const probe = new FakeHostProbe();
    probe.commands.set('ctr --address /run/containerd/containerd.sock version', { stdout: 'Client:\n  Version: 1.6\n', stderr: 'ctr: failed to dial: context deadline exceeded\n', exitCode: 1 });
    const f = await checkContainerd(probe, opts);
    assert.deepEqual([f.status, f.code], ['fatal', 'CONTAINERD_NOT_ANSWERING']);
    assert.match(f.detail, /context deadline exceeded/);
  });

  test('runc present is ok with its version, missing is fatal', async () => {
    assert.deepEqual([(await checkRunc(new FakeHostProbe())).detail], ['runc version 1.1.5+ds1']);
    const probe = new FakeHostProbe();
    probe.commands.set('runc --version', 'missing');
    const f = await checkRunc(probe);
    assert.deepEqual([f.status, f.code, f.fix], ['fatal', 'RUNC_MISSING', 'apt install runc']);
  });

  test('CNI plugins: all three present is ok; a missing one is fatal naming it and the package', async () => {
    assert.equal((await checkCniPlugins(new FakeHostProbe(), opts)).code, 'CNI_PLUGINS_OK');
    const probe = new FakeHostProbe();
    probe.executables.delete('/usr/lib/cni/portmap');
    const f = await checkCniPlugins(probe, opts);
    assert.deepEqual([f.status, f.code, f.detail], ['fatal', 'CNI_PLUGINS_MISSING', 'not in /usr/lib/cni (or not executable): portmap']);
    assert.match(f.fix, /^apt install containernetworking-plugins/);
    assert.equal((await checkCniPlugins(new FakeHostProbe(), { ...opts, cniPath: '/opt/cni/bin' })).status, 'fatal');
  });

  test('iptables present reports the backend the rules will use; missing is fatal: apt install iptables', async () => {
    const f = await checkIptables(new FakeHostProbe());
    assert.deepEqual([f.status, f.code], ['ok', 'IPTABLES_NFT']);
    assert.match(f.detail, /^iptables v1\.8\.9 \(nf_tables\); rules go to iptables-nft \(only iptables-nft is installed\)$/);
    const legacy = new FakeHostProbe();
    legacy.commands.delete('iptables-nft-save');
    legacy.commands.set('iptables --version', ok('iptables v1.8.9 (legacy)\n'));
    assert.equal((await checkIptables(legacy)).code, 'IPTABLES_LEGACY');
    const missing = new FakeHostProbe();
    missing.commands.set('iptables --version', 'missing');
    const m = await checkIptables(missing);
    assert.deepEqual([m.status, m.code, m.fix], ['fatal', 'IPTABLES_MISSING', 'apt install iptables']);
  });
});

describe('preflight: forwarding and bridge netfilter', () => {
  test('forwarding on is ok; off is ok too, since the agent turns it on itself', async () => {
    assert.equal((await checkForwarding(new FakeHostProbe())).code, 'FORWARDING_ON');
    const probe = new FakeHostProbe();
    probe.files.set('/proc/sys/net/ipv4/ip_forward', '0\n');
    const f = await checkForwarding(probe);
    assert.deepEqual([f.status, f.code, f.fix], ['ok', 'FORWARDING_SET_BY_AGENT', '']);
    probe.files.delete('/proc/sys/net/ipv4/ip_forward');
    assert.equal((await checkForwarding(probe)).status, 'warning');
  });

  test('bridge netfilter: on is ok; no module or the sysctl off is a warning with the modules-load.d or sysctl.d line', async () => {
    assert.equal((await checkBridgeNetfilter(new FakeHostProbe())).code, 'BRIDGE_NETFILTER_ON');
    const probe = new FakeHostProbe();
    probe.files.set('/proc/sys/net/bridge/bridge-nf-call-iptables', '0\n');
    const off = await checkBridgeNetfilter(probe);
    assert.deepEqual([off.status, off.code], ['warning', 'BRIDGE_NF_CALL_IPTABLES_OFF']);
    assert.equal(off.fix, "echo 'net.bridge.bridge-nf-call-iptables = 1' >> /etc/sysctl.d/90-bramble.conf && sysctl --system");
    probe.files.delete('/proc/sys/net/bridge/bridge-nf-call-iptables');
    const none = await checkBridgeNetfilter(probe);
    assert.deepEqual([none.status, none.code], ['warning', 'BR_NETFILTER_NOT_LOADED']);
    assert.equal(none.fix, 'modprobe br_netfilter && echo br_netfilter > /etc/modules-load.d/bramble.conf');
  });
});

describe('preflight: clock, disk, memory, page size', () => {
  test('a clock after the release floor is ok; one in 1970 is a warning with the NTP fix (the agent waits for the clock rather than refuse)', async () => {
    assert.equal((await checkClock(new FakeHostProbe(), opts)).code, 'CLOCK_OK');
    const f = await checkClock(new FakeHostProbe(), { ...opts, now: 0 });
    assert.deepEqual([f.status, f.code], ['warning', 'CLOCK_BEHIND']);
    assert.match(f.detail, /^the clock says 1970-01-01T00:00:00\.000Z, before any Bramble release .*the agent waits for it/);
    assert.match(f.fix, /timedatectl/);
  });

  test('free disk is measured on the nearest existing parent of the data dir, with a warning and a fatal threshold', async () => {
    const probe = new FakeHostProbe();
    assert.deepEqual([(await checkDisk(probe, opts)).code, (await checkDisk(probe, opts)).detail], ['DISK_OK', '20480 MiB free on the file system of /']);
    probe.filesystems.set('/var/lib', { type: 0xef53, availableBytes: 1024 * 1024 * 1024 });
    const low = await checkDisk(probe, opts);
    assert.deepEqual([low.status, low.code, low.detail], ['warning', 'DISK_LOW', '1024 MiB free on the file system of /var/lib, under 2048 MiB']);
    probe.filesystems.set('/var/lib', { type: 0xef53, availableBytes: 100 * 1024 * 1024 });
    const full = await checkDisk(probe, opts);
    assert.deepEqual([full.status, full.code], ['fatal', 'DISK_FULL']);
    assert.match(full.fix, /--data-dir/);
  });

  test('MemAvailable under 256 MiB is a warning', async () => {
    assert.equal(memAvailableBytes('MemTotal: 1 kB\nMemAvailable:   2048 kB\n'), 2048 * 1024);
    assert.deepEqual([(await checkMemory(new FakeHostProbe())).detail], ['683 MiB available']);
    const probe = new FakeHostProbe();
    probe.files.set('/proc/meminfo', 'MemTotal: 948304 kB\nMemAvailable: 120000 kB\n');
    const f = await checkMemory(probe);
    assert.deepEqual([f.status, f.code], ['warning', 'MEMORY_LOW']);
  });

  test('4K pages are ok; 16K pages (a Pi 5 kernel) are a warning with the config.txt line', async () => {
    assert.equal((await checkPageSize(new FakeHostProbe())).code, 'PAGE_SIZE_4K');
    const probe = new FakeHostProbe();
    probe.commands.set('getconf PAGESIZE', ok('16384\n'));
    const f = await checkPageSize(probe);
    assert.deepEqual([f.status, f.code], ['warning', 'PAGE_SIZE_LARGE']);
    assert.match(f.detail, /16384 bytes/);
    assert.equal(f.fix, 'add the line "kernel=kernel8.img" to /boot/firmware/config.txt (a 4K-page kernel), then reboot');
  });
});
