import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { printRotation, printStatus } from './cli-secrets-encryption.js';

const status = {
  activeKeyId: 'aesgcm-b', keys: [{ id: 'aesgcm-a', active: false, secrets: 2 }, { id: 'aesgcm-b', active: true, secrets: 10 }],
  plaintextSecrets: 0, unreadableSecrets: 0, totalSecrets: 12, revision: 40,
};

describe('secrets-encryption printing', () => {
  test('status prints the active key, a table of keys and the counts; -o json keeps the documented shape', () => {
    const text = printStatus(status, 'text');
    assert.equal(text.stdout, [
      'Encryption Status: Enabled (AES-256-GCM)',
      'Active Key: aesgcm-b',
      'Secrets: 12 (0 in clear, 0 unreadable)',
      '',
    ].join('\n') + 'ACTIVE   KEY        SECRETS\n         aesgcm-a   2\n*        aesgcm-b   10\n');
    assert.equal(text.stderr, '');
    assert.deepEqual(JSON.parse(printStatus(status, 'json').stdout), status);
  });

  test('unreadable Secrets are warned about on stderr', () => {
    assert.match(printStatus({ ...status, unreadableSecrets: 1 }, 'text').stderr, /^warning: 1 Secret\(s\) cannot be decrypted/);
  });

  test('a rotation report names both keys, the count, what was removed and each failure', () => {
    const r = { previousKeyId: 'aesgcm-a', activeKeyId: 'aesgcm-b', reencrypted: 3, removedKeyIds: [], keptKeyIds: ['aesgcm-a'], failures: ['Secret default/x cannot be decrypted: ...'], status };
    const p = printRotation(r, 'text');
    assert.equal(p.stdout, 'rotated the Secrets encryption key: aesgcm-a -> aesgcm-b\nre-encrypted 3 Secret(s) with aesgcm-b\nremoved no key\nkept old key(s): aesgcm-a\n');
    assert.equal(p.stderr, 'error: Secret default/x cannot be decrypted: ...\n');
    assert.equal(JSON.parse(printRotation(r, 'json').stdout).status.activeKeyId, 'aesgcm-b');
  });
});
