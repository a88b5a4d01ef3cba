// admin.conf's certificate renewed by the member that holds the CA, on a fake
// clock through the same loop as the serving certificate: due by its dates, or at
// once after a CA rotation; the server list and the file's mode survive, and a
// members-list write queued at the same time is not lost.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CertRenewalLoop } from '../../proto/util/cert-renewal.js';
import { FakeClock } from '../../proto/util/clock.js';
import { silentLogger } from '../../proto/util/log.js';
import { adminConf } from './admin-conf-renewal.js';
import { readClientConfig, writeClientConfig } from './client-config.js';
import { ensureClusterPki, rotateClusterCa } from './pki-ca.js';

const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

async function member(t: { after(fn: () => Promise<void>): void }, clock: FakeClock, leafValidityMs = 90 * DAY) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-admin-conf-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const pki = await ensureClusterPki(dir, { clock, leafValidityMs });
  const file = path.join(dir, 'admin.conf');
  const issued = await pki.issueClientCert('admin', 'bramble:admins');
  await writeClientConfig(file, { server: '127.0.0.1:7443', servers: ['127.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443'], ca: pki.caPem, cert: issued.certPem, key: issued.keyPem });
  const conf = adminConf(file, pki);
  const loop = new CertRenewalLoop({ clock, logger: silentLogger(), certs: [conf.renewal], checkEveryMs: HOUR });
  return { dir, pki, file, conf, loop };
}

const notAfter = (pem: string): number => Date.parse(new X509Certificate(pem).validTo);

describe('admin.conf renewal', () => {
  test('renewed at the first look after it is due, not before, keeping the server list, 0600, and no temporary file left', async (t) => {
    const clock = new FakeClock();
    const m = await member(t, clock);
    const first = await readClientConfig(m.file);
    m.loop.start();
    t.after(() => m.loop.stop());
    // 90-day certificate: due with a third of its life left, at day 60.
    await clock.advance(60 * DAY - 2 * HOUR);
    await m.loop.check();
    assert.equal((await readClientConfig(m.file)).cert, first.cert, 'not due yet');
    await clock.advance(2 * HOUR);
    await m.loop.check();
    const renewed = await readClientConfig(m.file);
    assert.notEqual(renewed.cert, first.cert);
    assert.notEqual(renewed.key, first.key, 'a new key too');
    assert.equal(notAfter(renewed.cert), clock.now() + 90 * DAY);
    assert.ok(new X509Certificate(renewed.cert).verify(new X509Certificate(m.pki.signingCaPem).publicKey));
    assert.deepEqual(renewed.servers, first.servers);
    assert.equal(renewed.server, first.server);
    assert.equal((await fs.stat(m.file)).mode & 0o777, 0o600);
    assert.deepEqual((await fs.readdir(m.dir)).filter((f) => f.startsWith('admin.conf')), ['admin.conf']);
  });

  test('after a CA rotation it moves to the new CA at the next look, with the bundle of both', async (t) => {
    const clock = new FakeClock();
    const m = await member(t, clock);
    const oldCa = m.pki.signingCaPem;
    await rotateClusterCa(m.dir, { overlapMs: 10 * DAY, clock });
    // rotateClusterCa leaves admin.conf alone (the CLI rewrites it): here the member's renewal moves it.
    assert.equal(await m.pki.reloadCa(), true);
    await m.loop.check();
    const cfg = await readClientConfig(m.file);
    assert.ok(new X509Certificate(cfg.cert).verify(new X509Certificate(m.pki.signingCaPem).publicKey));
    assert.equal(cfg.ca, m.pki.signingCaPem + oldCa);
    // When the overlap ends the bundle shrinks to the new CA at the next look.
    await clock.advance(10 * DAY + 1);
    await m.loop.check();
    assert.equal((await readClientConfig(m.file)).ca, m.pki.signingCaPem);
  });

  test('a members-list write queued while the renewal runs is kept, and so is the renewal', async (t) => {
    const clock = new FakeClock();
    const m = await member(t, clock);
    const before = await readClientConfig(m.file);
    await clock.advance(61 * DAY);
    const renewal = m.loop.check();
    const listed = m.conf.exclusive(async () => {
      const cfg = await readClientConfig(m.file);
      await writeClientConfig(m.file, { ...cfg, servers: [cfg.server, '10.0.0.9:7443'] });
    });
    await Promise.all([renewal, listed]);
    const cfg = await readClientConfig(m.file);
    assert.deepEqual(cfg.servers, ['127.0.0.1:7443', '10.0.0.9:7443']);
    assert.notEqual(cfg.cert, before.cert);
  });

  test('without an admin.conf there is nothing to renew', async (t) => {
    const clock = new FakeClock();
    const m = await member(t, clock);
    await fs.rm(m.file);
    await clock.advance(89 * DAY);
    await m.loop.check();
    await assert.rejects(fs.stat(m.file), /ENOENT/);
  });
});
