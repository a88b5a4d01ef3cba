import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { isBrambleError } from '../proto/util/errors.js';
import { formatToken } from '../proto/token.js';
import {
  createCsrForKey,
  createNodeKeyAndCsr,
  fetchServerCa,
  loadNodeCredentials,
  loadOrCreateNodeKey,
  nodeCredentialPaths,
  saveNodeCredentials,
  verifyCaAgainstToken,
} from './join-tls.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-join-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function keyPemOf(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey), 'PRIVATE KEY');
}

/** A tiny CA and a leaf it signed, made here so the agent tests need nothing from control-plane/. */
async function makeChain() {
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test-ca',
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=leaf',
    issuer: ca.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
  });
  return { caPem: ca.toString('pem'), leafPem: leaf.toString('pem'), leafKeyPem: await keyPemOf(leafKeys.privateKey) };
}

async function startTlsServer(t: { after(fn: () => Promise<void>): void }, cert: string, key: string): Promise<number> {
  const server = tls.createServer({ cert, key }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

function spkiHash(pem: string): string {
  const spki = pem.includes('CERTIFICATE REQUEST')
    ? Buffer.from(new x509.Pkcs10CertificateRequest(pem).publicKey.rawData)
    : createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

describe('reading the server CA', () => {
  test('fetchServerCa returns the self-signed root the server sends after its certificate', async (t) => {
    const chain = await makeChain();
    const port = await startTlsServer(t, chain.leafPem + '\n' + chain.caPem, chain.leafKeyPem);
    const got = await fetchServerCa('127.0.0.1', port);
    const ca = new X509Certificate(chain.caPem);
    assert.equal(got.caHash, createHash('sha256').update(ca.raw).digest('hex'));
    assert.equal(new X509Certificate(got.caPem).fingerprint256, ca.fingerprint256);
  });

  test('a server that does not send its CA is reported as a CA mismatch', async (t) => {
    const chain = await makeChain();
    const port = await startTlsServer(t, chain.leafPem, chain.leafKeyPem);
    await assert.rejects(fetchServerCa('127.0.0.1', port), (e: unknown) => isBrambleError(e, 'CA_MISMATCH') && /self-signed CA/.test(e.message));
  });

  test('a closed port is reported as unavailable with the address', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(fetchServerCa('127.0.0.1', port), (e: unknown) => isBrambleError(e, 'UNAVAILABLE') && e.message.includes(`127.0.0.1:${port}`));
  });
});

describe('checking the CA against the token', () => {
  const hash = 'ab12'.repeat(16);
  const token = formatToken({ caHash: hash, id: 'abc123', secret: '0123456789abcdef' });

  test('the CA named by the token passes, whatever the letter case', () => {
    assert.doesNotThrow(() => verifyCaAgainstToken(hash.toUpperCase(), token));
  });

  test('another CA fails with CA_MISMATCH naming both hashes and not the secret', () => {
    const other = 'cd34'.repeat(16);
    assert.throws(() => verifyCaAgainstToken(other, token), (e: unknown) =>
      isBrambleError(e, 'CA_MISMATCH') &&
      e.message.includes('cd34cd34cd34') &&
      e.message.includes('ab12ab12ab12') &&
      /wrong server or tampered connection/.test(e.message) &&
      !e.message.includes('0123456789abcdef'));
  });

  test('a malformed token fails before any comparison', () => {
    assert.throws(() => verifyCaAgainstToken(hash, 'nonsense'), (e: unknown) => isBrambleError(e, 'TOKEN_INVALID'));
  });
});

describe('node key and CSR', () => {
  test('createNodeKeyAndCsr makes a signed CSR for system:node:<name> over the new key', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr('pi-3');
    assert.match(keyPem, /BEGIN PRIVATE KEY/);
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    assert.deepEqual(csr.subjectName.getField('CN'), ['system:node:pi-3']);
    assert.equal(await csr.verify(), true);
    assert.equal(spkiHash(csrPem), spkiHash(keyPem));
  });

  test('createCsrForKey keeps the existing key', async () => {
    const { keyPem } = await createNodeKeyAndCsr('pi-3');
    const csrPem = await createCsrForKey(keyPem, 'pi-3');
    assert.equal(spkiHash(csrPem), spkiHash(keyPem));
    assert.equal(await new x509.Pkcs10CertificateRequest(csrPem).verify(), true);
  });

  test('an empty node name is refused', async () => {
    await assert.rejects(createNodeKeyAndCsr(''), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT'));
  });

  test('loadOrCreateNodeKey makes the key once, mode 0600, then returns the same one', async (t) => {
    const dir = await tempDir(t);
    const first = await loadOrCreateNodeKey(dir);
    const second = await loadOrCreateNodeKey(dir);
    assert.equal(first.created, true);
    assert.deepEqual(second, { keyPem: first.keyPem, created: false });
    assert.equal((await fs.stat(nodeCredentialPaths(dir).key)).mode & 0o777, 0o600);
  });
});

describe('node credential files', () => {
  test('saved credentials load back, with the key readable only by root', async (t) => {
    const dir = await tempDir(t);
    assert.equal(await loadNodeCredentials(dir), undefined);
    const chain = await makeChain();
    const creds = { keyPem: chain.leafKeyPem, certPem: chain.leafPem, caPem: chain.caPem };
    await saveNodeCredentials(dir, creds);
    assert.deepEqual(await loadNodeCredentials(dir), creds);
    assert.equal((await fs.stat(nodeCredentialPaths(dir).key)).mode & 0o777, 0o600);
  });

  test('a certificate for another key is refused when saving', async (t) => {
    const dir = await tempDir(t);
    const chain = await makeChain();
    const { keyPem } = await createNodeKeyAndCsr('pi-3');
    await assert.rejects(saveNodeCredentials(dir, { keyPem, certPem: chain.leafPem, caPem: chain.caPem }), (e: unknown) =>
      isBrambleError(e, 'INVALID_ARGUMENT') && /not for the node key/.test(e.message));
    assert.equal(await loadNodeCredentials(dir), undefined);
  });

  test('a certificate without its key is reported as incomplete', async (t) => {
    const dir = await tempDir(t);
    const chain = await makeChain();
    await saveNodeCredentials(dir, { keyPem: chain.leafKeyPem, certPem: chain.leafPem, caPem: chain.caPem });
    await fs.rm(nodeCredentialPaths(dir).key);
    await assert.rejects(loadNodeCredentials(dir), (e: unknown) => isBrambleError(e) && /incomplete.*node\.key/.test(e.message));
  });
});
