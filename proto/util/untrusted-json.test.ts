import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBrambleError } from './errors.js';
import { LIMITS } from '../limits.js';
import { parseUntrustedJson } from './untrusted-json.js';

const opts = { what: 'document 2', document: 2 };

test('JSON nested deeper than the limit is refused without recursion, naming where', () => {
  const deep = '['.repeat(400_000) + ']'.repeat(400_000);
  assert.throws(() => parseUntrustedJson(deep, { what: 'document 0' }), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && /nested no deeper than 32/.test(e.message));
  const ok = '{"a":'.repeat(LIMITS.maxDepth) + '1' + '}'.repeat(LIMITS.maxDepth);
  assert.ok(parseUntrustedJson(ok, opts));
});

test('text that is not JSON, a lone surrogate or an infinite number is refused with the document and path', () => {
  assert.throws(() => parseUntrustedJson('{"a":', opts), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && e.details[0]?.document === 2 && /not valid JSON/.test(e.message));
  assert.throws(() => parseUntrustedJson('{"metadata":{"name":"x\\ud800"}}', opts), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && e.details[0]?.path === 'metadata.name' && /lone surrogate/.test(e.message));
  assert.throws(() => parseUntrustedJson('{"spec":{"replicas":1e400}}', opts), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && e.details[0]?.path === 'spec.replicas');
  assert.throws(() => parseUntrustedJson('{"data":{"\\udc00":"v"}}', opts), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /a key must be valid Unicode/.test(e.message));
  // Paired surrogates are ordinary characters.
  assert.deepEqual(parseUntrustedJson('{"a":"\\ud83d\\ude00 café"}', opts), { a: '😀 café' });
});

test('objects and strings over their limits are refused with LIMIT_EXCEEDED', () => {
  const big = JSON.stringify({ data: { k: 'x'.repeat(LIMITS.maxObjectBytes) } });
  assert.throws(() => parseUntrustedJson(big, opts), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && /must be no more than 1 MiB of JSON/.test(e.message));
  const long = JSON.stringify({ data: { k: 'é'.repeat(LIMITS.maxStringLength + 1) } });
  assert.throws(() => parseUntrustedJson(long, { ...opts, limits: { maxBytes: 10 * 1024 * 1024, maxDepth: 32, maxStringLength: LIMITS.maxStringLength } }), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && e.details[0]?.path === 'data.k');
});
