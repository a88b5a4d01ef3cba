// Reads manifests the way kubectl does: from a file, every manifest of a
// directory, or stdin, each bounded by size before it is read and decoded as
// strict UTF-8; manifest-yaml.ts turns the text into objects.
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BrambleError } from '../../proto/util/errors.js';
import { formatBytes, LIMITS } from '../../proto/limits.js';
import { manifestTooBig as tooBig, parseManifestText } from './manifest-yaml.js';

export { MAX_MANIFEST_TOKENS, parseManifestText } from './manifest-yaml.js';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];


/** Reads at most maxManifestBytes + 1 bytes: stdin or a device never fills memory. */
async function readBounded(stream: AsyncIterable<unknown>, source: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early (the throw) destroys the stream, so nothing more is read.
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > LIMITS.maxManifestBytes) throw tooBig(source, `more than ${formatBytes(LIMITS.maxManifestBytes)}`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (as WHATWG's decoder sees it), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const x = b[i]!;
    if (x < 0x80) {
      i++;
      continue;
    }
    let extra: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (x >= 0xc2 && x <= 0xdf) extra = 1;
    else if (x >= 0xe0 && x <= 0xef) {
      extra = 2;
      if (x === 0xe0) lo = 0xa0; // overlong
      if (x === 0xed) hi = 0x9f; // UTF-16 surrogates
    } else if (x >= 0xf0 && x <= 0xf4) {
      extra = 3;
      if (x === 0xf0) lo = 0x90; // overlong
      if (x === 0xf4) hi = 0x8f; // beyond U+10FFFF
    } else return i;
    const second = b[i + 1];
    if (second === undefined || second < lo || second > hi) return i;
    for (let k = 2; k <= extra; k++) {
      const next = b[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
    }
    i += extra + 1;
  }
  return -1;
}

/**
 * Decodes UTF-8 strictly: a bad byte is an error naming its line and offset,
 * never a silent U+FFFD in a name or a Secret. A leading BOM is dropped.
 */
export function decodeManifest(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = Math.max(0, firstInvalidUtf8(bytes));
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
    const hint = utf16 ? ' (the file looks like UTF-16: save it as UTF-8)' : '';
    const byte = bytes[offset] ?? 0;
    throw new BrambleError(
      'MANIFEST_PARSE_FAILED',
      `${source}:${line}:${offset - lineStart + 1}: must be UTF-8 text: byte 0x${byte.toString(16).padStart(2, '0')} at offset ${offset} is not valid UTF-8${hint}`,
    );
  }
}

function readFailed(p: string, e: unknown): BrambleError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new BrambleError('INVALID_ARGUMENT', `manifest path ${JSON.stringify(p)} does not exist`);
  return new BrambleError('INVALID_ARGUMENT', `cannot read manifest path ${JSON.stringify(p)}: ${(e as Error).message}`);
}

/**
 * Reads a manifest file, every *.yaml/*.yml/*.json file of a directory (sorted
 * by name, not recursive), or stdin for "-". Each file and stdin may hold at
 * most LIMITS.maxManifestBytes; a bigger regular file is refused before it is read.
 */
export async function readManifests(pathOrDash: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<unknown[]> {
  if (pathOrDash === '-') return parseManifestText(decodeManifest(await readBounded(stdin, 'stdin'), 'stdin'), 'stdin');
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
  let bytes: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const info = await handle.stat();
      // A regular file's size is known: refuse it without reading. Devices and
      // FIFOs report 0 and are read with the same bound as stdin.
      if (info.size > LIMITS.maxManifestBytes) throw tooBig(file, `${info.size} bytes`);
      bytes = await readBounded(handle.createReadStream({ autoClose: false }), file);
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof BrambleError) throw e;
    throw readFailed(file, e);
  }
  return decodeManifest(bytes, file);
}
