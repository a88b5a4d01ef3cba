import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FakeClock } from '../../proto/util/clock.js';
import fc from 'fast-check';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import type { KObject } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { EncryptionKeySet, MAX_KEYS, formatKeyFile, generateKey, keyFilePath, parseKeyFile } from './encryption-keys.js';
import { ENCRYPTED_MARKER, encryptionOf } from './secret-cipher.js';
import { openEncryptedStore, type KeyPeers } from './secrets-encryption.js';

function secret(name: string, value: string): KObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, data: { v: Buffer.from(value).toString('base64') } };
}

function plain(o: KObject | undefined): string | undefined {
  const v = (o?.data as Record<string, string> | undefined)?.v;
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
}

function keyIdOf(raw: Store, name: string): string {
  const enc = encryptionOf(raw.get('Secret', 'default', name)!);
  return enc.state === 'encrypted' ? enc.keyId : enc.state;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bramble-secrets-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const logger = silentLogger();

describe('secrets encryption', () => {
  test('a store written before encryption has every Secret encrypted on first start, and reads the same', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    for (let i = 0; i < 5; i++) await raw.propose({ ops: [{ type: 'put', object: secret(`s${i}`, `value-${i}`) }] });
    await raw.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { a: 'b' } } }] });
    const clock = new FakeClock(Date.parse('2026-12-02T06:00:00Z'));
    const opened = await openEncryptedStore({ raw, dataDir: dir, clock, logger });
    assert.equal(opened.encryptedAtStart, 5);
    const id = opened.store.keySet().activeId;
    for (let i = 0; i < 5; i++) {
      assert.equal(keyIdOf(raw, `s${i}`), id);
      assert.equal(plain(opened.store.get('Secret', 'default', `s${i}`)), `value-${i}`);
    }
    assert.equal(raw.get('ConfigMap', 'default', 'c')?.metadata.resourceVersion, '6', 'other kinds are not rewritten');
    assert.deepEqual(opened.encryption.status(), {
      activeKeyId: id, keys: [{ id, active: true, secrets: 5 }], plaintextSecrets: 0, unreadableSecrets: 0, totalSecrets: 5, revision: raw.revision(),
    });
    // The next start finds nothing to do.
    const again = await openEncryptedStore({ raw, dataDir: dir, clock, logger });
    assert.equal(again.encryptedAtStart, 0);
    assert.equal(again.store.keySet().activeId, id);
  }));

  test('status counts Secrets in clear, under each key, and unreadable', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    const { store, encryption } = await openEncryptedStore({ raw, dataDir: dir, clock: new FakeClock(0), logger });
    await store.propose({ ops: [{ type: 'put', object: secret('a', 'x') }, { type: 'put', object: secret('b', 'y') }] });
    await raw.propose({ ops: [{ type: 'put', object: secret('legacy', 'z') }] });
    await raw.propose({ ops: [{ type: 'put', object: { ...secret('bad', ''), data: { [ENCRYPTED_MARKER]: `v1:${store.keySet().activeId}:${Buffer.alloc(40).toString('base64')}` } } }] });
    const s = encryption.status();
    assert.deepEqual([s.keys[0]!.secrets, s.plaintextSecrets, s.unreadableSecrets, s.totalSecrets], [2, 1, 1, 4]);
  }));

  test('rotation re-encrypts every Secret under a new key, keeps them readable throughout, and removes the old key', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    const clock = new FakeClock(Date.parse('2026-12-02T06:00:00Z'));
    const { store, encryption } = await openEncryptedStore({ raw, dataDir: dir, clock, logger });
    const first = store.keySet().activeId;
    // More than one rewrite batch.
    const N = 150;
    for (let i = 0; i < N; i++) await store.propose({ ops: [{ type: 'put', object: secret(`s${i}`, `v${i}`) }] });
    clock.advance(1000);
    // Readers and writers keep going while the rotation runs.
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        for (const o of store.list('Secret').items) assert.equal(plain(o), `v${o.metadata.name.slice(1)}`, `read ${o.metadata.name} during rotation`);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await store.propose({ ops: [{ type: 'put', object: secret(`s${i % N}`, `v${i % N}`) }] });
        // Memory-store writes settle as microtasks: yield so the rotation's file I/O runs.
        await new Promise((r) => setImmediate(r));
      }
    })();
    const report = await encryption.rotate();
    writing = false;
    await Promise.all([reader, writer]);
    assert.ok(reads > 0);
    assert.equal(report.previousKeyId, first);
    assert.notEqual(report.activeKeyId, first);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.removedKeyIds, [first]);
    assert.deepEqual(report.keptKeyIds, []);
    for (let i = 0; i < N; i++) {
      assert.equal(keyIdOf(raw, `s${i}`), report.activeKeyId);
      assert.equal(plain(store.get('Secret', 'default', `s${i}`)), `v${i}`);
    }
    const file = parseKeyFile(await readFile(keyFilePath(dir), 'utf8'), 'f');
    assert.deepEqual(file.ids(), [report.activeKeyId]);
    assert.equal(file.activeId, report.activeKeyId);
    assert.deepEqual(report.status.keys, [{ id: report.activeKeyId, active: true, secrets: N }]);
  }));

  test('with keepOldKeys the old key stays in the file, unused; a second rotation then removes both old keys', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    const clock = new FakeClock(0);
    const { store, encryption } = await openEncryptedStore({ raw, dataDir: dir, clock, logger });
    await store.propose({ ops: [{ type: 'put', object: secret('a', 'x') }] });
    const first = store.keySet().activeId;
    clock.advance(1000);
    const kept = await encryption.rotate({ keepOldKeys: true });
    assert.deepEqual(kept.keptKeyIds, [first]);
    assert.deepEqual(kept.status.keys.map((k) => [k.id, k.secrets]), [[first, 0], [kept.activeKeyId, 1]]);
    clock.advance(1000);
    const pruned = await encryption.rotate();
    assert.deepEqual(pruned.removedKeyIds.sort(), [first, kept.activeKeyId].sort());
    assert.deepEqual(store.keySet().ids(), [pruned.activeKeyId]);
    assert.equal(plain(store.get('Secret', 'default', 'a')), 'x');
  }));

  test('a Secret that cannot be decrypted is reported by name, and the key it names is kept', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    const { store, encryption } = await openEncryptedStore({ raw, dataDir: dir, clock: new FakeClock(0), logger });
    const first = store.keySet().activeId;
    await store.propose({ ops: [{ type: 'put', object: secret('good', 'x') }] });
    await raw.propose({ ops: [{ type: 'put', object: { ...secret('bad', ''), data: { [ENCRYPTED_MARKER]: `v1:${first}:${Buffer.alloc(40).toString('base64')}` } } }] });
    const report = await encryption.rotate();
    assert.equal(report.failures.length, 1);
    assert.match(report.failures[0]!, /^Secret default\/bad cannot be decrypted: its ciphertext does not authenticate/);
    assert.deepEqual(report.keptKeyIds, [first]);
    assert.equal(keyIdOf(raw, 'good'), report.activeKeyId);
  }));

  test('rotations that keep old keys stop at the most keys a key file may hold; one without --keep-old-keys then prunes and goes on', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    const clock = new FakeClock(0);
    const { store, encryption } = await openEncryptedStore({ raw, dataDir: dir, clock, logger });
    await store.propose({ ops: [{ type: 'put', object: secret('a', 'x') }] });
    for (let i = 1; i < MAX_KEYS; i++) await encryption.rotate({ keepOldKeys: true });
    assert.equal(store.keySet().keys.length, MAX_KEYS);
    await assert.rejects(encryption.rotate({ keepOldKeys: true }),
      (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && /holds 100 keys, the most it may/.test(e.message));
    const report = await encryption.rotate();
    assert.deepEqual(store.keySet().ids(), [report.activeKeyId]);
    assert.equal(parseKeyFile(await readFile(keyFilePath(dir), 'utf8'), 'f').keys.length, 1, 'the file reloads');
    assert.equal(plain(store.get('Secret', 'default', 'a')), 'x');
  }));

  test('a second rotation while one runs is refused', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    const { encryption } = await openEncryptedStore({ raw, dataDir: dir, clock: new FakeClock(0), logger });
    const one = encryption.rotate();
    await assert.rejects(encryption.rotate(), (e) => isBrambleError(e, 'CONFLICT') && /already running/.test(e.message));
    await one;
  }));

  test('a data dir whose key file is gone is refused while its Secrets are encrypted', () => withDir(async (dir) => {
    const raw = createMemoryStore();
    const { store } = await openEncryptedStore({ raw, dataDir: dir, clock: new FakeClock(0), logger });
    await store.propose({ ops: [{ type: 'put', object: secret('a', 'x') }] });
    await rm(keyFilePath(dir));
    await assert.rejects(openEncryptedStore({ raw, dataDir: dir, clock: new FakeClock(0), logger }),
      (e) => isBrambleError(e, 'STORE_FAILED') && /does not exist, but the store holds Secrets encrypted with keys aesgcm-/.test(e.message));
  }));

  // Two members over one store, as replicas share their replicated state: each with its own data dir
  // and key file, the second's copied from the first as a join does.
  async function twoMembers(dir: string, clock: FakeClock, extraPeers: KeyPeers['others'] = () => []) {
    const raw = createMemoryStore();
    const aDir = path.join(dir, 'a');
    const bDir = path.join(dir, 'b');
    const received: string[] = [];
    let b: Awaited<ReturnType<typeof openEncryptedStore>> | undefined;
    const a = await openEncryptedStore({
      raw, dataDir: aDir, clock, logger,
      peers: {
        others: () => [{ name: 'b', address: 'b:7443' }, ...extraPeers()],
        send: async (address, text) => {
          if (address !== 'b:7443') throw new Error('connection refused');
          received.push(text);
          await b!.encryption.adoptKeyFile(text);
        },
      },
    });
    await mkdir(path.join(bDir, 'cred'), { recursive: true });
    await copyFile(keyFilePath(aDir), keyFilePath(bDir));
    b = await openEncryptedStore({ raw, dataDir: bDir, clock, logger });
    return { raw, a, b, aDir, bDir, received };
  }

  test('on a replicated control plane a rotation takes every member through it: the new key reaches all before any uses it, and the old one goes everywhere', () => withDir(async (dir) => {
    const clock = new FakeClock(Date.parse('2026-12-02T06:00:00Z'));
    const { raw, a, b, aDir, bDir, received } = await twoMembers(dir, clock);
    const first = a.store.keySet().activeId;
    for (let i = 0; i < 5; i++) await b.store.propose({ ops: [{ type: 'put', object: secret(`s${i}`, `v${i}`) }] });
    clock.advance(1000);
    const report = await a.encryption.rotate();
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.removedKeyIds, [first]);
    // What b was sent: both keys with the old one active, then the new one active, then the new one alone.
    const steps = received.map((t) => parseKeyFile(t, 'sent'));
    assert.deepEqual(steps.map((k) => [k.activeId, k.ids().length]), [[first, 2], [report.activeKeyId, 2], [report.activeKeyId, 1]]);
    for (const d of [aDir, bDir]) {
      const file = parseKeyFile(await readFile(keyFilePath(d), 'utf8'), d);
      assert.deepEqual([file.activeId, file.ids()], [report.activeKeyId, [report.activeKeyId]], `the key file in ${d}`);
    }
    for (let i = 0; i < 5; i++) {
      assert.equal(keyIdOf(raw, `s${i}`), report.activeKeyId);
      assert.equal(plain(b.store.get('Secret', 'default', `s${i}`)), `v${i}`, 'the other member reads every Secret');
    }
    // A write through b now seals under the new key too.
    await b.store.propose({ ops: [{ type: 'put', object: secret('after', 'x') }] });
    assert.equal(keyIdOf(raw, 'after'), report.activeKeyId);
  }));

  test('a member that cannot be reached stops a rotation before any member uses the new key', () => withDir(async (dir) => {
    const clock = new FakeClock(Date.parse('2026-12-02T06:00:00Z'));
    const { raw, a, aDir } = await twoMembers(dir, clock, () => [{ name: 'c', address: 'c:7443' }]);
    const first = a.store.keySet().activeId;
    await a.store.propose({ ops: [{ type: 'put', object: secret('s', 'v') }] });
    await assert.rejects(a.encryption.rotate(),
      (e) => isBrambleError(e, 'FAILED_PRECONDITION') && /these did not take the new key: member "c" \(c:7443\): connection refused/.test(e.message));
    assert.equal(a.store.keySet().activeId, first);
    assert.equal(parseKeyFile(await readFile(keyFilePath(aDir), 'utf8'), 'a').activeId, first);
    assert.equal(keyIdOf(raw, 's'), first);
  }));

  test('a member refuses a key file that lacks a key its Secrets use, and keeps its own', () => withDir(async (dir) => {
    const clock = new FakeClock(Date.parse('2026-12-02T06:00:00Z'));
    const { b, bDir } = await twoMembers(dir, clock);
    await b.store.propose({ ops: [{ type: 'put', object: secret('s', 'v') }] });
    const used = b.store.keySet().activeId;
    const other = generateKey(clock, [used]);
    await assert.rejects(b.encryption.adoptKeyFile(formatKeyFile(new EncryptionKeySet([other], other.id))),
      (e) => isBrambleError(e, 'FAILED_PRECONDITION') && e.message.includes(`lacks keys Secrets on this member still use (${used})`));
    assert.equal(parseKeyFile(await readFile(keyFilePath(bDir), 'utf8'), 'b').activeId, used);
    await assert.rejects(b.encryption.adoptKeyFile('{"version":1}'), (e) => isBrambleError(e, 'STORE_FAILED') && /keys must be a non-empty list/.test(e.message));
  }));

  test('any text sent as a key file is taken or refused with a Bramble error naming no key bytes, never anything else', () => withDir(async (dir) => {
    const clock = new FakeClock(Date.parse('2026-12-02T06:00:00Z'));
    const { b } = await twoMembers(dir, clock);
    await b.store.propose({ ops: [{ type: 'put', object: secret('s', 'v') }] });
    const own = formatKeyFile(b.store.keySet());
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.string(), fc.json(), fc.constantFrom(own).map((t) => t.slice(0, t.length - 7)), fc.constant(own.replace(/"version": 1/, '"version": 2'))),
      async (text) => {
        try {
          await b.encryption.adoptKeyFile(text);
        } catch (e) {
          assert.ok(e instanceof BrambleError, `a ${(e as Error).constructor.name}: ${(e as Error).message}`);
          assert.ok(!e.message.includes(b.store.keySet().active().bytes().toString('base64')), 'the message quotes a key');
        }
        assert.equal(plain(b.store.get('Secret', 'default', 's')), 'v', 'the Secret still reads');
      },
    ), { numRuns: 200 });
  }));

  test('a member whose own state lags behind acknowledged writes waits for it before it counts the keys in use', () => withDir(async (dir) => {
    // As a follower: its rewrites are acknowledged by the leader before it applies them itself.
    const inner = createMemoryStore();
    let secrets = inner.list('Secret');
    const lagging: Store = Object.assign(Object.create(inner) as Store, {
      list: (kind: string, namespace?: string) => (kind === 'Secret' ? secrets : inner.list(kind, namespace)),
      get: (kind: string, namespace: string | undefined, name: string) => (kind === 'Secret'
        ? secrets.items.find((o) => o.metadata.namespace === namespace && o.metadata.name === name)
        : inner.get(kind, namespace, name)),
    });
    const catchUp = async (): Promise<void> => { secrets = inner.list('Secret'); };
    const clock = new FakeClock(Date.parse('2026-12-02T06:00:00Z'));
    const { store, encryption } = await openEncryptedStore({ raw: lagging, dataDir: dir, clock, logger, barrier: catchUp });
    const first = store.keySet().activeId;
    for (let i = 0; i < 3; i++) await store.propose({ ops: [{ type: 'put', object: secret(`s${i}`, `v${i}`) }] });
    await catchUp();
    clock.advance(1000);
    const report = await encryption.rotate();
    assert.deepEqual([report.removedKeyIds, report.failures], [[first], []], 'the rewritten Secrets were seen before the old key was judged unused');
  }));
});
