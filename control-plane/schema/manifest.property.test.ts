// Property-based fuzzing of the manifest boundary in process: mutated
// Kubernetes-documentation manifests go through parseManifestText and
// validateObjects, and whatever comes out must be a clean result or a coded
// BrambleError. As for every fuzz test (test/support/fuzz.ts): FUZZ_RUNS scales
// the run (100 = the defaults here), FUZZ_SEED and FUZZ_PATH replay a failure
// (fast-check prints both; the seed is also printed as a diagnostic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBrambleError, type ErrorCode } from '../../proto/util/errors.js';
import { decodeManifest, firstInvalidUtf8, parseManifestText } from './manifest.js';
import { fuzzParams } from '../../test/support/fuzz.js';
import { mutatedManifest, seeds, type FuzzCase } from '../testing/manifest-fuzz-fixtures.js';
import { validateObjects } from './schema.js';

const PARSE_CODES = new Set<ErrorCode>(['MANIFEST_PARSE_FAILED', 'LIMIT_EXCEEDED']);
const VALIDATE_CODES = new Set<ErrorCode>(['VALIDATION_FAILED', 'UNKNOWN_KIND']);

/**
 * Far above the ~1 s any input takes (the parser bounds tokens, depth and
 * expansion): only a hang or an exponential path would reach it.
 */
const HANG_MS = 10_000;

function describeThrown(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

type Outcome = { parsed: 'refused'; code: ErrorCode } | { parsed: 'ok'; validated: 'refused' | 'ok' };

/** The assertions for one manifest text; returns what happened, for the statistics. */
function checkOne(text: string): Outcome {
  let objects: unknown[];
  try {
    objects = parseManifestText(text, 'fuzz.yaml');
  } catch (e) {
    assert.ok(isBrambleError(e), `parseManifestText threw a non-BrambleError: ${describeThrown(e)}`);
    assert.ok(PARSE_CODES.has(e.code), `unexpected parse code ${e.code}: ${e.message}`);
    assert.ok(e.message.startsWith('fuzz.yaml'), `the message must name the source: ${e.message}`);
    return { parsed: 'refused', code: e.code };
  }
  let accepted;
  try {
    accepted = validateObjects(objects);
  } catch (e) {
    assert.ok(isBrambleError(e), `validateObjects threw a non-BrambleError: ${describeThrown(e)}`);
    assert.ok(VALIDATE_CODES.has(e.code), `unexpected validation code ${e.code}: ${e.message}`);
    assert.ok(e.details.length > 0, `a ${e.code} must list its problems: ${e.message}`);
    for (const p of e.details) {
      assert.ok(typeof p.path === 'string' && p.path !== '', `every problem must name a field path: ${JSON.stringify(p)}`);
      assert.ok(typeof p.message === 'string' && p.message !== '', `every problem must say what is wrong: ${JSON.stringify(p)}`);
      assert.ok(p.document === undefined || (p.document >= 0 && p.document < objects.length), `document index out of range: ${JSON.stringify(p)}`);
    }
    return { parsed: 'ok', validated: 'refused' };
  }
  // What the API accepted must be accepted again, unchanged, once it has gone through JSON as it does on the wire.
  const again = validateObjects(JSON.parse(JSON.stringify(accepted)) as unknown[]);
  assert.deepEqual(again, accepted);
  return { parsed: 'ok', validated: 'ok' };
}

test('the fixture manifests are all accepted as they are', () => {
  const all = seeds();
  assert.ok(all.length >= 9, `expected a seed per supported kind, found ${all.length}`);
  assert.equal(validateObjects(all.map((s) => s.object)).length, all.length);
});

test('mutated manifests are parsed and validated or refused with a coded error, never a crash', (t) => {
  const params = fuzzParams<[FuzzCase]>(200);
  const seed = params.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  t.diagnostic(`FUZZ_SEED=${seed}, ${params.numRuns} runs`);
  const outcomes = new Map<string, number>();
  let slowest = 0;
  fc.assert(
    fc.property(mutatedManifest({ hugeStrings: true }), ({ text, recipe }) => {
      const started = performance.now();
      let outcome: Outcome;
      try {
        outcome = checkOne(text);
      } catch (e) {
        // The recipe says how the failing text was made; fast-check adds seed and path.
        throw new Error(`${describeThrown(e)}\nrecipe: ${recipe}\ntext: ${JSON.stringify(text.slice(0, 2000))}`);
      }
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < HANG_MS, `took ${Math.round(ms)} ms: ${recipe}`);
      const key = outcome.parsed === 'refused' ? `parse refused (${outcome.code})` : `validation ${outcome.validated === 'ok' ? 'accepted' : 'refused'}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }),
    { ...params, seed },
  );
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}; slowest case ${Math.round(slowest)} ms`);
});

test('the UTF-8 check agrees with TextDecoder on any bytes, and decoding fails only with a coded error', (t) => {
  const params = fuzzParams<[Uint8Array]>(200);
  const seed = params.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  t.diagnostic(`FUZZ_SEED=${seed}, ${params.numRuns} runs`);
  // Mostly valid text with a few raw bytes spliced in, so errors land mid-character too.
  const bytes = fc
    .tuple(fc.string({ unit: 'binary', maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }), fc.nat())
    .map(([s, raw, at]) => {
      const b = Buffer.from(s, 'utf8');
      const i = b.length === 0 ? 0 : at % b.length;
      return new Uint8Array(Buffer.concat([b.subarray(0, i), Buffer.from(raw), b.subarray(i)]));
    });
  fc.assert(
    fc.property(bytes, (b) => {
      let valid = true;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(b);
      } catch {
        valid = false;
      }
      assert.equal(firstInvalidUtf8(b) === -1, valid);
      try {
        decodeManifest(b, 'fuzz.yaml');
        assert.ok(valid);
      } catch (e) {
        assert.ok(!valid);
        assert.ok(isBrambleError(e, 'MANIFEST_PARSE_FAILED'), describeThrown(e));
        assert.match(e.message, new RegExp(`^fuzz\\.yaml:\\d+:\\d+: must be UTF-8 text: byte 0x[0-9a-f]{2} at offset ${firstInvalidUtf8(b)} `));
      }
    }),
    { ...params, seed },
  );
});
