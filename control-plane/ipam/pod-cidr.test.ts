import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../../proto/util/errors.js';
import { createMemoryStore } from '../store/store-memory.js';
import { allocatePodCidr, podCidrAt, podCidrCapacity } from './pod-cidr.js';

describe('pod CIDRs', () => {
  test('are the /24s of the cluster range in order', () => {
    assert.equal(podCidrAt('10.42.0.0/16', 0), '10.42.0.0/24');
    assert.equal(podCidrAt('10.42.0.0/16', 255), '10.42.255.0/24');
    assert.equal(podCidrCapacity('10.42.0.0/16'), 256);
    assert.equal(podCidrCapacity('10.42.0.0/24'), 1);
    assert.throws(() => podCidrAt('10.42.0.0/16', 256), /no \/24 number 256/);
  });

  test('the lowest /24 no stored Node holds is the next one, so a deleted node\'s /24 is reused', async () => {
    const store = createMemoryStore();
    const node = (name: string, podCIDR: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { podCIDR } });
    await store.propose({ ops: [{ type: 'put', object: node('a', '10.42.0.0/24') }, { type: 'put', object: node('b', '10.42.1.0/24') }] });
    assert.equal(allocatePodCidr(store, '10.42.0.0/16'), '10.42.2.0/24');
    await store.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'a' }] });
    assert.equal(allocatePodCidr(store, '10.42.0.0/16'), '10.42.0.0/24');
  });

  test('a full cluster CIDR is a LIMIT_EXCEEDED error that says what to do', async () => {
    const store = createMemoryStore();
    await store.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'a' }, spec: { podCIDR: '10.42.0.0/24' } } }] });
    assert.throws(() => allocatePodCidr(store, '10.42.0.0/24'), (e) =>
      isBrambleError(e, 'LIMIT_EXCEEDED') && /cluster CIDR 10.42.0.0\/24 has no free \/24 left.*all 1 are held.*--cluster-cidr/.test(e.message));
  });
});
