import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ctrExecArgs, execExitCode, shellQuote } from './exec-stream.js';

describe('exec-stream', () => {
  test('ctr is asked for an exec with its own id, --tty only for a terminal, and the argv unchanged', () => {
    const opts = { address: '/run/c.sock', namespace: 'bramble' };
    assert.deepEqual(ctrExecArgs(opts, 'e1', { containerId: 'c1', argv: ['sh', '-c', 'echo "$HOME"'], tty: false }),
      ['--address', '/run/c.sock', '--namespace', 'bramble', 'tasks', 'exec', '--exec-id', 'e1', 'c1', 'sh', '-c', 'echo "$HOME"']);
    assert.deepEqual(ctrExecArgs(opts, 'e1', { containerId: 'c1', argv: ['sh'], tty: true }).slice(6, 10), ['--exec-id', 'e1', '--tty', 'c1']);
  });

  test('shell quoting keeps every word exactly as given', () => {
    const words = ["it's", '$(rm -rf /)', '"; echo no', 'a b\tc', '', '\\'];
    const out = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${words.map(shellQuote).join(' ')}`], { encoding: 'utf8' });
    assert.deepEqual(out.split('\n').slice(0, -1), words);
  });

  test('a program ctr cannot find exits 127, one it cannot run 126, and the command’s own codes pass through', () => {
    const notFound = 'ctr: OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown\n';
    assert.equal(execExitCode(1, notFound), 127);
    assert.equal(execExitCode(1, 'ctr: OCI runtime exec failed: exec: "/etc/passwd": permission denied: unknown\n'), 126);
    assert.equal(execExitCode(3, 'some output\n'), 3);
    assert.equal(execExitCode(0, notFound), 0);
    assert.equal(execExitCode(1, 'cat: no such file or directory\n'), 1, 'the command’s own message is not ctr’s');
  });
});
