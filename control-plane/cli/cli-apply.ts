// `bramble apply -f ...`: every document of every file goes to the server in
// one Apply call, so a bad document means nothing at all is written.
import { BrambleError } from '../../proto/util/errors.js';
import { formatBytes, LIMITS } from '../../proto/limits.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { reportError, UsageError } from './cli-errors.js';
import { readManifests } from '../schema/manifest.js';

export interface ApplyInput {
  files: string[];
  dryRun: boolean;
}

/** One document read from a manifest, and where it came from, to name it in errors. */
export interface SourcedDocument {
  source: string;
  /** Position within its source, from 0. */
  index: number;
  object: unknown;
}

function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

/** "web.yaml document 2 (deployment/web)": how a person finds the document a problem is about. */
export function describeDocument(doc: SourcedDocument | undefined, fallbackIndex: number): string {
  if (!doc) return `document ${fallbackIndex + 1}`;
  const kind = field(doc.object, 'kind');
  const name = field(field(doc.object, 'metadata'), 'name');
  const what = typeof kind === 'string' && typeof name === 'string' ? ` (${kind.toLowerCase()}/${name})` : '';
  return `${doc.source} document ${doc.index + 1}${what}`;
}

/** Reads every -f argument in order; "-" is stdin and may be given once. */
export async function readSources(files: string[], stdin: NodeJS.ReadableStream): Promise<SourcedDocument[]> {
  if (files.length === 0) throw new UsageError('no manifest given: use -f FILE, -f DIR or -f - for stdin');
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('stdin ("-f -") can be read only once');
  const docs: SourcedDocument[] = [];
  const read: string[] = [];
  for (const file of files) {
    const objects = await readManifests(file, stdin);
    const source = file === '-' ? 'stdin' : file;
    read.push(source);
    objects.forEach((object, index) => docs.push({ source, index, object }));
    // Checked after each file so a long list of -f arguments stops at the first one too many.
    if (docs.length > LIMITS.maxObjectsPerApply) {
      throw new BrambleError(
        'LIMIT_EXCEEDED',
        `${read.join(', ')}: one apply must have no more than ${LIMITS.maxObjectsPerApply} objects: current count is ${docs.length}${read.length < files.length ? ' or more' : ''}`,
      );
    }
  }
  if (docs.length === 0) throw new BrambleError('MANIFEST_PARSE_FAILED', `no objects found in ${files.join(', ')}`);
  return docs;
}

/**
 * The JSON of each document as the Apply request carries it, checked against
 * the object and request limits so an oversized apply fails here, naming the
 * document, rather than as a bare gRPC "message too large".
 */
export function encodeForApply(docs: SourcedDocument[]): string[] {
  let total = 0;
  const out = docs.map((d, i) => {
    const json = JSON.stringify(d.object);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > LIMITS.maxObjectBytes) {
      throw new BrambleError(
        'LIMIT_EXCEEDED',
        `${describeDocument(d, i)}: an object must be no more than ${formatBytes(LIMITS.maxObjectBytes)} as JSON: current size is ${bytes} bytes`,
      );
    }
    total += bytes;
    return json;
  });
  if (total > LIMITS.maxRequestBytes) {
    throw new BrambleError(
      'LIMIT_EXCEEDED',
      `one apply must be no more than ${formatBytes(LIMITS.maxRequestBytes)} of objects as JSON: current size is ${total} bytes in ${docs.length} objects (split it into several applies)`,
    );
  }
  return out;
}

export async function runApply(ctx: CommandContext, input: ApplyInput): Promise<number> {
  const docs = await readSources(input.files, ctx.io.stdin);
  const objects = encodeForApply(docs);
  try {
    const res = await withCluster(ctx.connect, (conn) => conn.apply({ objects, dryRun: input.dryRun }));
    const suffix = input.dryRun ? ' (dry run)' : '';
    for (const r of res.results) ctx.io.stdout.write(`${r.kind.toLowerCase()}/${r.name} ${r.action}${suffix}\n`);
    return 0;
  } catch (e) {
    return reportError(e, ctx.io.stderr, {
      describeDocument: (i) => describeDocument(docs[i], i),
      summaryWithProblems: (n) => `${n === 1 ? '1 problem' : `${n} problems`} in the manifests; nothing was applied:`,
    });
  }
}
