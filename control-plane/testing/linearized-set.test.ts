import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LinearizedSet } from './linearized-set.js';

test('a set is named exactly by its hash key and window, whatever order its members came in', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(99)), { maxLength: 300 }), (moves) => {
    const a = new LinearizedSet(100);
    const members = new Set<number>();
    for (const [add, i] of moves) {
      if (add) { a.add(i); members.add(i); } else { a.delete(i); members.delete(i); }
    }
    const b = new LinearizedSet(100);
    for (const i of [...members].sort((x, y) => y - x)) b.add(i);
    assert.equal(a.hashKey(), b.hashKey());
    assert.ok(a.sameWindow(b.window()) && b.sameWindow(a.window()));
    for (let i = 0; i < 100; i++) assert.equal(a.has(i), members.has(i));
    // One member more: never taken for the same set.
    const extra = [...Array(100).keys()].find((i) => !members.has(i));
    if (extra === undefined) return;
    const c = new LinearizedSet(100);
    for (const i of [...members, extra]) c.add(i);
    assert.ok(c.hashKey() !== a.hashKey() || !c.sameWindow(a.window()));
  }));
});

test('a prefix of operations keeps an empty window, a member far above it a wide one', () => {
  const s = new LinearizedSet(200);
  for (let i = 0; i < 100; i++) s.add(i);
  assert.equal(s.window().length, 0);
  assert.match(s.hashKey(), /^100,/);
  s.add(190);
  assert.equal(s.window().length, 3);
  s.delete(190);
  s.delete(3);
  assert.match(s.hashKey(), /^3,/);
  assert.equal(s.window().length, 4);
});
