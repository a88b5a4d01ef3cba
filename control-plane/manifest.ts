// Reads manifests the way kubectl does: multi-document YAML or JSON, a `kind:
// List` flattened into its items, from a file, a directory or stdin. Only the
// syntax is checked here; control-plane/schema.ts checks the objects.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BrambleError } from '../proto/errors.js';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOfValue(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return `a ${typeof v}`;
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

/**
 * Parses manifest text into plain objects, skipping empty documents.
 * Throws MANIFEST_PARSE_FAILED naming `source` and the line of the first syntax error.
 */
export function parseManifestText(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: unknown[] = [];
  list.forEach((doc, i) => {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line;
      const col = err.linePos?.[0]?.col;
      const at = line === undefined ? source : `${source}:${line}${col === undefined ? '' : `:${col}`}`;
      const firstLine = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new BrambleError('MANIFEST_PARSE_FAILED', `${at}: YAML syntax error: ${firstLine}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    const line = doc.contents?.range ? lineOf(text, doc.contents.range[0]) : undefined;
    flatten(value, `${source}${line === undefined ? '' : `:${line}`} (document ${i})`, out);
  });
  return out;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function readFailed(p: string, e: unknown): BrambleError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new BrambleError('INVALID_ARGUMENT', `manifest path ${JSON.stringify(p)} does not exist`);
  return new BrambleError('INVALID_ARGUMENT', `cannot read manifest path ${JSON.stringify(p)}: ${(e as Error).message}`);
}

/**
 * Reads a manifest file, every *.yaml/*.yml/*.json file of a directory (sorted
 * by name, not recursive), or stdin for "-".
 */
export async function readManifests(pathOrDash: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<unknown[]> {
  if (pathOrDash === '-') return parseManifestText(await readStream(stdin), 'stdin');
  let info;
  try {
    info = await stat(pathOrDash);
  } catch (e) {
    throw readFailed(pathOrDash, e);
  }
  if (!info.isDirectory()) return parseManifestText(await readText(pathOrDash), pathOrDash);
  let entries;
  try {
    entries = await readdir(pathOrDash, { withFileTypes: true });
  } catch (e) {
    throw readFailed(pathOrDash, e);
  }
  const files = entries
    .filter((e) => e.isFile() && MANIFEST_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort();
  const out: unknown[] = [];
  for (const name of files) {
    const file = path.join(pathOrDash, name);
    out.push(...parseManifestText(await readText(file), file));
  }
  return out;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw readFailed(file, e);
  }
}
