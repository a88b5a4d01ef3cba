// `bramble apply -f ...`: every document of every file goes to the server in
// one Apply call, so a bad document means nothing at all is written.
import { BrambleError } from '../proto/errors.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { reportError, UsageError } from './cli-errors.js';
import { readManifests } from './manifest.js';

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
  for (const file of files) {
    const objects = await readManifests(file, stdin);
    objects.forEach((object, index) => docs.push({ source: file === '-' ? 'stdin' : file, index, object }));
  }
  if (docs.length === 0) throw new BrambleError('MANIFEST_PARSE_FAILED', `no objects found in ${files.join(', ')}`);
  return docs;
}

export async function runApply(ctx: CommandContext, input: ApplyInput): Promise<number> {
  const docs = await readSources(input.files, ctx.io.stdin);
  try {
    const res = await withCluster(ctx.connect, (conn) =>
      conn.apply({ objects: docs.map((d) => JSON.stringify(d.object)), dryRun: input.dryRun }),
    );
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
