import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isBrambleError } from '../proto/errors.js';
import { parseManifestText, readManifests } from './manifest.js';
import { validateObjects } from './schema.js';

function parseError(text: string, source = 'app.yaml'): Error {
  try {
    parseManifestText(text, source);
  } catch (e) {
    assert.ok(isBrambleError(e, 'MANIFEST_PARSE_FAILED'), `expected MANIFEST_PARSE_FAILED, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a parse failure');
}

describe('parseManifestText', () => {
  test('reads every document of a multi-document YAML file and skips empty ones', () => {
    const text = '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n# just a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n';
    const docs = parseManifestText(text, 'ns.yaml');
    assert.deepEqual(docs, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } },
    ]);
  });

  test('an empty or comment-only text has no documents', () => {
    assert.deepEqual(parseManifestText('', 'empty.yaml'), []);
    assert.deepEqual(parseManifestText('# nothing\n', 'empty.yaml'), []);
  });

  test('reads JSON, a single object or an array of objects', () => {
    assert.deepEqual(parseManifestText('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}', 'a.json'), [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
    ]);
    assert.deepEqual(parseManifestText('[{"kind":"A"},{"kind":"B"}]', 'list.json').length, 2);
  });

  test('flattens a kind: List into its items, in YAML and in JSON', () => {
    const yaml = 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n';
    assert.deepEqual((parseManifestText(yaml, 'l.yaml') as { metadata: { name: string } }[]).map((d) => d.metadata.name), ['a', 'b']);
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'Pod' }, { kind: 'List', items: [{ kind: 'Service' }] }] });
    assert.deepEqual(parseManifestText(json, 'l.json'), [{ kind: 'Pod' }, { kind: 'Service' }]);
  });

  test('a YAML syntax error names the source and the line', () => {
    const err = parseError('apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n labels: {}\n', 'pod.yaml');
    assert.match(err.message, /^pod\.yaml:5:\d+: YAML syntax error: /);
  });

  test('a syntax error in a later document names that document\'s line', () => {
    const err = parseError('kind: A\n---\nkind: B\nmetadata:\n  name: b\n labels: {}\n', 'two.yaml');
    assert.match(err.message, /^two\.yaml:6:\d+: /);
  });

  test('a duplicate key is a syntax error', () => {
    assert.match(parseError('kind: Pod\nkind: Service\n').message, /^app\.yaml:2:1: .*unique/);
  });

  test('a document that is not a mapping is rejected with its place', () => {
    const err = parseError('kind: Pod\n---\njust some text\n', 'mixed.yaml');
    assert.equal(err.message, 'mixed.yaml:3 (document 1): a document must be a mapping with apiVersion and kind, not a string');
  });

  test('values that look like booleans in YAML 1.1 stay strings', () => {
    assert.deepEqual(parseManifestText('a: yes\nb: on\nc: true\n', 'x.yaml'), [{ a: 'yes', b: 'on', c: true }]);
  });

  test('a multi-document manifest with one bad document reports that document index', () => {
    const text = [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replcas: 2\n  template:\n    spec:\n      containers: [{name: web, image: nginx}]',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}',
    ].join('\n---\n');
    try {
      validateObjects(parseManifestText(text, 'app.yaml'));
      assert.fail('expected a rejection');
    } catch (e) {
      assert.ok(isBrambleError(e, 'VALIDATION_FAILED'));
      assert.deepEqual(e.details, [{ path: 'spec.replcas', message: 'unknown field "replcas"', document: 1 }]);
    }
  });
});

describe('readManifests', () => {
  async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-manifest-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  test('reads a single file', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'ns.yaml');
    await writeFile(file, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    assert.deepEqual(await readManifests(file), [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }]);
  });

  test('reads *.yaml, *.yml and *.json of a directory in name order, not recursing', async (t) => {
    const dir = await tempDir(t);
    await writeFile(path.join(dir, 'b.yml'), 'n: b\n');
    await writeFile(path.join(dir, 'a.yaml'), 'n: a1\n---\nn: a2\n');
    await writeFile(path.join(dir, 'c.json'), '{"n": "c"}');
    await writeFile(path.join(dir, 'README.md'), '# not a manifest\n');
    await writeFile(path.join(dir, 'notes.txt'), 'n: txt\n');
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'sub', 'd.yaml'), 'n: nested\n');
    assert.deepEqual(await readManifests(dir), [{ n: 'a1' }, { n: 'a2' }, { n: 'b' }, { n: 'c' }]);
  });

  test('a syntax error in a directory names the file', async (t) => {
    const dir = await tempDir(t);
    await writeFile(path.join(dir, 'ok.yaml'), 'n: ok\n');
    await writeFile(path.join(dir, 'broken.yaml'), 'n: [1, 2\n');
    await assert.rejects(readManifests(dir), (e) => isBrambleError(e, 'MANIFEST_PARSE_FAILED') && e.message.startsWith(`${path.join(dir, 'broken.yaml')}:`));
  });

  test('reads stdin for "-"', async () => {
    const stdin = Readable.from([Buffer.from('kind: Namespace\n---\n'), Buffer.from('kind: Pod\n')]);
    assert.deepEqual(await readManifests('-', stdin), [{ kind: 'Namespace' }, { kind: 'Pod' }]);
  });

  test('a syntax error on stdin names stdin', async () => {
    await assert.rejects(readManifests('-', Readable.from(['a: [\n'])), (e) => isBrambleError(e, 'MANIFEST_PARSE_FAILED') && /^stdin:\d+/.test(e.message));
  });

  test('a missing path is INVALID_ARGUMENT naming the path', async (t) => {
    const missing = path.join(await tempDir(t), 'nope.yaml');
    await assert.rejects(readManifests(missing), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && e.message.includes(`"${missing}"`) && e.message.includes('does not exist'));
  });
});
