import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../proto/util/log.js';
import { requireAdmin } from '../pki/auth.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import type { Pod, PodPhase } from '../../proto/model.js';
import type { ExecResponse, ExecStart__Output, TunnelDown, TunnelUp__Output } from '../../proto/types.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { TunnelRegistry } from '../nodes/node-tunnels.js';
import { ExecRelay, execHandler, prepareExec } from './api-exec.js';

function pod(over: { phase?: PodPhase; nodeName?: string; containers?: string[]; annotations?: Record<string, string>; waiting?: string } = {}): Pod {
  const names = over.containers ?? ['main'];
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', ...(over.annotations ? { annotations: over.annotations } : {}) },
    spec: { nodeName: over.nodeName ?? 'pi-1', containers: names.map((name) => ({ name, image: 'busybox' })) },
    status: {
      phase: over.phase ?? 'Running',
      containerStatuses: names.map((name) => ({
        name, image: 'busybox', ready: true, restartCount: 0,
        state: over.waiting && name === names[0] ? { waiting: { reason: over.waiting } } : { running: { startedAt: '2026-01-01T00:00:00Z' } },
      })),
    },
  } as Pod;
}

async function storeWith(p: Pod): Promise<Store> {
  const store = createMemoryStore();
  await store.propose({ ops: [{ type: 'put', object: p }] });
  return store;
}

function start(over: Partial<ExecStart__Output> = {}): ExecStart__Output {
  return { namespace: '', pod: 'web', container: '', command: ['sh'], stdin: false, tty: false, size: null, podUid: '', ...over };
}

/** A connected agent whose tunnel records what the control plane sends down. */
function connected(nodeName = 'pi-1'): { tunnels: TunnelRegistry; down: TunnelDown[]; up(msg: Partial<TunnelUp__Output>): void } {
  const tunnels = new TunnelRegistry();
  const down: TunnelDown[] = [];
  const t = tunnels.attach(nodeName, { write: (m) => void down.push(m), end: () => undefined });
  return {
    tunnels, down,
    up: (msg) => t.onFrame({ nodeName: '', requestId: 1, data: Buffer.alloc(0), done: false, error: '', pods: [], exec: null, execStdinAcked: 0, ...msg } as TunnelUp__Output),
  };
}

function expectError(fn: () => unknown, code: string, text: string | RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isBrambleError(e), String(e));
    assert.equal((e as BrambleError).code, code, (e as BrambleError).message);
    if (typeof text === 'string') assert.ok((e as BrambleError).message.includes(text), (e as BrambleError).message);
    else assert.match((e as BrambleError).message, text);
    return;
  }
  assert.fail('expected a throw');
}

describe('prepareExec', () => {
  test('a running pod on a connected node gets its uid and its only container filled in', async () => {
    const store = await storeWith(pod());
    const { tunnels } = connected();
    const p = prepareExec(store, tunnels, start({ command: ['ls', '-l'] }));
    assert.deepEqual(p.start, { namespace: 'default', pod: 'web', container: 'main', command: ['ls', '-l'], stdin: false, tty: false, size: null, podUid: 'uid-web' });
  });

  test('a missing pod is NOT_FOUND naming it', async () => {
    const { tunnels } = connected();
    expectError(() => prepareExec(createMemoryStore(), tunnels, start()), 'NOT_FOUND', 'pod "web" not found in namespace "default"');
  });

  test('a wrong container name fails naming it and listing the pod’s containers', async () => {
    const store = await storeWith(pod({ containers: ['app', 'sidecar'] }));
    expectError(() => prepareExec(store, connected().tunnels, start({ container: 'nope' })), 'NOT_FOUND', 'container "nope" is not in pod "web" in namespace "default": its containers are app, sidecar');
  });

  test('without -c a pod of several containers uses the default-container annotation, else the first', async () => {
    const { tunnels } = connected();
    assert.equal(prepareExec(await storeWith(pod({ containers: ['app', 'sidecar'] })), tunnels, start()).start.container, 'app');
    const annotated = pod({ containers: ['app', 'sidecar'], annotations: { 'kubectl.kubernetes.io/default-container': 'sidecar' } });
    assert.equal(prepareExec(await storeWith(annotated), tunnels, start()).start.container, 'sidecar');
  });

  test('a pending pod, a completed pod and a waiting container are refused with their state', async () => {
    const { tunnels } = connected();
    const [pending, done, waiting] = [await storeWith(pod({ phase: 'Pending' })), await storeWith(pod({ phase: 'Succeeded' })), await storeWith(pod({ waiting: 'CrashLoopBackOff' }))];
    expectError(() => prepareExec(pending, tunnels, start()), 'UNAVAILABLE', 'is not running: its phase is Pending');
    expectError(() => prepareExec(done, tunnels, start()), 'INVALID_ARGUMENT', 'cannot exec into a container in a completed pod');
    expectError(() => prepareExec(waiting, tunnels, start()), 'UNAVAILABLE', 'container "main" of pod "web" in namespace "default" is not running: it is waiting (CrashLoopBackOff)');
  });

  test('a running init container is exec’d into by name, even while the pod is Pending; a finished one is refused', async () => {
    const initializing = pod({ phase: 'Pending', waiting: 'PodInitializing' });
    initializing.spec = { ...initializing.spec, initContainers: [{ name: 'wait', image: 'busybox' }, { name: 'write', image: 'busybox' }] };
    initializing.status = {
      ...initializing.status,
      initContainerStatuses: [
        { name: 'wait', image: 'busybox', ready: false, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
        { name: 'write', image: 'busybox', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '', finishedAt: '' } } },
      ],
    };
    const store = await storeWith(initializing);
    const { tunnels } = connected();
    assert.equal(prepareExec(store, tunnels, start({ container: 'wait' })).start.container, 'wait');
    expectError(() => prepareExec(store, tunnels, start({ container: 'write' })), 'UNAVAILABLE', 'init container "write" of pod "web" in namespace "default" is not running: it has terminated (exit code 0)');
    // Without -c the app container is still the one meant, and it is not running yet.
    expectError(() => prepareExec(store, tunnels, start()), 'UNAVAILABLE', 'is not running: its phase is Pending');
    expectError(() => prepareExec(store, tunnels, start({ container: 'nope' })), 'NOT_FOUND', 'its containers are main; its init containers are wait, write');
  });

  test('a pod whose node has no tunnel fails saying the node is not connected', async () => {
    const store = await storeWith(pod({ nodeName: 'pi-9' }));
    expectError(() => prepareExec(store, connected('pi-1').tunnels, start()), 'NODE_UNREACHABLE', 'node "pi-9" is not connected');
  });

  test('an empty command, too many arguments and too long a command are refused before the board is asked', async () => {
    const store = await storeWith(pod());
    const { tunnels, down } = connected();
    expectError(() => prepareExec(store, tunnels, start({ command: [] })), 'INVALID_ARGUMENT', 'exec needs a command');
    expectError(() => prepareExec(store, tunnels, start({ command: Array(LIMITS.maxExecArgs + 1).fill('x') })), 'LIMIT_EXCEEDED', `no more than ${LIMITS.maxExecArgs} arguments`);
    expectError(() => prepareExec(store, tunnels, start({ command: ['x'.repeat(LIMITS.maxExecCommandLength + 1)] })), 'LIMIT_EXCEEDED', `no more than ${LIMITS.maxExecCommandLength} characters`);
    expectError(() => prepareExec(store, tunnels, start({ size: { columns: 1e6, rows: 10 } })), 'INVALID_ARGUMENT', 'terminal columns must be');
    assert.deepEqual(down, []);
  });
});

class FakeClient {
  written: { msg: ExecResponse; done: () => void }[] = [];
  paused = false;
  write(msg: ExecResponse, done: () => void): boolean {
    this.written.push({ msg, done });
    return true;
  }
  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }
}

async function relayFor(over: Partial<ExecStart__Output> = {}, windowBytes?: number) {
  const store = await storeWith(pod());
  const agent = connected();
  const prepared = prepareExec(store, agent.tunnels, start(over));
  const client = new FakeClient();
  const relay = new ExecRelay(client, prepared.start, prepared.open, windowBytes);
  return { relay, client, agent };
}

const stdinMsg = (b: string) => ({ stdin: Buffer.from(b), request: 'stdin' as const });

describe('ExecRelay', () => {
  test('the start goes down the tunnel, output comes back apart and the exit ends the exec', async () => {
    const { relay, client, agent } = await relayFor();
    assert.equal(agent.down[0]!.exec?.start?.podUid, 'uid-web');
    agent.up({ exec: { stdout: Buffer.from('out'), output: 'stdout' } as never });
    agent.up({ exec: { stderr: Buffer.from('err'), output: 'stderr' } as never });
    agent.up({ exec: { exit: { exitCode: 3 }, output: 'exit' } as never, done: true });
    await relay.done;
    assert.deepEqual(client.written.map((w) => w.msg), [{ stdout: Buffer.from('out') }, { stderr: Buffer.from('err') }, { exit: { exitCode: 3 } }]);
  });

  test('output is acknowledged to the agent only once the client has taken it', async () => {
    const { client, agent } = await relayFor();
    agent.up({ exec: { stdout: Buffer.from('12345'), output: 'stdout' } as never });
    assert.equal(agent.down.filter((d) => d.execOutputAcked).length, 0);
    client.written[0]!.done();
    assert.deepEqual(agent.down.at(-1), { requestId: 1, execOutputAcked: 5 });
  });

  test('stdin goes down with -i, and the client pauses while more than a window waits for acks', async () => {
    const { relay, client, agent } = await relayFor({ stdin: true }, 10);
    relay.onClientMessage(stdinMsg('0123456'));
    assert.equal(client.paused, false);
    relay.onClientMessage(stdinMsg('789ab'));
    assert.equal(client.paused, true);
    assert.deepEqual(agent.down.slice(1).map((d) => d.exec?.stdin?.toString()), ['0123456', '789ab']);
    agent.up({ execStdinAcked: 7 });
    assert.equal(client.paused, false);
    relay.onClientEnd();
    assert.deepEqual(agent.down.at(-1), { requestId: 1, exec: { stdinEof: {} } });
  });

  test('stdin without -i, an oversized chunk and a second start are refused', async () => {
    const plain = await relayFor();
    assert.throws(() => plain.relay.onClientMessage(stdinMsg('x')), /did not ask for stdin/);
    const { relay } = await relayFor({ stdin: true });
    assert.throws(() => relay.onClientMessage({ stdin: Buffer.alloc(LIMITS.maxExecChunkBytes + 1), request: 'stdin' }), /no more than 65536 bytes/);
    assert.throws(() => relay.onClientMessage({ start: start(), request: 'start' }), /one start message/);
  });

  test('resizes are forwarded for a terminal only', async () => {
    const tty = await relayFor({ tty: true });
    tty.relay.onClientMessage({ resize: { columns: 100, rows: 40 }, request: 'resize' });
    assert.deepEqual(tty.agent.down.at(-1), { requestId: 1, exec: { resize: { columns: 100, rows: 40 } } });
    const plain = await relayFor();
    plain.relay.onClientMessage({ resize: { columns: 100, rows: 40 }, request: 'resize' });
    assert.equal(plain.agent.down.length, 1);
  });

  test('a client that goes away makes the agent kill the command, once', async () => {
    const { relay, agent } = await relayFor();
    relay.cancel();
    relay.cancel();
    await relay.done;
    assert.deepEqual(agent.down.slice(1), [{ requestId: 1, cancel: {} }]);
  });

  test('an agent that disconnects mid-exec fails it as NODE_UNREACHABLE naming the node', async () => {
    const { relay, agent } = await relayFor();
    agent.tunnels.detach(agent.tunnels.get('pi-1'));
    await assert.rejects(relay.done, (e: unknown) => isBrambleError(e, 'NODE_UNREACHABLE') && /node "pi-1" disconnected/.test((e as Error).message));
  });

  test('an agent’s error frame fails the exec with its message', async () => {
    const { relay, agent } = await relayFor();
    agent.up({ error: 'container "main" of pod "web" is not running on this node', done: true });
    await assert.rejects(relay.done, /node "pi-1": container "main" of pod "web" is not running on this node/);
  });

  test('a node runs at most maxExecsPerNode execs at a time', async () => {
    const store = await storeWith(pod());
    const agent = connected();
    const open = [];
    for (let i = 0; i < LIMITS.maxExecsPerNode; i++) {
      const p = prepareExec(store, agent.tunnels, start());
      open.push(new ExecRelay(new FakeClient(), p.start, p.open));
    }
    const p = prepareExec(store, agent.tunnels, start());
    assert.throws(() => new ExecRelay(new FakeClient(), p.start, p.open), (e: unknown) => isBrambleError(e, 'RATE_LIMITED') && /no more than 8 execs/.test((e as Error).message));
    open[0]!.cancel();
    const again = prepareExec(store, agent.tunnels, start());
    assert.doesNotThrow(() => new ExecRelay(new FakeClient(), again.start, again.open));
  });
});

class FakeCall extends EventEmitter {
  cancelled = false;
  writes: ExecResponse[] = [];
  errors: { code: number; details: string }[] = [];
  endedByServer = false;
  constructor(private readonly identity?: { CN: string; O: string }) {
    super();
    this.on('error', (e: { code: number; details: string }) => {
      if (typeof e?.code === 'number') this.errors.push(e);
    });
  }
  getAuthContext() { return this.identity ? { sslPeerCertificate: { subject: this.identity } } : {}; }
  getPeer() { return '10.0.0.9:4000'; }
  write(m: ExecResponse, cb?: () => void): boolean { this.writes.push(m); cb?.(); return true; }
  pause(): this { return this; }
  resume(): this { return this; }
  end(): void { this.endedByServer = true; }
}

describe('execHandler', () => {
  const ADMIN = { CN: 'admin', O: 'bramble:admins' };
  async function handlerFor() {
    const store = await storeWith(pod());
    const agent = connected();
    const handler = execHandler({ logger: silentLogger() }, { authorize: (call) => requireAdmin(call, 'use the Cluster API'), prepare: (s) => prepareExec(store, agent.tunnels, s) });
    const run = (identity?: { CN: string; O: string }): FakeCall => {
      const call = new FakeCall(identity);
      handler(call as never);
      return call;
    };
    return { run, agent };
  }

  test('a node certificate may not exec: FORBIDDEN, and the board is never asked', async () => {
    const { run, agent } = await handlerFor();
    const call = run({ CN: 'system:node:pi-1', O: 'bramble:nodes' });
    call.emit('data', { start: start(), request: 'start' });
    assert.equal(call.errors[0]?.code, grpc.status.PERMISSION_DENIED);
    assert.match(call.errors[0]!.details, /node "pi-1" may not use the Cluster API/);
    assert.deepEqual(agent.down, []);
  });

  test('the admin’s exec runs to its exit and the stream ends cleanly', async () => {
    const { run, agent } = await handlerFor();
    const call = run(ADMIN);
    call.emit('data', { start: start(), request: 'start' });
    agent.up({ exec: { exit: { exitCode: 0 }, output: 'exit' } as never, done: true });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(call.writes, [{ exit: { exitCode: 0 } }]);
    assert.equal(call.endedByServer, true);
  });

  test('a first message that is not a start is refused', async () => {
    const { run } = await handlerFor();
    const call = run(ADMIN);
    call.emit('data', { stdin: Buffer.from('x'), request: 'stdin' });
    assert.equal(call.errors[0]?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(call.errors[0]!.details, /the first Exec message must be start/);
  });

  test('a client that disconnects makes the board kill the command', async () => {
    const { run, agent } = await handlerFor();
    const call = run(ADMIN);
    call.emit('data', { start: start(), request: 'start' });
    call.cancelled = true;
    call.emit('cancelled');
    assert.deepEqual(agent.down.at(-1), { requestId: 1, cancel: {} });
  });
});
