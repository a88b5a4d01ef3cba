import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import { isBrambleError } from '../proto/util/errors.js';
import { FakeRuntime } from './runtime-fake.js';
import { LABEL_CONTAINER_NAME, type ContainerSpec } from './runtime.js';

const spec = (id: string, name = 'app'): ContainerSpec => ({ id, image: 'busybox:1', env: {}, mounts: [], logPath: '/dev/null', labels: { [LABEL_CONTAINER_NAME]: name } });

describe('FakeRuntime', () => {
  test('start, stop and remove are idempotent and say whether anything changed', async () => {
    const rt = new FakeRuntime(new FakeClock());
    await rt.ensureImage('busybox:1', 'IfNotPresent');
    const info = await rt.start(spec('c1'));
    assert.equal(info.state, 'running');
    assert.equal((await rt.start(spec('c1'))).pid, info.pid);
    assert.equal(await rt.stop('c1', 10), true);
    assert.equal(await rt.stop('c1', 10), false);
    assert.equal((await rt.list())[0]?.exitCode, 143);
    assert.equal(await rt.remove('c1'), true);
    assert.equal(await rt.remove('c1'), false);
    assert.deepEqual(rt.callsOf('stop'), [['c1', 10], ['c1', 10]]);
  });

  test('scripted starts exit at once or after a delay of the clock', async () => {
    const clock = new FakeClock();
    const rt = new FakeRuntime(clock);
    rt.images.add('busybox:1');
    rt.scriptStart('crash', { exitCode: 2 });
    rt.scriptStart('job', { exitCode: 0, afterMs: 3000 });
    assert.equal((await rt.start(spec('a', 'crash'))).exitCode, 2);
    await rt.start(spec('b', 'job'));
    await clock.advance(2999);
    assert.equal((await rt.list()).find((c) => c.id === 'b')?.state, 'running');
    await clock.advance(1);
    assert.deepEqual((await rt.list()).find((c) => c.id === 'b')?.exitCode, 0);
  });

  test('pulls fail as scripted, Never needs the image present, and starting needs the image', async () => {
    const rt = new FakeRuntime(new FakeClock());
    rt.failPull('x:1', 'not found');
    await assert.rejects(rt.ensureImage('x:1', 'Always'), (e) => isBrambleError(e, 'RUNTIME_FAILED') && /not found/.test(e.message));
    await assert.rejects(rt.ensureImage('y:1', 'Never'), /imagePullPolicy Never/);
    await assert.rejects(rt.start({ ...spec('c'), image: 'x:1' }), /must be present/);
    assert.deepEqual(await rt.ensureImage('y:1', 'IfNotPresent'), { pulled: true });
    assert.deepEqual(await rt.ensureImage('y:1', 'IfNotPresent'), { pulled: false });
    assert.deepEqual(await rt.ensureImage('y:1', 'Always'), { pulled: true });
  });

  test('exec answers per argv, per container name first, and 127 for unknown commands', async () => {
    const rt = new FakeRuntime(new FakeClock());
    rt.images.add('busybox:1');
    await rt.start(spec('a', 'web'));
    await rt.start(spec('b', 'db'));
    rt.setExec(['check'], { exitCode: 0, stdout: 'any', stderr: '' });
    rt.setExec(['check'], { exitCode: 1, stdout: 'web', stderr: '' }, 'web');
    assert.equal((await rt.exec('a', ['check'], 1000)).stdout, 'web');
    assert.equal((await rt.exec('b', ['check'], 1000)).stdout, 'any');
    assert.equal((await rt.exec('b', ['nope'], 1000)).exitCode, 127);
    await rt.stop('a', 0);
    await assert.rejects(rt.exec('a', ['check'], 1000), /must be running/);
  });
});
