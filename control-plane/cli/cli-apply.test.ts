import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isBrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import { encodeForApply, readSources, type SourcedDocument } from './cli-apply.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-cli-apply-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function namespaces(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${from + i}}\n`).join('---\n');
}

const noStdin = (): Readable => Readable.from([]);

describe('readSources', () => {
  test(`${LIMITS.maxObjectsPerApply} objects are read and one more is LIMIT_EXCEEDED naming the files`, async (t) => {
    const dir = await tempDir(t);
    const a = path.join(dir, 'a.yaml');
    const b = path.join(dir, 'b.yaml');
    await writeFile(a, namespaces(0, LIMITS.maxObjectsPerApply - 1));
    await writeFile(b, namespaces(LIMITS.maxObjectsPerApply, 1));
    assert.equal((await readSources([a, b], noStdin())).length, LIMITS.maxObjectsPerApply);
    await writeFile(b, namespaces(LIMITS.maxObjectsPerApply, 2));
    await assert.rejects(readSources([a, b], noStdin()), (e) => {
      assert.ok(isBrambleError(e, 'LIMIT_EXCEEDED'), String(e));
      assert.equal(e.message, `${a}, ${b}: one apply must have no more than ${LIMITS.maxObjectsPerApply} objects: current count is ${LIMITS.maxObjectsPerApply + 1}`);
      return true;
    });
  });

  test('the count stops at the first file too many, without reading the rest', async (t) => {
    const dir = await tempDir(t);
    const full = path.join(dir, 'full.yaml');
    await writeFile(full, `apiVersion: v1\nkind: List\nitems:\n${Array.from({ length: LIMITS.maxObjectsPerApply + 1 }, (_, i) => `- {apiVersion: v1, kind: Namespace, metadata: {name: n${i}}}`).join('\n')}\n`);
    const missing = path.join(dir, 'missing.yaml');
    await assert.rejects(readSources([full, missing], noStdin()), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && e.message.endsWith(`current count is ${LIMITS.maxObjectsPerApply + 1} or more`));
  });
});

describe('encodeForApply', () => {
  const doc = (object: unknown, index = 0): SourcedDocument => ({ source: 'cm.yaml', index, object });

  test('gives the JSON of each object', () => {
    const objects = [{ kind: 'Namespace', metadata: { name: 'a' } }, { kind: 'Pod' }];
    assert.deepEqual(encodeForApply(objects.map((o, i) => doc(o, i))).map((j) => JSON.parse(j)), objects);
  });

  test(`an object over ${LIMITS.maxObjectBytes} bytes of JSON is LIMIT_EXCEEDED naming its document`, () => {
    const object = { kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(LIMITS.maxStringLength), b: 'y'.repeat(LIMITS.maxStringLength) } };
    const bytes = Buffer.byteLength(JSON.stringify(object));
    assert.throws(() => encodeForApply([doc(object)]), (e) => {
      assert.ok(isBrambleError(e, 'LIMIT_EXCEEDED'));
      assert.equal(e.message, `cm.yaml document 1 (configmap/big): an object must be no more than 1 MiB as JSON: current size is ${bytes} bytes`);
      return true;
    });
  });

  test(`objects over ${LIMITS.maxRequestBytes} bytes of JSON together are LIMIT_EXCEEDED before anything is sent`, () => {
    const one = { kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x'.repeat(LIMITS.maxStringLength) } };
    const count = Math.floor(LIMITS.maxRequestBytes / LIMITS.maxStringLength) + 1;
    const docs = Array.from({ length: count }, (_, i) => doc(one, i));
    assert.throws(() => encodeForApply(docs), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && /^one apply must be no more than 4 MiB of objects as JSON: current size is \d+ bytes in \d+ objects/.test(e.message));
  });
});
