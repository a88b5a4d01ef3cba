import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import type { Finding } from '../../agent/main.js';
import { printFindings } from './cli-check.js';

const findings: Finding[] = [
  { check: 'cgroup', status: 'fatal', code: 'CGROUP_MEMORY_DISABLED', detail: 'cgroup v2: the memory controller is not enabled', fix: 'append ... then reboot' },
  { check: 'runc', status: 'ok', code: 'RUNC_OK', detail: 'runc version 1.1.5', fix: '' },
  { check: 'page-size', status: 'warning', code: 'PAGE_SIZE_LARGE', detail: 'kernel page size 16384 bytes', fix: 'add kernel=kernel8.img' },
];

describe('bramble check output', () => {
  test('the table has a row per finding, a dash for no fix, and a summary of what is fatal on stderr', () => {
    const p = printFindings(findings, 'table');
    assert.deepEqual(p.stdout.split('\n').map((l) => l.split(/\s{3,}/)), [
      ['CHECK', 'STATUS', 'CODE', 'DETAIL', 'FIX'],
      ['cgroup', 'fatal', 'CGROUP_MEMORY_DISABLED', 'cgroup v2: the memory controller is not enabled', 'append ... then reboot'],
      ['runc', 'ok', 'RUNC_OK', 'runc version 1.1.5', '-'],
      ['page-size', 'warning', 'PAGE_SIZE_LARGE', 'kernel page size 16384 bytes', 'add kernel=kernel8.img'],
      [''],
    ]);
    assert.equal(p.stderr, '1 fatal finding(s): the agent will not start on this board until they are fixed.\n');
  });

  test('warnings alone say the agent can start; all ok says nothing', () => {
    assert.equal(printFindings(findings.slice(1), 'table').stderr, '1 warning(s); nothing fatal: the agent can start.\n');
    assert.equal(printFindings(findings.slice(1, 2), 'table').stderr, '');
  });

  test('json and yaml carry every field of every finding', () => {
    assert.deepEqual(JSON.parse(printFindings(findings, 'json').stdout), findings);
    assert.deepEqual(parseYaml(printFindings(findings, 'yaml').stdout), findings);
  });
});
