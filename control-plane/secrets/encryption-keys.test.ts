import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, chmod, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import {
  EncryptionKey, EncryptionKeySet, formatKeyFile, generateKey, keyFilePath, loadOrCreateKeyFile, parseKeyFile, saveKeyFile,
} from './encryption-keys.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bramble-keys-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const clock = new FakeClock(Date.parse('2026-12-02T05:45:30.123Z'));

describe('encryption keys', () => {
  test('a first start makes <data-dir>/cred/encryption-keys.json with one active key, mode 0600 in a 0700 folder', () => withDir(async (dir) => {
    const file = keyFilePath(dir);
    assert.equal(file, path.join(dir, 'cred', 'encryption-keys.json'));
    const first = await loadOrCreateKeyFile(file, clock);
    assert.equal(first.created, true);
    assert.equal(first.keys.activeId, 'aesgcm-20261202t054530z');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(path.dirname(file)), ['encryption-keys.json'], 'no temporary file left behind');
    const again = await loadOrCreateKeyFile(file, clock);
    assert.equal(again.created, false);
    assert.deepEqual(again.keys.active().bytes(), first.keys.active().bytes());
  }));

  test('a key file opened up to other users is closed again when read', () => withDir(async (dir) => {
    const file = keyFilePath(dir);
    await loadOrCreateKeyFile(file, clock);
    await chmod(file, 0o644);
    await loadOrCreateKeyFile(file, clock);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  }));

  test('a missing key file is refused, not remade, when the store holds Secrets encrypted with keys', () => withDir(async (dir) => {
    await assert.rejects(loadOrCreateKeyFile(keyFilePath(dir), clock, { usedKeyIds: ['aesgcm-1'] }),
      (e: unknown) => isBrambleError(e, 'STORE_FAILED') && /does not exist, but the store holds Secrets encrypted with keys aesgcm-1/.test((e as Error).message));
  }));

  test('saving and parsing a set keeps every key and the active one', () => withDir(async (dir) => {
    const a = generateKey(clock);
    const set = new EncryptionKeySet([a], a.id).withActive(generateKey(clock, [a.id]));
    assert.equal(set.activeId, `${a.id}-2`);
    await saveKeyFile(keyFilePath(dir), set);
    const back = parseKeyFile(await readFile(keyFilePath(dir), 'utf8'), 'f');
    assert.deepEqual(back.ids(), [a.id, `${a.id}-2`]);
    assert.equal(back.activeId, `${a.id}-2`);
    assert.deepEqual(back.find(a.id)!.bytes(), a.bytes());
    assert.deepEqual(back.without(new Set([a.id, back.activeId])).ids(), [back.activeId], 'the active key is never removed');
  }));

  test('a corrupted key file is a STORE_FAILED error naming the file and the field, never a key', () => {
    const good = new EncryptionKey('k1', Buffer.alloc(32, 5), '');
    const goodText = formatKeyFile(new EncryptionKeySet([good], 'k1'));
    const secretText = good.bytes().toString('base64');
    const doc = JSON.parse(goodText) as { keys: Record<string, unknown>[] };
    const cases: [string, RegExp][] = [
      [goodText.slice(0, goodText.length / 2), /it is not JSON/],
      ['[]', /must be a JSON object/],
      [JSON.stringify({ ...doc, version: 2 }), /version must be 1: current value is 2/],
      [JSON.stringify({ ...doc, keys: [] }), /keys must be a non-empty list/],
      [JSON.stringify({ ...doc, keys: [{ ...doc.keys[0], id: 'A:B' }] }), /keys\[0\]\.id must be/],
      [JSON.stringify({ ...doc, keys: [doc.keys[0], doc.keys[0]] }), /keys\[1\]\.id "k1" appears twice/],
      [JSON.stringify({ ...doc, keys: [{ ...doc.keys[0], secret: secretText.slice(0, 20) }] }), /keys\[0\]\.secret \(key "k1"\) must (hold 32 bytes: current length is 15 bytes|be base64 text)/],
      [JSON.stringify({ ...doc, keys: [{ ...doc.keys[0], secret: '%%%' }] }), /must be base64 text/],
      [JSON.stringify({ ...doc, active: 'k2' }), /active must name one of the keys \(k1\): current value is "k2"/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseKeyFile(text, '/data/cred/encryption-keys.json'), (e: unknown) => {
        assert.ok(isBrambleError(e, 'STORE_FAILED'), String(e));
        const msg = (e as BrambleError).message;
        assert.match(msg, /^the encryption key file \/data\/cred\/encryption-keys\.json is not valid: /);
        assert.match(msg, re);
        assert.ok(!msg.includes(secretText.slice(0, 12)), `a key leaked into: ${msg}`);
        return true;
      });
    }
  });

  test('a key prints, logs and serializes as its id alone', () => {
    const key = new EncryptionKey('k1', Buffer.alloc(32, 0xab), '');
    const hex = key.bytes().toString('hex');
    const b64 = key.bytes().toString('base64');
    for (const text of [JSON.stringify(key), String(key), inspect(key), inspect({ key }), JSON.stringify(new EncryptionKeySet([key], 'k1')), inspect(new EncryptionKeySet([key], 'k1'), { depth: 5 })]) {
      assert.ok(!text.includes(hex) && !text.includes(b64) && !text.includes('171, 171'), text);
      assert.match(text, /k1/);
    }
  });

  test('keys of the wrong size or with a bad id are refused', () => {
    assert.throws(() => new EncryptionKey('k1', Buffer.alloc(16), ''), /must be 32 bytes: current length is 16 bytes/);
    assert.throws(() => new EncryptionKey('', Buffer.alloc(32), ''), /key id must be/);
    assert.throws(() => new EncryptionKeySet([new EncryptionKey('k1', Buffer.alloc(32), '')], 'k2'), /active encryption key "k2" must be one of the keys: k1/);
  });

  test('a partial write leaves the previous key file whole', () => withDir(async (dir) => {
    const file = keyFilePath(dir);
    const first = await loadOrCreateKeyFile(file, clock);
    // What a crash before the rename leaves: a temporary file beside the real one.
    await writeFile(`${file}.deadbeef.tmp`, '{"version":1,"ke');
    assert.deepEqual((await loadOrCreateKeyFile(file, clock)).keys.ids(), first.keys.ids());
  }));
});
