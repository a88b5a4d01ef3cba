import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatSelector, matchesSelector, parseSelector, podContainerNamed } from './model.js';

test('a label selector follows the label rules for its keys and values', () => {
  assert.deepEqual(parseSelector('app in (web, api),tier!=db,!legacy'), [
    { key: 'app', op: 'In', values: ['web', 'api'] },
    { key: 'tier', op: 'NotIn', values: ['db'] },
    { key: 'legacy', op: 'DoesNotExist' },
  ]);
  assert.throws(() => parseSelector('-app=c'), /label selector key .*current value is "-app"/);
  assert.throws(() => parseSelector(`app=${'x'.repeat(64)}`), /label selector value for "app" must be no more than 63 characters/);
});

test('a formatted selector parses back to the same requirements', () => {
  const text = 'app=web,tier!=db,env in (a,b),zone notin (x,y),track,!legacy';
  assert.equal(formatSelector(parseSelector(text)), text);
});

test('any text is either a selector or an Error, never a hang or another throw', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 1024 }), (text) => {
      try {
        const reqs = parseSelector(text);
        matchesSelector({ app: 'web' }, reqs);
      } catch (e) {
        assert.ok(e instanceof Error);
      }
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
  );
});

test('a container is found by name among the app containers first, then the init containers', () => {
  const spec = {
    containers: [{ name: 'app', image: 'a' }],
    initContainers: [{ name: 'setup', image: 's' }, { name: 'app', image: 'shadowed' }],
  };
  assert.equal(podContainerNamed(spec, 'app')?.image, 'a');
  assert.equal(podContainerNamed(spec, 'setup')?.image, 's');
  assert.equal(podContainerNamed(spec, 'nope'), undefined);
  assert.equal(podContainerNamed({ containers: [] }, 'app'), undefined);
});
