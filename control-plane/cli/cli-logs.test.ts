import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from './cli-errors.js';
import { parseTail } from './cli-logs.js';

describe('parseTail', () => {
  test('reads a line count, 0, and -1 for everything', () => {
    assert.equal(parseTail('20'), 20);
    assert.equal(parseTail('0'), 0);
    assert.equal(parseTail('-1'), -1);
  });

  for (const bad of ['', 'ten', '-2', '1.5', '99999999999999999999']) {
    test(`rejects "${bad}" as a usage error naming the value`, () => {
      assert.throws(() => parseTail(bad), (e: unknown) => e instanceof UsageError && e.message.includes('--tail') && e.message.includes(`"${bad}"`));
    });
  }
});
