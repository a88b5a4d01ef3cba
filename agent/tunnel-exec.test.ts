import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { silentLogger } from '../proto/util/log.js';
import { LIMITS } from '../proto/limits.js';
import type { ExecRequest__Output, TunnelUp } from '../proto/types.js';
import type { ExecProcess, ExecTarget } from './exec-stream.js';
import { TunnelExecs, type ExecBackend } from './tunnel-exec.js';

class FakeProcess implements ExecProcess {
  stdin = new PassThrough();
  stdout = new PassThrough();
  stderr = new PassThrough();
  killed = false;
  resizes: [number, number][] = [];
  input: Buffer[] = [];
  stdinEnded = false;
  private exit!: (code: number) => void;
  exited = new Promise<number>((r) => (this.exit = r));
  constructor() {
    this.stdin.on('data', (d: Buffer) => this.input.push(d));
    this.stdin.on('end', () => (this.stdinEnded = true));
  }
  resize(c: number, r: number): void { this.resizes.push([c, r]); }
  kill(): void { this.killed = true; }
  finish(code: number): void {
    this.stdout.end();
    this.stderr.end();
    this.exit(code);
  }
}

/** Lets stream and promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

function setup(opts: { resolve?: ExecBackend['resolve']; windowBytes?: number } = {}) {
  const sent: TunnelUp[] = [];
  const procs: FakeProcess[] = [];
  const targets: ExecTarget[] = [];
  const backend: ExecBackend = {
    resolve: opts.resolve ?? (async (ref) => `cid-${ref.container}`),
    spawn: (t) => {
      targets.push(t);
      const p = new FakeProcess();
      procs.push(p);
      return p;
    },
  };
  const execs = new TunnelExecs({ send: (m) => void sent.push(m), backend, logger: silentLogger(), windowBytes: opts.windowBytes });
  return { execs, sent, procs, targets };
}

const startReq = (over: Record<string, unknown> = {}): ExecRequest__Output => ({
  start: { namespace: 'default', pod: 'web', podUid: 'u1', container: 'main', command: ['sh', '-c', 'echo hi'], stdin: false, tty: false, size: null, ...over },
  request: 'start',
});
const stdin = (s: string): ExecRequest__Output => ({ stdin: Buffer.from(s), request: 'stdin' });

describe('TunnelExecs', () => {
  test('a start resolves the container and spawns the command; output frames and then the exit go up', async () => {
    const { execs, sent, procs, targets } = setup();
    execs.onRequest(4, startReq());
    await settle();
    assert.deepEqual(targets, [{ containerId: 'cid-main', argv: ['sh', '-c', 'echo hi'], tty: false, size: undefined }]);
    assert.equal(procs[0]!.stdinEnded, true, 'without -i the command reads an empty stdin');
    procs[0]!.stdout.write('out');
    procs[0]!.stderr.write('err');
    procs[0]!.finish(3);
    await settle();
    assert.deepEqual(sent, [
      { requestId: 4, exec: { stdout: Buffer.from('out') } },
      { requestId: 4, exec: { stderr: Buffer.from('err') } },
      { requestId: 4, exec: { exit: { exitCode: 3 } }, done: true },
    ]);
    assert.equal(execs.size, 0);
  });

  test('stdin is written to the command and acknowledged, also when it arrives before the spawn; its end closes stdin', async () => {
    const { execs, sent, procs } = setup();
    execs.onRequest(1, startReq({ stdin: true }));
    execs.onRequest(1, stdin('early '));
    await settle();
    execs.onRequest(1, stdin('late'));
    execs.onRequest(1, { stdinEof: {}, request: 'stdinEof' });
    await settle();
    assert.equal(Buffer.concat(procs[0]!.input).toString(), 'early late');
    assert.equal(procs[0]!.stdinEnded, true);
    assert.deepEqual(sent.map((m) => m.execStdinAcked), [6, 4]);
  });

  test('output pauses once a window is unacknowledged and resumes when the control plane catches up', async () => {
    const { execs, procs } = setup({ windowBytes: 8 });
    execs.onRequest(1, startReq());
    await settle();
    const out = procs[0]!.stdout;
    out.write('0123456789');
    await settle();
    assert.equal(out.isPaused(), true);
    execs.onOutputAcked(1, 10);
    assert.equal(out.isPaused(), false);
  });

  test('a resize reaches a terminal, and a cancel kills the command and sends nothing more', async () => {
    const { execs, sent, procs } = setup();
    execs.onRequest(2, startReq({ tty: true, size: { columns: 80, rows: 24 } }));
    await settle();
    execs.onRequest(2, { resize: { columns: 120, rows: 50 }, request: 'resize' });
    assert.deepEqual(procs[0]!.resizes, [[120, 50]]);
    assert.equal(procs[0]!.stdinEnded, false, 'a terminal without -i keeps its stdin open');
    assert.equal(execs.cancel(2), true);
    procs[0]!.finish(137);
    await settle();
    assert.equal(procs[0]!.killed, true);
    assert.deepEqual(sent, []);
    assert.equal(execs.cancel(2), false);
  });

  test('the tunnel closing kills every open exec', async () => {
    const { execs, procs } = setup();
    execs.onRequest(1, startReq());
    execs.onRequest(2, startReq());
    await settle();
    execs.closeAll();
    assert.deepEqual(procs.map((p) => p.killed), [true, true]);
  });

  test('a container that cannot be found, a bad command and too many execs are answered with an error frame', async () => {
    const { execs, sent } = setup({ resolve: async () => { throw new Error('container "main" of pod "web" is not running on this node'); } });
    execs.onRequest(1, startReq());
    execs.onRequest(2, startReq({ command: [] }));
    await settle();
    assert.deepEqual(sent.find((m) => m.requestId === 1), { requestId: 1, error: 'container "main" of pod "web" is not running on this node', done: true });
    assert.match(String(sent.find((m) => m.requestId === 2)?.error), /exec needs a command/);

    const busy = setup({ resolve: () => new Promise(() => undefined) });
    for (let i = 1; i <= LIMITS.maxExecsPerNode + 1; i++) busy.execs.onRequest(i, startReq());
    assert.match(String(busy.sent[0]?.error), /no more than 8 execs/);
  });

  test('an agent without a runtime refuses execs', () => {
    const sent: TunnelUp[] = [];
    new TunnelExecs({ send: (m) => void sent.push(m), logger: silentLogger() }).onRequest(1, startReq());
    assert.match(String(sent[0]?.error), /this agent cannot exec/);
  });
});
