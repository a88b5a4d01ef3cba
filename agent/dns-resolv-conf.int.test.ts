// A real resolver library against the resolver: glibc's getaddrinfo (getent) in
// a board netns whose /etc/resolv.conf is podResolvConf's ClusterFirst output
// (`ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over it), so the
// search list and ndots:5 do what they do in a Pod: "web", "web.default" and
// the full name all reach the Service. The resolver listens on the host end of
// the board's veth, port 53, as a board's resolver listens on its bridge gateway.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { realClock } from '../proto/util/clock.js';
import type { Service } from '../proto/model.js';
import { execRunner } from './exec-runner.js';
import { ClusterDnsView } from './dns-records.js';
import { DnsServer } from './dns-server.js';
import { podResolvConf } from './dns-resolv-conf.js';
import { createBoard, pickFreeBoardIndex, type Board } from '../test/support/board.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/getent');

describe('a Pod resolv.conf with glibc against the resolver', { skip: !canRun && 'needs root and getent' }, () => {
  const suffix = randomBytes(3).toString('hex');
  let board: Board | undefined;
  let server: DnsServer | undefined;
  let etcDir = '';
  let portTaken = false;

  before(async () => {
    board = await createBoard(`dns${suffix}`, await pickFreeBoardIndex());
    const view = new ClusterDnsView();
    view.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.43.0.10', ports: [{ port: 80 }] } } satisfies Service);
    view.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'prod' }, spec: { clusterIP: '10.43.0.20', ports: [{ port: 5432 }] } } satisfies Service);
    server = new DnsServer({ address: board.hostIp, port: 53, view, clock: realClock });
    try {
      await server.start();
    } catch (e) {
      // Something holding *:53 on this machine makes the test meaningless here, not failed.
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') portTaken = true;
      else throw e;
    }
    etcDir = `/etc/netns/${board.netnsName}`;
    await mkdir(etcDir, { recursive: true });
    const text = podResolvConf({ metadata: { namespace: 'default' }, spec: {} }, { dnsServiceIP: board.hostIp, hostResolvConf: 'nameserver 192.0.2.53\nsearch home.lan\n' });
    await writeFile(`${etcDir}/resolv.conf`, text);
  });

  after(async () => {
    await server?.stop();
    if (etcDir) await rm(etcDir, { recursive: true, force: true });
    await rmdir('/etc/netns').catch(() => undefined); // only when no one else has a netns file there
    await board?.destroy();
  });

  const resolve = async (name: string): Promise<{ exitCode: number; stdout: string }> =>
    execRunner.run('ip', ['netns', 'exec', board!.netnsName, 'getent', 'ahostsv4', name], { timeoutMs: 20_000 });

  test('the short name, NAME.NS and the full name resolve to the ClusterIP through the search list', async (t) => {
    if (portTaken) return t.skip('port 53 is taken on this machine');
    for (const name of ['web', 'web.default', 'web.default.svc.cluster.local', 'db.prod']) {
      const r = await resolve(name);
      assert.equal(r.exitCode, 0, `${name} must resolve: ${r.stdout}`);
      assert.match(r.stdout, name.startsWith('db') ? /^10\.43\.0\.20\s/ : /^10\.43\.0\.10\s/, name);
    }
  });

  test('a name no search domain holds does not resolve (NXDOMAIN through every search domain)', async (t) => {
    if (portTaken) return t.skip('port 53 is taken on this machine');
    const r = await resolve('nope');
    assert.equal(r.exitCode, 2, r.stdout);
  });
});
