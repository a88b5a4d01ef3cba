import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MutableCertificateProvider } from './cert-provider.js';

async function microtasks(): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
}

describe('mutable certificate provider', () => {
  test('a listener hears the current identity and CA after it registers, then every replacement', async () => {
    const p = new MutableCertificateProvider('CA1', { certPem: 'CERT1', keyPem: 'KEY1' });
    const identities: string[] = [];
    const cas: string[] = [];
    p.addIdentityCertificateListener((u) => identities.push(`${u!.certificate.toString()}/${u!.privateKey.toString()}`));
    p.addCaCertificateListener((u) => cas.push(u!.caCertificate.toString()));
    assert.deepEqual(identities, [], 'not synchronously: grpc-js has not registered its watcher yet');
    await microtasks();
    assert.deepEqual(identities, ['CERT1/KEY1']);
    assert.deepEqual(cas, ['CA1']);
    p.setIdentity({ certPem: 'CERT2', keyPem: 'KEY2' });
    p.setCa('CA1CA2');
    assert.deepEqual(identities, ['CERT1/KEY1', 'CERT2/KEY2']);
    assert.deepEqual(cas, ['CA1', 'CA1CA2']);
  });

  test('a removed listener hears nothing more, not even the pending first delivery', async () => {
    const p = new MutableCertificateProvider('CA', { certPem: 'C', keyPem: 'K' });
    let heard = 0;
    const l = (): void => void heard++;
    p.addIdentityCertificateListener(l);
    p.removeIdentityCertificateListener(l);
    await microtasks();
    p.setIdentity({ certPem: 'C2', keyPem: 'K2' });
    assert.equal(heard, 0);
  });
});
