import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandTimeoutError, FakeRunner, execRunner, nsenterRunner } from './exec-runner.js';

describe('execRunner', () => {
  test('returns stdout, stderr and a non-zero exit code without throwing', async () => {
    const r = await execRunner.run('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
  });

  test('passes arguments without a shell, stdin input and extra environment', async () => {
    const r = await execRunner.run('/bin/sh', ['-c', 'printf "%s|%s|" "$1" "$BRAMBLE_X"; cat', 'sh', '$HOME; ls'], { input: 'from stdin', env: { BRAMBLE_X: 'y' } });
    assert.equal(r.stdout, '$HOME; ls|y|from stdin');
  });

  test('a command that runs too long is killed and reported as a timeout', async () => {
    await assert.rejects(execRunner.run('/bin/sleep', ['5'], { timeoutMs: 100 }), (e: unknown) => e instanceof CommandTimeoutError && e.code === 'RUNTIME_FAILED');
  });

  test('a missing program is a RUNTIME_FAILED error', async () => {
    await assert.rejects(execRunner.run('/no/such/program', []), (e: unknown) => e instanceof Error && /must be runnable/.test(e.message));
  });
});

describe('nsenterRunner and FakeRunner', () => {
  test('nsenterRunner prefixes nsenter --net with the namespace path', async () => {
    const fake = new FakeRunner();
    await nsenterRunner('/var/run/netns/b1', fake).run('ctr', ['version'], { timeoutMs: 5 });
    assert.deepEqual(fake.calls, [{ file: 'nsenter', args: ['--net=/var/run/netns/b1', 'ctr', 'version'], input: undefined, env: undefined, timeoutMs: 5 }]);
  });

  test('once rules answer in order before lasting rules, and the newest lasting rule wins', async () => {
    const fake = new FakeRunner();
    fake.on(['tasks', 'ls'], { stdout: 'old' });
    fake.on(['tasks', 'ls'], { stdout: 'new' });
    fake.once(['tasks', 'ls'], { stdout: 'first' });
    fake.once(['tasks', 'ls'], { stdout: 'second', exitCode: 2 });
    const out = [];
    for (let i = 0; i < 3; i++) out.push(await fake.run('ctr', ['--address', 'x', 'tasks', 'ls']));
    assert.deepEqual(out.map((r) => [r.stdout, r.exitCode]), [['first', 0], ['second', 2], ['new', 0]]);
    assert.deepEqual((await fake.run('ip', ['link'])), { stdout: '', stderr: '', exitCode: 0 });
    assert.equal(fake.argsOf(['tasks', 'ls']).length, 3);
  });
});
