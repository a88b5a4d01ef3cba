import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNetwork } from './network-fake.js';

describe('FakeNetwork', () => {
  test('hands out addresses of the pod CIDR from .2, once per pod', async () => {
    const n = new FakeNetwork('10.42.3.0/24');
    const a = await n.ensurePod('a', 'a', 'default');
    assert.deepEqual(a, { podUid: 'a', netnsPath: '/var/run/netns/bramble-a', ip: '10.42.3.2' });
    assert.equal((await n.ensurePod('b', 'b', 'default')).ip, '10.42.3.3');
    assert.equal((await n.ensurePod('a', 'a', 'default')).ip, '10.42.3.2');
    assert.equal(await n.deletePod('a'), true);
    assert.equal(await n.deletePod('a'), false);
    assert.equal((await n.ensurePod('c', 'c', 'default')).ip, '10.42.3.2', 'a released address is reused');
    assert.deepEqual((await n.listPods()).map((s) => s.podUid).sort(), ['b', 'c']);
  });

  test('a full range is an error naming it, and a bad CIDR is refused', async () => {
    const n = new FakeNetwork('10.0.0.0/30');
    await n.ensurePod('a', 'a', 'default');
    await assert.rejects(n.ensurePod('b', 'b', 'default'), /all of 10\.0\.0\.0\/30 are in use/);
    assert.throws(() => new FakeNetwork('10.0.0.0/33'), /current value is "10.0.0.0\/33"/);
  });
});
