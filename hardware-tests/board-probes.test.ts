import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeBoardFiles } from './board-files-fake.js';
import { readBoardModel, readMemoryCgroup, readTemperature, THERMAL_ZONE0 } from './board-probes.js';

describe('board probes', () => {
  test('the model comes from /proc/device-tree, else from /sys/firmware/devicetree', async () => {
    assert.equal((await readBoardModel(fakeBoardFiles({ '/proc/device-tree/model': 'Raspberry Pi 5 Model B Rev 1.0\0' })))?.series, '5');
    assert.equal((await readBoardModel(fakeBoardFiles({ '/sys/firmware/devicetree/base/model': 'Raspberry Pi 3 Model B Rev 1.2\0' })))?.series, '3');
    assert.equal(await readBoardModel(fakeBoardFiles({})), undefined);
  });

  test('the temperature is thermal_zone0 in millidegrees', async () => {
    assert.deepEqual(await readTemperature(fakeBoardFiles({ [THERMAL_ZONE0]: '48312\n' })), { celsius: 48.312, detail: `48.3 °C from ${THERMAL_ZONE0}` });
  });

  test('a missing, unreadable or impossible temperature is null with the reason', async () => {
    assert.match((await readTemperature(fakeBoardFiles({}))).detail, /does not exist/);
    const garbled = await readTemperature(fakeBoardFiles({ [THERMAL_ZONE0]: 'hot' }));
    assert.equal(garbled.celsius, null);
    assert.match(garbled.detail, /must hold millidegrees: it holds "hot"/);
    assert.match((await readTemperature(fakeBoardFiles({ [THERMAL_ZONE0]: '200000' }))).detail, /must be within -40\.\.125 °C: it says 200 °C/);
  });

  test('cgroup v2 with memory among its controllers is enabled', async () => {
    const r = await readMemoryCgroup(fakeBoardFiles({ '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n' }));
    assert.deepEqual(r, { version: 2, enabled: true, detail: 'cgroup v2 with the memory controller' });
  });

  test('cgroup v2 without memory names the cmdline.txt fix, whatever /proc/cgroups says', async () => {
    const r = await readMemoryCgroup(fakeBoardFiles({
      '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io pids\n', '/proc/cgroups': '#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t1\t1\n',
    }));
    assert.equal(r.enabled, false);
    assert.match(r.detail, /cgroup_enable=memory/);
  });

  test('cgroup v1 reads the enabled column of /proc/cgroups', async () => {
    const on = await readMemoryCgroup(fakeBoardFiles({ '/proc/cgroups': '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t80\t1\nmemory\t4\t90\t1\n' }));
    assert.deepEqual([on.version, on.enabled], [1, true]);
    const off = await readMemoryCgroup(fakeBoardFiles({ '/proc/cgroups': '#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t1\t0\n' }));
    assert.deepEqual([off.version, off.enabled], [1, false]);
    assert.equal((await readMemoryCgroup(fakeBoardFiles({}))).version, null);
  });
});
