import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { isBrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store, StoreEvent } from '../store/store.js';
import { collect, storeContractTests, waitFor } from '../../test/support/store-contract.js';
import { EncryptingStore, ENCRYPTION_ERROR_ANNOTATION, encryptionError } from './encrypting-store.js';
import { EncryptionKey, EncryptionKeySet } from './encryption-keys.js';
import { ENCRYPTED_MARKER, encryptionOf } from './secret-cipher.js';

const VALUE = 's3cr3t-value-0123456789';
const key1 = new EncryptionKey('k1', Buffer.alloc(32, 1), '');
const key2 = new EncryptionKey('k2', Buffer.alloc(32, 2), '');
const keys = new EncryptionKeySet([key1], 'k1');

function secret(name: string, value = VALUE): KObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default', labels: { app: name } }, type: 'Opaque', data: { v: Buffer.from(value).toString('base64') } };
}

function plain(o: KObject | undefined): string | undefined {
  const v = (o?.data as Record<string, string> | undefined)?.v;
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
}

function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function setup(): { raw: Store; store: EncryptingStore } {
  const raw = createMemoryStore();
  return { raw, store: new EncryptingStore(raw, keys) };
}

/** What the raw store holds, with a tampered copy of one Secret's ciphertext put behind the decorator's back. */
async function tamper(raw: Store, name: string, change: (marker: string) => string): Promise<void> {
  const stored = raw.get('Secret', 'default', name)!;
  const marker = (stored.data as Record<string, string>)[ENCRYPTED_MARKER]!;
  await raw.propose({ ops: [{ type: 'put', object: { ...stored, data: { [ENCRYPTED_MARKER]: change(marker) } } }] });
}

describe('encrypting store', () => {
  describe('keeps the store contract', () => {
    storeContractTests(async (opts) => new EncryptingStore(createMemoryStore(opts), keys));
  });

  test('what reaches the store under it is ciphertext; get, list and propose hand out the Secret in clear, frozen', async () => {
    const { raw, store } = setup();
    const commit = await store.propose({ ops: [{ type: 'put', object: secret('a'), precondition: { absent: true } }] });
    assert.equal(plain(commit.objects[0]), VALUE);
    const stored = raw.get('Secret', 'default', 'a')!;
    assert.ok(!JSON.stringify(stored).includes(Buffer.from(VALUE).toString('base64')), JSON.stringify(stored));
    assert.equal(encryptionOf(stored).state, 'encrypted');
    assert.deepEqual(stored.metadata.labels, { app: 'a' }, 'metadata stays readable');
    const got = store.get('Secret', 'default', 'a')!;
    assert.equal(plain(got), VALUE);
    assert.ok(Object.isFrozen(got) && Object.isFrozen(got.data));
    assert.deepEqual(got, { ...secret('a'), metadata: { ...secret('a').metadata, resourceVersion: '1' } });
    assert.deepEqual(store.list('Secret').items.map(plain), [VALUE]);
    assert.deepEqual(store.list('Secret', 'other').items, []);
  });

  test('a relist hands out the same decrypted object until the Secret changes', async () => {
    const { store } = setup();
    await store.propose({ ops: [{ type: 'put', object: secret('a') }] });
    const first = store.list('Secret').items[0];
    assert.equal(store.list('Secret').items[0], first);
    assert.equal(store.get('Secret', 'default', 'a'), first);
    await store.propose({ ops: [{ type: 'put', object: secret('a', 'new') }] });
    const second = store.get('Secret', 'default', 'a');
    assert.notEqual(second, first);
    assert.equal(plain(second), 'new');
  });

  test('watches deliver Secrets decrypted, deletes included, and other kinds untouched', async () => {
    const { store } = setup();
    const w = collect(store, { fromRevision: 0 });
    await store.propose({ ops: [{ type: 'put', object: secret('a') }, { type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { x: 'y' } } }] });
    await store.propose({ ops: [{ type: 'put', object: secret('a', 'two') }] });
    const del = await store.propose({ ops: [{ type: 'delete', kind: 'Secret', namespace: 'default', name: 'a' }] });
    assert.equal(plain(del.objects[0]), 'two');
    await waitFor(() => w.events.length === 4, 'four events');
    assert.deepEqual(w.events.map((e: StoreEvent) => [e.type, e.object.kind, e.object.kind === 'Secret' ? plain(e.object) : e.object.data]),
      [['ADDED', 'Secret', VALUE], ['ADDED', 'ConfigMap', { x: 'y' }], ['MODIFIED', 'Secret', 'two'], ['DELETED', 'Secret', 'two']]);
    assert.ok(w.events.every((e) => Object.isFrozen(e) && Object.isFrozen(e.object)));
    // A resumed watch replays the retained events decrypted too.
    const again = collect(store, { fromRevision: 1, kind: 'Secret' });
    await waitFor(() => again.events.length === 2, 'the replayed events');
    assert.deepEqual(again.events.map((e) => plain(e.object)), ['two', 'two']);
    w.cancel();
    again.cancel();
  });

  test('writes seal with the active key; Secrets under an older key still read after a switch', async () => {
    const { raw, store } = setup();
    await store.propose({ ops: [{ type: 'put', object: secret('old') }] });
    store.setKeys(new EncryptionKeySet([key1, key2], 'k2'));
    await store.propose({ ops: [{ type: 'put', object: secret('new', 'n') }] });
    const keyOf = (n: string): unknown => (encryptionOf(raw.get('Secret', 'default', n)!) as { keyId?: string }).keyId;
    assert.equal(keyOf('old'), 'k1');
    assert.equal(keyOf('new'), 'k2');
    assert.deepEqual(store.list('Secret').items.map(plain), ['n', VALUE]);
  });

  test('a Secret stored in clear (before encryption) reads as it is', async () => {
    const { raw, store } = setup();
    await raw.propose({ ops: [{ type: 'put', object: secret('legacy') }] });
    assert.equal(plain(store.get('Secret', 'default', 'legacy')), VALUE);
  });

  test('tampered ciphertext is handed out without data, the reason naming the Secret and the key id, logged once, and never written back', async () => {
    const raw = createMemoryStore();
    const { logger, lines } = capturingLogger();
    const store = new EncryptingStore(raw, keys, logger);
    await store.propose({ ops: [{ type: 'put', object: secret('a') }, { type: 'put', object: secret('b', 'fine') }] });
    await tamper(raw, 'a', (m) => m.slice(0, -6) + (m.endsWith('AAAA==') ? 'BBBB==' : 'AAAA=='));
    const got = store.get('Secret', 'default', 'a')!;
    assert.equal(got.data, undefined);
    const why = encryptionError(got)!;
    assert.match(why, /^Secret default\/a cannot be decrypted: its ciphertext does not authenticate under key "k1"/);
    assert.equal(got.metadata.annotations?.[ENCRYPTION_ERROR_ANNOTATION], why);
    assert.deepEqual(store.list('Secret').items.map((o) => [o.metadata.name, plain(o)]), [['a', undefined], ['b', 'fine']], 'the others still list');
    store.list('Secret');
    assert.equal(lines.filter((l) => l.includes('cannot be decrypted')).length, 1, lines.join(''));
    assert.match(lines[0]!, /"keyId":"k1"/);
    assert.ok(!lines.join('').includes(key1.bytes().toString('base64')));
    // A read-modify-write of the stripped object would lose the ciphertext for good.
    await assert.rejects(store.propose({ ops: [{ type: 'put', object: got }] }),
      (e) => isBrambleError(e, 'STORE_FAILED') && /Secret default\/a cannot be updated while its stored data cannot be decrypted/.test(e.message));
    // Applying it again with its data, or deleting it, works.
    await store.propose({ ops: [{ type: 'put', object: secret('a', 'again') }] });
    assert.equal(plain(store.get('Secret', 'default', 'a')), 'again');
    await tamper(raw, 'a', () => 'v1:k9:' + Buffer.alloc(40).toString('base64'));
    assert.match(encryptionError(store.get('Secret', 'default', 'a')!)!, /encrypted with key "k9", which the key file does not hold \(it holds k1\)/);
    const del = await store.propose({ ops: [{ type: 'delete', kind: 'Secret', namespace: 'default', name: 'a' }] });
    assert.equal(del.objects[0]?.metadata.name, 'a');
  });

  test('a watch hands a Secret that does not decrypt out without data and with the reason, and keeps going', async () => {
    const { raw, store } = setup();
    const w = collect(store, { fromRevision: 0, kind: 'Secret' });
    await raw.propose({ ops: [{ type: 'put', object: { ...secret('bad'), data: { [ENCRYPTED_MARKER]: `v1:k1:${Buffer.alloc(40).toString('base64')}` } } }] });
    await store.propose({ ops: [{ type: 'put', object: secret('good') }] });
    await waitFor(() => w.events.length === 2, 'both events');
    assert.equal(w.events[0]!.object.data, undefined);
    assert.match(encryptionError(w.events[0]!.object)!, /^Secret default\/bad cannot be decrypted/);
    assert.equal(plain(w.events[1]!.object), VALUE);
    w.cancel();
  });

  test('a stored form is not sealed a second time', async () => {
    const { raw, store } = setup();
    await store.propose({ ops: [{ type: 'put', object: secret('a') }] });
    await assert.rejects(store.propose({ ops: [{ type: 'put', object: raw.get('Secret', 'default', 'a')! }] }),
      (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /must be written with its data in clear/.test(e.message));
  });

  test('writes in flight are counted by the key that sealed them', async () => {
    const { store } = setup();
    const pending = store.propose({ ops: [{ type: 'put', object: secret('a') }] });
    assert.equal(store.writesInFlight('k1'), 1);
    await pending;
    assert.equal(store.writesInFlight('k1'), 0);
    await assert.rejects(store.propose({ ops: [{ type: 'put', object: secret('a'), precondition: { absent: true } }] }));
    assert.equal(store.writesInFlight('k1'), 0, 'a refused write is no longer in flight');
  });
});
