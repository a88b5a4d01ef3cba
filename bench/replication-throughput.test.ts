import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, measureStore, type StoreRun } from './replication-throughput.js';

const run = (writesPerSecond: number, bytesPerWrite: number, membersCpu = 0): StoreRun => ({
  concurrency: 1, writes: 1, failed: 0, seconds: 1,
  throughput: { value: writesPerSecond, unit: 'writes/s' },
  latency: { p50: 1, p99: 1, mean: 1, max: 1, samples: 1, unit: 'ms' },
  bytesPerWriteByMember: [], bytesPerWritePerMember: { value: bytesPerWrite, unit: 'bytes/write' },
  settleSeconds: 0, loadAverage1m: 0,
  cpuMsPerWrite: {
    byMember: [], members: { value: membersCpu, unit: 'ms/write' }, loadGenerator: { value: 0, unit: 'ms/write' }, total: { value: 0, unit: 'ms/write' },
  },
});

describe('the side-by-side comparison', () => {
  test('meets the targets when Bramble is at least as fast at 64 clients and writes fewer bytes at both', () => {
    const r = compare({ clients1: run(100, 900), clients64: run(2000, 500, 0.3) }, { clients1: run(200, 1000), clients64: run(1000, 1000, 0.1) });
    assert.deepEqual(r.ratios, { throughput64: 2, throughput1: 0.5, bytesPerWrite1: 0.9, bytesPerWrite64: 0.5, membersCpuPerWrite64: 3 });
    assert.deepEqual(r.metTargets, { throughput64: true, bytesPerWrite: true });
  });

  test('misses the bytes target when one concurrency writes more per write than etcd', () => {
    const r = compare({ clients1: run(100, 900), clients64: run(2000, 1100) }, { clients1: run(200, 1000), clients64: run(1000, 1000) });
    assert.equal(r.metTargets.bytesPerWrite, false);
    assert.equal(r.ratios.bytesPerWrite64, 1.1);
  });
});

describe('measureStore', () => {
  test('divides each member\'s bytes written over the run and the settle by the acknowledged writes', async () => {
    let reads = 0;
    const readings = [[100, 200], [500, 1200]];
    const members = { writeBytes: async () => readings[reads++]!, cpuSeconds: async () => [0, 0] };
    const r = await measureStore({ write: async () => undefined }, members, 2, 4, 0);
    assert.equal(r.writes, 4);
    assert.deepEqual(r.bytesPerWriteByMember.map((b) => b.value), [100, 250]);
    assert.equal(r.bytesPerWritePerMember.value, 175);
  });

  test('divides each member\'s and the load generator\'s CPU over the run (not the settle) by the acknowledged writes', async () => {
    const cpu = [[1, 2], [1.004, 2.002], [9, 9]];
    let cpuReads = 0;
    const own = [{ user: 1000, system: 0 }, { user: 3000, system: 1000 }];
    let ownReads = 0;
    const members = { writeBytes: async () => [0, 0], cpuSeconds: async () => cpu[cpuReads++]! };
    const r = await measureStore({ write: async () => undefined }, members, 2, 4, 0, () => own[ownReads++]!);
    // 4 ms and 2 ms over 4 writes; this process 3,000 µs over 4 writes.
    assert.deepEqual(r.cpuMsPerWrite.byMember.map((c) => c.value), [1, 0.5]);
    assert.equal(r.cpuMsPerWrite.members.value, 1.5);
    assert.equal(r.cpuMsPerWrite.loadGenerator.value, 0.75);
    assert.equal(r.cpuMsPerWrite.total.value, 2.25);
    assert.equal(cpuReads, 2, 'the members\' CPU is read before and right after the load, not after the settle');
  });
});
