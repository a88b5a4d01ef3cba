import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeClock } from '../proto/util/clock.js';
import { cgroupReader, PodFiguresSampler } from './pod-figures.js';
import type { ContainerInfo } from './runtime.js';

const container = (id: string, pod: string, state: ContainerInfo['state'] = 'running'): ContainerInfo => ({
  id, image: 'busybox', state,
  labels: { 'bramble.pod.name': pod, 'bramble.pod.namespace': 'default' },
});

describe('PodFiguresSampler', () => {
  test('CPU is the rate between two samples and memory the sum over a pod\'s running containers', async (t) => {
    const root = await mkdtemp(path.join(tmpdir(), 'cg-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const write = async (id: string, cpuNs: number, mem: number): Promise<void> => {
      await mkdir(path.join(root, 'cpuacct', 'bramble', id), { recursive: true });
      await mkdir(path.join(root, 'memory', 'bramble', id), { recursive: true });
      await writeFile(path.join(root, 'cpuacct', 'bramble', id, 'cpuacct.usage'), `${cpuNs}\n`);
      await writeFile(path.join(root, 'memory', 'bramble', id, 'memory.usage_in_bytes'), `${mem}\n`);
    };
    await write('a1', 0, 1000);
    await write('a2', 0, 500);
    const clock = new FakeClock();
    const sampler = new PodFiguresSampler('pi-1', cgroupReader('bramble', root), clock);
    const cs = [container('a1', 'web'), container('a2', 'web'), container('gone', 'web'), container('x', 'old', 'stopped')];
    const first = await sampler.sample(cs);
    assert.deepEqual(first, [{ namespace: 'default', name: 'web', node: 'pi-1', cpuMillicores: 0, memoryBytes: 1500 }]);
    await clock.advance(10_000);
    // 2.5 s of CPU time in 10 s = 250 millicores, split over two containers.
    await write('a1', 2e9, 1000);
    await write('a2', 0.5e9, 700);
    const second = await sampler.sample(cs);
    assert.equal(Math.round(second[0]!.cpuMillicores as number), 250);
    assert.equal(second[0]!.memoryBytes, 1700);
  });
});
