import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import { createMemoryStore } from './store-memory.js';
import { DEFAULT_CONFLICT_ATTEMPTS, retryOnConflict } from './retry-on-conflict.js';
import type { Command, Store } from './store.js';

interface ConfigMap extends KObject {
  data?: Record<string, string>;
}

const KEY = { kind: 'ConfigMap', namespace: 'default', name: 'settings' };

async function seeded(): Promise<Store> {
  const store = createMemoryStore();
  const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { n: '0' } };
  await store.propose({ ops: [{ type: 'put', object: cm }] });
  return store;
}

function stored(store: Store): ConfigMap | undefined {
  return store.get(KEY.kind, KEY.namespace, KEY.name) as ConfigMap | undefined;
}

/**
 * The store with a concurrent writer that lands its own change between our read
 * and our propose on the first `wins` proposes, so each of those attempts conflicts.
 */
function withRival(store: Store, wins: number): { store: Store; commands: Command[] } {
  const commands: Command[] = [];
  let left = wins;
  const rival: Store = {
    ...store,
    async propose(command) {
      commands.push(command);
      if (left > 0) {
        left--;
        const cm = stored(store)!;
        await store.propose({ ops: [{ type: 'put', object: { ...cm, data: { ...cm.data, rival: String(wins - left) } } }] });
      }
      return store.propose(command);
    },
  };
  return { store: rival, commands };
}

const increment = (cm: ConfigMap): ConfigMap => ({ ...cm, data: { ...cm.data, n: String(Number(cm.data?.n) + 1) } });

test('a change is written with the read resourceVersion as its precondition and the stored result is returned', async () => {
  const base = await seeded();
  const version = stored(base)!.metadata.resourceVersion!;
  const { store, commands } = withRival(base, 0);
  const result = await retryOnConflict<ConfigMap>(store, KEY, increment);
  assert.equal(result?.data?.n, '1');
  assert.deepEqual(result, stored(base));
  assert.equal(commands.length, 1);
  assert.deepEqual(commands[0]!.ops[0]!.precondition, { resourceVersion: version });
});

test('a concurrent writer that wins the first attempts has its write kept and the change applied on top of it', async () => {
  const base = await seeded();
  const { store, commands } = withRival(base, 3);
  const seen: string[] = [];
  const result = await retryOnConflict<ConfigMap>(store, KEY, (cm) => {
    seen.push(cm.data?.rival ?? 'none');
    return increment(cm);
  });
  assert.deepEqual(seen, ['none', '1', '2', '3']);
  assert.equal(commands.length, 4);
  assert.deepEqual(result?.data, { n: '1', rival: '3' });
  assert.deepEqual(stored(base)?.data, { n: '1', rival: '3' });
});

test('a writer that wins every attempt makes it give up with a CONFLICT that counts the attempts', async () => {
  const base = await seeded();
  const { store, commands } = withRival(base, 100);
  await assert.rejects(retryOnConflict<ConfigMap>(store, KEY, increment), (e: unknown) => {
    assert.ok(isBrambleError(e, 'CONFLICT'));
    assert.match(e.message, new RegExp(`configmap "default/settings" was changed by another writer during each of ${DEFAULT_CONFLICT_ATTEMPTS} attempts`));
    return true;
  });
  assert.equal(commands.length, DEFAULT_CONFLICT_ATTEMPTS);
  assert.equal(stored(base)?.data?.n, '0');
});

test('the number of attempts can be bounded lower, down to a single try', async () => {
  const base = await seeded();
  const { store, commands } = withRival(base, 1);
  await assert.rejects(retryOnConflict<ConfigMap>(store, KEY, increment, { attempts: 1 }), /during each of 1 attempts/);
  assert.equal(commands.length, 1);
});

test('nothing is written when the change says there is nothing to do, and the current object is returned', async () => {
  const base = await seeded();
  const revision = base.revision();
  const { store, commands } = withRival(base, 0);
  assert.deepEqual(await retryOnConflict<ConfigMap>(store, KEY, () => undefined), stored(base));
  assert.equal(commands.length, 0);
  assert.equal(base.revision(), revision);
});

test('a delete is proposed with the read resourceVersion and retried on a conflict like a put', async () => {
  const base = await seeded();
  const { store, commands } = withRival(base, 1);
  assert.equal(await retryOnConflict<ConfigMap>(store, KEY, () => 'delete'), undefined);
  assert.equal(stored(base), undefined);
  assert.equal(commands.length, 2);
  assert.equal(commands[1]!.ops[0]!.type, 'delete');
});

test('a missing object is NOT_FOUND and the change is never asked', async () => {
  const store = createMemoryStore();
  let asked = false;
  await assert.rejects(retryOnConflict<ConfigMap>(store, KEY, (cm) => ((asked = true), cm)), (e: unknown) => {
    assert.ok(isBrambleError(e, 'NOT_FOUND'));
    assert.equal(e.message, 'configmap "settings" not found');
    return true;
  });
  assert.equal(asked, false);
});

test('an error thrown by the change is passed on at once, without another attempt', async () => {
  const base = await seeded();
  let calls = 0;
  await assert.rejects(retryOnConflict<ConfigMap>(base, KEY, () => {
    calls++;
    throw new BrambleError('FORBIDDEN', 'not yours');
  }), /not yours/);
  assert.equal(calls, 1);
});

test('an object deleted between the read and the write is NOT_FOUND, not retried', async () => {
  const base = await seeded();
  let calls = 0;
  const store: Store = {
    ...base,
    async propose(command) {
      calls++;
      await base.propose({ ops: [{ type: 'delete', ...KEY }] });
      return base.propose(command);
    },
  };
  await assert.rejects(retryOnConflict<ConfigMap>(store, KEY, increment), (e: unknown) => isBrambleError(e, 'NOT_FOUND'));
  assert.equal(calls, 1);
});

test('the change is handed the frozen stored object, so changing it in place fails loudly', async () => {
  const base = await seeded();
  await assert.rejects(retryOnConflict<ConfigMap>(base, KEY, (cm) => {
    cm.data!.n = '9';
    return cm;
  }), TypeError);
  assert.equal(stored(base)?.data?.n, '0');
});

test('a number of attempts that is not a positive integer is refused', async () => {
  const base = await seeded();
  for (const attempts of [0, -1, 1.5]) {
    await assert.rejects(retryOnConflict<ConfigMap>(base, KEY, increment, { attempts }), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT'));
  }
});
