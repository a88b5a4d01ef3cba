import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import type { Container, Pod } from '../proto/model.js';
import { PodProber, resolvePort, runProbe, type HttpProbeRequest, type ProbeTransport } from './pod-probes.js';
import { FakeRuntime } from './runtime-fake.js';
import { LABEL_CONTAINER_NAME, type ContainerInfo } from './runtime.js';

class FakeTransport implements ProbeTransport {
  statusCode = 200;
  tcpError: Error | undefined;
  hang = false;
  readonly requests: HttpProbeRequest[] = [];
  httpGet(req: HttpProbeRequest): Promise<{ statusCode: number }> {
    this.requests.push(req);
    return this.hang ? new Promise(() => {}) : Promise.resolve({ statusCode: this.statusCode });
  }
  async tcpConnect(): Promise<void> {
    if (this.tcpError) throw this.tcpError;
  }
}

function setup(container: Container) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime(clock);
  runtime.seed({ id: 'c-0', image: 'x', env: {}, mounts: [], logPath: '/dev/null', labels: { [LABEL_CONTAINER_NAME]: container.name } });
  const transport = new FakeTransport();
  const changes: string[] = [];
  const prober = new PodProber({ clock, runtime, transport, onChange: (uid) => changes.push(uid) });
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', uid: 'u1' }, spec: { containers: [container] } };
  const info: ContainerInfo = { id: 'c-0', image: 'x', labels: {}, state: 'running', startedAt: clock.now() };
  prober.sync(pod, new Map([[container.name, info]]), '10.42.0.5');
  return { clock, runtime, transport, changes, prober, pod };
}

describe('PodProber', () => {
  test('liveness fails only after failureThreshold consecutive failures, from initialDelaySeconds on', async () => {
    const c: Container = { name: 'app', image: 'x', livenessProbe: { exec: { command: ['ok?'] }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 3 } };
    const { clock, runtime, changes, prober } = setup(c);
    runtime.setExec(['ok?'], { exitCode: 1, stdout: '', stderr: 'no' });
    await clock.advance(29_000);
    assert.equal(runtime.callsOf('exec').length, 0, 'nothing before the initial delay');
    await clock.advance(21_000);
    assert.equal(runtime.callsOf('exec').length, 3);
    assert.equal(prober.livenessFailed('u1', 'app', 'c-0'), true);
    assert.deepEqual(changes, ['u1']);
    await clock.advance(60_000);
    assert.equal(runtime.callsOf('exec').length, 3, 'a failed attempt is not probed any more');
  });

  test('a success in between resets the failure count', async () => {
    const c: Container = { name: 'app', image: 'x', livenessProbe: { exec: { command: ['ok?'] }, periodSeconds: 10, failureThreshold: 2 } };
    const { clock, runtime, prober } = setup(c);
    const results = [1, 0, 1, 0, 1, 1];
    runtime.setExec(['ok?'], () => ({ exitCode: results.shift() ?? 0, stdout: '', stderr: '' }));
    await clock.advance(40_000);
    assert.equal(prober.livenessFailed('u1', 'app', 'c-0'), false);
    await clock.advance(10_000);
    assert.equal(prober.livenessFailed('u1', 'app', 'c-0'), true);
  });

  test('readiness starts unready and flips with successThreshold and failureThreshold', async () => {
    const c: Container = { name: 'web', image: 'x', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { port: 'http', path: '/ready' }, periodSeconds: 5, successThreshold: 2, failureThreshold: 2 } };
    const { clock, transport, changes, prober } = setup(c);
    assert.equal(prober.ready('u1', c, 'c-0'), false);
    await clock.advance(0);
    assert.equal(prober.ready('u1', c, 'c-0'), false, 'one success of two is not enough');
    await clock.advance(5000);
    assert.equal(prober.ready('u1', c, 'c-0'), true);
    assert.deepEqual(transport.requests[0], { host: '10.42.0.5', port: 8080, path: '/ready', scheme: 'HTTP', timeoutMs: 1000 });
    transport.statusCode = 503;
    await clock.advance(5000);
    assert.equal(prober.ready('u1', c, 'c-0'), true);
    await clock.advance(5000);
    assert.equal(prober.ready('u1', c, 'c-0'), false);
    assert.deepEqual(changes, ['u1', 'u1']);
  });

  test('a container without a readiness probe is ready, and stopping the pod stops its probes', async () => {
    const c: Container = { name: 'app', image: 'x', livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } };
    const { clock, transport, prober } = setup(c);
    assert.equal(prober.ready('u1', c, 'c-0'), true);
    transport.tcpError = new Error('ECONNREFUSED');
    prober.stopPod('u1');
    await clock.advance(10_000);
    assert.equal(prober.livenessFailed('u1', 'app', 'c-0'), false);
    assert.equal(clock.pendingCount, 0);
  });
});

describe('runProbe', () => {
  const ctx = (transport: ProbeTransport, clock = new FakeClock()) => ({ runtime: new FakeRuntime(clock), transport, clock, containerId: 'c', podIP: '10.0.0.2', container: { name: 'a', image: 'x' } as Container });

  test('an HTTP probe that does not answer within timeoutSeconds fails', async () => {
    const clock = new FakeClock();
    const t = new FakeTransport();
    t.hang = true;
    const p = runProbe({ httpGet: { port: 80 }, timeoutSeconds: 2 }, ctx(t, clock));
    await clock.advance(2000);
    assert.deepEqual(await p, { ok: false, message: 'probe timed out after 2000 ms' });
  });

  test('HTTP answers from 200 to 399 pass, others fail; a refused TCP connect fails', async () => {
    const t = new FakeTransport();
    t.statusCode = 302;
    assert.equal((await runProbe({ httpGet: { port: 80 } }, ctx(t))).ok, true);
    t.statusCode = 404;
    assert.equal((await runProbe({ httpGet: { port: 80 } }, ctx(t))).ok, false);
    t.tcpError = new Error('connect ECONNREFUSED');
    assert.deepEqual(await runProbe({ tcpSocket: { port: 5432 } }, ctx(t)), { ok: false, message: 'connect ECONNREFUSED' });
  });

  test('a named port the container does not declare fails the probe with a message naming it', async () => {
    const r = await runProbe({ tcpSocket: { port: 'metrics' } }, ctx(new FakeTransport()));
    assert.equal(r.ok, false);
    assert.match(r.message, /"metrics"/);
    assert.equal(resolvePort('8080', { name: 'a', image: 'x' }), 8080);
  });

  test('a startup probe holds back liveness and readiness until it succeeds, and its failure fails liveness', async () => {
    const c: Container = {
      name: 'app', image: 'x',
      startupProbe: { exec: { command: ['started?'] }, periodSeconds: 1, failureThreshold: 3 },
      readinessProbe: { exec: { command: ['ready?'] }, periodSeconds: 1 },
    };
    const { clock, runtime, prober, pod } = setup(c);
    runtime.setExec(['started?'], { exitCode: 1, stdout: '', stderr: '' });
    runtime.setExec(['ready?'], { exitCode: 0, stdout: '', stderr: '' });
    await clock.advance(1500);
    assert.equal(prober.started('u1', c, 'c-0'), false);
    assert.equal(prober.ready('u1', c, 'c-0'), false);
    assert.equal(runtime.callsOf('exec').filter((a) => (a[1] as string[])[0] === 'ready?').length, 0, 'readiness waits for the startup probe');
    runtime.setExec(['started?'], { exitCode: 0, stdout: '', stderr: '' });
    await clock.advance(1000);
    assert.equal(prober.started('u1', c, 'c-0'), true);
    // The reconciler syncs again when told of the change; readiness then begins.
    prober.sync(pod, new Map([['app', { id: 'c-0', image: 'x', labels: {}, state: 'running', startedAt: 0 }]]), '10.42.0.5');
    await clock.advance(2000);
    assert.equal(prober.ready('u1', c, 'c-0'), true);
    assert.equal(prober.livenessFailed('u1', 'app', 'c-0'), false);
  });

  test('a startup probe that fails failureThreshold times marks the attempt for a kill', async () => {
    const c: Container = { name: 'app', image: 'x', startupProbe: { exec: { command: ['started?'] }, periodSeconds: 1, failureThreshold: 2 } };
    const { clock, runtime, prober } = setup(c);
    runtime.setExec(['started?'], { exitCode: 1, stdout: '', stderr: '' });
    await clock.advance(500);
    assert.equal(prober.livenessFailed('u1', 'app', 'c-0'), false);
    await clock.advance(1500);
    assert.equal(prober.livenessFailed('u1', 'app', 'c-0'), true);
  });
});
