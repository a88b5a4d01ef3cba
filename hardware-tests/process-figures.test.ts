import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeBoardFiles } from './board-files-fake.js';
import { idleFigures, parseCpuTicks, parseRssBytes, parseWriteBytes, sampleProcess } from './process-figures.js';

// A real /proc/PID/stat line, with a command that holds a space and a parenthesis.
const STAT = '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 9000 0 12 0 350 120 0 0 20 0 11 0 5000 1200000000 10000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';

describe('process figures', () => {
  test('RSS is VmRSS in bytes', () => {
    assert.equal(parseRssBytes('Name:\tnode\nVmRSS:\t   41236 kB\nVmSwap:\t0 kB\n'), 41236 * 1024);
    assert.equal(parseRssBytes('Name:\tkthreadd\n'), undefined);
  });

  test('CPU ticks are utime plus stime, counted after the command however odd its name', () => {
    assert.equal(parseCpuTicks(STAT), 470);
    assert.equal(parseCpuTicks('garbage'), undefined);
  });

  test('write_bytes is read from /proc/PID/io', () => {
    assert.equal(parseWriteBytes('rchar: 10\nwchar: 20\nread_bytes: 0\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n'), 8192);
  });

  test('a sample reads the three files of the pid', async () => {
    const files = fakeBoardFiles({ '/proc/7/status': 'VmRSS:\t100 kB\n', '/proc/7/stat': STAT, '/proc/7/io': 'write_bytes: 5\n' });
    assert.deepEqual(await sampleProcess(files, 7), { rssBytes: 102400, cpuTicks: 470, writeBytes: 5 });
    await assert.rejects(sampleProcess(fakeBoardFiles({ '/proc/7/status': 'VmRSS:\t100 kB\n', '/proc/7/stat': STAT }), 7), /io needs root/);
    await assert.rejects(sampleProcess(fakeBoardFiles({}), 8), /has exited/);
  });

  test('idle figures over a window: CPU of one core, bytes written per minute, the later RSS', () => {
    const f = idleFigures({ rssBytes: 1, cpuTicks: 1000, writeBytes: 4096 }, { rssBytes: 2, cpuTicks: 1030, writeBytes: 4096 + 8192 }, 30_000, 100);
    assert.deepEqual(f, { rssBytes: 2, cpuPercent: 1, writeBytesPerMinute: 16384 });
    assert.throws(() => idleFigures({ rssBytes: 1, cpuTicks: 0, writeBytes: 0 }, { rssBytes: 1, cpuTicks: 0, writeBytes: 0 }, 0, 100), /longer than 0 ms: current value is 0/);
  });
});
