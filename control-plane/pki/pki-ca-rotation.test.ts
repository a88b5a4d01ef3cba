import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { ensureClusterPki, rotateClusterCa } from './pki-ca.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-rotate-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

function hashOf(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

function signedBy(certPem: string, caPem: string): boolean {
  return new X509Certificate(certPem).verify(new X509Certificate(caPem).publicKey);
}

async function nodeCsr(): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  return (await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: ['system:node:pi-1'] }], keys, signingAlgorithm: ALG })).toString('pem');
}

describe('CA rotation', () => {
  test('during the overlap both CAs are trusted, the previous one serves and the new one signs; after it only the new one is left', async (t) => {
    const dir = await tempDir(t);
    const clock = new FakeClock();
    const before = await ensureClusterPki(dir, { clock });
    const oldCa = before.caPem;
    const rotation = await rotateClusterCa(dir, { overlapMs: 30 * DAY, clock });
    assert.equal(rotation.previousHash, hashOf(oldCa));
    assert.equal(rotation.previousUntil, new Date(clock.now() + 30 * DAY).toISOString());
    const newCa = await fs.readFile(path.join(dir, 'tls', 'ca.crt'), 'utf8');
    assert.equal(rotation.newHash, hashOf(newCa));
    assert.notEqual(newCa, oldCa);
    assert.equal(await fs.readFile(path.join(dir, 'tls', 'ca-previous.crt'), 'utf8'), oldCa);
    assert.equal((await fs.stat(path.join(dir, 'tls', 'ca-previous.key'))).mode & 0o777, 0o600);

    const during = await ensureClusterPki(dir, { clock });
    assert.equal(during.caPem, newCa + oldCa, 'the bundle: new first, then the previous');
    assert.equal(during.caHash, hashOf(oldCa), 'tokens still name the CA at the root of the serving chain');
    assert.ok(signedBy(during.servingCertPem(), oldCa), 'agents that trust only the previous CA still verify the server');
    assert.equal(during.servingCertStale(), false);
    assert.ok(signedBy(await during.signNodeCsr(await nodeCsr(), 'pi-1'), newCa), 'renewed node certificates come from the new CA');
    assert.ok(signedBy((await during.issueClientCert('admin', 'bramble:admins')).certPem, newCa));

    await clock.advance(30 * DAY);
    assert.equal(during.servingCertStale(), true, 'the overlap ended: the serving certificate must move to the new CA');
    assert.equal(during.caPem, newCa);
    assert.equal(during.caHash, hashOf(newCa));
    await during.renewServingCert();
    assert.ok(signedBy(during.servingCertPem(), newCa));
    assert.equal(during.servingCertStale(), false);
    const restarted = await ensureClusterPki(dir, { clock });
    assert.equal(restarted.servingCertPem(), during.servingCertPem(), 'a start after the overlap keeps the new-CA certificate');
    assert.equal(restarted.caPem, newCa);
  });

  test('a start after the overlap ended while the server was down serves from the new CA at once', async (t) => {
    const dir = await tempDir(t);
    const clock = new FakeClock();
    await ensureClusterPki(dir, { clock });
    await rotateClusterCa(dir, { overlapMs: DAY, clock });
    await clock.advance(2 * DAY);
    const pki = await ensureClusterPki(dir, { clock });
    assert.ok(signedBy(pki.servingCertPem(), await fs.readFile(path.join(dir, 'tls', 'ca.crt'), 'utf8')));
  });

  test('a second rotation is refused while one is under way, and allowed once it ended', async (t) => {
    const dir = await tempDir(t);
    const clock = new FakeClock();
    await ensureClusterPki(dir, { clock });
    await rotateClusterCa(dir, { overlapMs: 10 * DAY, clock });
    await assert.rejects(rotateClusterCa(dir, { overlapMs: 10 * DAY, clock }),
      (e: unknown) => isBrambleError(e, 'FAILED_PRECONDITION') && /under way until 2026-01-11T00:00:00.000Z/.test(e.message));
    await clock.advance(10 * DAY);
    const second = await rotateClusterCa(dir, { overlapMs: 10 * DAY, clock });
    assert.notEqual(second.previousHash, second.newHash);
  });

  test('a data dir without a CA, or an overlap of 0, is refused', async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(rotateClusterCa(dir, { overlapMs: DAY }), (e: unknown) => isBrambleError(e, 'NOT_FOUND'));
    await ensureClusterPki(dir, {});
    await assert.rejects(rotateClusterCa(dir, { overlapMs: 0 }), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT'));
  });
});
