import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { kindInfo } from '../../proto/model.js';
import { formatToken, parseToken } from '../../proto/token.js';
import { createMemoryStore } from '../store/store-memory.js';
import { BOOTSTRAP_TOKEN_KIND, createTokenRegistry } from './token-registry.js';

const CA_HASH = 'cd'.repeat(32);

function setup() {
  const store = createMemoryStore();
  const clock = new FakeClock();
  const registry = createTokenRegistry({ store, caHash: CA_HASH, clock });
  return { store, clock, registry };
}

function invalidToken(pattern: RegExp) {
  return (e: unknown) => isBrambleError(e, 'TOKEN_INVALID') && pattern.test(e.message);
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-tok-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('token registry', () => {
  test('a created token carries this cluster CA hash and verifies', async () => {
    const { registry } = setup();
    const made = await registry.create({ description: 'for pi-4' });
    const parts = parseToken(made.token);
    assert.equal(parts.caHash, CA_HASH);
    assert.equal(parts.id, made.id);
    assert.equal(registry.verify(made.token).description, 'for pi-4');
  });

  test('the store keeps only a hash of the secret, as an internal cluster-scoped kind', async () => {
    const { registry, store } = setup();
    const made = await registry.create({});
    const obj = store.get(BOOTSTRAP_TOKEN_KIND, undefined, made.id);
    assert.ok(obj);
    assert.equal(obj.metadata.namespace, undefined);
    assert.ok(!JSON.stringify(obj).includes(parseToken(made.token).secret));
    assert.equal(kindInfo(BOOTSTRAP_TOKEN_KIND), undefined, 'users must not be able to apply tokens');
  });

  test('list shows ids, descriptions and expiry but no secrets', async () => {
    const { registry, clock } = setup();
    const a = await registry.create({ description: 'a', ttlSeconds: 3600 });
    const b = await registry.create({ description: 'b' });
    const listed = registry.list();
    assert.deepEqual(listed.map((x) => x.id).sort(), [a.id, b.id].sort());
    assert.equal(listed.find((x) => x.id === a.id)?.expires, new Date(clock.now() + 3600_000).toISOString());
    assert.equal(listed.find((x) => x.id === b.id)?.expires, undefined);
    for (const x of listed) assert.ok(!('token' in x));
    assert.ok(!JSON.stringify(listed).includes(parseToken(a.token).secret));
  });

  test('a token with the wrong secret is refused', async () => {
    const { registry } = setup();
    const made = await registry.create({});
    const wrong = formatToken({ ...parseToken(made.token), secret: 'aaaaaaaaaaaaaaaa' });
    assert.throws(() => registry.verify(wrong), invalidToken(/wrong secret/));
  });

  test('a token stops working once it expires', async () => {
    const { registry, clock } = setup();
    const made = await registry.create({ ttlSeconds: 60 });
    await clock.advance(59_000);
    assert.equal(registry.verify(made.token).id, made.id);
    await clock.advance(1_000);
    assert.throws(() => registry.verify(made.token), invalidToken(/expired at/));
  });

  test('a deleted token is refused and deleting it again is NOT_FOUND', async () => {
    const { registry } = setup();
    const made = await registry.create({});
    await registry.delete(made.id);
    assert.throws(() => registry.verify(made.token), invalidToken(/not known/));
    assert.deepEqual(registry.list(), []);
    await assert.rejects(registry.delete(made.id), (e: unknown) => isBrambleError(e, 'NOT_FOUND'));
  });

  test('an unknown id, a malformed token and another cluster hash are refused', async () => {
    const { registry } = setup();
    const made = await registry.create({});
    const parts = parseToken(made.token);
    assert.throws(() => registry.verify(formatToken({ ...parts, id: 'zzzzzz' })), invalidToken(/"zzzzzz" is not known/));
    assert.throws(() => registry.verify('B10nonsense'), invalidToken(/join token/));
    assert.throws(() => registry.verify(formatToken({ ...parts, caHash: 'ab'.repeat(32) })), invalidToken(/another cluster/));
  });

  test('a negative ttl is refused with its value', async () => {
    const { registry } = setup();
    await assert.rejects(registry.create({ ttlSeconds: -1 }), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && /current value is -1/.test(e.message));
  });
});

describe('default token', () => {
  test('the first start writes a private token file with a token that never expires', async (t) => {
    const dir = await tempDir(t);
    const { registry, clock } = setup();
    const result = await registry.ensureDefaultToken(dir);
    assert.equal(result.created, true);
    const file = path.join(dir, 'token');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.equal((await fs.readFile(file, 'utf8')).trim(), result.token);
    await clock.advance(10 * 365 * 24 * 3600 * 1000);
    assert.equal(registry.verify(result.token).expires, undefined);
  });

  test('a later start reuses the token file, re-registering it in a fresh store', async (t) => {
    const dir = await tempDir(t);
    const first = await setup().registry.ensureDefaultToken(dir);
    const { registry, store } = setup();
    const second = await registry.ensureDefaultToken(dir);
    assert.deepEqual(second, { token: first.token, created: false });
    assert.equal(registry.verify(second.token).id, parseToken(first.token).id);
    const revision = store.revision();
    await registry.ensureDefaultToken(dir);
    assert.equal(store.revision(), revision, 'an already registered default token is not written again');
  });

  test('a token file for another CA is replaced', async (t) => {
    const dir = await tempDir(t);
    const other = createTokenRegistry({ store: createMemoryStore(), caHash: 'ef'.repeat(32), clock: new FakeClock() });
    const old = await other.ensureDefaultToken(dir);
    const { registry } = setup();
    const fresh = await registry.ensureDefaultToken(dir);
    assert.equal(fresh.created, true);
    assert.notEqual(fresh.token, old.token);
    assert.equal(parseToken(fresh.token).caHash, CA_HASH);
  });
});
