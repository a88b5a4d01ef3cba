// ansible/flash.yml for real: ansible-playbook customizes an image this test
// builds (DOS table, FAT32 boot, ext4 root), the files are read back with
// mtype, a second run changes nothing, device mode writes a loop device, and a
// device that holds a mounted file system — or a path that is no block
// device — is refused before a byte is written. Never a disk of this machine.
// Run under the e2e lock: flock /tmp/bramble-e2e.lock node --test dist/test/ansible-flash.e2e.test.js
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execRunner, type RunResult } from '../agent/exec-runner.js';
import { repoRoot } from './support/server-process.js';
import { buildPiImage, must, readBootFile, sha256Of, type PiImage } from './support/pi-image.js';

const PLAYBOOK = path.join(repoRoot(), 'ansible', 'flash.yml');
const tools = ['ansible-playbook', 'sfdisk', 'mkfs.vfat', 'mtype', 'mcopy', 'mke2fs'];
const missing = tools.filter((t) => !['/usr/bin', '/usr/sbin', '/sbin', '/bin'].some((d) => existsSync(path.join(d, t))));
const isRoot = process.getuid?.() === 0;

const CGROUP_FLAGS = ['cgroup_enable=cpuset', 'cgroup_enable=memory', 'cgroup_memory=1'];
const FIRSTRUN_FLAGS = ['systemd.run=/boot/firmware/firstrun.sh', 'systemd.run_success_action=reboot', 'systemd.unit=kernel-command-line.target'];
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINbJrLFDdARz0pknGu4wCqZ87NOIorqrA9Z1hQTktOMr alice@laptop';
// `openssl passwd -6 -salt brambletest secret`
const HASH = '$6$brambletest$8TLYOwKsovwJp5uF2wj.M.BWHEvIznORxl69JHhb7h3qL319pO9sbvOA7zoItLNzmjXVfis9ptSJu2W8ho9ea1';

interface PlayResult extends RunResult {
  recap?: { ok: number; changed: number; failed: number };
}

async function flash(vars: Record<string, string>, extra: string[] = [], cwd?: string): Promise<PlayResult> {
  // JSON, since key=value extra vars split at spaces (the SSID and PSK hold some).
  const args = ['-i', 'localhost,', '-c', 'local', PLAYBOOK, '-e', JSON.stringify(vars), ...extra];
  // execRunner has no working directory of its own: a shell changes to it first.
  const [file, argv] = cwd ? ['bash', ['-c', 'cd "$0" && exec ansible-playbook "$@"', cwd, ...args]] : ['ansible-playbook', args];
  const r = await execRunner.run(file, argv, {
    timeoutMs: 120_000,
    env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false', ANSIBLE_RETRY_FILES_ENABLED: 'false' },
  });
  const m = /^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/m.exec(r.stdout);
  return { ...r, recap: m ? { ok: Number(m[1]), changed: Number(m[2]), failed: Number(m[3]) } : undefined };
}

function out(r: RunResult): string {
  return `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;
}

/** The heredoc of firstrun.sh that writes `file`. */
function heredoc(script: string, file: string): string {
  const start = script.indexOf(`>${file} <<'BRAMBLE_NM'\n`);
  assert.notEqual(start, -1, `firstrun.sh must write ${file}:\n${script}`);
  const body = script.slice(script.indexOf('\n', start) + 1);
  return body.slice(0, body.indexOf('\nBRAMBLE_NM\n'));
}

/**
 * A loop device on `file`, mounted read-only at `mountAt` when given (read-only
 * and without journal replay, so the mount itself writes nothing); unmounted
 * and detached in t.after. Skips the test when this machine has no loop device.
 */
async function attachLoop(t: TestContext, file: string, mountAt?: string): Promise<string | undefined> {
  const r = await execRunner.run('losetup', ['--find', '--show', file], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) {
    t.skip(`needs a loop device (losetup --find --show failed: ${r.stderr.trim()})`);
    return undefined;
  }
  const dev = r.stdout.trim();
  let mounted = false;
  t.after(async () => {
    if (mounted) await execRunner.run('umount', [mountAt!], { timeoutMs: 30_000 });
    await execRunner.run('losetup', ['-d', dev], { timeoutMs: 30_000 });
  });
  if (mountAt) {
    await mkdir(mountAt, { recursive: true });
    await must('mount', ['-o', 'ro,noload', dev, mountAt]);
    mounted = true;
  }
  return dev;
}

describe('ansible/flash.yml on a Raspberry Pi OS image', { skip: missing.length > 0 && `needs ${missing.join(', ')} (scripts/install-test-deps.sh)` }, () => {
  let dir: string;
  let keyFile: string;
  let img: PiImage;
  let vars: Record<string, string>;
  let rootBefore: string;
  let first: PlayResult;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bramble-flash-'));
    keyFile = path.join(dir, 'id_ed25519.pub');
    await writeFile(keyFile, `${KEY}\n`);
    img = await buildPiImage(dir, 'raspios.img');
    rootBefore = await sha256Of(img.path, img.rootOffset, img.rootLength);
    vars = {
      image: img.path,
      hostname: 'pi1',
      user: 'alice',
      password_hash: HASH,
      ssh_public_key_file: keyFile,
      wifi_ssid: 'Home Net',
      wifi_psk: 'correct horse battery',
      wifi_country: 'GB',
      static_address: '192.168.1.50/24',
      static_gateway: '192.168.1.1',
      static_dns: '192.168.1.2, 1.1.1.1',
    };
    first = await flash(vars);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the first run succeeds and reports changes', () => {
    assert.equal(first.exitCode, 0, out(first));
    assert.ok(first.recap && first.recap.failed === 0 && first.recap.changed > 0, out(first));
  });

  test('cmdline.txt stays one line, with the cgroup flags, the regulatory domain and the systemd.run arguments once each', async () => {
    const cmdline = await readBootFile(img.path, img.bootOffset, 'cmdline.txt');
    const expected = `${img.cmdline.trim()} ${[...CGROUP_FLAGS, 'cfg80211.ieee80211_regdom=GB', ...FIRSTRUN_FLAGS].join(' ')}\n`;
    assert.equal(cmdline, expected);
  });

  test('userconf.txt holds user:hash, an empty ssh file enables SSH, and config.txt is untouched', async () => {
    assert.equal(await readBootFile(img.path, img.bootOffset, 'userconf.txt'), `alice:${HASH}\n`);
    assert.equal(await readBootFile(img.path, img.bootOffset, 'ssh'), '');
    assert.equal(await readBootFile(img.path, img.bootOffset, 'config.txt'), img.config);
  });

  test('firstrun.sh sets the hostname and user, installs the key, and is valid bash', async () => {
    const script = await readBootFile(img.path, img.bootOffset, 'firstrun.sh');
    assert.ok(script, 'firstrun.sh must be in the boot partition');
    assert.match(script, /^#!\/bin\/bash\n/);
    assert.match(script, /^NEW_HOSTNAME=pi1$/m);
    assert.match(script, /^NEW_USER=alice$/m);
    assert.ok(script.includes(`PASSWORD_HASH='${HASH}'\n`), 'the hash must be quoted for the shell');
    assert.ok(script.includes(`<<'BRAMBLE_KEYS'\n${KEY}\nBRAMBLE_KEYS\n`), 'the key of ssh_public_key_file must go to authorized_keys');
    assert.match(script, /chmod 600 "\$USER_HOME\/\.ssh\/authorized_keys"/);
    assert.match(script, /^systemctl enable ssh$/m);
    const syntax = await execRunner.run('bash', ['-n'], { input: script, timeoutMs: 30_000 });
    assert.equal(syntax.exitCode, 0, syntax.stderr);
  });

  test('firstrun.sh writes a NetworkManager Wi-Fi connection with power saving off', async () => {
    const script = (await readBootFile(img.path, img.bootOffset, 'firstrun.sh'))!;
    const wifi = heredoc(script, '/etc/NetworkManager/system-connections/bramble-wifi.nmconnection');
    assert.match(wifi, /^type=wifi$/m);
    assert.match(wifi, /\[wifi\]\nmode=infrastructure\nssid=Home Net\npowersave=2\n/);
    assert.match(wifi, /\[wifi-security\]\nkey-mgmt=wpa-psk\npsk=correct horse battery\n/);
    assert.match(wifi, /\[ipv4\]\nmethod=auto\n/);
    assert.match(script, /chmod 600 \/etc\/NetworkManager\/system-connections\/bramble-wifi\.nmconnection/);
    assert.match(script, /^rfkill unblock wifi$/m);
  });

  test('firstrun.sh writes the static address on eth0 with its gateway and DNS servers', async () => {
    const script = (await readBootFile(img.path, img.bootOffset, 'firstrun.sh'))!;
    const eth = heredoc(script, '/etc/NetworkManager/system-connections/bramble-eth0.nmconnection');
    assert.match(eth, /^type=ethernet\ninterface-name=eth0$/m);
    assert.match(eth, /\[ipv4\]\nmethod=manual\naddress1=192\.168\.1\.50\/24\ngateway=192\.168\.1\.1\ndns=192\.168\.1\.2;1\.1\.1\.1;\n/);
  });

  test('firstrun.sh removes itself and exactly its own cmdline.txt arguments, keeping the cgroup flags', async () => {
    const script = (await readBootFile(img.path, img.bootOffset, 'firstrun.sh'))!;
    const done = script.indexOf('\n# Done:');
    assert.notEqual(done, -1, 'firstrun.sh must end with its clean-up');
    // The clean-up alone, run against a copy of the boot files.
    const boot = path.join(dir, 'boot-firmware');
    await mkdir(boot, { recursive: true });
    const cmdline = (await readBootFile(img.path, img.bootOffset, 'cmdline.txt'))!;
    await writeFile(path.join(boot, 'cmdline.txt'), cmdline);
    await writeFile(path.join(boot, 'firstrun.sh'), script);
    const tail = script.slice(done).replaceAll('"$BOOT/', `"${boot}/`);
    const r = await execRunner.run('bash', ['-c', tail], { timeoutMs: 30_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(existsSync(path.join(boot, 'firstrun.sh')), false);
    assert.equal(await readFile(path.join(boot, 'cmdline.txt'), 'utf8'), `${img.cmdline.trim()} ${[...CGROUP_FLAGS, 'cfg80211.ieee80211_regdom=GB'].join(' ')}\n`);
  });

  test('the ext4 root partition is untouched', async () => {
    assert.equal(await sha256Of(img.path, img.rootOffset, img.rootLength), rootBefore);
  });

  test('a second run reports changed=0 and leaves the image byte for byte as it was', async () => {
    const before = await sha256Of(img.path);
    const second = await flash(vars);
    assert.equal(second.exitCode, 0, out(second));
    assert.deepEqual(second.recap, { ok: second.recap?.ok, changed: 0, failed: 0 }, out(second));
    assert.equal(await sha256Of(img.path), before);
  });

  test('--check on a fresh image reports what would change and writes nothing', async () => {
    const copy = (await buildPiImage(dir, 'check.img')).path;
    const before = await sha256Of(copy);
    const r = await flash({ ...vars, image: copy }, ['--check']);
    assert.equal(r.exitCode, 0, out(r));
    assert.ok(r.recap && r.recap.changed > 0, out(r));
    assert.equal(await sha256Of(copy), before);
    await rm(copy);
  });

  test('relative paths are taken from the working directory, and a static address on wlan0 goes on an open Wi-Fi network', async () => {
    const fresh = await buildPiImage(dir, 'relative.img');
    const r = await flash({ image: 'relative.img', hostname: 'pi5', password_hash: HASH, ssh_public_key_file: path.basename(keyFile), wifi_ssid: 'Cafe', wifi_country: 'US', static_address: '10.0.0.9/24', static_interface: 'wlan0' }, [], dir);
    assert.equal(r.exitCode, 0, out(r));
    const script = (await readBootFile(fresh.path, fresh.bootOffset, 'firstrun.sh'))!;
    const wifi = heredoc(script, '/etc/NetworkManager/system-connections/bramble-wifi.nmconnection');
    assert.match(wifi, /\[wifi\]\nmode=infrastructure\nssid=Cafe\npowersave=2\n\n\[ipv4\]\nmethod=manual\naddress1=10\.0\.0\.9\/24\n\n\[ipv6\]/);
    assert.doesNotMatch(wifi, /wifi-security/, 'an empty wifi_psk is an open network');
    assert.doesNotMatch(script, /bramble-eth0/);
    assert.ok(script.includes(`<<'BRAMBLE_KEYS'\n${KEY}\nBRAMBLE_KEYS\n`));
    await rm(fresh.path);
  });

  test('another Wi-Fi country replaces the regulatory domain instead of adding a second one', async () => {
    const copy = path.join(dir, 'country.img');
    await must('cp', ['--sparse=always', img.path, copy]);
    const r = await flash({ ...vars, image: copy, wifi_country: 'DE' });
    assert.equal(r.exitCode, 0, out(r));
    const cmdline = (await readBootFile(copy, img.bootOffset, 'cmdline.txt'))!;
    assert.deepEqual(cmdline.split(/\s+/).filter((f) => f.startsWith('cfg80211.')), ['cfg80211.ieee80211_regdom=DE']);
    assert.equal(cmdline.split(/\s+/).filter((f) => f === 'cgroup_enable=memory').length, 1);
    await rm(copy);
  });

  describe('bad input fails with a message naming the variable, and writes nothing', () => {
    const cases: Array<[string, (v: Record<string, string>) => Record<string, string>, RegExp]> = [
      ['neither image nor device', ({ image: _image, ...v }) => v, /give exactly one of image=FILE or device=\/dev\/\.\.\. \(got image='', device=''\)/],
      ['both image and device', (v) => ({ ...v, device: '/dev/loop7' }), /give exactly one of image=FILE or device=.*device='\/dev\/loop7'/],
      ['no hostname', ({ hostname: _hostname, ...v }) => v, /hostname='' must be given/],
      ['an image that does not exist', (v) => ({ ...v, image: path.join(dir, 'missing.img') }), /image='[^']*missing\.img' does not exist/],
      ['a password hash with a colon', (v) => ({ ...v, password_hash: 'secret:1' }), /password_hash must be given as a crypt hash .*the value given has 8 characters and is not shown/],
      ['a Wi-Fi network without a country', (v) => ({ ...v, wifi_country: '' }), /wifi_country='' must be given with wifi_ssid/],
      ['a static address without its prefix length', (v) => ({ ...v, static_address: '192.168.1.50' }), /static_address='192\.168\.1\.50' must be an IPv4 address with its prefix length/],
    ];
    for (const [name, change, message] of cases) {
      test(`${name}`, async () => {
        const before = await sha256Of(img.path);
        const r = await flash(change(vars));
        assert.notEqual(r.exitCode, 0, out(r));
        assert.match(r.stdout, message, out(r));
        assert.equal(r.recap?.changed, 0, out(r));
        assert.equal(await sha256Of(img.path), before);
      });
    }
  });

  describe('device mode', { skip: !isRoot && 'needs root for loop devices and mounts' }, () => {
    test('an unmounted loop device is customized in place, and a second run changes nothing', async (t) => {
      const devImg = await buildPiImage(dir, 'card.img');
      const dev = await attachLoop(t, devImg.path);
      if (!dev) return;
      const deviceVars = { device: dev, hostname: 'pi2', password_hash: HASH, ssh_public_key_file: keyFile };
      const r = await flash(deviceVars);
      assert.equal(r.exitCode, 0, out(r));
      assert.equal(await readBootFile(dev, devImg.bootOffset, 'cmdline.txt'), `${devImg.cmdline.trim()} ${[...CGROUP_FLAGS, ...FIRSTRUN_FLAGS].join(' ')}\n`);
      assert.equal(await readBootFile(dev, devImg.bootOffset, 'userconf.txt'), `pi:${HASH}\n`, 'user must default to pi');
      const script = (await readBootFile(dev, devImg.bootOffset, 'firstrun.sh'))!;
      assert.match(script, /^NEW_HOSTNAME=pi2$/m);
      assert.doesNotMatch(script, /nmconnection/, 'no Wi-Fi or static address was asked for');
      const again = await flash(deviceVars);
      assert.equal(again.exitCode, 0, out(again));
      assert.equal(again.recap?.changed, 0, out(again));
    });

    test('a device holding a mounted file system, or an image file behind it, is refused before a byte is written', async (t) => {
      // A whole-disk file system, as on a stick formatted without a partition
      // table; ext4, as this machine's kernel has no vfat, and loop partitions
      // (loopNp1) do not appear in this container.
      const disk = path.join(dir, 'mounted.img');
      await must('mke2fs', ['-q', '-t', 'ext4', '-F', disk, '16M']);
      const mnt = path.join(dir, 'mnt');
      const dev = await attachLoop(t, disk, mnt);
      if (!dev) return;
      const before = await sha256Of(disk);
      const r = await flash({ device: dev, hostname: 'pi3', password_hash: HASH, ssh_public_key_file: keyFile });
      assert.notEqual(r.exitCode, 0, out(r));
      assert.ok(r.stdout.includes(`device='${dev}' holds a mounted file system (${mnt}): unmount it first`), out(r));
      assert.equal(r.recap?.changed, 0, out(r));
      assert.doesNotMatch(r.stdout, /TASK \[Read the partition table\]/, 'the refusal must come before the device is even read');
      assert.equal(await sha256Of(disk), before);
      // The same file given as an image: its loop device is mounted.
      const asImage = await flash({ image: disk, hostname: 'pi3', password_hash: HASH, ssh_public_key_file: keyFile });
      assert.notEqual(asImage.exitCode, 0, out(asImage));
      assert.ok(asImage.stdout.includes(`image='${disk}' is attached to ${dev}, which holds a mounted file system (${mnt}): unmount it first`), out(asImage));
      assert.equal(await sha256Of(disk), before);
    });

    test('a path that is not a block device is refused: a character device, a regular file, a missing path', async () => {
      for (const device of ['/dev/null', img.path, path.join(dir, 'no-such-device')]) {
        const r = await flash({ device, hostname: 'pi4', password_hash: HASH, ssh_public_key_file: keyFile });
        assert.notEqual(r.exitCode, 0, out(r));
        assert.ok(r.stdout.includes(`device='${device}' is not a block device`), out(r));
      }
    });
  });
});
