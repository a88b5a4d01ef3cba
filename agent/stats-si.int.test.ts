import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakeClock } from '../proto/util/clock.js';
import { readBoardModel, SiNodeStats } from './stats-si.js';

describe('systeminformation node stats on this machine', () => {
  test('node info is plausible and the architecture is amd64 here', async () => {
    const info = await new SiNodeStats().nodeInfo();
    assert.ok(info.cpuCount >= 1, `cpuCount ${info.cpuCount}`);
    assert.equal(info.architecture, 'amd64');
    assert.equal(info.operatingSystem, 'linux');
    assert.ok(info.kernelVersion.length > 0 && info.osImage.length > 0 && info.cpuModel.length > 0);
    assert.ok(info.memoryTotalBytes > 0);
  });

  test('figures are plausible: total memory > available > 0, cpu percent within 0..100', async () => {
    const clock = new FakeClock();
    const stats = new SiNodeStats({ clock });
    const f = await stats.figures();
    assert.ok(f.memoryTotalBytes > f.memoryAvailableBytes && f.memoryAvailableBytes > 0, JSON.stringify(f));
    assert.equal(f.memoryUsedBytes, f.memoryTotalBytes - f.memoryAvailableBytes);
    assert.ok(f.cpuPercent >= 0 && f.cpuPercent <= 100, `cpuPercent ${f.cpuPercent}`);
    assert.ok(f.load1 >= 0);
    assert.ok(f.temperatureCelsius === null || (f.temperatureCelsius > -40 && f.temperatureCelsius < 150));
    const again = await stats.figures();
    assert.ok(again.memoryTotalBytes === f.memoryTotalBytes);
  });

  test('cpu percent rises while this process keeps one core busy', async () => {
    const stats = new SiNodeStats();
    await stats.figures();
    // Half a second of spinning is at least 1/cpus of the board's time over the window.
    const until = performance.now() + 500;
    while (performance.now() < until) { /* keep one core busy */ }
    const busy = (await stats.figures()).cpuPercent;
    const floor = (100 / os.cpus().length) * 0.6;
    assert.ok(busy >= floor && busy <= 100, `cpuPercent ${busy} must be at least ${floor} with one of ${os.cpus().length} cores busy`);
  });

  test('addresses are the non-internal ones plus the hostname', async () => {
    const addrs = await new SiNodeStats().addresses();
    assert.ok(!addrs.some((a) => a.address === '127.0.0.1' || a.address === '::1'));
    assert.equal(addrs.at(-1)?.type, 'Hostname');
    assert.equal(addrs.at(-1)?.address, os.hostname());
  });

  test('the board model is read from the device tree without its trailing NUL', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-stats-'));
    try {
      const file = path.join(dir, 'model');
      await writeFile(file, 'Raspberry Pi 4 Model B Rev 1.4\0');
      assert.equal(await readBoardModel(file), 'Raspberry Pi 4 Model B Rev 1.4');
      assert.equal(await readBoardModel(path.join(dir, 'missing')), null);
      const info = await new SiNodeStats({ deviceTreeModelPath: file }).nodeInfo();
      assert.equal(info.boardModel, 'Raspberry Pi 4 Model B Rev 1.4');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
