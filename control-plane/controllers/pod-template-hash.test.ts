import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a32, podTemplateHash } from './pod-template-hash.js';
import { resolveFenceposts, scaledValue } from './int-or-percent.js';

describe('pod template hash', () => {
  test('FNV-1a matches the published test vectors', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  test('the same template in another key order hashes alike; another image does not', () => {
    const a = { metadata: { labels: { app: 'web', tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'v1' }] } };
    const b = { spec: { containers: [{ image: 'v1', name: 'c' }] }, metadata: { labels: { tier: 'x', app: 'web' } } };
    assert.equal(podTemplateHash(a), podTemplateHash(b));
    assert.notEqual(podTemplateHash(a), podTemplateHash({ ...a, spec: { containers: [{ name: 'c', image: 'v2' }] } }));
    assert.match(podTemplateHash(a), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });

  test('a collision count moves the hash; an ignored label does not', () => {
    const t = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'v1' }] } };
    assert.notEqual(podTemplateHash(t, 1), podTemplateHash(t));
    const h = podTemplateHash(t);
    const labelled = { ...t, metadata: { labels: { app: 'web', 'pod-template-hash': h } } };
    assert.equal(podTemplateHash(labelled, 0, 'pod-template-hash'), h);
  });
});

describe('maxSurge and maxUnavailable as counts', () => {
  test('percentages round surge up and unavailability down', () => {
    assert.equal(scaledValue('25%', 3, true, 0), 1);
    assert.equal(scaledValue('25%', 3, false, 0), 0);
    assert.equal(scaledValue(2, 3, false, 0), 2);
    assert.equal(scaledValue(undefined, 4, false, '50%'), 2);
  });

  test('both zero after rounding leaves an unavailability of one, so a rollout can move', () => {
    assert.deepEqual(resolveFenceposts('0%', '10%', 3), { surge: 0, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(undefined, undefined, 4), { surge: 1, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(1, 0, 4), { surge: 1, unavailable: 0 });
  });
});
