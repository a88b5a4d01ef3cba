import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { writeBatch } from './level-batch.js';
import type { Db, DbOp } from './store-level.js';

async function withDbs(fn: (a: Db, b: Db) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bramble-level-batch-'));
  const a: Db = new Level<string, unknown>(join(dir, 'a'), { valueEncoding: 'json' });
  const b: Db = new Level<string, unknown>(join(dir, 'b'), { valueEncoding: 'json' });
  await a.open();
  await b.open();
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every row as stored: the bytes, not what an encoding makes of them. */
async function rawRows(db: Db): Promise<Array<[string, string]>> {
  const rows: Array<[string, string]> = [];
  for await (const [k, v] of db.iterator({ valueEncoding: 'utf8' })) rows.push([k, v as string]);
  return rows;
}

/** Records whether each implementation call got abstract-level's prepared operations (which name their encodings). */
function spyRaw(db: Db): { publicPath: boolean[] } {
  const calls = { publicPath: [] as boolean[] };
  const inner = db as unknown as { _batch: (ops: Array<Record<string, unknown>>, o: unknown) => Promise<void> };
  const original = inner._batch.bind(db);
  inner._batch = (ops, o) => {
    calls.publicPath.push(ops.some((op) => 'keyEncoding' in op));
    return original(ops, o);
  };
  return calls;
}

const OPS: DbOp[] = [
  { type: 'put', key: 'o:ConfigMap/default/a', value: { kind: 'ConfigMap', metadata: { name: 'a', labels: { 'x/é': 'ü' } }, data: { v: 'line\nbreak "quoted"' } } },
  { type: 'put', key: 'm:revision', value: 42 },
  { type: 'put', key: 'r:e:00000000000000000007', value: '3\n{"ops":[]}', valueEncoding: 'utf8' } as DbOp,
  { type: 'put', key: 'e:list', value: [{ type: 'ADDED', revision: 42 }] },
  { type: 'put', key: 'gone', value: true },
  { type: 'del', key: 'gone' },
];

test('writeBatch stores the same rows as db.batch, without its per-operation path', () => withDbs(async (a, b) => {
  const spy = spyRaw(a);
  await writeBatch(a, OPS, true);
  await b.batch(OPS, { sync: true });
  assert.deepEqual(spy.publicPath, [false], 'one call, straight to the implementation');
  assert.deepEqual(await rawRows(a), await rawRows(b));
  assert.deepEqual(await a.get('o:ConfigMap/default/a'), OPS[0]!.type === 'put' ? OPS[0]!.value : undefined);
  assert.equal(await a.get('m:revision'), 42);
  assert.equal(await a.get('gone'), undefined);
}));

test('writeBatch takes the public path for a wrapped batch, write listeners and values it cannot encode', () => withDbs(async (a) => {
  const spy = spyRaw(a);
  // The disk-fault tests replace batch on the instance: their failures must still happen.
  const wrapped = a as unknown as { batch: (...args: unknown[]) => unknown };
  const batch = a.batch.bind(a) as (...args: unknown[]) => unknown;
  wrapped.batch = () => Promise.reject(Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' }));
  await assert.rejects(writeBatch(a, OPS, true), /No space left on device/);
  assert.deepEqual(spy.publicPath, []);
  wrapped.batch = batch;
  delete (a as unknown as { batch?: unknown }).batch;

  const written: unknown[] = [];
  const onWrite = (ops: unknown[]): void => {
    written.push(...ops);
  };
  a.on('write', onWrite);
  await writeBatch(a, [{ type: 'put', key: 'k', value: 1 }], false);
  a.off('write', onWrite);
  assert.equal(written.length, 1, 'the write event still fires');
  assert.deepEqual(spy.publicPath, [true]);

  // undefined is no JSON value: the same refusal as db.batch gives, nothing written.
  await assert.rejects(writeBatch(a, [{ type: 'put', key: 'ok', value: 1 }, { type: 'put', key: 'bad', value: undefined }], false), (e: Error & { code?: string }) => e.code === 'LEVEL_INVALID_VALUE');
  assert.equal(await a.get('ok'), undefined);

  await writeBatch(a, [], true);
  assert.deepEqual(spy.publicPath, [true], 'an empty batch writes nothing');
}));

test('writeBatch on a closed database fails as db.batch does', () => withDbs(async (a) => {
  await a.close();
  await assert.rejects(writeBatch(a, [{ type: 'put', key: 'k', value: 1 }], true), (e: Error & { code?: string }) => e.code === 'LEVEL_DATABASE_NOT_OPEN');
  await a.open();
}));
