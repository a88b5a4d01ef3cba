import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { readClientConfig, writeClientConfig } from '../pki/client-config.js';
import { ensureClusterPki } from '../pki/pki-ca.js';
import type { CommandContext } from './cli-context.js';
import { parseOverlapDays, runCertificateRotateCa } from './cli-certificate-rotate.js';

function ctx(clock: FakeClock): CommandContext & { out: string[] } {
  const out: string[] = [];
  return {
    out,
    io: { stdout: { write: (t: unknown) => out.push(String(t)) }, stderr: { write: () => undefined }, stdin: process.stdin, env: {}, clock },
    connect: {},
  } as unknown as CommandContext & { out: string[] };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function serverDir(t: { after(fn: () => Promise<void>): void }, clock: FakeClock, port = 7443): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-rotate-cli-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const pki = await ensureClusterPki(dir, { clock });
  const admin = await pki.issueClientCert('admin', 'bramble:admins');
  await writeClientConfig(path.join(dir, 'admin.conf'), { server: `127.0.0.1:${port}`, ca: pki.caPem, cert: admin.certPem, key: admin.keyPem });
  return dir;
}

describe('bramble certificate rotate-ca', () => {
  test('rotates the CA and gives admin.conf a certificate from the new CA that trusts both', async (t) => {
    const clock = new FakeClock();
    const dir = await serverDir(t, clock);
    const oldCa = await fs.readFile(path.join(dir, 'tls', 'ca.crt'), 'utf8');
    const c = ctx(clock);
    assert.equal(await runCertificateRotateCa(c, { dataDir: dir, overlapDays: '14' }), 0);
    const newCa = await fs.readFile(path.join(dir, 'tls', 'ca.crt'), 'utf8');
    const cfg = await readClientConfig(path.join(dir, 'admin.conf'));
    assert.equal(cfg.ca, newCa + oldCa);
    assert.equal(cfg.server, '127.0.0.1:7443', 'the rest of admin.conf is kept');
    assert.ok(new X509Certificate(cfg.cert).verify(new X509Certificate(newCa).publicKey));
    assert.match(c.out.join(''), /trusted and still serves until 2026-01-15T00:00:00.000Z/);
    assert.match(c.out.join(''), /takes up the new CA within a minute, without a restart/);
  });

  test('a replicated control plane\'s data dir is never rotated on disk: the members are asked, through its admin.conf', async (t) => {
    const clock = new FakeClock();
    const dir = await serverDir(t, clock, await closedPort());
    await fs.writeFile(path.join(dir, 'member.json'), '{}');
    const before = await fs.readFile(path.join(dir, 'tls', 'ca.crt'), 'utf8');
    await assert.rejects(runCertificateRotateCa(ctx(clock), { dataDir: dir }), (e: unknown) => isBrambleError(e, 'UNAVAILABLE') && /cannot reach the Bramble server at 127\.0\.0\.1:\d+/.test(e.message));
    assert.equal(await fs.readFile(path.join(dir, 'tls', 'ca.crt'), 'utf8'), before);
    assert.equal(await fs.readFile(path.join(dir, 'tls', 'ca-rotation.json'), 'utf8').catch(() => 'none'), 'none');
  });

  test('--overlap takes days above 0; the default is 30', () => {
    assert.equal(parseOverlapDays(undefined), 30);
    assert.equal(parseOverlapDays('7'), 7);
    for (const bad of ['0', '-1', 'x', '1e9']) {
      assert.throws(() => parseOverlapDays(bad), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && e.message.includes(`"${bad}"`));
    }
  });
});
