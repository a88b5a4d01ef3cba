import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { FakeProcessProbe, realProcessProbe } from './process-probe.js';

describe('process probe', () => {
  test('the real probe sees this process, and no longer sees a child once it has exited and been reaped', async () => {
    assert.equal(realProcessProbe.alive(process.pid), true);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const pid = child.pid!;
    try {
      assert.equal(realProcessProbe.alive(pid), true);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    assert.equal(realProcessProbe.alive(pid), false);
  });

  test('pids that would address a process group or are not integers are never alive', () => {
    for (const pid of [0, -1, -process.pid, 1.5, Number.NaN]) assert.equal(realProcessProbe.alive(pid), false, `pid ${pid}`);
  });

  test('the fake answers alive until told a pid exited, and records what it was asked', () => {
    const fake = new FakeProcessProbe((pid) => pid !== 7);
    fake.exited(42);
    assert.deepEqual([fake.alive(41), fake.alive(42), fake.alive(7)], [true, false, false]);
    assert.deepEqual(fake.asked, [41, 42, 7]);
  });
});
