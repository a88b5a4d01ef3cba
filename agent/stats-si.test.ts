// The board's CPU percent from /proc/stat counters (stats-si.ts explains why not si.currentLoad).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cpuPercentBetween, parseProcStat, SiNodeStats } from './stats-si.js';

const statLine = (user: number, system: number, idle: number, iowait: number, steal = 0): string =>
  `cpu  ${user} 0 ${system} ${idle} ${iowait} 0 0 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n`;

describe('CPU percent from /proc/stat', () => {
  test('the aggregate cpu line counts idle and iowait as idle, everything else as busy', () => {
    assert.deepEqual(parseProcStat(statLine(100, 50, 800, 40, 10)), { busy: 160, total: 1000 });
    assert.equal(parseProcStat('cpu0 1 2 3 4\n'), undefined, 'a per-core line is not the aggregate');
    assert.equal(parseProcStat(''), undefined);
  });

  test('the percent is the busy share of the time between two readings, clamped and with one decimal', () => {
    assert.equal(cpuPercentBetween({ busy: 100, total: 1000 }, { busy: 133, total: 1100 }), 33);
    assert.equal(cpuPercentBetween({ busy: 0, total: 0 }, { busy: 2, total: 3 }), 66.7);
    assert.equal(cpuPercentBetween({ busy: 100, total: 1000 }, { busy: 100, total: 1000 }), undefined, 'no tick passed');
    assert.equal(cpuPercentBetween({ busy: 100, total: 1000 }, { busy: 300, total: 1100 }), 100);
  });

  test('figures report the load between two heartbeats, and keep it when no tick passed since', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-procstat-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'stat');
    await writeFile(file, statLine(100, 100, 800, 0));
    const stats = new SiNodeStats({ procStatPath: file, temperatureEveryMs: 1e12 });
    assert.equal((await stats.figures()).cpuPercent, 20, 'no tick since the agent started: the average since boot');
    await writeFile(file, statLine(150, 110, 840, 0));
    assert.equal((await stats.figures()).cpuPercent, 60);
    assert.equal((await stats.figures()).cpuPercent, 60);
    await writeFile(file, statLine(160, 110, 930, 0));
    assert.equal((await stats.figures()).cpuPercent, 10);
  });
});
