import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isBrambleError, type BrambleError, type ErrorCode } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import { firstInvalidUtf8, MAX_MANIFEST_TOKENS, parseManifestText, readManifests } from './manifest.js';
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

  test('a duplicate key is a syntax error naming its line and the first one', () => {
    assert.equal(
      parseError('kind: Pod\nkind: Service\n').message,
      'app.yaml:2:1: duplicate key "kind": keys must be unique within a mapping (first at line 1)',
    );
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
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replcas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: nginx}]',
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

/** The error `text` is refused with, checked to be a BrambleError of `code`. */
function refusal(text: string, code: ErrorCode, source = 'app.yaml'): BrambleError {
  try {
    parseManifestText(text, source);
  } catch (e) {
    assert.ok(isBrambleError(e), `expected a BrambleError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code} for ${JSON.stringify(text.slice(0, 80))}`);
}

/** `{a: {a: ... {}}}` with `levels` mappings: the document root is level 1. */
function nested(levels: number): string {
  return '{"a": '.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
}

/** The billion laughs: ten levels of nine aliases each, a few hundred bytes of text. */
function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n') + '\n';
}

describe('parseManifestText on hostile input', () => {
  test('a billion-laughs alias bomb is LIMIT_EXCEEDED naming the alias line, not a RangeError or a hang', (t) => {
    const started = performance.now();
    const err = refusal(aliasBomb(), 'LIMIT_EXCEEDED');
    t.diagnostic(`alias bomb refused in ${Math.round(performance.now() - started)} ms`);
    assert.match(err.message, /^app\.yaml:\d+:\d+: with its aliases expanded, the manifest would be more than 4 MiB/);
  });

  test('an alias is expanded as a copy: changing one place leaves the other alone', () => {
    const [doc] = parseManifestText('a: &x {b: [1]}\nc: *x\n', 'a.yaml') as [{ a: { b: number[] }; c: { b: number[] } }];
    assert.deepEqual(doc.c, { b: [1] });
    doc.a.b.push(2);
    assert.deepEqual(doc.c, { b: [1] });
  });

  test('an alias to no anchor defined before it is a parse error naming the line', () => {
    assert.equal(refusal('a: 1\nb: *nope\n', 'MANIFEST_PARSE_FAILED').message, 'app.yaml:2:4: alias *nope does not refer to an anchor defined before it');
  });

  test('an alias inside the node it refers to is a parse error, not endless recursion', () => {
    assert.match(refusal('a: &x [1, *x]\n', 'MANIFEST_PARSE_FAILED').message, /^app\.yaml:1:\d+: alias \*x is inside the node it refers to$/);
  });

  test('anchors belong to their document', () => {
    assert.match(refusal('a: &x 1\n---\nb: *x\n', 'MANIFEST_PARSE_FAILED').message, /^app\.yaml:3:4: alias \*x does not refer/);
  });

  for (const [what, text] of [
    ['100000 "["', '['.repeat(100_000)],
    ['100000 balanced "[]"', '['.repeat(100_000) + ']'.repeat(100_000)],
    ['100000 flow mappings', '{a: '.repeat(100_000)],
    ['100000 block sequence items on one line', '- '.repeat(100_000) + 'x\n'],
    ['2000 indented block mappings', Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}a:\n`).join('')],
  ] as const) {
    test(`nesting of ${what} is LIMIT_EXCEEDED quickly, without overflowing the stack`, (t) => {
      const started = performance.now();
      const err = refusal(text, 'LIMIT_EXCEEDED');
      t.diagnostic(`${text.length} characters refused in ${Math.round(performance.now() - started)} ms`);
      assert.match(err.message, new RegExp(`^app\\.yaml:\\d+:\\d+: nesting must be no more than ${LIMITS.maxDepth} levels`));
    });
  }

  test(`an object nested ${LIMITS.maxDepth} levels deep is accepted and one level more is refused with its depth and line`, () => {
    assert.equal(parseManifestText(nested(LIMITS.maxDepth), 'a.json').length, 1);
    const err = refusal(`\n${nested(LIMITS.maxDepth + 1)}`, 'LIMIT_EXCEEDED', 'a.json');
    assert.match(err.message, new RegExp(`^a\\.json:2:\\d+: nesting must be no more than ${LIMITS.maxDepth} levels of objects and lists: current depth is ${LIMITS.maxDepth + 1}$`));
  });

  test('the kind: List wrapper does not count toward the depth of its items', () => {
    const item = nested(LIMITS.maxDepth);
    assert.equal(parseManifestText(`{"kind": "List", "items": [${item}]}`, 'l.json').length, 1);
    assert.equal(parseManifestText(`[${item}]`, 'l.json').length, 1);
  });

  test('aliases cannot build nesting beyond the limit', () => {
    const half = Math.ceil(LIMITS.maxDepth / 2) + 2;
    const text = `a: &x ${nested(half)}\nb: ${'['.repeat(half)}*x${']'.repeat(half)}\n`;
    assert.match(refusal(text, 'LIMIT_EXCEEDED').message, /nesting must be no more than/);
  });

  test(`a text over ${LIMITS.maxManifestBytes} bytes is LIMIT_EXCEEDED before it is parsed`, () => {
    const text = `a: "${'x'.repeat(LIMITS.maxManifestBytes)}"`;
    assert.equal(
      refusal(text, 'LIMIT_EXCEEDED').message,
      `app.yaml: a manifest must be no more than 4 MiB: current size is ${Buffer.byteLength(text)} bytes`,
    );
  });

  test(`more than ${MAX_MANIFEST_TOKENS} YAML tokens are LIMIT_EXCEEDED, as 4 MiB of tiny tokens would take seconds`, (t) => {
    const text = 'a: b\n'.repeat(MAX_MANIFEST_TOKENS / 2);
    const started = performance.now();
    const err = refusal(text, 'LIMIT_EXCEEDED');
    t.diagnostic(`${text.length} bytes refused in ${Math.round(performance.now() - started)} ms`);
    assert.match(err.message, new RegExp(`^app\\.yaml:\\d+:\\d+: a manifest must have no more than ${MAX_MANIFEST_TOKENS} YAML tokens`));
  });

  test(`more than ${LIMITS.maxObjectsPerApply} documents are LIMIT_EXCEEDED`, () => {
    const doc = 'kind: Namespace\n';
    assert.equal(parseManifestText(Array(LIMITS.maxObjectsPerApply).fill(doc).join('---\n'), 'n.yaml').length, LIMITS.maxObjectsPerApply);
    assert.match(
      refusal('---\n'.repeat(LIMITS.maxObjectsPerApply + 1), 'LIMIT_EXCEEDED').message,
      new RegExp(`^app\\.yaml:${LIMITS.maxObjectsPerApply + 1}:1: a manifest must have no more than ${LIMITS.maxObjectsPerApply} documents`),
    );
  });

  test(`a string of ${LIMITS.maxStringLength} characters is accepted and a longer one, value or key, is LIMIT_EXCEEDED`, () => {
    const ok = 'x'.repeat(LIMITS.maxStringLength);
    assert.deepEqual(parseManifestText(`a: ${ok}\n`, 'a.yaml'), [{ a: ok }]);
    const long = `${ok}y`;
    assert.equal(
      refusal(`kind: ConfigMap\ndata:\n  f: "${long}"\n`, 'LIMIT_EXCEEDED').message,
      `app.yaml:3:6: a string must be no more than ${LIMITS.maxStringLength} characters: current length is ${long.length}`,
    );
    // An explicit key: YAML allows implicit keys of 1024 characters only.
    assert.match(refusal(`? ${long}\n: 1\n`, 'LIMIT_EXCEEDED').message, /^app\.yaml:1:3: a key must be no more than/);
  });

  test('aliases cannot expand the manifest beyond what one request may carry', () => {
    const big = 'x'.repeat(LIMITS.maxStringLength - 10);
    const text = `a: &x "${big}"\nb: [${Array(20).fill('*x').join(', ')}]\n`;
    assert.match(refusal(text, 'LIMIT_EXCEEDED').message, /^app\.yaml:2:\d+: with its aliases expanded, the manifest would be more than 4 MiB/);
  });
});

describe('parseManifestText on unusual but valid text', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } };

  test('a UTF-8 byte order mark is accepted', () => {
    assert.deepEqual(parseManifestText('\uFEFFapiVersion: v1\nkind: Pod\nmetadata: {name: a}\n', 'bom.yaml'), [pod]);
  });

  test('CRLF line endings give the same objects as LF, block scalars included', () => {
    const lf = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n    note: |\n      two\n      lines\n';
    assert.deepEqual(parseManifestText(lf.replace(/\n/g, '\r\n'), 'crlf.yaml'), parseManifestText(lf, 'lf.yaml'));
  });

  test('flow style is accepted', () => {
    assert.deepEqual(parseManifestText('{apiVersion: v1, kind: Pod, metadata: {name: a}}', 'flow.yaml'), [pod]);
  });

  test('a duplicate key is refused in nested mappings, in JSON and when only the quoting differs', () => {
    assert.match(refusal('metadata:\n  name: a\n  labels: {}\n  name: b\n', 'MANIFEST_PARSE_FAILED').message, /^app\.yaml:4:3: duplicate key "name".*\(first at line 2\)$/);
    assert.match(refusal('{"a": 1,\n "a": 2}', 'MANIFEST_PARSE_FAILED', 'a.json').message, /^a\.json:2:2: duplicate key "a"/);
    assert.match(refusal('a: 1\n"a": 2\n', 'MANIFEST_PARSE_FAILED').message, /^app\.yaml:2:1: duplicate key "a"/);
  });

  test('core tags are accepted and keep their meaning', () => {
    assert.deepEqual(parseManifestText('port: !!str 8080\nn: !!int "3"\nm: !!map {}\ns: !!seq []\n', 't.yaml'), [{ port: '8080', n: 3, m: {}, s: [] }]);
  });

  for (const [what, text, tag] of [
    ['!!binary', 'data: !!binary aGVsbG8=\n', '!!binary'],
    ['a custom tag on a scalar', 'a: !foo bar\n', '!foo'],
    ['a custom tag on a mapping', 'a: !foo {b: 1}\n', '!foo'],
    ['!!set', 'a: !!set {x, y}\n', '!!set'],
    ['!!timestamp', 'a: !!timestamp 2001-12-14\n', '!!timestamp'],
    ['a %TAG shorthand', '%TAG !e! tag:example.com,2000:\n---\na: !e!foo 1\n', 'tag:example.com,2000:foo'],
  ] as const) {
    test(`${what} is refused naming the tag and the line`, () => {
      const err = refusal(text, 'MANIFEST_PARSE_FAILED');
      assert.match(err.message, /^app\.yaml:\d+:\d+: /);
      assert.ok(err.message.includes(tag), err.message);
    });
  }

  test('merge keys are refused, and a quoted "<<" stays an ordinary key', () => {
    assert.equal(
      refusal('base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n', 'MANIFEST_PARSE_FAILED').message,
      'app.yaml:3:3: merge keys (<<) are not supported: write the fields out, or quote "<<" to use it as a key',
    );
    assert.deepEqual(parseManifestText('"<<": 1\n', 'a.yaml'), [{ '<<': 1 }]);
  });

  test('a %YAML 1.1 directive does not turn yes into true or a date into a Date', () => {
    assert.deepEqual(parseManifestText('%YAML 1.1\n---\na: yes\nb: 2001-12-14\nc: 1:20\n', 'a.yaml'), [{ a: 'yes', b: '2001-12-14', c: '1:20' }]);
  });

  for (const [what, text, current] of [
    ['a number', 'kind: Pod\n1: x\n', 'current key is 1 (a number)'],
    ['a boolean', 'kind: Pod\ntrue: x\n', 'current key is true (a boolean)'],
    ['null', 'kind: Pod\nnull: x\n', 'current key is null (null)'],
    ['a list', 'kind: Pod\n? [a]\n: b\n', 'current key is a list'],
    ['a mapping', 'kind: Pod\n? {a: 1}\n: b\n', 'current key is a mapping'],
    ['an alias', 'kind: &k Pod\n*k : b\n', 'current key is the alias *k'],
    ['empty', 'kind: Pod\n: b\n', 'current key is empty'],
  ] as const) {
    test(`a key that is ${what} is refused naming its line`, () => {
      const err = refusal(text, 'MANIFEST_PARSE_FAILED');
      assert.match(err.message, /^app\.yaml:2:\d+: a key must be a string: /);
      assert.ok(err.message.includes(current), err.message);
    });
  }

  test('__proto__ stays an ordinary field and never changes a prototype', () => {
    for (const text of ['__proto__: {polluted: true}\nkind: Pod\n', '{"__proto__": {"polluted": true}, "kind": "Pod"}']) {
      const [doc] = parseManifestText(text, 'p.yaml') as [Record<string, unknown>];
      assert.equal(Object.getPrototypeOf(doc), Object.prototype);
      assert.ok(Object.hasOwn(doc, '__proto__'));
      assert.equal((doc as { polluted?: unknown }).polluted, undefined);
      assert.equal(({} as { polluted?: unknown }).polluted, undefined);
      assert.match(JSON.stringify(doc), /"__proto__":\{"polluted":true\}/);
    }
    const err = (() => {
      try {
        validateObjects(parseManifestText('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n__proto__: {x: 1}\n', 'p.yaml'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(isBrambleError(err, 'VALIDATION_FAILED'));
    assert.deepEqual(err.details.map((d) => [d.path, d.message]), [['__proto__', 'unknown field "__proto__"']]);
  });

  test('a lone surrogate made with a YAML escape is passed on, for the server to refuse naming its field path', () => {
    assert.deepEqual(parseManifestText('a: "x\\ud800"\n"\\udfff": 1\n', 'a.yaml'), [{ a: 'x\ud800', '\udfff': 1 }]);
    assert.deepEqual(parseManifestText('a: "\\ud83d\\ude42"\n', 'a.yaml'), [{ a: '\u{1F642}' }]);
  });

  test('.nan and .inf are refused, as JSON would quietly turn them into null', () => {
    assert.equal(refusal('replicas: .nan\n', 'MANIFEST_PARSE_FAILED').message, 'app.yaml:1:11: a number must be finite: current value is NaN');
    assert.match(refusal('a: [-.inf]\n', 'MANIFEST_PARSE_FAILED').message, /must be finite: current value is -Infinity$/);
  });
});

describe('readManifests on hostile input', () => {
  async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-manifest-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  test(`a file over ${LIMITS.maxManifestBytes} bytes is refused from its size, before it is read`, async (t) => {
    const file = path.join(await tempDir(t), 'big.yaml');
    // A sparse file: its size is known without writing 4 MiB.
    await writeFile(file, '');
    await truncate(file, LIMITS.maxManifestBytes + 1);
    await assert.rejects(readManifests(file), (e) => {
      assert.ok(isBrambleError(e, 'LIMIT_EXCEEDED'), String(e));
      assert.equal(e.message, `${file}: a manifest must be no more than 4 MiB: current size is ${LIMITS.maxManifestBytes + 1} bytes`);
      return true;
    });
  });

  test('endless stdin is refused after the limit, without reading it all', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        for (;;) {
          pulled += chunk.length;
          yield chunk;
        }
      })(),
    );
    await assert.rejects(readManifests('-', endless), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && e.message === 'stdin: a manifest must be no more than 4 MiB: current size is more than 4 MiB');
    // Readable.from reads a little ahead; it must stop within a few chunks of the limit.
    assert.ok(pulled <= LIMITS.maxManifestBytes + 4 * chunk.length, `read ${pulled} bytes`);
  });

  test('a device that never ends (/dev/zero) is refused, though it reports size 0', { skip: !existsSync('/dev/zero') }, async () => {
    await assert.rejects(readManifests('/dev/zero'), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && e.message.startsWith('/dev/zero: a manifest must be no more than 4 MiB'));
  });

  test('invalid UTF-8 is refused naming the line, column and byte offset, never read as U+FFFD', async (t) => {
    const file = path.join(await tempDir(t), 'bad.yaml');
    const bytes = Buffer.concat([Buffer.from('kind: Pod\nmetadata: {name: "a'), Buffer.from([0xff]), Buffer.from('b"}\n')]);
    await writeFile(file, bytes);
    const offset = bytes.indexOf(0xff);
    const column = offset - bytes.indexOf(0x0a) ;
    await assert.rejects(readManifests(file), (e) => {
      assert.ok(isBrambleError(e, 'MANIFEST_PARSE_FAILED'), String(e));
      assert.equal(e.message, `${file}:2:${column}: must be UTF-8 text: byte 0xff at offset ${offset} is not valid UTF-8`);
      return true;
    });
  });

  test('invalid UTF-8 on stdin is refused the same way', async () => {
    const stdin = Readable.from([Buffer.from([0x6b, 0x3a, 0x20, 0xc3, 0x28, 0x0a])]);
    await assert.rejects(readManifests('-', stdin), (e) => isBrambleError(e, 'MANIFEST_PARSE_FAILED') && e.message.startsWith('stdin:1:4: must be UTF-8 text: byte 0xc3 at offset 3'));
  });

  test('a UTF-16 file is refused with a hint to save it as UTF-8', async (t) => {
    const file = path.join(await tempDir(t), 'utf16.yaml');
    await writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('kind: Pod\n', 'utf16le')]));
    await assert.rejects(readManifests(file), (e) => isBrambleError(e, 'MANIFEST_PARSE_FAILED') && e.message.endsWith('(the file looks like UTF-16: save it as UTF-8)'));
  });

  test('a file with a UTF-8 byte order mark and CRLF line endings is read', async (t) => {
    const file = path.join(await tempDir(t), 'win.yaml');
    await writeFile(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('apiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n')]));
    assert.deepEqual(await readManifests(file), [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }]);
  });

  test('the UTF-8 check agrees with TextDecoder on overlong forms, surrogates, truncated and out-of-range sequences', () => {
    const cases: number[][] = [
      [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0x61, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbb, 0xbf, 0x61],
    ];
    for (const c of cases) {
      const bytes = Uint8Array.from(c);
      let valid = true;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        valid = false;
      }
      assert.equal(firstInvalidUtf8(bytes) === -1, valid, `bytes ${c.map((b) => b.toString(16)).join(' ')}`);
    }
  });
});
