import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import type { TokenInfo__Output } from '../../proto/generated/bramble/v1/TokenInfo.js';
import { UsageError } from './cli-errors.js';
import { parseDuration, printTokens } from './cli-token.js';

const NOW = Date.parse('2026-01-10T12:00:00Z');
const HOUR = 3600 * 1000;

function token(id: string, description: string, createdAgoMs: number, expiresInMs?: number): TokenInfo__Output {
  return {
    id,
    token: '',
    description,
    created: new Date(NOW - createdAgoMs).toISOString(),
    expires: expiresInMs === undefined ? '' : new Date(NOW + expiresInMs).toISOString(),
  };
}

describe('parseDuration', () => {
  test('reads seconds, minutes, hours and days as seconds', () => {
    assert.equal(parseDuration('30s'), 30);
    assert.equal(parseDuration('90m'), 5400);
    assert.equal(parseDuration('24h'), 86_400);
    assert.equal(parseDuration('7d'), 7 * 86_400);
  });

  test('adds up compound durations such as 1h30m', () => {
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('1d2h3m4s'), 86_400 + 7200 + 180 + 4);
  });

  test('reads 0 as a token that never expires', () => {
    assert.equal(parseDuration('0'), 0);
  });

  for (const bad of ['', '5x', '-1h', '1.5h', 'h', '10', '24 h', '1h-']) {
    test(`rejects "${bad}" as a usage error naming the flag and the value`, () => {
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) => e instanceof UsageError && e.message.includes('--ttl') && e.message.includes(`"${bad}"`),
      );
    });
  }
});

describe('printTokens', () => {
  const tokens = [token('abc123', 'pi 4 in the attic', 5 * HOUR, 22 * HOUR), token('def456', '', 30 * 1000)];

  test('lays out ID DESCRIPTION EXPIRES CREATED with relative times', () => {
    const out = printTokens(tokens, 'table', NOW);
    assert.equal(out.stderr, '');
    assert.equal(
      out.stdout,
      [
        'ID       DESCRIPTION         EXPIRES   CREATED',
        'abc123   pi 4 in the attic   in 22h    5h ago',
        'def456   <none>              never     30s ago',
        '',
      ].join('\n'),
    );
  });

  test('marks a token past its expiry as expired', () => {
    const out = printTokens([token('old999', 'old', 48 * HOUR, -HOUR)], 'table', NOW);
    assert.match(out.stdout, /old999\s+old\s+expired 60m ago/);
  });

  test('says so on stderr when there is no token, leaving stdout empty', () => {
    assert.deepEqual(printTokens([], 'table', NOW), { stdout: '', stderr: 'No join tokens.\n' });
  });

  test('prints JSON and YAML lists with ISO times and never a token field', () => {
    const json = JSON.parse(printTokens(tokens, 'json', NOW).stdout) as Record<string, unknown>[];
    assert.deepEqual(json.map((t) => t.id), ['abc123', 'def456']);
    assert.equal(json[0]!.expires, tokens[0]!.expires);
    assert.ok(json.every((t) => !('token' in t)));
    const yaml = parseYaml(printTokens(tokens, 'yaml', NOW).stdout) as Record<string, unknown>[];
    assert.deepEqual(yaml, json);
  });
});
