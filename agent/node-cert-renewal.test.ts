import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import { FakeClock } from '../proto/util/clock.js';
import { CertRenewalLoop, RENEWAL_CHECK_MS } from '../proto/util/cert-renewal.js';
import { isBrambleError } from '../proto/util/errors.js';
import { silentLogger } from '../proto/util/log.js';
import { loadNodeCredentials, loadOrCreateNodeKey, saveNodeCredentials, type NodeCredentials } from './join-tls.js';
import { CaBundleWatch, caBundleSha256, nodeCertRenewable, type RenewalConnection } from './node-cert-renewal.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

/** A CA that signs whatever CSR it is sent, for the CN the test chooses. */
async function fakeCa(clock: FakeClock): Promise<{ caPem: string; sign(csrPem: string, cn?: string): Promise<string> }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test-ca', keys, signingAlgorithm: ALG, notBefore: new Date(clock.now() - DAY), notAfter: new Date(clock.now() + 3650 * DAY),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  return {
    caPem: ca.toString('pem') + '\n',
    sign: async (csrPem, cn) => {
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${cn ?? csr.subjectName.getField('CN')[0]}`, issuer: ca.subject, publicKey: csr.publicKey, signingKey: keys.privateKey,
        signingAlgorithm: ALG, notBefore: new Date(clock.now() - 3600_000), notAfter: new Date(clock.now() + 365 * DAY),
      });
      return cert.toString('pem') + '\n';
    },
  };
}

interface Setup {
  dir: string;
  clock: FakeClock;
  creds: NodeCredentials;
  conn: RenewalConnection & { reconnects: number; requests: string[] };
  installed: NodeCredentials[];
  loop: CertRenewalLoop;
}

async function setup(t: { after(fn: () => Promise<void>): void }, answer: (csrPem: string) => Promise<{ certificatePem: string; caPem: string } | Error>): Promise<Setup> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-agent-renew-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const clock = new FakeClock();
  const ca = await fakeCa(clock);
  const { keyPem } = await loadOrCreateNodeKey(dir);
  const { createCsrForKey } = await import('./join-tls.js');
  let creds: NodeCredentials = { keyPem, caPem: ca.caPem, certPem: await ca.sign(await createCsrForKey(keyPem, 'pi-1')) };
  await saveNodeCredentials(dir, creds);
  const requests: string[] = [];
  const client = {
    RenewCertificate: (req: { csrPem: string }, _opts: unknown, cb: (err: Error | null, res?: unknown) => void) => {
      requests.push(req.csrPem);
      void answer(req.csrPem).then((r) => (r instanceof Error ? cb(r) : cb(null, r)));
    },
  } as unknown as NodeClient;
  const conn = {
    reconnects: 0, requests,
    client: () => client, generation: () => 0, failed: () => false,
    reconnect() { this.reconnects++; },
  };
  const installed: NodeCredentials[] = [];
  const loop = new CertRenewalLoop({
    clock, logger: silentLogger(),
    certs: [nodeCertRenewable({ nodeName: 'pi-1', dataDir: dir, connection: conn, clock, current: () => creds, install: (n) => { creds = n; installed.push(n); } })],
  });
  t.after(() => loop.stop());
  return { dir, clock, creds, conn, installed, loop };
}

describe('node certificate renewal (agent)', () => {
  test('30 days before expiry the agent gets a new certificate for its key, keeps it on disk and dials again with it', async (t) => {
    let ca: Awaited<ReturnType<typeof fakeCa>> | undefined;
    const s = await setup(t, async (csrPem) => ({ certificatePem: await ca!.sign(csrPem), caPem: ca!.caPem }));
    ca = await fakeCa(s.clock);
    // The renewal's CA differs from the join's: the agent takes the bundle the server sends.
    s.loop.start();
    await s.clock.advance(300 * DAY);
    assert.equal(s.conn.requests.length, 0, 'nothing asked while more than 30 days remain');
    await s.clock.advance(36 * DAY + RENEWAL_CHECK_MS);
    await s.loop.check(); // the look under way when time stopped (signing is real work, not a timer)
    assert.equal(s.conn.requests.length, 1);
    assert.equal(s.installed.length, 1);
    assert.equal(s.conn.reconnects, 1, 'the channel is dialled again with the new certificate');
    const onDisk = await loadNodeCredentials(s.dir);
    assert.deepEqual(onDisk, s.installed[0]);
    assert.equal(onDisk!.keyPem, s.creds.keyPem, 'the key stays the same');
    assert.notEqual(onDisk!.certPem, s.creds.certPem);
    assert.ok(Date.parse(new X509Certificate(onDisk!.certPem).validTo) > s.clock.now() + 360 * DAY);
    const csr = new x509.Pkcs10CertificateRequest(s.conn.requests[0]!);
    assert.deepEqual(csr.subjectName.getField('CN'), ['system:node:pi-1']);
  });

  test('a certificate for another node is refused and the current one stays in use and on disk', async (t) => {
    let ca: Awaited<ReturnType<typeof fakeCa>> | undefined;
    const s = await setup(t, async (csrPem) => ({ certificatePem: await ca!.sign(csrPem, 'system:node:pi-2'), caPem: ca!.caPem }));
    ca = await fakeCa(s.clock);
    await s.clock.advance(340 * DAY);
    const renewable = nodeCertRenewable({ nodeName: 'pi-1', dataDir: s.dir, connection: s.conn, clock: s.clock, current: () => s.creds, install: () => assert.fail('must not install') });
    await assert.rejects(renewable.renew(), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && /issued to "system:node:pi-1": it is issued to "system:node:pi-2"/.test(e.message));
    assert.equal((await loadNodeCredentials(s.dir))!.certPem, s.creds.certPem);
    assert.equal(s.conn.reconnects, 0);
  });

  test('a certificate not signed by the CA bundle sent with it is refused', async (t) => {
    let ca: Awaited<ReturnType<typeof fakeCa>> | undefined;
    let other: Awaited<ReturnType<typeof fakeCa>> | undefined;
    const s = await setup(t, async (csrPem) => ({ certificatePem: await ca!.sign(csrPem), caPem: other!.caPem }));
    ca = await fakeCa(s.clock);
    other = await fakeCa(s.clock);
    const renewable = nodeCertRenewable({ nodeName: 'pi-1', dataDir: s.dir, connection: s.conn, clock: s.clock, current: () => s.creds, install: () => assert.fail('must not install') });
    await assert.rejects(renewable.renew(), /not signed by any CA the server sent/);
    assert.equal((await loadNodeCredentials(s.dir))!.certPem, s.creds.certPem);
  });

  test('a refused renewal is tried again at the next look, and the old certificate is kept meanwhile', async (t) => {
    let ca: Awaited<ReturnType<typeof fakeCa>> | undefined;
    let refuse = true;
    const s = await setup(t, async (csrPem) => (refuse ? new Error('UNAVAILABLE: no leader') : { certificatePem: await ca!.sign(csrPem), caPem: ca!.caPem }));
    ca = await fakeCa(s.clock);
    s.loop.start();
    await s.clock.advance(336 * DAY);
    await s.loop.check();
    assert.ok(s.conn.requests.length >= 1);
    assert.equal(s.installed.length, 0);
    assert.equal((await loadNodeCredentials(s.dir))!.certPem, s.creds.certPem);
    refuse = false;
    await s.clock.advance(RENEWAL_CHECK_MS);
    await s.loop.check();
    assert.equal(s.installed.length, 1);
  });

  test('a heartbeat naming another CA bundle makes the certificate stale and asks for a renewal once, until one is installed', async () => {
    const clock = new FakeClock();
    const oldCa = (await fakeCa(clock)).caPem;
    const newCa = (await fakeCa(clock)).caPem;
    const creds = { keyPem: 'K', certPem: 'C', caPem: oldCa };
    let asked = 0;
    const watch = new CaBundleWatch({ current: () => creds, renewNow: () => void asked++, logger: silentLogger() });
    watch.heard(caBundleSha256(oldCa.replace(/\n$/, '')));
    assert.equal(watch.stale(), false, 'the same bundle, however spelled: nothing to do');
    watch.heard(caBundleSha256(newCa + oldCa));
    watch.heard(caBundleSha256(newCa + oldCa));
    assert.equal(watch.stale(), true);
    assert.equal(asked, 1, 'one renewal asked, not one per heartbeat');
    watch.installed();
    assert.equal(watch.stale(), false);
  });
});
