// CLI-level manifest fuzz: mutated Kubernetes-documentation manifests go
// through the real `bramble apply` against one real `bramble server`. Whatever
// the input, the CLI must end with exit 0, 1 or 2 and a readable error (no
// stack trace), the server must stay healthy, and objects must only appear when
// an apply succeeded. As for every fuzz test (test/support/fuzz.ts): FUZZ_RUNS
// scales the number of manifests (100 = the default 40), FUZZ_SEED and
// FUZZ_PATH replay a run (the seed is printed as a diagnostic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { isBrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import { jsonShapeProblem } from '../../proto/util/untrusted-json.js';
import { explain, runBramble, startServerProcess, tempDir, type CliResult, type ServerProcess } from '../../test/support/server-process.js';
import { printable } from './cli-errors.js';
import { readManifests } from '../schema/manifest.js';
import { fuzzParams } from '../../test/support/fuzz.js';
import { mutatedManifest, type FuzzCase } from '../testing/manifest-fuzz-fixtures.js';
import { validateObjects } from '../schema/schema.js';

/**
 * No scheduler: it records a FailedScheduling Event for an applied Pod (the server
 * has no nodes) a moment later, which would move the object count this test reads
 * while the next, failed, apply runs.
 */
const NO_OBJECT_WRITING_CONTROLLERS = ['--controllers', 'node-lifecycle'];

/** How many applies run between two health checks of the server. */
const BATCH = 10;

/** What the in-process parser and schema say about a text: the CLI must agree. */
type Expectation = { kind: 'parse'; message: string } | { kind: 'validation'; paths: string[] } | { kind: 'valid' };

/** Reads the file as the CLI does (bytes, strict UTF-8, one BOM dropped), in process. */
async function expectationFor(file: string): Promise<Expectation> {
  let objects: unknown[];
  try {
    objects = await readManifests(file);
  } catch (e) {
    assert.ok(isBrambleError(e), String(e));
    return { kind: 'parse', message: e.message };
  }
  // The server checks what JSON cannot carry faithfully (lone surrogates) before the schema.
  for (const object of objects) {
    const problem = jsonShapeProblem(object);
    if (problem) return { kind: 'validation', paths: [problem.path] };
  }
  try {
    validateObjects(objects);
  } catch (e) {
    assert.ok(isBrambleError(e), String(e));
    return { kind: 'validation', paths: e.details.map((d) => d.path) };
  }
  return { kind: 'valid' };
}

async function objectCount(server: ServerProcess): Promise<number> {
  const r = await runBramble(['--config', server.configPath, 'version', '-o', 'json']);
  assert.equal(r.code, 0, explain(r));
  const doc = JSON.parse(r.stdout) as { serverVersion?: { objectCount?: number } };
  const count = doc.serverVersion?.objectCount;
  assert.equal(typeof count, 'number', r.stdout);
  return count!;
}

async function assertHealthy(server: ServerProcess): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/healthz`, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  assert.equal(res.status, 200, `the server is not healthy after a batch of applies:\n${server.output().slice(-5000)}`);
}

function assertCleanFailure(r: CliResult, c: FuzzCase, expected: Expectation, server: ServerProcess): void {
  const context = `${explain(r)}\nrecipe: ${c.recipe}\ntext: ${JSON.stringify(c.text.slice(0, 3000))}\nserver log tail:\n${server.output().slice(-3000)}`;
  assert.ok(r.code === 0 || r.code === 1 || r.code === 2, `exit code must be 0, 1 or 2 (not a signal or crash):\n${context}`);
  assert.doesNotMatch(r.stderr, /^ {4}at /m, `no stack trace may reach the user:\n${context}`);
  if (r.code === 0) {
    assert.equal(expected.kind, 'valid', `apply succeeded but the schema refuses the manifest:\n${context}`);
    return;
  }
  assert.match(r.stderr, /^error: /m, `a failure must print "error:":\n${context}`);
  if (expected.kind === 'parse') {
    // The CLI shows control characters as \u escapes (printable), so compare with what it prints.
    const shown = `error: ${printable(expected.message)}`;
    assert.ok(r.stderr.includes(shown), `the CLI must print the parser's message ${JSON.stringify(shown)}:\n${context}`);
  } else if (expected.kind === 'validation') {
    // Each problem line reads "  <file> document N (kind/name): <path>: <message>".
    const first = printable(expected.paths[0]!);
    assert.ok(r.stderr.includes(`: ${first}: `), `the error must name the field path ${first}:\n${context}`);
  }
}

async function fuzzApply(t: { diagnostic(s: string): void; after(fn: () => Promise<void>): void }, defaultRuns: number): Promise<void> {
  const params = fuzzParams<FuzzCase>(defaultRuns);
  const seed = params.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  t.diagnostic(`FUZZ_SEED=${seed}, ${params.numRuns} manifests`);
  const cases = fc.sample(mutatedManifest(), { numRuns: params.numRuns, seed, ...(params.path ? { path: params.path } : {}) });

  const server = await startServerProcess({ extraArgs: NO_OBJECT_WRITING_CONTROLLERS });
  t.after(() => server.close());
  const dir = await tempDir(t, 'bramble-manifest-fuzz-');

  const outcomes = new Map<string, number>();
  let count = await objectCount(server);
  let slowest = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    const file = path.join(dir, `fuzz-${i}.yaml`);
    // Lone surrogates of the generated text become U+FFFD in the file, so the
    // expectation comes from the file, read the way the CLI reads it.
    await writeFile(file, c.text);
    const expected = await expectationFor(file);
    const started = performance.now();
    let r: CliResult;
    try {
      r = await runBramble(['--config', server.configPath, 'apply', '-f', file]);
    } catch (e) {
      throw new Error(`case ${i} (seed ${seed}): ${String(e)}\nrecipe: ${c.recipe}`);
    }
    slowest = Math.max(slowest, performance.now() - started);
    assertCleanFailure(r, c, expected, server);
    const after = await objectCount(server);
    // No controller creates objects for these kinds yet, so the count moves only with a successful apply.
    if (r.code !== 0) assert.equal(after, count, `a failed apply changed the object count:\n${explain(r)}`);
    else assert.ok(after >= count, `a successful apply lost objects: ${count} → ${after}`);
    count = after;
    // The server may still refuse what the schema accepts (a namespace that does not exist): worth seeing.
    if (expected.kind === 'valid' && r.code !== 0) t.diagnostic(`case ${i} valid here, refused by the server: ${r.stderr.split('\n')[0]}`);
    const key = `${expected.kind} → exit ${r.code}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    if ((i + 1) % BATCH === 0 || i === cases.length - 1) await assertHealthy(server);
  }
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}; slowest apply ${Math.round(slowest)} ms; objects at the end ${count}`);
}

test('bramble apply survives mutated manifests: clean exit codes and errors, a healthy server, no partial writes', async (t) => {
  await fuzzApply(t, 40);
});

test(`an apply of more than ${LIMITS.maxObjectsPerApply} objects is refused by the CLI before it sends anything`, async (t) => {
  const server = await startServerProcess({ extraArgs: NO_OBJECT_WRITING_CONTROLLERS });
  t.after(() => server.close());
  const dir = await tempDir(t, 'bramble-manifest-limit-');
  // Two files, as one file of more documents is refused by the parser already.
  const half = Math.ceil((LIMITS.maxObjectsPerApply + 1) / 2);
  const files = [path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')];
  for (const [f, file] of files.entries()) {
    await writeFile(file, Array.from({ length: half }, (_, i) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${f}-${i}}\n`).join('---\n'));
  }
  const before = await objectCount(server);
  const r = await runBramble(['--config', server.configPath, 'apply', '-f', files[0]!, '-f', files[1]!]);
  assert.equal(r.code, 1, explain(r));
  assert.equal(r.stderr, `error: ${files.join(', ')}: one apply must have no more than ${LIMITS.maxObjectsPerApply} objects: current count is ${2 * half}\n`);
  assert.equal(await objectCount(server), before);
  // Nothing reached the server: it logs every Apply it refuses or performs.
  assert.doesNotMatch(server.output(), /"method":"Apply"|"msg":"applied"/);
});
