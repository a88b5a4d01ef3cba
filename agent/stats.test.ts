import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../proto/util/errors.js';
import { kubernetesArch, nodeResources, parseReserve, toProtoFigures } from './stats.js';
import { FakeNodeStats } from './stats-fake.js';

const GiB = 1024 ** 3;

describe('node stats arithmetic', () => {
  test('architectures are reported with Kubernetes names', () => {
    assert.deepEqual(['x64', 'arm64', 'arm', 'mips'].map(kubernetesArch), ['amd64', 'arm64', 'arm', 'mips']);
  });

  test('allocatable is capacity minus the configured reserve, with 110 pods by default', () => {
    const r = nodeResources({ cpuCount: 4, memoryTotalBytes: 4 * GiB }, parseReserve('cpu=100m,memory=256Mi'));
    assert.deepEqual(r, {
      capacity: { cpu: '4', memory: `${4 * 1024 * 1024}Ki`, pods: '110' },
      allocatable: { cpu: '3900m', memory: `${(4 * 1024 - 256) * 1024}Ki`, pods: '110' },
    });
    assert.deepEqual(nodeResources({ cpuCount: 1, memoryTotalBytes: GiB }, parseReserve(''), 20).allocatable,
      { cpu: '1000m', memory: `${1024 * 1024}Ki`, pods: '20' });
    assert.deepEqual(nodeResources({ cpuCount: 1, memoryTotalBytes: GiB }, parseReserve('cpu=2,memory=2Gi')).allocatable,
      { cpu: '0m', memory: '0Ki', pods: '110' });
  });

  test('a reserve that is not cpu=…,memory=… is refused naming the term', () => {
    assert.throws(() => parseReserve('gpu=1'), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /current term is "gpu=1"/.test(e.message));
    assert.throws(() => parseReserve('cpu=lots'), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /reserved cpu/.test(e.message));
    assert.throws(() => nodeResources({ cpuCount: 1, memoryTotalBytes: GiB }, parseReserve(''), 0), /max pods must be a positive integer/);
  });

  test('figures map to the heartbeat message, with has_temperature false when there is no sensor', async () => {
    const stats = new FakeNodeStats({ live: { temperatureCelsius: null } });
    const f = toProtoFigures('pi-1', await stats.figures());
    assert.equal(f.hasTemperature, false);
    assert.equal(f.temperatureCelsius, 0);
    assert.equal(f.memoryTotalBytes, 4 * GiB);
    assert.equal(stats.calls.figures, 1);
  });
});
