import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import { EncryptionKey, EncryptionKeySet } from './encryption-keys.js';
import { ENCRYPTED_MARKER, encryptionOf, openSecret, parseMarker, sealSecret } from './secret-cipher.js';

const keyA = new EncryptionKey('key-a', Buffer.alloc(32, 1), '2026-01-01T00:00:00Z');
const keyB = new EncryptionKey('key-b', Buffer.alloc(32, 2), '2026-01-02T00:00:00Z');
const both = new EncryptionKeySet([keyA, keyB], 'key-b');

function secret(name = 'db', data: Record<string, string> = { password: Buffer.from('hunter2').toString('base64') }, namespace = 'shop'): KObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: { app: 'db' } }, type: 'Opaque', data };
}

function markerOf(o: KObject): string {
  return (o.data as Record<string, string>)[ENCRYPTED_MARKER]!;
}

function expectUnreadable(fn: () => unknown, ...parts: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isBrambleError(e, 'STORE_FAILED'), String(e));
    for (const p of parts) assert.match((e as BrambleError).message, p);
    return true;
  });
}

describe('secret cipher', () => {
  test('a sealed Secret keeps its metadata and type readable and nothing of its data', () => {
    const sealed = sealSecret(secret(), keyA);
    assert.deepEqual(sealed.metadata, secret().metadata);
    assert.equal(sealed.type, 'Opaque');
    assert.deepEqual(Object.keys(sealed.data as object), [ENCRYPTED_MARKER]);
    assert.match(markerOf(sealed), /^v1:key-a:[A-Za-z0-9+/]+=*$/);
    const text = JSON.stringify(sealed);
    assert.ok(!text.includes('password') && !text.includes(Buffer.from('hunter2').toString('base64')), text);
    assert.deepEqual(encryptionOf(sealed), { state: 'encrypted', keyId: 'key-a', blob: Buffer.from(markerOf(sealed).split(':')[2]!, 'base64') });
  });

  test('opening a sealed Secret gives back the Secret as written, deeply frozen', () => {
    const opened = openSecret(sealSecret(secret(), keyA), both);
    assert.deepEqual(opened, secret());
    assert.ok(Object.isFrozen(opened) && Object.isFrozen(opened.data) && Object.isFrozen(opened.metadata.labels));
  });

  test('stringData, a Secret without data and other kinds round-trip; other kinds are never sealed', () => {
    const withString = { ...secret(), stringData: { token: 'abc' } };
    assert.deepEqual(openSecret(sealSecret(withString, keyB), both), withString);
    const { data: _d, ...empty } = secret();
    assert.deepEqual(openSecret(sealSecret(empty, keyB), both), empty);
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
    assert.equal(sealSecret(cm, keyA), cm);
    assert.equal(encryptionOf(cm).state, 'not-secret');
    assert.equal(encryptionOf(secret()).state, 'plaintext');
  });

  test('two seals of one Secret use different nonces', () => {
    assert.notEqual(markerOf(sealSecret(secret(), keyA)), markerOf(sealSecret(secret(), keyA)));
  });

  test('a ciphertext moved onto another Secret or namespace does not authenticate, and the error names the Secret and the key id', () => {
    const sealed = sealSecret(secret('db'), keyA);
    const moved = { ...sealed, metadata: { ...sealed.metadata, name: 'other' } };
    expectUnreadable(() => openSecret(moved, both), /^Secret shop\/other cannot be decrypted/, /key "key-a"/, /does not authenticate/);
    const otherNs = { ...sealed, metadata: { ...sealed.metadata, namespace: 'dev' } };
    expectUnreadable(() => openSecret(otherNs, both), /Secret dev\/db/);
  });

  test('a flipped bit anywhere in the ciphertext is refused by name', () => {
    const sealed = sealSecret(secret(), keyA);
    const [format, id, b64] = markerOf(sealed).split(':') as [string, string, string];
    const blob = Buffer.from(b64, 'base64');
    for (let i = 0; i < blob.length; i++) {
      const bad = Buffer.from(blob);
      bad[i]! ^= 0x01;
      const tampered = { ...sealed, data: { [ENCRYPTED_MARKER]: `${format}:${id}:${bad.toString('base64')}` } };
      expectUnreadable(() => openSecret(tampered, both), /Secret shop\/db/, /key "key-a"/);
    }
  });

  test('a Secret under a key the set does not hold names that key and the ones held, never key bytes', () => {
    const sealed = sealSecret(secret(), new EncryptionKey('gone', Buffer.alloc(32, 9), ''));
    expectUnreadable(() => openSecret(sealed, both), /key "gone", which the key file does not hold \(it holds key-a, key-b\)/);
    try {
      openSecret(sealSecret(secret(), keyA), new EncryptionKeySet([new EncryptionKey('key-a', Buffer.alloc(32, 7), '')], 'key-a'));
      assert.fail('opened with the wrong key');
    } catch (e) {
      const msg = (e as Error).message;
      for (const k of [keyA, keyB]) assert.ok(!msg.includes(k.bytes().toString('base64')) && !msg.includes(k.bytes().toString('hex')), msg);
      assert.match(msg, /does not authenticate under key "key-a"/);
    }
  });

  test('malformed markers are refused with the rule broken', () => {
    const cases: [unknown, RegExp][] = [
      [42, /not a string/],
      ['nocolons', /must read "v1:<key id>:<base64>"/],
      ['v2:key-a:AAAA', /format must be v1: current value is "v2"/],
      ['v1:Bad Id:AAAA', /key id must be/],
      ['v1:key-a:!!!!', /not base64/],
      ['v1:key-a:AAAA', /shorter than a nonce and a tag/],
    ];
    for (const [text, re] of cases) {
      const enc = parseMarker(text);
      assert.equal(enc.state, 'malformed', String(text));
      assert.match((enc as { problem: string }).problem, re);
      expectUnreadable(() => openSecret({ ...secret(), data: { [ENCRYPTED_MARKER]: text as string } }, both), /Secret shop\/db cannot be decrypted/, re);
    }
    const extra = { ...secret(), data: { [ENCRYPTED_MARKER]: markerOf(sealSecret(secret(), keyA)), more: 'x' } };
    expectUnreadable(() => openSecret(extra, both), /must hold "bramble.io\/encrypted" alone/);
  });

  test('any marker text whatever is either opened or refused with STORE_FAILED, never another error', () => {
    const good = markerOf(sealSecret(secret(), keyA));
    const mutated = fc.tuple(fc.nat({ max: good.length }), fc.string({ maxLength: 8 }), fc.nat({ max: 8 }))
      .map(([at, insert, drop]) => good.slice(0, at) + insert + good.slice(at + drop));
    const anyText = fc.oneof(fc.string(), fc.string().map((s) => `v1:key-a:${s}`), fc.base64String().map((s) => `v1:key-b:${s}`), mutated);
    fc.assert(fc.property(anyText, (text) => {
      const obj = { ...secret(), data: { [ENCRYPTED_MARKER]: text } };
      try {
        const opened = openSecret(obj, both);
        // Only the untouched marker opens; AES-GCM makes a forged one hopeless.
        assert.deepEqual(opened, secret());
      } catch (e) {
        assert.ok(isBrambleError(e, 'STORE_FAILED'), `${JSON.stringify(text)}: ${String(e)}`);
        assert.match((e as Error).message, /^Secret shop\/db cannot be decrypted: /);
      }
    }), { numRuns: 2000 });
  });
});
