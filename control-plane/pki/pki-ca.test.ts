import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { ensureClusterPki, hostSans, installClusterCa, publicKeyFingerprint, readClusterCaKey } from './pki-ca.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY = 24 * 3600 * 1000;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-pki-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function mode(file: string): Promise<number> {
  return (await fs.stat(file)).mode & 0o777;
}

async function makeCsr(subject: x509.JsonName): Promise<{ csrPem: string; keys: CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: ALG });
  return { csrPem: csr.toString('pem'), keys };
}

function sansOf(pem: string): string {
  return new X509Certificate(pem).subjectAltName ?? '';
}

describe('cluster PKI', () => {
  test('the first start creates the CA and serving certificate with private key files readable only by root', async (t) => {
    const dir = await tempDir(t);
    const pki = await ensureClusterPki(dir, {});
    const tls = path.join(dir, 'tls');
    assert.equal(await mode(tls), 0o700);
    assert.equal(await mode(path.join(tls, 'ca.key')), 0o600);
    assert.equal(await mode(path.join(tls, 'server.key')), 0o600);
    const caPem = await fs.readFile(path.join(tls, 'ca.crt'), 'utf8');
    assert.equal(caPem, pki.caPem);
    const ca = new X509Certificate(caPem);
    assert.equal(ca.ca, true);
    assert.equal(pki.caHash, createHash('sha256').update(ca.raw).digest('hex'));
    assert.match(pki.caHash, /^[0-9a-f]{64}$/);
  });

  test('the serving certificate is signed by the CA for serverAuth and names this host and the extra SANs', async (t) => {
    const dir = await tempDir(t);
    const pki = await ensureClusterPki(dir, { sans: ['pi.example', '10.9.8.7'] });
    const serverPem = await fs.readFile(path.join(dir, 'tls', 'server.crt'), 'utf8');
    const server = new X509Certificate(serverPem);
    assert.ok(server.verify(new X509Certificate(pki.caPem).publicKey));
    assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
    const sans = sansOf(serverPem);
    for (const want of ['DNS:localhost', 'IP Address:127.0.0.1', `DNS:${os.hostname()}`, 'DNS:pi.example', 'IP Address:10.9.8.7']) {
      assert.ok(sans.includes(want), `${want} missing from ${sans}`);
    }
    assert.ok(pki.serverSans.includes('ip:::1'));
  });

  test('host SANs include every non-internal address of this machine', () => {
    const names = hostSans([]).map((n) => n.value);
    for (const addrs of Object.values(os.networkInterfaces())) {
      for (const a of addrs ?? []) if (!a.internal) assert.ok(names.includes(a.address), a.address);
    }
  });

  test('a later start loads the same CA and keeps an unchanged serving certificate', async (t) => {
    const dir = await tempDir(t);
    const first = await ensureClusterPki(dir, { sans: ['a.example'] });
    const serverBefore = await fs.readFile(path.join(dir, 'tls', 'server.crt'), 'utf8');
    const second = await ensureClusterPki(dir, { sans: ['a.example'] });
    assert.equal(second.caHash, first.caHash);
    assert.equal(await fs.readFile(path.join(dir, 'tls', 'server.crt'), 'utf8'), serverBefore);
  });

  test('a change of SANs replaces the serving certificate but keeps the CA', async (t) => {
    const dir = await tempDir(t);
    const first = await ensureClusterPki(dir, { sans: ['a.example'] });
    const second = await ensureClusterPki(dir, { sans: ['b.example'] });
    assert.equal(second.caHash, first.caHash);
    const sans = sansOf(await fs.readFile(path.join(dir, 'tls', 'server.crt'), 'utf8'));
    assert.ok(sans.includes('DNS:b.example'));
    assert.ok(!sans.includes('DNS:a.example'));
  });

  test('a serving certificate within 30 days of expiry is renewed at start-up', async (t) => {
    const dir = await tempDir(t);
    const clock = new FakeClock();
    await ensureClusterPki(dir, { clock });
    const before = await fs.readFile(path.join(dir, 'tls', 'server.crt'), 'utf8');
    await clock.advance(340 * DAY);
    await ensureClusterPki(dir, { clock });
    const after = await fs.readFile(path.join(dir, 'tls', 'server.crt'), 'utf8');
    assert.notEqual(after, before);
    assert.ok(Date.parse(new X509Certificate(after).validTo) > clock.now() + 300 * DAY);
  });

  test('renewServingCert writes a new certificate and key for the same names, which the next start keeps', async (t) => {
    const dir = await tempDir(t);
    const clock = new FakeClock();
    const pki = await ensureClusterPki(dir, { clock, sans: ['pi.example'] });
    const tls = path.join(dir, 'tls');
    const before = await fs.readFile(path.join(tls, 'server.crt'), 'utf8');
    const keyBefore = await fs.readFile(path.join(tls, 'server.key'), 'utf8');
    await clock.advance(340 * DAY);
    await pki.renewServingCert();
    const after = await fs.readFile(path.join(tls, 'server.crt'), 'utf8');
    const keyAfter = await fs.readFile(path.join(tls, 'server.key'), 'utf8');
    assert.equal(pki.servingCertPem(), after);
    assert.notEqual(new X509Certificate(after).serialNumber, new X509Certificate(before).serialNumber);
    assert.notEqual(keyAfter, keyBefore, 'a new key too');
    assert.equal(await mode(path.join(tls, 'server.key')), 0o600);
    assert.equal(sansOf(after), sansOf(before));
    assert.ok(new X509Certificate(after).verify(new X509Certificate(pki.caPem).publicKey));
    assert.equal(Date.parse(new X509Certificate(after).validTo), Math.floor((clock.now() + 365 * DAY) / 1000) * 1000);
    assert.equal(createPublicKey(createPrivateKey(keyAfter)).export({ type: 'spki', format: 'der' }).toString('hex'),
      new X509Certificate(after).publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
    await ensureClusterPki(dir, { clock, sans: ['pi.example'] });
    assert.equal(await fs.readFile(path.join(tls, 'server.crt'), 'utf8'), after, 'the renewed certificate is not due, so it is kept');
  });

  test('leafValidityMs sets the lifetime of the leaves the CA signs', async (t) => {
    const clock = new FakeClock();
    const pki = await ensureClusterPki(await tempDir(t), { clock, leafValidityMs: 2 * DAY });
    assert.equal(Date.parse(new X509Certificate(pki.servingCertPem()).validTo), clock.now() + 2 * DAY);
    const replica = await pki.issueReplicaCert('cp1');
    assert.equal(Date.parse(new X509Certificate(replica.certPem).validTo), clock.now() + 2 * DAY);
  });

  test('a CA certificate without its key is reported instead of being replaced', async (t) => {
    const dir = await tempDir(t);
    await ensureClusterPki(dir, {});
    await fs.rm(path.join(dir, 'tls', 'ca.key'));
    await assert.rejects(ensureClusterPki(dir, {}), (e: unknown) => isBrambleError(e, 'INTERNAL') && /ca\.key does not/.test(e.message));
  });

  test('issueClientCert returns a clientAuth certificate for the subject and its own key', async (t) => {
    const pki = await ensureClusterPki(await tempDir(t), {});
    const { certPem, keyPem } = await pki.issueClientCert('admin', 'bramble:admins');
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, 'CN=admin\nO=bramble:admins');
    assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
    assert.ok(cert.verify(new X509Certificate(pki.caPem).publicKey));
    assert.equal(publicKeyFingerprint(certPem), publicKeyFingerprint(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }).toString()));
  });

  test('issueReplicaCert returns a replica certificate for serverAuth and clientAuth with the given names', async (t) => {
    const pki = await ensureClusterPki(await tempDir(t), {});
    const { certPem, keyPem } = await pki.issueReplicaCert('pi-2', { sans: ['pi-2.local', '192.168.1.12'] });
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, 'CN=system:replica:pi-2\nO=bramble:replicas');
    assert.deepEqual([...(cert.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH].sort());
    assert.ok(cert.verify(new X509Certificate(pki.caPem).publicKey));
    assert.equal(cert.subjectAltName, 'DNS:pi-2.local, IP Address:192.168.1.12');
    assert.equal(publicKeyFingerprint(certPem), publicKeyFingerprint(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }).toString()));
  });

  test('issueReplicaCert refuses a name that is not a node name', async (t) => {
    const pki = await ensureClusterPki(await tempDir(t), {});
    for (const bad of ['', 'Pi_2', 'a/b', 'x'.repeat(64)]) {
      await assert.rejects(pki.issueReplicaCert(bad), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && e.message.startsWith('replica name must'), bad);
    }
  });
});

describe('signing node CSRs', () => {
  test('a CSR for system:node:<name> becomes a one-year node certificate for the same key', async (t) => {
    const clock = new FakeClock();
    const pki = await ensureClusterPki(await tempDir(t), { clock });
    const { csrPem } = await makeCsr([{ CN: ['system:node:pi-1'] }]);
    const certPem = await pki.signNodeCsr(csrPem, 'pi-1');
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, 'CN=system:node:pi-1\nO=bramble:nodes');
    assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
    assert.ok(cert.verify(new X509Certificate(pki.caPem).publicKey));
    assert.equal(Date.parse(cert.validTo), Math.floor((clock.now() + 365 * DAY) / 1000) * 1000);
    assert.equal(publicKeyFingerprint(certPem), publicKeyFingerprint(csrPem));
  });

  test('a CSR naming another node is refused', async (t) => {
    const pki = await ensureClusterPki(await tempDir(t), {});
    const { csrPem } = await makeCsr([{ CN: ['system:node:pi-2'] }]);
    await assert.rejects(pki.signNodeCsr(csrPem, 'pi-1'), (e: unknown) =>
      isBrambleError(e, 'FORBIDDEN') && e.message.includes('"system:node:pi-1"') && e.message.includes('"system:node:pi-2"'));
  });

  test('a CSR asking for the admins organization still gets only the nodes organization', async (t) => {
    const pki = await ensureClusterPki(await tempDir(t), {});
    const { csrPem } = await makeCsr([{ CN: ['system:node:pi-1'] }, { O: ['bramble:admins'] }]);
    const cert = new X509Certificate(await pki.signNodeCsr(csrPem, 'pi-1'));
    assert.equal(cert.subject, 'CN=system:node:pi-1\nO=bramble:nodes');
  });

  test('text that is not a CSR is refused as an invalid argument', async (t) => {
    const pki = await ensureClusterPki(await tempDir(t), {});
    await assert.rejects(pki.signNodeCsr('hello', 'pi-1'), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && /PKCS#10/.test(e.message));
  });

  test('a CSR whose signature does not match its key is refused', async (t) => {
    const pki = await ensureClusterPki(await tempDir(t), {});
    const { csrPem } = await makeCsr([{ CN: ['system:node:pi-1'] }]);
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    der[der.length - 5] ^= 0xff; // inside the signature value
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await assert.rejects(pki.signNodeCsr(tampered, 'pi-1'), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && /does not verify/.test(e.message));
  });
});

describe('public key fingerprints', () => {
  test('a CSR, its certificate and its public key share one fingerprint; another key differs', async () => {
    const a = await makeCsr([{ CN: ['system:node:a'] }]);
    const b = await makeCsr([{ CN: ['system:node:a'] }]);
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', a.keys.publicKey as webcrypto.CryptoKey));
    const pubPem = x509.PemConverter.encode(spki, 'PUBLIC KEY');
    assert.equal(publicKeyFingerprint(a.csrPem), createHash('sha256').update(spki).digest('hex'));
    assert.equal(publicKeyFingerprint(pubPem), publicKeyFingerprint(a.csrPem));
    assert.notEqual(publicKeyFingerprint(a.csrPem), publicKeyFingerprint(b.csrPem));
  });
});

describe('a server joining an existing cluster', () => {
  async function dirs(t: { after(fn: () => Promise<void>): void }): Promise<[string, string]> {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-join-ca-'));
    t.after(() => fs.rm(base, { recursive: true, force: true }));
    return [path.join(base, 'first'), path.join(base, 'joiner')];
  }

  test('takes the cluster\'s CA, key mode 0600, and serves with it', async (t) => {
    const [first, joiner] = await dirs(t);
    const a = await ensureClusterPki(first);
    await installClusterCa(joiner, a.caPem, await readClusterCaKey(first));
    assert.equal((await fs.stat(path.join(joiner, 'tls', 'ca.key'))).mode & 0o777, 0o600);
    const b = await ensureClusterPki(joiner);
    assert.equal(b.caHash, a.caHash);
    // Installing the same CA again changes nothing.
    await installClusterCa(joiner, a.caPem, await readClusterCaKey(first));
  });

  test('never replaces another cluster\'s CA, nor takes a key that is not the certificate\'s', async (t) => {
    const [first, joiner] = await dirs(t);
    const a = await ensureClusterPki(first);
    const other = await ensureClusterPki(joiner);
    await assert.rejects(installClusterCa(joiner, a.caPem, await readClusterCaKey(first)), (e: unknown) => isBrambleError(e, 'CA_MISMATCH') && /another cluster/.test(e.message));
    await assert.rejects(installClusterCa(path.join(joiner, 'x'), a.caPem, await readClusterCaKey(joiner)));
    assert.notEqual(other.caHash, a.caHash);
  });
});
