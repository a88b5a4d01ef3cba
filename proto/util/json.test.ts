import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortedKeys, stableJson } from './json.js';

test('equal content gives equal JSON whatever the key order, and undefined fields do not count', () => {
  assert.equal(stableJson({ b: 1, a: { d: [{ y: 2, x: 1 }], c: undefined } }), stableJson({ a: { d: [{ x: 1, y: 2 }] }, b: 1 }));
  assert.notEqual(stableJson({ a: [1, 2] }), stableJson({ a: [2, 1] }));
  assert.deepEqual(Object.keys(sortedKeys({ b: 1, a: 2 }) as object), ['a', 'b']);
});
