import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIoWriteBytes, parseStatCpuTicks, parseVmRssBytes, percentile, readCpuSeconds, readRssBytes, readWriteBytes, summarizeMs } from './util.js';

describe('percentile', () => {
  test('the median of 1..100 by nearest rank is 50 and the 99th percentile is 99', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(values, 50), 50);
    assert.equal(percentile(values, 99), 99);
    assert.equal(percentile(values, 100), 100);
  });

  test('p0 is the smallest value and a single sample is every percentile', () => {
    assert.equal(percentile([7, 3, 9], 0), 3);
    assert.equal(percentile([42], 50), 42);
    assert.equal(percentile([42], 99), 42);
  });

  test('the 99th percentile of ten samples is the largest one', () => {
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000], 99), 1000);
  });

  test('no samples give 0 and a percentile outside 0..100 is refused', () => {
    assert.equal(percentile([], 50), 0);
    assert.throws(() => percentile([1], 101), /from 0 to 100: current value is 101/);
    assert.throws(() => percentile([1], Number.NaN), RangeError);
  });

  test('the input array is not reordered', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    assert.deepEqual(values, [3, 1, 2]);
  });

  test('a summary names its unit and rounds to hundredths of a millisecond', () => {
    assert.deepEqual(summarizeMs([1.234, 2.345, 3.456]), { p50: 2.35, p99: 3.46, mean: 2.35, max: 3.46, samples: 3, unit: 'ms' });
  });
});

describe('/proc parsing', () => {
  test('VmRSS in kB becomes bytes', () => {
    const status = 'Name:\tnode\nVmPeak:\t  999999 kB\nVmRSS:\t   51200 kB\nRssAnon:\t   40000 kB\n';
    assert.equal(parseVmRssBytes(status), 51200 * 1024);
  });

  test('a status without VmRSS (a zombie) is an error', () => {
    assert.throws(() => parseVmRssBytes('Name:\tnode\nState:\tZ (zombie)\n'), /VmRSS/);
  });

  test('utime and stime are fields 14 and 15 even when the command name holds spaces and parentheses', () => {
    const stat = '1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 11 0 100 1000000 2000 18446744073709551615';
    assert.equal(parseStatCpuTicks(stat), 325);
  });

  test('a stat text without times is an error', () => {
    assert.throws(() => parseStatCpuTicks('1234 (node) S 1'), /utime and stime/);
    assert.throws(() => parseStatCpuTicks('garbage'), /\)/);
  });

  test('write_bytes is read, not wchar or cancelled_write_bytes', () => {
    const io = 'rchar: 100\nwchar: 9999\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 81920\ncancelled_write_bytes: 4096\n';
    assert.equal(parseIoWriteBytes(io), 81920);
    assert.throws(() => parseIoWriteBytes('rchar: 1\n'), /write_bytes/);
  });

  test('the readers return plausible figures for this very process', async () => {
    const rss = await readRssBytes(process.pid);
    assert.ok(rss > 1024 * 1024 && rss < 64 * 1024 * 1024 * 1024, `RSS ${rss} bytes`);
    const cpu = await readCpuSeconds(process.pid);
    assert.ok(cpu >= 0 && cpu < 3600, `CPU ${cpu} s`);
    assert.ok((await readWriteBytes(process.pid)) >= 0);
  });
});
