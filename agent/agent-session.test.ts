import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import { FakeClock } from '../proto/util/clock.js';
import { silentLogger, type Logger } from '../proto/util/log.js';
import type { Pod } from '../proto/model.js';
import { AgentSession, IMAGE_BUFFER_BYTES, TUNNEL_FRAME_BYTES, type DesiredState, type TunnelHandlers } from './agent-session.js';

class FakeStream extends EventEmitter {
  written: unknown[] = [];
  cancelled = false;
  /** Frames the stream takes before write() asks the writer to wait for 'drain'. */
  room = Infinity;
  paused = false;
  write(m: unknown): boolean {
    this.written.push(m);
    return --this.room > 0;
  }
  cancel(): void {
    this.cancelled = true;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
}

/** Log lines as JSON objects, from debug up. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const out: string[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => void out.push(s) }) as unknown as Logger;
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => out.join('') };
}

/** Lets queued promise callbacks and stream handlers run (no timers involved). */
async function settle(clock: FakeClock, rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await clock.advance(0);
}

type Callback = (err: Error | null, res?: object) => void;

function fakeClient(opts: { heartbeatFails?: () => boolean; statusFails?: () => boolean; heartbeatAnswer?: () => object } = {}) {
  const watches: FakeStream[] = [];
  const tunnels: FakeStream[] = [];
  const statuses: { name: string; status: string; finalized: boolean }[] = [];
  let heartbeats = 0;
  const client = {
    Heartbeat: (_req: object, _opts: object, cb: Callback) => {
      heartbeats++;
      queueMicrotask(() => (opts.heartbeatFails?.() ? cb(new Error('unavailable')) : cb(null, opts.heartbeatAnswer?.() ?? {})));
    },
    UpdatePodStatus: (req: { name: string; status: string; finalized: boolean }, cb: Callback) => {
      queueMicrotask(() => {
        if (opts.statusFails?.()) return cb(new Error('unavailable'));
        statuses.push(req);
        cb(null, {});
      });
    },
    WatchAssignments: () => {
      const s = new FakeStream();
      watches.push(s);
      return s;
    },
    Tunnel: () => {
      const s = new FakeStream();
      tunnels.push(s);
      return s;
    },
  } as unknown as NodeClient;
  return { client, watches, tunnels, statuses, heartbeatCount: () => heartbeats };
}

const pod = (name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
const event = (type: string, obj?: object) => ({ type, object: obj ? JSON.stringify(obj) : '', revision: 1 });

function session(
  fake: ReturnType<typeof fakeClient>, clock: FakeClock, seen: { state: DesiredState; synced: boolean }[],
  opts: { logger?: Logger; tunnel?: Partial<TunnelHandlers>; onCaBundle?: (sha256: string) => void } = {},
) {
  return new AgentSession({
    ...(opts.onCaBundle ? { onCaBundle: opts.onCaBundle } : {}),
    client: fake.client, nodeName: 'pi-1', clock, logger: opts.logger ?? silentLogger(), heartbeatIntervalMs: 10_000,
    heartbeat: async () => ({ nodeName: 'pi-1' }),
    onDesired: (state, synced) => seen.push({ state, synced }),
    tunnel: { logs: async function* () {}, importImage: async () => [], podFigures: async () => [], ...opts.tunnel },
  });
}

type Frame = { requestId?: number; data?: Buffer; done?: boolean; error?: string };

describe('AgentSession', () => {
  test('the assigned set is handed over only once the control plane says it is complete, then on every change', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const seen: { state: DesiredState; synced: boolean }[] = [];
    const s = session(fake, clock, seen);
    s.start();
    const w = fake.watches[0]!;
    w.emit('data', event('SYNC', pod('a')));
    assert.equal(seen.length, 0);
    w.emit('data', event('SYNCED'));
    w.emit('data', event('ADDED', pod('b')));
    w.emit('data', event('DELETED', pod('a')));
    assert.deepEqual(seen.map((x) => [x.synced, x.state.pods.map((p) => p.metadata.name)]), [[true, ['a']], [true, ['a', 'b']], [true, ['b']]]);
    s.stop();
  });

  test('a broken assignment stream is opened again after a back-off, starting from a fresh sync', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const s = session(fake, clock, []);
    s.start();
    fake.watches[0]!.emit('error', new Error('server went away'));
    assert.equal(fake.watches.length, 1);
    await clock.advance(499);
    assert.equal(fake.watches.length, 1);
    await clock.advance(1);
    assert.equal(fake.watches.length, 2);
    s.stop();
  });

  test('the CA bundle hash of each heartbeat answer is handed on, so a CA rotation reaches the renewal of the node certificate', async () => {
    let answer: object = {};
    const fake = fakeClient({ heartbeatAnswer: () => answer });
    const clock = new FakeClock();
    const heard: string[] = [];
    const s = session(fake, clock, [], { onCaBundle: (h) => heard.push(h) });
    s.start();
    await clock.advance(0);
    assert.deepEqual(heard, [], 'an answer without a hash (an older server) says nothing');
    answer = { caBundleSha256: 'ab12' };
    await clock.advance(10_000);
    assert.deepEqual(heard, ['ab12']);
    s.stop();
  });

  test('heartbeats go out at start and every interval, whether or not the last one got through', async () => {
    let down = true;
    const fake = fakeClient({ heartbeatFails: () => down });
    const clock = new FakeClock();
    const s = session(fake, clock, []);
    s.start();
    await clock.advance(0);
    assert.equal(s.connected, false);
    down = false;
    await clock.advance(10_000);
    assert.equal(fake.heartbeatCount(), 2);
    assert.equal(s.connected, true);
    s.stop();
  });

  test('pod status reports survive an outage, and only the newest status of a pod is sent', async () => {
    let down = true;
    const fake = fakeClient({ statusFails: () => down });
    const clock = new FakeClock();
    const s = session(fake, clock, []);
    s.reportStatus(pod('a'), { phase: 'Pending' });
    await clock.advance(0);
    s.reportStatus(pod('a'), { phase: 'Running' });
    await clock.advance(0);
    assert.equal(fake.statuses.length, 0);
    down = false;
    await clock.advance(2_000);
    assert.deepEqual(fake.statuses.map((x) => [x.name, JSON.parse(x.status).phase]), [['a', 'Running']]);
    s.stop();
  });

  test('the tunnel introduces the node first and answers a logs request with data then done', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const s = new AgentSession({
      client: fake.client, nodeName: 'pi-1', clock, logger: silentLogger(), heartbeatIntervalMs: 10_000,
      heartbeat: async () => ({ nodeName: 'pi-1' }),
      onDesired: () => undefined,
      tunnel: {
        logs: async function* () { yield Buffer.from('line 1\n'); },
        importImage: async () => [],
        podFigures: async () => [],
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    assert.deepEqual(t.written[0], { nodeName: 'pi-1' });
    t.emit('data', { requestId: 7, logs: { namespace: 'default', pod: 'a', container: 'c', follow: false, tailLines: -1 } });
    await clock.advance(0);
    assert.deepEqual(t.written.slice(1), [{ requestId: 7, data: Buffer.from('line 1\n') }, { requestId: 7, done: true }]);
    s.stop();
  });
  test('malformed assignment events are logged once each and skipped, and later good ones still apply', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const log = capturingLogger();
    const seen: { state: DesiredState; synced: boolean }[] = [];
    const s = session(fake, clock, seen, { logger: log.logger });
    s.start();
    const w = fake.watches[0]!;
    const deep = `${'{"d":'.repeat(100_000)}{}${'}'.repeat(100_000)}`;
    const bad: { type: unknown; object: unknown }[] = [
      { type: 'ADDED', object: '{"kind":"Secret","metadata":{"name":"s"},"data":{"k":"czNjcmV0LXZhbHVl"' },
      { type: 'ADDED', object: '[1,2,3]' },
      { type: 'ADDED', object: 'null' },
      { type: 'ADDED', object: JSON.stringify({ kind: 'Pod', spec: { containers: [] } }) },
      { type: 'ADDED', object: JSON.stringify({ kind: 'Deployment', metadata: { name: 'd', namespace: 'default' } }) },
      { type: 'ADDED', object: JSON.stringify({ ...pod('x'), metadata: { name: '../../etc', namespace: 'default', uid: 'u' } }) },
      { type: 'ADDED', object: JSON.stringify({ ...pod('x'), metadata: { name: 'x', namespace: 'default', uid: '../u' } }) },
      { type: 'ADDED', object: JSON.stringify({ ...pod('x'), spec: { containers: [{ name: 'a/b', image: 'i' }] } }) },
      { type: 'ADDED', object: JSON.stringify({ ...pod('x'), spec: { containers: [{ name: 'c', image: 'i' }], volumes: [{ name: '..', emptyDir: {} }] } }) },
      { type: 'ADDED', object: JSON.stringify({ kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { k: 42 } }) },
      { type: 'ADDED', object: JSON.stringify(pod('x')).replace(/}$/, `,"deep":${deep}}`) },
      { type: 'ADDED', object: `{"kind":"Pod","pad":"${'x'.repeat(5 * 1024 * 1024)}"}` },
      { type: 'EXPLODED', object: JSON.stringify(pod('x')) },
      { type: 'ADDED', object: 42 },
    ];
    w.emit('data', event('SYNCED'));
    for (const ev of bad) w.emit('data', { ...ev, revision: 1 });
    w.emit('data', event('ADDED', pod('good')));
    assert.deepEqual(seen.map((x) => x.state.pods.map((p) => p.metadata.name)), [[], ['good']]);
    const skipped = log.lines().filter((l) => String(l.msg).startsWith('bad assignment event'));
    // Five at warn in the minute, the rest at debug: each bad event is one line, none is silent.
    assert.equal(skipped.length, bad.length);
    assert.equal(skipped.filter((l) => l.level === 40).length, 5);
    assert.match(String(skipped[0]!.err), /object must be JSON: it is not/);
    assert.match(String(skipped[5]!.err), /metadata\.name must be a lowercase RFC 1123 name/);
    assert.ok(!log.text().includes('czNjcmV0LXZhbHVl'), 'a Secret value must never reach the log');
    s.stop();
  });

  test('a failure while applying a checked assignment is logged and the stream keeps being read', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const log = capturingLogger();
    let calls = 0;
    const s = new AgentSession({
      client: fake.client, nodeName: 'pi-1', clock, logger: log.logger, heartbeatIntervalMs: 10_000,
      heartbeat: async () => ({ nodeName: 'pi-1' }),
      onDesired: () => {
        if (++calls === 1) throw new Error('reconciler refused');
      },
      tunnel: { logs: async function* () {}, importImage: async () => [], podFigures: async () => [] },
    });
    s.start();
    const w = fake.watches[0]!;
    w.emit('data', event('SYNCED'));
    w.emit('data', event('ADDED', pod('a')));
    assert.equal(calls, 2);
    assert.ok(log.lines().some((l) => l.msg === 'assignment could not be applied; skipped'));
    s.stop();
  });

  test('bad tunnel requests get an error frame or are dropped, and the tunnel keeps answering', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const log = capturingLogger();
    const s = session(fake, clock, [], {
      logger: log.logger,
      tunnel: {
        logs: (req) => {
          if (req.pod !== 'ok') throw new Error(`pod "${req.pod}" is not on this board`);
          return (async function* () { yield Buffer.from(`tail ${req.tailLines}\n`); })();
        },
        podFigures: async () => { throw new Error('no figures'); },
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    const logs = (id: unknown, over: object = {}) => ({ requestId: id, logs: { namespace: 'default', pod: 'ok', container: 'c', follow: false, tailLines: -1, ...over } });
    t.emit('data', logs(1, { pod: '../../etc/passwd' }));
    t.emit('data', { requestId: 2, cancel: {} });
    t.emit('data', logs(0));
    t.emit('data', logs(Number.MAX_VALUE));
    t.emit('data', { requestId: 3 });
    t.emit('data', { requestId: 4, top: { what: 'pods' } });
    t.emit('data', logs(5, { tailLines: 1e300 }));
    t.emit('data', logs(6, { tailLines: -7 }));
    t.emit('data', null);
    await settle(clock);
    const frames = (t.written.slice(1) as Frame[]).map((f) => [f.requestId, f.error ?? f.data?.toString() ?? (f.done ? 'done' : '?')]);
    assert.deepEqual(frames.sort((a, b) => Number(a[0]) - Number(b[0])), [
      [1, 'pod "../../etc/passwd" is not on this board'],
      [3, 'a tunnel request must be logs, image, cancel, top or exec: this one is none of them'],
      [4, 'no figures'],
      [5, 'tail -1\n'], [5, 'done'],
      [6, 'tail -7\n'], [6, 'done'],
    ]);
    assert.equal(fake.tunnels.length, 1, 'the tunnel must stay open');
    s.stop();
  });

  test('a logs answer is split into frames and waits for the tunnel to drain before reading on', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    let pulled = 0;
    const big = Buffer.alloc(TUNNEL_FRAME_BYTES * 2 + 10, 7);
    const s = session(fake, clock, [], {
      tunnel: {
        logs: () => (async function* () {
          for (let i = 0; i < 3; i++) {
            pulled++;
            yield big;
          }
        })(),
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    t.room = 2;
    t.emit('data', { requestId: 9, logs: { namespace: 'default', pod: 'p', container: 'c', follow: false, tailLines: -1 } });
    await settle(clock);
    assert.equal(pulled, 1, 'the log must not be read further while the tunnel is full');
    const dataFrames = (): Frame[] => (t.written.slice(1) as Frame[]).filter((f) => f.data);
    assert.equal(dataFrames().length, 2);
    t.room = Infinity;
    t.emit('drain');
    await settle(clock);
    assert.equal(pulled, 3);
    const frames = dataFrames();
    assert.ok(frames.every((f) => f.data!.length <= TUNNEL_FRAME_BYTES));
    assert.equal(Buffer.concat(frames.map((f) => f.data!)).length, big.length * 3);
    assert.deepEqual(t.written.at(-1), { requestId: 9, done: true });
    s.stop();
  });

  test('a cancel stops a logs answer, and a closed tunnel aborts it and is opened again', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const s = session(fake, clock, [], {
      tunnel: {
        logs: (_req, signal) => {
          signals.push(signal);
          return (async function* () {
            yield Buffer.from('first\n');
            await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
          })();
        },
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    const req = (id: number) => ({ requestId: id, logs: { namespace: 'default', pod: 'p', container: 'c', follow: true, tailLines: -1 } });
    t.emit('data', req(1));
    t.emit('data', req(1));
    t.emit('data', req(2));
    await settle(clock);
    assert.deepEqual((t.written.slice(1) as Frame[]).filter((f) => f.error).map((f) => f.requestId), [1], 'a second request on an open id is refused');
    t.emit('data', { requestId: 1, cancel: {} });
    assert.equal(signals[0]!.aborted, true);
    assert.equal(signals[1]!.aborted, false);
    t.emit('end');
    assert.equal(signals[1]!.aborted, true);
    await clock.advance(500);
    assert.equal(fake.tunnels.length, 2);
    s.stop();
  });

  test('a garbage image is answered with the import error, and its remaining chunks start no new import', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const imports: number[] = [];
    const s = session(fake, clock, [], {
      tunnel: {
        importImage: async (chunks) => {
          imports.push(imports.length);
          for await (const c of chunks) if (c.includes('garbage')) throw new Error('ctr: unrecognized image format');
          return ['docker.io/library/ok:1'];
        },
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    t.emit('data', { requestId: 1, image: { node: 'pi-1', data: Buffer.from('garbage') } });
    await settle(clock);
    t.emit('data', { requestId: 1, image: { node: '', data: Buffer.from('more garbage') } });
    t.emit('data', { requestId: 1, image: { node: '', data: Buffer.alloc(0) } });
    t.emit('data', { requestId: 2, image: { node: 'pi-1', data: Buffer.from('tar') } });
    t.emit('data', { requestId: 2, image: { node: '', data: 'not a buffer' } });
    t.emit('data', { requestId: 2, image: { node: '', data: Buffer.alloc(0) } });
    await settle(clock);
    assert.equal(imports.length, 2);
    assert.deepEqual((t.written.slice(1) as Frame[]).map((f) => [f.requestId, f.error ?? f.data?.toString()]), [
      [1, 'ctr: unrecognized image format'],
      [2, '["docker.io/library/ok:1"]'],
    ]);
    s.stop();
  });

  test('image chunks arriving faster than they are written pause the tunnel until the writer catches up', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    let release: (() => void) | undefined;
    let written = 0;
    const s = session(fake, clock, [], {
      tunnel: {
        importImage: async (chunks) => {
          for await (const c of chunks) {
            // The first chunk's disk write hangs until the test releases it.
            if (written === 0) await new Promise<void>((r) => (release = r));
            written += c.length;
          }
          return [];
        },
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    const mib = Buffer.alloc(1024 * 1024);
    t.emit('data', { requestId: 1, image: { node: 'pi-1', data: mib } });
    for (let i = 0; i * mib.length <= IMAGE_BUFFER_BYTES; i++) t.emit('data', { requestId: 1, image: { data: mib } });
    assert.equal(t.paused, true);
    await settle(clock);
    release!();
    await settle(clock);
    assert.equal(t.paused, false);
    t.emit('data', { requestId: 1, image: { data: Buffer.alloc(0) } });
    await settle(clock);
    assert.deepEqual(t.written.at(-1), { requestId: 1, data: Buffer.from('[]'), done: true });
    s.stop();
  });

  test('an image import open when the tunnel closes fails instead of waiting forever', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    let outcome = '';
    const s = session(fake, clock, [], {
      tunnel: {
        importImage: async (chunks) => {
          try {
            for await (const _ of chunks) { /* writing */ }
            outcome = 'complete';
          } catch (e) {
            outcome = (e as Error).message;
            throw e;
          }
          return [];
        },
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    t.emit('data', { requestId: 1, image: { node: 'pi-1', data: Buffer.from('part') } });
    await settle(clock);
    t.emit('error', new Error('connection reset'));
    await settle(clock);
    assert.equal(outcome, 'the tunnel closed before the image was complete');
    s.stop();
  });
});

describe('AgentSession execs on the tunnel', () => {
  function execSession() {
    const fake = fakeClient();
    const clock = new FakeClock();
    const procs: { killed: boolean; stdout: PassThrough; stderr: PassThrough; stdin: PassThrough; exit(code: number): void }[] = [];
    const s = session(fake, clock, [], {
      tunnel: {
        exec: {
          resolve: async () => 'cid-1',
          spawn: () => {
            let exit!: (code: number) => void;
            const p = {
              killed: false, stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(),
              exited: new Promise<number>((r) => (exit = r)),
              resize: () => undefined,
              kill: () => { p.killed = true; },
              exit: (code: number) => { p.stdout.end(); p.stderr.end(); exit(code); },
            };
            procs.push(p);
            return p;
          },
        },
      },
    });
    s.start();
    return { s, clock, tunnel: fake.tunnels[0]!, procs };
  }
  const startMsg = { namespace: 'default', pod: 'web', podUid: 'u', container: 'main', command: ['cat'], stdin: true, tty: false, size: null };

  test('exec frames are routed by request id: stdin acknowledged, output sent up, and the exit is the last frame', async () => {
    const { s, clock, tunnel, procs } = execSession();
    tunnel.emit('data', { requestId: 7, exec: { start: startMsg, request: 'start' }, request: 'exec' });
    await settle(clock);
    tunnel.emit('data', { requestId: 7, exec: { stdin: Buffer.from('hi'), request: 'stdin' }, request: 'exec' });
    procs[0]!.stdout.write('hi');
    await settle(clock);
    procs[0]!.exit(0);
    await settle(clock);
    const mine = (tunnel.written as Frame[]).filter((f) => f.requestId === 7);
    assert.equal(mine.length, 3);
    assert.deepEqual(mine.at(-1), { requestId: 7, exec: { exit: { exitCode: 0 } }, done: true });
    assert.deepEqual(mine.slice(0, 2).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
      { requestId: 7, exec: { stdout: Buffer.from('hi') } },
      { requestId: 7, execStdinAcked: 2 },
    ]);
    s.stop();
  });

  test('a cancel kills the exec, and a closed tunnel kills the ones left', async () => {
    const { s, clock, tunnel, procs } = execSession();
    tunnel.emit('data', { requestId: 1, exec: { start: startMsg, request: 'start' }, request: 'exec' });
    tunnel.emit('data', { requestId: 2, exec: { start: startMsg, request: 'start' }, request: 'exec' });
    await settle(clock);
    tunnel.emit('data', { requestId: 1, cancel: {}, request: 'cancel' });
    assert.deepEqual(procs.map((p) => p.killed), [true, false]);
    tunnel.emit('error', new Error('control plane went away'));
    assert.deepEqual(procs.map((p) => p.killed), [true, true]);
    s.stop();
  });
});
