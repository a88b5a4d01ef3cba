// Mutated manifests for the fuzz tests (manifest.property.test.ts in process,
// manifest-fuzz.int.test.ts through the real CLI and server). They start from
// the Kubernetes-documentation examples in test/fixtures/manifests, so most
// cases are nearly valid and reach deep into the schema, then drop, rename and
// retype fields, swap in odd values, serialize as YAML or JSON and sometimes
// corrupt the text itself. Test code only: product code never imports it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { LIMITS } from '../../proto/limits.js';
import { parseManifestText } from '../schema/manifest.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** test/fixtures/manifests, found upwards from this file (source tree or dist/). */
export function fixturesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'test', 'fixtures', 'manifests');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find test/fixtures/manifests above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export interface Seed {
  file: string;
  object: Json;
}

/** Every object of every fixture manifest, parsed by the parser under test (they must all parse). */
export function seeds(): Seed[] {
  const dir = fixturesDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) => parseManifestText(readFileSync(path.join(dir, file), 'utf8'), file).map((object) => ({ file, object: object as Json })));
}

export interface FuzzOptions {
  /** Allow strings of maxStringLength ± 1 (slow to serialize; keep rare). */
  hugeStrings?: boolean;
}

const yamlLookalikes = [
  '', ' ', 'yes', 'no', 'on', '~', 'null', 'NaN', '.inf', '0x1F', '0o17', '1e3', '-0', '08', '1:20', '2001-12-14', '*a', '&a', '!!binary',
  '<<', '- x', 'a: b', ': ', '#', '{', '}', '[', ']', '"', "'", '|', '>', '%YAML 1.1', '---', '...', '\t', '\r\n', '\\', '@', '`',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '0', '-1', 'a/b', 'A', 'kube-system', 'x'.repeat(64), 'x'.repeat(254),
];

function oddStrings(opts: FuzzOptions): fc.Arbitrary<string> {
  const ascii: fc.Arbitrary<string>[] = [
    fc.constantFrom(...yamlLookalikes),
    fc.string({ unit: 'binary-ascii', maxLength: 40 }),
    fc.array(fc.integer({ min: 0, max: 0x1f }), { minLength: 1, maxLength: 8 }).map((cs) => String.fromCharCode(...cs)),
    fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
  ];
  const unicode: fc.Arbitrary<string>[] = [
    // Every plane, astral ones included.
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    // Lone surrogates: valid in a JS string, not in UTF-8 (a file gets U+FFFD; YAML and JSON escapes keep them).
    fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 4 }).map((cs) => String.fromCharCode(...cs)),
    fc.constantFrom('\uFEFF', '\u0085', '\u2028', '\u2029', '\uFFFD', '\uFFFF', '\u{10FFFF}', '\u007F', 'é', 'ß', 'ǅ', '日本', '🙂', 'K', 'ﬁ'),
  ];
  const huge: fc.Arbitrary<string>[] = opts.hugeStrings
    ? [fc.constantFrom(LIMITS.maxStringLength - 1, LIMITS.maxStringLength, LIMITS.maxStringLength + 1).map((n) => 'x'.repeat(n))]
    : [];
  return fc.oneof(
    ...ascii.map((arbitrary) => ({ weight: 6, arbitrary })),
    ...unicode.map((arbitrary) => ({ weight: 4, arbitrary })),
    ...huge.map((arbitrary) => ({ weight: 1, arbitrary })),
  );
}

function oddNumbers(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(0, -0, -1, 1, 1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e308, 1e-7, 65535, 65536, 30000, 32768, 100),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    fc.double(),
    fc.integer(),
  );
}

function oddValue(opts: FuzzOptions): fc.Arbitrary<Json> {
  const leaf: fc.Arbitrary<Json> = fc.oneof(
    { weight: 5, arbitrary: oddStrings(opts) },
    { weight: 3, arbitrary: oddNumbers() },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  return fc.oneof(
    { weight: 8, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(oddStrings({ ...opts, hugeStrings: false }), leaf, { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom<Json>([], {}, [[]], { a: {} }, [{}]) },
  );
}

type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'rename'; at: number; key: string }
  | { op: 'set'; at: number; value: Json }
  | { op: 'add'; at: number; key: string; value: Json }
  | { op: 'wrap'; at: number; inList: boolean };

function mutationArb(opts: FuzzOptions): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const key = fc.oneof(oddStrings({ ...opts, hugeStrings: false }), fc.constantFrom('kind', 'apiVersion', 'metadata', 'spec', 'name', 'replicas', 'containers', 'image'));
  return fc.oneof(
    fc.record({ op: fc.constant('drop' as const), at }),
    fc.record({ op: fc.constant('rename' as const), at, key }),
    { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at, value: oddValue(opts) }) },
    fc.record({ op: fc.constant('add' as const), at, key, value: oddValue(opts) }),
    fc.record({ op: fc.constant('wrap' as const), at, inList: fc.boolean() }),
  );
}

interface Slot {
  parent: Json[] | { [key: string]: Json };
  key: string | number;
}

/** Every place a value sits, in document order. */
function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const visit = (v: Json): void => {
    if (Array.isArray(v)) v.forEach((child, i) => (out.push({ parent: v, key: i }), visit(child)));
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push({ parent: v, key: k }), visit(v[k]!);
  };
  visit(root);
  return out;
}

function setField(obj: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function applyMutation(root: Json, mutation: Mutation): void {
  // fast-check hands out shared instances (constants, shrinks): a copy keeps
  // them intact and keeps the tree a tree (no value inserted into itself).
  const m = structuredClone(mutation);
  const all = slots(root);
  if (all.length === 0) return;
  const { parent, key } = all[m.at % all.length]!;
  const get = (): Json => (Array.isArray(parent) ? parent[key as number]! : parent[key as string]!);
  if (Array.isArray(parent)) {
    const i = key as number;
    if (m.op === 'drop') parent.splice(i, 1);
    else if (m.op === 'set') parent[i] = m.value;
    else if (m.op === 'add') parent.splice(i, 0, m.value);
    else if (m.op === 'wrap') parent[i] = m.inList ? [get()] : { value: get() };
    return;
  }
  const k = key as string;
  if (m.op === 'drop') delete parent[k];
  else if (m.op === 'set') setField(parent, k, m.value);
  else if (m.op === 'wrap') setField(parent, k, m.inList ? [get()] : { value: get() });
  else if (m.op === 'rename') {
    const v = get();
    delete parent[k];
    setField(parent, m.key, v);
  } else setField(parent, m.key, m.value);
}

type Format = 'yaml' | 'yaml-flow' | 'json' | 'json-pretty';

function serialize(docs: Json[], format: Format, asList: boolean): string {
  const values = asList ? [{ apiVersion: 'v1', kind: 'List', items: docs }] : docs;
  switch (format) {
    case 'json':
      return values.map((v) => JSON.stringify(v)).join('\n');
    case 'json-pretty':
      return values.map((v) => JSON.stringify(v, null, 2)).join('\n---\n');
    case 'yaml-flow':
      return values.map((v) => stringify(v, { collectionStyle: 'flow', lineWidth: 0 })).join('---\n');
    default:
      return values.map((v) => stringify(v, { lineWidth: 0 })).join('---\n');
  }
}

type Corruption =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate-line'; at: number }
  | { op: 'swap-lines'; at: number; with: number }
  | { op: 'crlf' }
  | { op: 'bom' }
  | { op: 'indent'; at: number; text: string };

function corruptionArb(opts: FuzzOptions): fc.Arbitrary<Corruption> {
  const at = fc.nat();
  const indicators = fc.constantFrom('[', ']', '{', '}', ',', ':', '- ', '? ', '&a ', '*a', '!x ', '!!binary ', '|', '>', '%', '@', '`', '"', "'", '#', '\n', '\t', '---\n', '...\n', '<<: ', '\0');
  const text = fc.oneof(indicators, oddStrings({ ...opts, hugeStrings: false }));
  const corruptions: fc.Arbitrary<Corruption>[] = [
    fc.record({ op: fc.constant('insert' as const), at, text }),
    fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ op: fc.constant('truncate' as const), at }),
    fc.record({ op: fc.constant('duplicate-line' as const), at }),
    fc.record({ op: fc.constant('swap-lines' as const), at, with: fc.nat() }),
    fc.constant({ op: 'crlf' as const }),
    fc.record({ op: fc.constant('indent' as const), at, text: fc.constantFrom(' ', '  ', '\t', '    - ') }),
  ];
  return fc.oneof(...corruptions, fc.constant({ op: 'bom' as const }));
}

function corrupt(text: string, c: Corruption): string {
  const pos = (n: number): number => (text.length === 0 ? 0 : n % (text.length + 1));
  const lines = (): string[] => text.split('\n');
  switch (c.op) {
    case 'insert':
      return text.slice(0, pos(c.at)) + c.text + text.slice(pos(c.at));
    case 'delete':
      return text.slice(0, pos(c.at)) + text.slice(pos(c.at) + c.length);
    case 'truncate':
      return text.slice(0, pos(c.at));
    case 'duplicate-line': {
      const ls = lines();
      const i = c.at % ls.length;
      ls.splice(i, 0, ls[i]!);
      return ls.join('\n');
    }
    case 'swap-lines': {
      const ls = lines();
      const i = c.at % ls.length;
      const j = c.with % ls.length;
      [ls[i], ls[j]] = [ls[j]!, ls[i]!];
      return ls.join('\n');
    }
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'bom':
      return `\uFEFF${text}`;
    case 'indent': {
      const ls = lines();
      const i = c.at % ls.length;
      ls[i] = c.text + ls[i];
      return ls.join('\n');
    }
  }
}

export interface FuzzCase {
  text: string;
  /** How the case was made, for failure messages. */
  recipe: string;
}

/** A manifest text made from 1–3 mutated fixture objects, sometimes corrupted. */
export function mutatedManifest(opts: FuzzOptions = {}): fc.Arbitrary<FuzzCase> {
  const pool = seeds();
  const doc = fc.record({
    seed: fc.nat({ max: pool.length - 1 }),
    mutations: fc.array(mutationArb(opts), { minLength: 0, maxLength: 4 }),
  });
  return fc
    .record({
      docs: fc.array(doc, { minLength: 1, maxLength: 3 }),
      format: fc.constantFrom<Format>('yaml', 'yaml', 'yaml-flow', 'json', 'json-pretty'),
      asList: fc.boolean(),
      corruptions: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Corruption[]) }, { weight: 2, arbitrary: fc.array(corruptionArb(opts), { minLength: 1, maxLength: 3 }) }),
    })
    .map(({ docs, format, asList, corruptions }) => {
      const objects = docs.map(({ seed, mutations }) => {
        const object = structuredClone(pool[seed]!.object);
        for (const m of mutations) applyMutation(object, m);
        return object;
      });
      let text = serialize(objects, format, asList);
      for (const c of corruptions) text = corrupt(text, c);
      const recipe = JSON.stringify({
        seeds: docs.map((d) => pool[d.seed]!.file),
        mutations: docs.map((d) => d.mutations.map((m) => m.op)),
        format,
        asList,
        corruptions: corruptions.map((c) => c.op),
      });
      return { text, recipe };
    });
}
