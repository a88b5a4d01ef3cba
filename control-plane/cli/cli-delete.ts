// `bramble delete -f ...` or `bramble delete KIND NAME...`: one Delete call per
// object. A missing object is an error unless --ignore-not-found, and the
// remaining objects are still deleted. --cascade says what happens to each
// object's dependents; with foreground the command waits until the object is gone.
import { BrambleError, isBrambleError, type FieldProblem } from '../../proto/util/errors.js';
import { resolveKind, type KObject, type KindInfo } from '../../proto/model.js';
import { cascadePolicy, DEFAULT_FOREGROUND_TIMEOUT_MS, waitUntilDeleted } from './cli-delete-wait.js';
import { parseDuration } from './cli-token.js';
import { readSources, describeDocument, type SourcedDocument } from './cli-apply.js';
import { withCluster } from './cli-client.js';
import { namespaceFor, splitKindName, type CommandContext } from './cli-context.js';
import { reportError, UsageError } from './cli-errors.js';

export interface DeleteInput {
  files: string[];
  kind?: string;
  names: string[];
  namespace?: string;
  ignoreNotFound: boolean;
  /** Pods: remove from the store at once instead of waiting for the agent to stop them. */
  force?: boolean;
  /** --cascade: background (default), orphan or foreground. */
  cascade?: string;
  /** --timeout: how long a foreground delete is waited for ("0": no limit). */
  timeout?: string;
}

interface Target {
  kind: KindInfo;
  namespace: string;
  name: string;
}

function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

/** What a manifest names; only kind, name and namespace matter for a delete. */
function targetsFromDocuments(docs: SourcedDocument[], namespace: string | undefined): Target[] {
  const problems: FieldProblem[] = [];
  const targets: Target[] = [];
  docs.forEach((doc, i) => {
    const kindText = field(doc.object, 'kind');
    const meta = field(doc.object, 'metadata');
    const name = field(meta, 'name');
    const kind = typeof kindText === 'string' ? resolveKind(kindText) : undefined;
    if (!kind) {
      problems.push({ document: i, path: 'kind', message: typeof kindText === 'string' ? `kind "${kindText}" is not supported` : 'is required' });
    }
    if (typeof name !== 'string' || name === '') problems.push({ document: i, path: 'metadata.name', message: 'is required' });
    if (kind && typeof name === 'string' && name !== '') {
      const ns = field(meta, 'namespace');
      targets.push({ kind, name, namespace: namespaceFor(kind, typeof ns === 'string' ? ns : namespace) });
    }
  });
  if (problems.length > 0) {
    throw new BrambleError('VALIDATION_FAILED', `cannot tell which objects to delete: ${problems.length} problem(s)`, problems);
  }
  return targets;
}

function targetsFromArguments(input: DeleteInput & { kind: string }): Target[] {
  const { kind, name } = splitKindName(input.kind, undefined);
  const names = name !== undefined ? [name, ...input.names] : input.names;
  if (names.length === 0) throw new UsageError(`no name given: use \`bramble delete ${input.kind} NAME\``);
  return names.map((n) => ({ kind, name: n, namespace: namespaceFor(kind, input.namespace) }));
}

export async function runDelete(ctx: CommandContext, input: DeleteInput): Promise<number> {
  const propagationPolicy = cascadePolicy(input.cascade);
  const timeoutMs = input.timeout === undefined ? DEFAULT_FOREGROUND_TIMEOUT_MS : parseDuration(input.timeout, '--timeout') * 1000;
  let targets: Target[];
  if (input.files.length > 0) {
    if (input.kind !== undefined) throw new UsageError('give either -f FILE or KIND NAME, not both');
    const docs = await readSources(input.files, ctx.io.stdin);
    try {
      targets = targetsFromDocuments(docs, input.namespace);
    } catch (e) {
      return reportError(e, ctx.io.stderr, { describeDocument: (i) => describeDocument(docs[i], i) });
    }
  } else if (input.kind !== undefined) {
    targets = targetsFromArguments({ ...input, kind: input.kind });
  } else {
    throw new UsageError('nothing to delete: give -f FILE|DIR|- or KIND NAME');
  }
  let exitCode = 0;
  await withCluster(ctx.connect, async (conn) => {
    for (const t of targets) {
      try {
        const res = await conn.delete({
          kind: t.kind.kind, namespace: t.namespace, name: t.name, resourceVersion: '', force: input.force === true, propagationPolicy,
        });
        if (propagationPolicy === 'Foreground') {
          const uid = (JSON.parse(res.object) as KObject).metadata.uid ?? '';
          await waitUntilDeleted(conn, ctx.io, { ...t, uid }, timeoutMs);
        }
        ctx.io.stdout.write(`${t.kind.kind.toLowerCase()}/${t.name} deleted\n`);
      } catch (e) {
        if (input.ignoreNotFound && isBrambleError(e, 'NOT_FOUND')) continue;
        exitCode = reportError(e, ctx.io.stderr);
        // Only a missing object is worth going on after; anything else would fail the same way again.
        if (!isBrambleError(e, 'NOT_FOUND')) return;
      }
    }
  });
  return exitCode;
}
