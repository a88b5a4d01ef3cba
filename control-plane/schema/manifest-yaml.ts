// Manifest text to plain objects: multi-document YAML or JSON, a `kind: List`
// flattened into its items. Only the syntax and the limits of proto/limits.ts
// are checked here; control-plane/schema/schema.ts checks the objects.
//
// Every input ends in plain objects or in a BrambleError (MANIFEST_PARSE_FAILED
// or LIMIT_EXCEEDED) that names the source and, where there is one, the line.
// The yaml library is used for lexing, parsing and composing only: its own
// toJS() is recursive, checks duplicate keys in quadratic time and resolves each
// alias by walking the whole document, so this module turns the composed tree
// into values itself, with a depth guard, linear duplicate checks and one
// budget for what aliases may expand to.
import { Composer, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type CST, type Document, type ParsedNode } from 'yaml';
import { BrambleError } from '../../proto/util/errors.js';
import { formatBytes, LIMITS } from '../../proto/limits.js';

/** The tags of the YAML 1.2 core schema: they only say what a plain scalar already is. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));
const CORE_TAG_LIST = '!!str, !!int, !!float, !!bool, !!null, !!map and !!seq';

/** Composer warnings that mean a value is not what its author wrote: treated as errors. */
const FATAL_WARNINGS = new Set(['TAG_RESOLVE_FAILED', 'BAD_COLLECTION_TYPE', 'BAD_ALIAS']);

/**
 * How many levels the parser may hold while it reads, before the exact check of
 * each object: a document, a scalar being read and a `kind: List` wrapper (a
 * mapping and its items) come on top of an object's own levels.
 */
const PARSER_DEPTH_GUARD = LIMITS.maxDepth + 5;

/** The deepest a document's value may be while it is built; each object is checked exactly afterwards. */
const VALUE_DEPTH_GUARD = LIMITS.maxDepth + 2;

/**
 * Most lexical tokens (scalars, indicators, spaces, newlines, comments) in one
 * manifest. The yaml library parses and composes a few microseconds per token,
 * so 4 MiB of tiny tokens would take tens of seconds; this bound keeps any
 * input within about a second while leaving room for 500 Deployments like
 * docs/examples/deployment.yaml (about 290 tokens each). Big strings (a
 * ConfigMap's files) are one token whatever their size.
 */
export const MAX_MANIFEST_TOKENS = LIMITS.maxManifestTokens;

/** Most documents in one manifest: each costs a Document, and one apply carries at most this many objects anyway. */
const MAX_DOCUMENTS = LIMITS.maxObjectsPerApply;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOfValue(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return `a ${typeof v}`;
}

/** "!!binary" rather than "tag:yaml.org,2002:binary". */
function shortTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}

/** Where each list and mapping came from, and how many levels it holds (itself included). */
interface ContainerInfo {
  offset: number;
  height: number;
}

interface Anchor {
  value: unknown;
  /** What converting the anchored node took from the budget: each alias to it takes as much again. */
  cost: number;
  height: number;
}

/** State of one parseManifestText call. */
class Reader {
  readonly lines = new LineCounter();
  /** Estimated JSON bytes the manifest may still expand to: bounds what aliases can make. */
  budget: number = LIMITS.maxRequestBytes;
  readonly containers = new WeakMap<object, ContainerInfo>();
  anchors = new Map<string, Anchor>();
  /** Anchors whose node is being converted: an alias to one of them would never end. */
  readonly open = new Set<string>();
  /** Height of the value the last toValue call returned (0 for a scalar). */
  height = 0;

  constructor(readonly source: string) {}

  at(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return line === 0 ? this.source : `${this.source}:${line}:${col}`;
  }

  line(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  fail(offset: number, message: string): never {
    throw new BrambleError('MANIFEST_PARSE_FAILED', `${this.at(offset)}: ${message}`);
  }

  limit(offset: number, message: string): never {
    throw new BrambleError('LIMIT_EXCEEDED', `${this.at(offset)}: ${message}`);
  }

  charge(bytes: number, offset: number, viaAlias = false): void {
    this.budget -= bytes;
    if (this.budget >= 0) return;
    const what = viaAlias ? 'with its aliases expanded, the manifest would be' : 'as JSON, the manifest would be';
    this.limit(offset, `${what} more than ${formatBytes(LIMITS.maxRequestBytes)}, the most one request may carry`);
  }
}

function nodeOffset(node: ParsedNode): number {
  return node.range?.[0] ?? 0;
}

function tooDeep(r: Reader, offset: number): never {
  r.limit(offset, `nesting must be no more than ${LIMITS.maxDepth} levels of objects and lists: current depth is more than that`);
}

function checkString(r: Reader, s: string, offset: number, what: string): void {
  if (s.length > LIMITS.maxStringLength) {
    r.limit(offset, `${what} must be no more than ${LIMITS.maxStringLength} characters: current length is ${s.length}`);
  }
  // A lone surrogate (only a YAML escape such as "\ud800" can make one) is left
  // for the server, which refuses it naming the field path (proto/untrusted-json.ts).
}

function checkTag(r: Reader, node: ParsedNode): void {
  const tag = node.tag;
  if (tag === undefined || CORE_TAGS.has(tag)) return;
  const hint = tag === 'tag:yaml.org,2002:binary' ? ' (Secret data is base64 text already: drop the tag)' : '';
  r.fail(nodeOffset(node), `tag ${shortTag(tag)} is not supported: only the core tags ${CORE_TAG_LIST} may be used${hint}`);
}

/** A mapping key: only strings, as JSON and Kubernetes objects have. */
function keyOf(r: Reader, key: ParsedNode | null, pairOffset: number): string {
  if (key === null) r.fail(pairOffset, 'a key must be a string: current key is empty');
  const offset = nodeOffset(key);
  if (isScalar(key)) {
    checkTag(r, key);
    if (typeof key.value === 'string') {
      checkString(r, key.value, offset, 'a key');
      // Unquoted, `<<` is YAML 1.1's merge key; here it would silently become a field named "<<".
      if (key.value === '<<' && key.type === 'PLAIN') {
        r.fail(offset, 'merge keys (<<) are not supported: write the fields out, or quote "<<" to use it as a key');
      }
      return key.value;
    }
    const text = key.source ?? String(key.value);
    if (text === '') r.fail(offset, 'a key must be a string: current key is empty');
    r.fail(offset, `a key must be a string: current key is ${text} (${kindOfValue(key.value)}); quote it to use it as a string`);
  }
  if (isAlias(key)) r.fail(offset, `a key must be a string: current key is the alias *${key.source}`);
  r.fail(offset, `a key must be a string: current key is ${isSeq(key) ? 'a list' : 'a mapping'}`);
}

function scalarValue(r: Reader, value: unknown, node: ParsedNode): unknown {
  const offset = nodeOffset(node);
  switch (typeof value) {
    case 'string':
      checkString(r, value, offset, 'a string');
      r.charge(value.length + 2, offset);
      return value;
    case 'number':
      // JSON has no NaN or Infinity: JSON.stringify would quietly send null.
      if (!Number.isFinite(value)) r.fail(offset, `a number must be finite: current value is ${String(value)}`);
      r.charge(8, offset);
      return value;
    case 'boolean':
      r.charge(5, offset);
      return value;
    default:
      if (value === null) {
        r.charge(4, offset);
        return null;
      }
      // Only reachable through a tag the core schema resolves to an object (a Date, bytes).
      return r.fail(offset, `unsupported value: current value is ${kindOfValue(value)}`);
  }
}

/** A deep copy of an aliased value, so that changing one object never changes another. */
function cloneValue(r: Reader, v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map((item) => cloneValue(r, item));
    const info = r.containers.get(v);
    if (info) r.containers.set(out, info);
    return out;
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) defineField(out, k, cloneValue(r, v[k]));
    const info = r.containers.get(v);
    if (info) r.containers.set(out, info);
    return out;
  }
  return v;
}

/** defineProperty keeps a "__proto__" key an ordinary field instead of changing the prototype. */
function defineField(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The JSON value of a composed node. Recursion is safe: the parser refused
 * anything nested deeper than PARSER_DEPTH_GUARD, and aliases are checked
 * against VALUE_DEPTH_GUARD before they are copied in.
 */
function toValue(r: Reader, node: ParsedNode | null, depth: number, fallbackOffset: number): unknown {
  r.height = 0;
  if (node === null) {
    r.charge(4, fallbackOffset);
    return null;
  }
  const offset = nodeOffset(node);
  if (isAlias(node)) {
    const anchor = r.anchors.get(node.source);
    if (anchor === undefined) {
      if (r.open.has(node.source)) r.fail(offset, `alias *${node.source} is inside the node it refers to`);
      r.fail(offset, `alias *${node.source} does not refer to an anchor defined before it`);
    }
    if (depth - 1 + anchor.height > VALUE_DEPTH_GUARD) tooDeep(r, offset);
    r.charge(anchor.cost, offset, true);
    r.height = anchor.height;
    return cloneValue(r, anchor.value);
  }
  checkTag(r, node);
  const anchorName = node.anchor;
  if (anchorName !== undefined) r.open.add(anchorName);
  const before = r.budget;
  let value: unknown;
  let height = 0;
  if (isScalar(node)) {
    value = scalarValue(r, node.value, node);
  } else if (isMap(node) || isSeq(node)) {
    if (depth > VALUE_DEPTH_GUARD) tooDeep(r, offset);
    r.charge(2, offset);
    let childHeight = 0;
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      // Key → offset of its first occurrence: a Set per mapping keeps the check linear.
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const keyNode = pair.key as ParsedNode | null;
        const pairOffset = keyNode ? nodeOffset(keyNode) : offset;
        const key = keyOf(r, keyNode, pairOffset);
        const first = seen.get(key);
        if (first !== undefined) {
          r.fail(pairOffset, `duplicate key ${JSON.stringify(key)}: keys must be unique within a mapping (first at line ${r.line(first)})`);
        }
        seen.set(key, pairOffset);
        r.charge(key.length + 4, pairOffset);
        const child = toValue(r, pair.value as ParsedNode | null, depth + 1, pairOffset);
        childHeight = Math.max(childHeight, r.height);
        defineField(obj, key, child);
      }
      value = obj;
    } else {
      const list: unknown[] = [];
      for (const item of node.items) {
        r.charge(1, offset);
        list.push(toValue(r, item as ParsedNode | null, depth + 1, offset));
        childHeight = Math.max(childHeight, r.height);
      }
      value = list;
    }
    height = childHeight + 1;
    r.containers.set(value as object, { offset, height });
  } else {
    r.fail(offset, 'unsupported YAML node');
  }
  if (anchorName !== undefined) {
    r.open.delete(anchorName);
    r.anchors.set(anchorName, { value, cost: before - r.budget, height });
  }
  r.height = height;
  return value;
}

/** `kind: List` (as `get -o yaml` prints several objects) and bare JSON arrays become their items. */
function flatten(value: unknown, where: string, out: unknown[]): void {
  const items = Array.isArray(value) ? value : isPlainObject(value) && value['kind'] === 'List' ? value['items'] : undefined;
  if (items === undefined) {
    if (!isPlainObject(value)) {
      throw new BrambleError('MANIFEST_PARSE_FAILED', `${where}: a document must be a mapping with apiVersion and kind, not ${kindOfValue(value)}`);
    }
    out.push(value);
    return;
  }
  if (!Array.isArray(items)) throw new BrambleError('MANIFEST_PARSE_FAILED', `${where}: items of a List must be a list, not ${kindOfValue(items)}`);
  for (const item of items) {
    if (item === null || item === undefined) continue;
    flatten(item, where, out);
  }
}

/** The exact depth rule, per object (a List wrapper does not count): names the line of the deepest level. */
function checkDepth(r: Reader, obj: object, where: string): void {
  const info = r.containers.get(obj);
  if (!info || info.height <= LIMITS.maxDepth) return;
  // Walk down the deepest branch to the line where the limit is crossed.
  let node: unknown = obj;
  for (let level = 1; level <= LIMITS.maxDepth; level++) {
    const children: unknown[] = Array.isArray(node) ? node : isPlainObject(node) ? Object.values(node) : [];
    let next: unknown;
    let best = -1;
    for (const c of children) {
      const h = typeof c === 'object' && c !== null ? (r.containers.get(c)?.height ?? 0) : 0;
      if (h > best) [best, next] = [h, c];
    }
    node = next;
  }
  const deepest = typeof node === 'object' && node !== null ? r.containers.get(node) : undefined;
  const place = deepest ? r.at(deepest.offset) : where;
  throw new BrambleError(
    'LIMIT_EXCEEDED',
    `${place}: nesting must be no more than ${LIMITS.maxDepth} levels of objects and lists: current depth is ${info.height}`,
  );
}

/** Lexes and parses, refusing nesting beyond the guard before the (recursive) composer sees it. */
function parseTokens(r: Reader, text: string): CST.Token[] {
  const parser = new Parser(r.lines.addNewLine);
  r.lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  let lexemes = 0;
  let documents = 0;
  const push = (token: CST.Token): void => {
    if (token.type === 'document' && ++documents > MAX_DOCUMENTS) {
      r.limit(token.offset, `a manifest must have no more than ${MAX_DOCUMENTS} documents (the most objects one apply may carry): current count is more than that`);
    }
    tokens.push(token);
  };
  for (const lexeme of new Lexer().lex(text)) {
    if (++lexemes > MAX_MANIFEST_TOKENS) {
      r.limit(parser.offset, `a manifest must have no more than ${MAX_MANIFEST_TOKENS} YAML tokens: current count is more than that (split it into several files)`);
    }
    for (const token of parser.next(lexeme)) push(token);
    if (parser.stack.length > PARSER_DEPTH_GUARD) {
      // The parser also stacks up broken lines (`a: b: c` over and over): a
      // syntax error before this point is the better message.
      const offset = parser.offset;
      for (const token of parser.end()) tokens.push(token);
      // Errors at the cut itself only say the input stops there.
      firstSyntaxError(r, composeQuietly(newComposer(), tokens), offset);
      tooDeep(r, offset);
    }
  }
  for (const token of parser.end()) push(token);
  return tokens;
}

function syntaxError(r: Reader, err: { pos: [number, number]; message: string }, prefix: string): never {
  r.fail(err.pos[0], `${prefix}${err.message.split('\n')[0] ?? err.message}`);
}

/**
 * Composes documents up to the first one with an error. yaml makes an Error,
 * stack trace included, for every problem it finds; broken input can have a
 * problem per token, so stack traces are turned off meanwhile (the code is
 * synchronous: nothing else runs while the limit is 0).
 */
function composeQuietly(composer: Composer, tokens: CST.Token[]): Document.Parsed[] {
  const docs: Document.Parsed[] = [];
  const traceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (const doc of composer.compose(tokens)) {
      docs.push(doc);
      if (doc.errors.length > 0) break;
    }
  } finally {
    Error.stackTraceLimit = traceLimit;
  }
  return docs;
}

function newComposer(): Composer {
  // The core schema whatever a %YAML 1.1 directive says: `yes` stays a string and
  // 2001-12-14 does not become a Date, as in the Kubernetes documentation's examples.
  return new Composer({ schema: 'core', uniqueKeys: false, merge: false, prettyErrors: false });
}

/** Throws for the first error, or warning that changes a value, of any document (only those before `end`, if given). */
function firstSyntaxError(r: Reader, docs: Document.Parsed[], end = Infinity): void {
  for (const doc of docs) {
    const err = doc.errors.find((e) => e.pos[0] < end);
    if (err) syntaxError(r, err, 'YAML syntax error: ');
    const warning = doc.warnings.find((w) => FATAL_WARNINGS.has(w.code) && w.pos[0] < end);
    if (warning) syntaxError(r, warning, 'YAML error: ');
  }
}

function parseText(r: Reader, text: string): unknown[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.maxManifestBytes) throw manifestTooBig(r.source, `${bytes} bytes`);
  const tokens = parseTokens(r, text);
  const docs = composeQuietly(newComposer(), tokens);
  firstSyntaxError(r, docs);
  const out: unknown[] = [];
  docs.forEach((doc, i) => {
    // Anchors belong to their document.
    r.anchors = new Map();
    const contents = doc.contents as ParsedNode | null;
    if (contents === null) return;
    const value = toValue(r, contents, 1, nodeOffset(contents));
    if (value === null || value === undefined) return;
    const where = `${r.source}:${r.line(nodeOffset(contents))} (document ${i})`;
    const objects: unknown[] = [];
    flatten(value, where, objects);
    for (const obj of objects) checkDepth(r, obj as object, where);
    out.push(...objects);
  });
  return out;
}

/**
 * Parses manifest text into plain objects, skipping empty documents.
 * Throws MANIFEST_PARSE_FAILED naming `source` and the line of the first syntax
 * error, or LIMIT_EXCEEDED for text, nesting, strings or alias expansion beyond
 * proto/limits.ts. Never throws anything but a BrambleError.
 */
export function parseManifestText(text: string, source: string): unknown[] {
  const r = new Reader(source);
  try {
    return parseText(r, text);
  } catch (e) {
    if (e instanceof BrambleError) throw e;
    // A bug in this module or the yaml library must still read as a manifest error, not a crash.
    const message = e instanceof Error ? e.message : String(e);
    throw new BrambleError('MANIFEST_PARSE_FAILED', `${source}: cannot parse the manifest: ${message}`);
  }
}

/** The refusal of a manifest over maxManifestBytes; `current` says by how much when known. */
export function manifestTooBig(source: string, current: string): BrambleError {
  return new BrambleError(
    'LIMIT_EXCEEDED',
    `${source}: a manifest must be no more than ${formatBytes(LIMITS.maxManifestBytes)}: current size is ${current}`,
  );
}
