import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { FakeClock } from './clock.js';
import { silentLogger } from './log.js';
import { closeThenExit, EXIT_UNCAUGHT, installLastResortHandlers, type ProcessLike } from './process-exit.js';

/** Runs a module snippet in a real Node process that has the handlers installed, and collects how it ended. */
function runGuarded(body: string): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  const here = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
  const source = `
    const { createLogger } = await import(${here('./log.js')});
    const { installLastResortHandlers } = await import(${here('./process-exit.js')});
    const logger = createLogger('bramble-test', 'info');
    const guard = installLastResortHandlers({ logger });
    ${body}`;
  const ext = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...ext, '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({
    code, stderr, lines: stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  })));
}

describe('last-resort handlers', () => {
  test('an uncaught exception logs one fatal line with the reason and the stack, and exits 70', async () => {
    const r = await runGuarded(`setImmediate(() => { throw new Error('the board caught fire'); });`);
    assert.equal(r.code, EXIT_UNCAUGHT, r.stderr);
    assert.equal(r.lines.length, 1, JSON.stringify(r.lines));
    const [line] = r.lines as [{ level: number; msg: string; err: { stack: string } }];
    assert.equal(line.level, 60);
    assert.equal(line.msg, 'uncaught exception, exiting: the board caught fire');
    assert.match(line.err.stack, /Error: the board caught fire\n\s+at /);
    assert.equal(r.stderr, '');
  });

  test('an unhandled rejection logs one error line, is counted, and the process carries on', async () => {
    const r = await runGuarded(`
      Promise.reject(new Error('nobody listened'));
      Promise.reject('a bare string');
      // The same logger, so its line cannot overtake the handler's.
      setImmediate(() => setImmediate(() => logger.info({ count: guard.unhandledRejections() }, 'still here')));`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines.map((l) => [l.level, l.msg, l.unhandledRejections ?? l.count]), [
      [50, 'unhandled promise rejection, continuing: nobody listened', 1],
      [50, 'unhandled promise rejection, continuing: a bare string', 2],
      [30, 'still here', 2],
    ]);
  });

  test('a second uncaught exception while exiting does not log or exit again', () => {
    const proc = new EventEmitter();
    const exits: number[] = [];
    installLastResortHandlers({ logger: silentLogger(), proc: proc as unknown as ProcessLike, exit: (c) => exits.push(c) });
    proc.emit('uncaughtException', new Error('one'));
    proc.emit('uncaughtException', new Error('two'));
    assert.deepEqual(exits, [EXIT_UNCAUGHT]);
  });
});

describe('closeThenExit', () => {
  const run = (close: () => Promise<void>, code: number): { clock: FakeClock; exits: number[] } => {
    const clock = new FakeClock();
    const exits: number[] = [];
    closeThenExit({ logger: silentLogger(), what: 'server', code, close, deadlineMs: 1000, clock, exit: (c) => exits.push(c) });
    return { clock, exits };
  };

  test('exits with the given code once closing is done', async () => {
    const { exits } = run(async () => undefined, 74);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(exits, [74]);
  });

  test('a close that hangs past the deadline still exits, and never with 0', async () => {
    const { clock, exits } = run(() => new Promise(() => undefined), 0);
    await clock.advance(999);
    assert.deepEqual(exits, []);
    await clock.advance(1);
    assert.deepEqual(exits, [1]);
  });

  test('a close that fails keeps a failure code', async () => {
    const { exits } = run(() => Promise.reject(new Error('stuck')), 74);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(exits, [74]);
  });
});
