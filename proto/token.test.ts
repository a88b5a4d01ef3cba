import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBrambleError } from './util/errors.js';
import { formatToken, generateTokenParts, parseToken } from './token.js';

const HASH = 'ab'.repeat(32);
const GOOD = `B10${HASH}::abc123.0123456789abcdef`;

function rejects(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseToken(text),
    (e: unknown) => isBrambleError(e, 'TOKEN_INVALID') && pattern.test(e.message),
  );
}

describe('join tokens', () => {
  test('a well-formed token parses into CA hash, id and secret', () => {
    assert.deepEqual(parseToken(GOOD), { caHash: HASH, id: 'abc123', secret: '0123456789abcdef' });
  });

  test('surrounding whitespace and an upper-case hash are accepted', () => {
    const parts = parseToken(`  B10${HASH.toUpperCase()}::abc123.0123456789abcdef\n`);
    assert.equal(parts.caHash, HASH);
  });

  test('formatToken and parseToken round-trip any generated parts', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), (caHash) => {
        const parts = { caHash, ...generateTokenParts() };
        assert.deepEqual(parseToken(formatToken(parts)), parts);
      }),
      { numRuns: 50 },
    );
  });

  test('generated ids and secrets have the documented shape and differ between calls', () => {
    const a = generateTokenParts();
    const b = generateTokenParts();
    assert.match(a.id, /^[a-z0-9]{6}$/);
    assert.match(a.secret, /^[a-z0-9]{16}$/);
    assert.notEqual(a.secret, b.secret);
  });

  test('an empty token is rejected', () => rejects('', /empty/));
  test('a token without the B10 prefix is rejected', () => rejects(GOOD.slice(3), /must start with "B10"/));
  test('a token without "::" is rejected', () => rejects(GOOD.replace('::', ':'), /"::"/));
  test('a short CA hash is rejected with its length', () => rejects(`B10abcd::abc123.0123456789abcdef`, /64 hex.*found 4/));
  test('a CA hash with non-hex characters is rejected', () => rejects(GOOD.replace('abab', 'zzzz'), /64 hex/));
  test('a token without "." between id and secret is rejected', () => rejects(`B10${HASH}::abc1230123456789abcdef`, /"\."/));
  test('an id of the wrong length is rejected', () => rejects(`B10${HASH}::abc12.0123456789abcdef`, /id must be 6.*found 5/));
  test('an id with upper-case letters is rejected', () => rejects(`B10${HASH}::ABC123.0123456789abcdef`, /id must be 6/));

  test('a secret of the wrong length is rejected without echoing it', () => {
    const secret = 'supersecretvalue99';
    assert.throws(
      () => parseToken(`B10${HASH}::abc123.${secret}`),
      (e: unknown) => isBrambleError(e, 'TOKEN_INVALID') && /secret must be 16.*found 18/.test(e.message) && !e.message.includes(secret),
    );
  });

  test('no error message repeats the token it was given', () => {
    const bad = [`B10${HASH}::abc123.0123456789ABCDEF`, `X10${HASH}::abc123.0123456789abcdef`, `B10${HASH}abc123.0123456789abcdef`];
    for (const t of bad) {
      assert.throws(() => parseToken(t), (e: unknown) => isBrambleError(e) && !e.message.includes('0123456789'));
    }
  });
});
