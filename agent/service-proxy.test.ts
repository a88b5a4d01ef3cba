import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import { silentLogger } from '../proto/util/log.js';
import { FakeRunner, type RecordedCall } from './exec-runner.js';
import { backendFor } from './iptables-backend.js';
import { JUMP_RULES } from './iptables-jumps.js';
import { ServiceProxy, type ServiceSyncReport } from './service-proxy.js';
import { FakeServiceRules } from './service-proxy-fake.js';
import { makeEndpoints, makeService, makeSnapshot } from '../test/support/service-fixtures.js';
import { endpointChain, serviceChain } from './service-rules-names.js';

const backend = backendFor('nft', true, 'test');
const svc = (name: string, ip: string) => makeService(name, { clusterIP: ip, ports: [{ port: 80 }] });
const eps = (name: string, ...ips: string[]) => makeEndpoints(name, [{ ready: ips, ports: [{ port: 80 }] }]);
const snap = (aIps: string[]) => makeSnapshot([svc('a', '10.43.0.11'), svc('b', '10.43.0.12')], [eps('a', ...aIps), eps('b', '10.42.1.20')]);

function setup(opts: { saveNat?: string } = {}) {
  const clock = new FakeClock();
  const runner = new FakeRunner()
    .on(['-C'], { exitCode: 1 })
    .on(['iptables-nft-save', '-t', 'nat'], { stdout: opts.saveNat ?? '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n' })
    .on(['iptables-nft-save', '-t', 'filter'], { stdout: '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' });
  const reports: ServiceSyncReport[] = [];
  const proxy = new ServiceProxy({ runner, backend, clock, logger: silentLogger(), onSync: (r) => reports.push(r) });
  const restores = (): RecordedCall[] => runner.calls.filter((c) => c.file === 'iptables-nft-restore');
  const saves = (): RecordedCall[] => runner.calls.filter((c) => c.file === 'iptables-nft-save');
  return { clock, runner, proxy, reports, restores, saves };
}

describe('ServiceProxy', () => {
  test('nothing is written before the first snapshot, so a restarting agent does not empty the tables', async () => {
    const { clock, proxy, runner } = setup();
    await proxy.start();
    await clock.advance(5_000);
    assert.equal(runner.calls.length, 0);
    await proxy.stop();
  });

  test('the first snapshot is a full sync: tables read back, then one restore with --noflush that also inserts the jumps', async () => {
    const { clock, proxy, runner, restores, saves } = setup();
    await proxy.start();
    proxy.update(snap(['10.42.1.5']));
    const done = proxy.synced();
    await clock.advance(0);
    const report = await done;
    assert.equal(report.full, true);
    assert.equal(saves().length, 2);
    assert.equal(restores().length, 1);
    assert.deepEqual(restores()[0]!.args, ['-w', '5', '--noflush']);
    assert.match(restores()[0]!.input!, /:BRAMBLE-SERVICES - \[0:0\]/);
    assert.equal(report.jumpsInserted, JUMP_RULES.length);
    const input = restores()[0]!.input!;
    assert.match(input, /\n-I PREROUTING -m comment --comment "bramble service portals" -j BRAMBLE-SERVICES\n/);
    assert.match(input, /\n-I FORWARD -m conntrack --ctstate NEW -m comment --comment "bramble service portals" -j BRAMBLE-SERVICES\n/);
    assert.equal((input.match(/^-I /gm) ?? []).length, JUMP_RULES.length);
    assert.doesNotMatch(input, /^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /m, 'built-in chains are never declared (which would flush them)');
    assert.equal(runner.calls.length, 3, 'two iptables-save and one iptables-restore, no per-rule calls');
    await proxy.stop();
  });

  test('changes in a burst are coalesced into one partial sync a minSyncPeriod after the last start', async () => {
    const { clock, proxy, restores, saves, reports } = setup();
    await proxy.start();
    proxy.update(snap(['10.42.1.5']));
    await clock.advance(0);
    proxy.update(snap(['10.42.1.5', '10.42.1.6']));
    await clock.advance(100);
    proxy.update(snap(['10.42.1.5', '10.42.1.7']));
    const done = proxy.synced();
    await clock.advance(800);
    assert.equal(restores().length, 1, 'not before 1 s has passed since the last sync started');
    await clock.advance(100);
    const report = await done;
    assert.equal(restores().length, 2);
    assert.equal(report.full, false);
    assert.equal(saves().length, 2, 'a partial sync does not read the tables back');
    const input = restores()[1]!.input!;
    assert.match(input, new RegExp(`:${serviceChain('default/a', 'tcp')} `));
    assert.doesNotMatch(input, new RegExp(`:${serviceChain('default/b', 'tcp')} `), 'b did not change');
    assert.doesNotMatch(input, /10\.42\.1\.6/, 'the intermediate snapshot never reached the tables');
    assert.equal(reports.length, 2);
    await proxy.stop();
  });

  test('a change after a quiet period is applied at once', async () => {
    const { clock, proxy, restores } = setup();
    await proxy.start();
    proxy.update(snap(['10.42.1.5']));
    await clock.advance(5_000);
    proxy.update(snap(['10.42.1.6']));
    await clock.advance(0);
    assert.equal(restores().length, 2);
    await proxy.stop();
  });

  test('a full resync every syncPeriod reads the tables back, deletes stale chains and puts back missing jumps', async () => {
    const stale = 'BRAMBLE-SEP-STALESTALESTALE1';
    const { clock, proxy, restores, runner } = setup({ saveNat: `*nat\n:BRAMBLE-SERVICES - [0:0]\n:${stale} - [0:0]\n:KUBE-SEP-FOREIGN - [0:0]\nCOMMIT\n` });
    await proxy.start();
    proxy.update(snap(['10.42.1.5']));
    await clock.advance(0);
    await clock.advance(60_000);
    const last = proxy.lastSync()!;
    assert.equal(last.full, true);
    assert.equal(restores().length, 2);
    assert.match(restores()[1]!.input!, new RegExp(`-X ${stale}\n`));
    assert.doesNotMatch(restores()[1]!.input!, /KUBE-SEP-FOREIGN/);
    assert.equal(last.chainsDeleted, 1);
    assert.match(restores()[1]!.input!, /^-I PREROUTING /m, 'jumps missing from the read-back tables are put back');
    assert.equal(runner.calls.length, 6);
    await proxy.stop();
  });

  test('a failed restore rejects the waiters and is followed by a full sync after a back-off', async () => {
    const { clock, proxy, restores, runner, saves } = setup();
    await proxy.start();
    proxy.update(snap(['10.42.1.5']));
    await clock.advance(0);
    runner.once(['iptables-nft-restore'], { exitCode: 2, stderr: 'iptables-restore: line 7 failed' });
    proxy.update(snap(['10.42.1.6']));
    const failed = assert.rejects(proxy.synced(), /iptables-nft-restore --noflush must accept the Service rules: exited with 2: iptables-restore: line 7 failed/);
    await clock.advance(1_000);
    await failed;
    const savesAfterFailure = saves().length;
    const retried = proxy.synced();
    await clock.advance(1_000);
    const report = await retried;
    assert.equal(report.full, true, 'after a failure the state is unknown: full sync');
    assert.equal(saves().length, savesAfterFailure + 2);
    assert.equal(restores().length, 3);
    await proxy.stop();
  });

  test('stop ends syncing; the rules stay', async () => {
    const { clock, proxy, restores } = setup();
    await proxy.start();
    proxy.update(snap(['10.42.1.5']));
    await clock.advance(0);
    await proxy.stop();
    proxy.update(snap(['10.42.1.6']));
    await clock.advance(120_000);
    assert.equal(restores().length, 1);
    assert.doesNotMatch(restores()[0]!.input!, /^-[DX] /m);
  });

  test('cleanup deletes the jumps and flushes and deletes every Bramble chain found', async () => {
    const saveNat = [
      '*nat', ':PREROUTING ACCEPT [0:0]', ':BRAMBLE-SERVICES - [0:0]', ':BRAMBLE-SVC-AAAAAAAAAAAAAAAA - [0:0]', ':KUBE-SERVICES - [0:0]',
      '-A PREROUTING -p tcp --dport 22 -j ACCEPT', '-A PREROUTING -m comment --comment "bramble service portals" -j BRAMBLE-SERVICES',
      '-A PREROUTING -j KUBE-SERVICES', 'COMMIT', '',
    ].join('\n');
    const { proxy, restores, runner } = setup({ saveNat });
    await proxy.cleanup();
    assert.equal(restores().length, 1);
    assert.equal(restores()[0]!.input, '*nat\n:BRAMBLE-SERVICES - [0:0]\n:BRAMBLE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n-D PREROUTING 2\n-X BRAMBLE-SERVICES\n-X BRAMBLE-SVC-AAAAAAAAAAAAAAAA\nCOMMIT\n');
    assert.equal(runner.calls.length, 3);
  });

  test('the new endpoint chain and the removed one are what a one-endpoint change writes and deletes', async () => {
    const { clock, proxy, restores } = setup();
    await proxy.start();
    proxy.update(snap(['10.42.1.5', '10.42.1.6']));
    await clock.advance(0);
    proxy.update(snap(['10.42.1.5', '10.42.1.7']));
    await clock.advance(1_000);
    const input = restores()[1]!.input!;
    assert.match(input, new RegExp(`:${endpointChain('default/a', 'tcp', '10.42.1.7:80')} `));
    assert.match(input, new RegExp(`-X ${endpointChain('default/a', 'tcp', '10.42.1.6:80')}`));
    assert.doesNotMatch(input, new RegExp(`:${endpointChain('default/a', 'tcp', '10.42.1.5:80')} `));
    assert.equal(proxy.lastSync()!.chainsDeleted, 1);
    await proxy.stop();
  });
});

describe('FakeServiceRules', () => {
  test('keeps the snapshots it was given and the rules they would produce', async () => {
    const fake = new FakeServiceRules();
    await fake.start();
    fake.update(snap(['10.42.1.5']));
    assert.equal(fake.snapshots.length, 1);
    assert.ok(fake.rules()!.nat.has(serviceChain('default/a', 'tcp')));
    assert.ok((await fake.synced()).rulesTotal > 0);
    await fake.cleanup();
    assert.equal(fake.cleanups, 1);
  });
});

describe('ServiceProxy and UDP flows', () => {
  const udpSnap = (ips: string[]) => makeSnapshot(
    [makeService('dns', { type: 'NodePort', clusterIP: '10.43.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }] })],
    [makeEndpoints('dns', [{ ready: ips, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }])],
  );

  test('a removed UDP endpoint has its conntrack flows deleted; a first endpoint clears the rejected flows', async () => {
    const { clock, proxy, runner } = setup();
    await proxy.start();
    proxy.update(udpSnap([]));
    await clock.advance(0);
    proxy.update(udpSnap(['10.42.1.5', '10.42.1.6']));
    await clock.advance(1_000);
    assert.deepEqual(runner.argsOf(['-D', '-p', 'udp']), [['-D', '-p', 'udp', '--orig-dst', '10.43.0.53']]);
    proxy.update(udpSnap(['10.42.1.5']));
    await clock.advance(1_000);
    assert.deepEqual(runner.argsOf(['-D', '-p', 'udp']).slice(1), [
      ['-D', '-p', 'udp', '--orig-dst', '10.43.0.53', '--dst-nat', '10.42.1.6'],
      ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', '10.42.1.6'],
    ]);
    await proxy.stop();
  });

  test('the first sync after a start clears no flow, so UDP flows survive an agent restart', async () => {
    const { clock, proxy, runner } = setup();
    await proxy.start();
    proxy.update(udpSnap(['10.42.1.5']));
    await clock.advance(0);
    assert.equal(runner.calls.filter((c) => c.file === 'conntrack').length, 0);
    await proxy.stop();
  });

  test('without the conntrack tool the rules are still synced, and it is not tried again', async () => {
    const { clock, proxy, runner, restores } = setup();
    runner.on(['conntrack'], new Error('spawn conntrack ENOENT'));
    await proxy.start();
    proxy.update(udpSnap(['10.42.1.5']));
    await clock.advance(0);
    proxy.update(udpSnap([]));
    await clock.advance(1_000);
    proxy.update(udpSnap(['10.42.1.7']));
    await clock.advance(1_000);
    assert.equal(restores().length, 3);
    assert.equal(runner.calls.filter((c) => c.file === 'conntrack').length, 1);
    await proxy.stop();
  });
});
