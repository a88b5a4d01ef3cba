import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { caBundleSha256, splitPemCertificates } from './ca-bundle.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function ca(name: string): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const c = await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=${name}`, keys, signingAlgorithm: ALG, notBefore: new Date(0), notAfter: new Date(2 ** 40) });
  return c.toString('pem') + '\n';
}

describe('CA bundle hash', () => {
  test('the same certificates in the same order hash alike however the PEM is spelled; another set or order differs', async () => {
    const a = await ca('a');
    const b = await ca('b');
    assert.equal(splitPemCertificates(a + b).length, 2);
    assert.equal(caBundleSha256(a + b), caBundleSha256(`${a.trimEnd()}\r\n\n${b.trimEnd()}`.replace(/\r/g, '')));
    assert.notEqual(caBundleSha256(a + b), caBundleSha256(b + a));
    assert.notEqual(caBundleSha256(a + b), caBundleSha256(a));
  });
});
