import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { createMemoryStore } from '../store/store-memory.js';
import { ensureClusterPki, publicKeyFingerprint } from '../pki/pki-ca.js';
import { joinNode, type JoinDeps } from './node-join.js';
import { renewNodeCertificate } from './node-cert-renewal.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

async function keys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function csr(k: CryptoKeyPair, cn: string): Promise<string> {
  return (await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: [cn] }], keys: k, signingAlgorithm: ALG })).toString('pem');
}

async function joined(t: { after(fn: () => Promise<void>): void }): Promise<{ deps: JoinDeps; clock: FakeClock; key: CryptoKeyPair; caPem: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-node-renew-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const clock = new FakeClock();
  const pki = await ensureClusterPki(dir, { clock });
  const deps: JoinDeps = {
    store: createMemoryStore(), clock, clusterCidr: '10.42.0.0/16',
    verifyToken: async () => undefined,
    signNodeCsr: (c, name) => pki.signNodeCsr(c, name),
    csrKeyFingerprint: async (c) => publicKeyFingerprint(c),
  };
  const key = await keys();
  await joinNode(deps, 'token', 'pi-1', await csr(key, 'system:node:pi-1'));
  return { deps, clock, key, caPem: pki.caPem };
}

describe('node certificate renewal (control plane)', () => {
  test('a joined node gets a new certificate for its name and the key it joined with', async (t) => {
    const { deps, clock, key, caPem } = await joined(t);
    await clock.advance(340 * DAY);
    const request = await csr(key, 'system:node:pi-1');
    const certPem = await renewNodeCertificate(deps, 'pi-1', request);
    const cert = new X509Certificate(certPem);
    assert.equal(cert.subject, 'CN=system:node:pi-1\nO=bramble:nodes');
    assert.ok(cert.verify(new X509Certificate(caPem).publicKey));
    assert.equal(publicKeyFingerprint(certPem), publicKeyFingerprint(request));
    assert.ok(Date.parse(cert.validTo) > clock.now() + 360 * DAY);
  });

  test('a CSR naming another node is refused: the name is the caller\'s', async (t) => {
    const { deps, key } = await joined(t);
    await assert.rejects(renewNodeCertificate(deps, 'pi-1', await csr(key, 'system:node:pi-2')),
      (e: unknown) => isBrambleError(e, 'FORBIDDEN') && /must have CN "system:node:pi-1"/.test(e.message));
  });

  test('a CSR for another key is refused, so a stolen certificate cannot be traded for a fresh key', async (t) => {
    const { deps } = await joined(t);
    await assert.rejects(renewNodeCertificate(deps, 'pi-1', await csr(await keys(), 'system:node:pi-1')),
      (e: unknown) => isBrambleError(e, 'FORBIDDEN') && /must be for the key node "pi-1" joined with/.test(e.message));
  });

  test('a node that is no longer in the cluster gets no certificate', async (t) => {
    const { deps, key } = await joined(t);
    await deps.store.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'pi-1' }] });
    await assert.rejects(renewNodeCertificate(deps, 'pi-1', await csr(key, 'system:node:pi-1')),
      (e: unknown) => isBrambleError(e, 'NOT_FOUND') && /not in the cluster/.test(e.message));
  });

  test('text that is not a CSR is refused as an invalid argument', async (t) => {
    const { deps } = await joined(t);
    await assert.rejects(renewNodeCertificate(deps, 'pi-1', 'hello'), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT'));
  });
});
