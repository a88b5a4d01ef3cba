import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { LIMITS } from '../../proto/limits.js';
import type { ExecRequest } from '../../proto/generated/bramble/v1/ExecRequest.js';
import type { ExecResponse__Output } from '../../proto/generated/bramble/v1/ExecResponse.js';
import type { ExecStream } from './cli-client.js';
import { checkCommand, execPodName, EXIT_INTERRUPTED, NO_TTY_WARNING, runExecSession, stdinPieces, type ExecIo, type LocalTerminal } from './cli-exec.js';
import { UsageError } from './cli-errors.js';

/** A stream whose responses the test scripts; it records what the CLI sends. */
function fakeStream(responses: ExecResponse__Output[], opts: { waitForEnd?: boolean } = {}) {
  const sent: ExecRequest[] = [];
  let ended = false;
  let cancelled = false;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const stream: ExecStream = {
    send: async (req) => void sent.push(req),
    end: () => { ended = true; release(); },
    cancel: () => { cancelled = true; release(); },
    responses: (async function* () {
      if (opts.waitForEnd) await gate;
      yield* responses;
    })(),
  };
  return { stream, sent, ended: () => ended, cancelled: () => cancelled };
}

function sinks() {
  const out: (string | Uint8Array)[] = [];
  const err: (string | Uint8Array)[] = [];
  const text = (parts: (string | Uint8Array)[]) => parts.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString())).join('');
  return { io: { stdout: { write: (s: string | Uint8Array) => out.push(s) }, stderr: { write: (s: string | Uint8Array) => err.push(s) } }, out: () => text(out), err: () => text(err) };
}

const input = { pod: 'web', command: ['sh', '-c', 'x'], namespace: 'default', stdin: false, tty: false };
const never = new AbortController().signal;

describe('bramble exec arguments', () => {
  test('the pod may be given as NAME or pod/NAME, not as another kind', () => {
    assert.equal(execPodName('web'), 'web');
    assert.equal(execPodName('pod/web'), 'web');
    assert.equal(execPodName('po/web'), 'web');
    assert.throws(() => execPodName('deploy/web'), (e: unknown) => e instanceof UsageError && /names a deploy/.test(e.message));
    assert.throws(() => execPodName('pod/'), UsageError);
  });

  test('a missing command or one over the limits is a usage error', () => {
    assert.throws(() => checkCommand([]), (e: unknown) => e instanceof UsageError && /exec needs a command after the pod/.test(e.message));
    assert.throws(() => checkCommand(Array(LIMITS.maxExecArgs + 1).fill('a')), UsageError);
    assert.doesNotThrow(() => checkCommand(['ls', '-la']));
  });

  test('stdin is cut into chunks the server takes', () => {
    const pieces = [...stdinPieces(Buffer.alloc(LIMITS.maxExecChunkBytes * 2 + 1))];
    assert.deepEqual(pieces.map((p) => p.length), [LIMITS.maxExecChunkBytes, LIMITS.maxExecChunkBytes, 1]);
  });
});

describe('runExecSession', () => {
  test('output goes to stdout and stderr apart and a non-zero exit is reported and returned as kubectl does', async () => {
    const f = fakeStream([{ stdout: Buffer.from('out\n'), output: 'stdout' }, { stderr: Buffer.from('err\n'), output: 'stderr' }, { exit: { exitCode: 3 }, output: 'exit' }]);
    const s = sinks();
    const code = await runExecSession(f.stream, { ...s.io, stdin: new PassThrough() }, input, never);
    assert.equal(code, 3);
    assert.equal(s.out(), 'out\n');
    assert.equal(s.err(), 'err\ncommand terminated with exit code 3\n');
    assert.deepEqual(f.sent[0], { start: { namespace: 'default', pod: 'web', container: '', command: ['sh', '-c', 'x'], stdin: false, tty: false, size: null } });
    assert.equal(f.ended(), true, 'without -i the CLI sends nothing more');
  });

  test('with -i stdin is forwarded and its end is sent before the stream is half-closed', async () => {
    const f = fakeStream([{ exit: { exitCode: 0 }, output: 'exit' }], { waitForEnd: true });
    const stdin = new PassThrough();
    const s = sinks();
    const done = runExecSession(f.stream, { ...s.io, stdin }, { ...input, stdin: true }, never);
    stdin.end('hello');
    assert.equal(await done, 0);
    assert.deepEqual(f.sent.slice(1), [{ stdin: Buffer.from('hello') }, { stdinEof: {} }]);
    assert.equal(s.err(), '');
  });

  test('-t without a local terminal warns as kubectl and runs without one', async () => {
    const f = fakeStream([{ exit: { exitCode: 0 }, output: 'exit' }]);
    const s = sinks();
    await runExecSession(f.stream, { ...s.io, stdin: new PassThrough() }, { ...input, tty: true }, never);
    assert.equal(s.err(), `${NO_TTY_WARNING}\n`);
    assert.equal(f.sent[0]!.start!.tty, false);
  });

  test('-it on a terminal sends its size, goes raw for the exec only and forwards resizes', async () => {
    const f = fakeStream([{ exit: { exitCode: 0 }, output: 'exit' }], { waitForEnd: true });
    const raw: boolean[] = [];
    let resize: (c: number, r: number) => void = () => undefined;
    const terminal: LocalTerminal = { columns: 90, rows: 30, setRaw: (on) => void raw.push(on), onResize: (fn) => { resize = fn; return () => undefined; } };
    const stdin = new PassThrough();
    const s = sinks();
    const io: ExecIo = { ...s.io, stdin, terminal };
    const done = runExecSession(f.stream, io, { ...input, stdin: true, tty: true }, never);
    await new Promise((r) => setImmediate(r));
    resize(100, 40);
    stdin.end();
    await done;
    assert.deepEqual(f.sent[0]!.start!.size, { columns: 90, rows: 30 });
    assert.deepEqual(f.sent[1], { resize: { columns: 100, rows: 40 } });
    assert.deepEqual(raw, [true, false]);
  });

  test('Ctrl-C cancels the exec (the board kills the command) and exits 130', async () => {
    const f = fakeStream([], { waitForEnd: true });
    const ac = new AbortController();
    const s = sinks();
    const done = runExecSession(f.stream, { ...s.io, stdin: new PassThrough() }, { ...input, tty: true, stdin: false }, ac.signal);
    ac.abort();
    assert.equal(await done, EXIT_INTERRUPTED);
    assert.equal(f.cancelled(), true);
  });

  test('a stream that ends without an exit code is a failure, not a success', async () => {
    const f = fakeStream([{ stdout: Buffer.from('partial'), output: 'stdout' }]);
    const s = sinks();
    await assert.rejects(runExecSession(f.stream, { ...s.io, stdin: new PassThrough() }, input, never), /ended without the command's exit code/);
  });
});
