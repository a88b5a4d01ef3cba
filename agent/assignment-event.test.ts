import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../proto/util/errors.js';
import { checkAssignedObject, parseAssignmentEvent } from './assignment-event.js';

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1.blue', namespace: 'shop', uid: '0b6f4f0e-8c1e-4c55-9d7b-2f0c8c1b9a11' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };

describe('assignment events', () => {
  test('well-formed Pods, ConfigMaps and Secrets pass unchanged, and SYNCED needs no object', () => {
    assert.deepEqual(parseAssignmentEvent({ type: 'SYNCED', object: '' }), { type: 'SYNCED' });
    assert.deepEqual(parseAssignmentEvent({ type: 'ADDED', object: JSON.stringify(pod) }), { type: 'ADDED', kind: 'Pod', object: pod });
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'a.txt': 'x' } };
    assert.deepEqual(checkAssignedObject(cm), { kind: 'ConfigMap', object: cm });
  });

  test('a deletion needs only the kind, name and uid of a Pod', () => {
    const gone = { kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u-1' } };
    assert.equal(parseAssignmentEvent({ type: 'DELETED', object: JSON.stringify(gone) }).type, 'DELETED');
    assert.throws(() => parseAssignmentEvent({ type: 'ADDED', object: JSON.stringify(gone) }), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /spec must be an object/.test(e.message));
  });

  test('a name longer than RFC 1123 allows is refused', () => {
    const long = { ...pod, metadata: { ...pod.metadata, namespace: 'n'.repeat(64) } };
    assert.throws(() => checkAssignedObject(long), /metadata\.namespace must be a lowercase RFC 1123 label/);
    const longName = { ...pod, metadata: { ...pod.metadata, name: `${'a'.repeat(63)}.`.repeat(4) + 'b' } };
    assert.throws(() => checkAssignedObject(longName), /metadata\.name must be a lowercase RFC 1123 name/);
  });
});
