// The program as `npm run test:hardware` runs it, on this machine, which is not a
// Raspberry Pi: it must say so, exit 0 and write no report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { realBoardFiles } from './board-files.js';
import { readBoardModel } from './board-probes.js';

const program = path.join(path.dirname(fileURLToPath(import.meta.url)), 'run.js');

test('on a machine that is not a Raspberry Pi the hardware run says so, exits 0 and writes no report', async (t) => {
  const model = await readBoardModel(realBoardFiles);
  if (model?.isRaspberryPi) {
    t.skip(`this machine is a Raspberry Pi (${model.model}): the board run is not a unit test`);
    return;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'bramble-hw-run-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [program, '--out', path.join(dir, 'report.json')], { cwd: dir });
  assert.match(stdout, /^bramble hardware tests: this machine is not a Raspberry Pi \(.*\): no checks were run and no report was written\.\n$/);
  assert.equal(stderr, '');
  assert.deepEqual(await readdir(dir), []);
});

test('the hardware run refuses a flag it does not know with exit code 2', async () => {
  const r = await promisify(execFile)(process.execPath, [program, '--idle-seconds', 'soon']).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--idle-seconds must be .*"soon"/);
});
