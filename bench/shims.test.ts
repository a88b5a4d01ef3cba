import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePssBytes } from './shims.js';

test('the Pss line of smaps_rollup is read in bytes', () => {
  const text = '55a0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:               13200 kB\nPss:                4412 kB\nPss_Anon:           3000 kB\n';
  assert.equal(parsePssBytes(text), 4412 * 1024);
});

test('a smaps_rollup without a Pss line is an error, not a zero', () => {
  assert.throws(() => parsePssBytes('Rss: 10 kB\n'), /must have a Pss line/);
});
