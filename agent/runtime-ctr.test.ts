import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import { isBrambleError } from '../proto/util/errors.js';
import { CommandTimeoutError, FakeRunner, type RecordedCall } from './exec-runner.js';
import { CtrRuntime, LABEL_EXIT_CODE, LABEL_FINISHED_AT, parseMetrics } from './runtime-ctr.js';
import type { ContainerSpec } from './runtime.js';

const SOCK = '/run/bramble/containerd.sock';
const PREFIX = ['--address', SOCK, '--namespace', 'bramble'];

function setup(opts: { arch?: string; insecure?: string[]; namespace?: string; groupShims?: boolean } = {}) {
  const runner = new FakeRunner();
  const clock = new FakeClock();
  const rt = new CtrRuntime({
    address: SOCK, runner, clock, arch: opts.arch ?? 'arm64', insecureRegistries: opts.insecure, namespace: opts.namespace, pollIntervalMs: 100,
    ...(opts.groupShims !== undefined ? { groupShims: opts.groupShims } : {}),
  });
  return { runner, clock, rt };
}

const baseSpec: ContainerSpec = {
  id: 'pod1-web-0',
  image: 'busybox',
  env: {},
  mounts: [],
  labels: {},
  logPath: '/var/log/bramble/pods/pod1/web/0.log',
};

async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  void p.then(() => { done = true; }, () => { done = true; });
  while (!done) await clock.advance(50);
  return p;
}

const hasSigkill = (runner: FakeRunner) => runner.argsOf(['tasks', 'kill']).some((a) => a.includes('SIGKILL'));

describe('CtrRuntime', () => {
  test('start runs ctr run -d with every spec field as a ctr flag, and nothing else', async () => {
    const { runner, rt } = setup();
    const info = await rt.start({
      ...baseSpec,
      command: ['httpd', '-f'],
      args: ['-p', '8080'],
      env: { A: '1', B: 'x=y' },
      workingDir: '/srv',
      mounts: [{ source: '/data/a', destination: '/a', readOnly: false }, { source: '/data/b', destination: '/b', readOnly: true }],
      memoryLimitBytes: 64 * 1024 * 1024,
      cpuLimitMillis: 500,
      netnsPath: '/var/run/netns/bramble-0123456789ab',
      labels: { 'bramble.pod.uid': 'pod1', 'bramble.container.name': 'web' },
    });
    assert.deepEqual(runner.calls[0], {
      file: 'ctr',
      args: [...PREFIX, 'run', '-d', '--log-uri', 'file:///var/log/bramble/pods/pod1/web/0.log',
        '--label', 'bramble.pod.uid=pod1', '--label', 'bramble.container.name=web',
        '--env', 'A=1', '--env', 'B=x=y', '--cwd', '/srv',
        '--mount', 'type=bind,src=/data/a,dst=/a,options=rbind:rw',
        '--mount', 'type=bind,src=/data/b,dst=/b,options=rbind:ro',
        '--memory-limit', '67108864', '--cpu-quota', '50000', '--cpu-period', '100000',
        '--with-ns', 'network:/var/run/netns/bramble-0123456789ab',
        'docker.io/library/busybox:latest', 'pod1-web-0', 'httpd', '-f', '-p', '8080'],
      input: undefined, env: undefined, timeoutMs: 60_000,
    });
    assert.equal(runner.calls.length, 1, 'the pid is left to the next list: no tasks ls after the run');
    assert.equal(info.state, 'running');
    assert.equal(info.pid, undefined);
    assert.equal(info.image, 'docker.io/library/busybox:latest');
  });

  test('a spec\'s shim group becomes the runc shim\'s group annotation, unless the runtime groups no shims', async () => {
    const grouped = setup();
    await grouped.rt.start({ ...baseSpec, shimGroup: 'pod-1' });
    const run = grouped.runner.argsOf(['run'])[0]!;
    assert.equal(run[run.indexOf('--annotation') + 1], 'io.containerd.runc.v2.group=pod-1');
    const apart = setup({ groupShims: false });
    await apart.rt.start({ ...baseSpec, shimGroup: 'pod-1' });
    assert.ok(!apart.runner.argsOf(['run'])[0]!.includes('--annotation'));
  });

  test('start without command or args leaves the image entrypoint and cmd to ctr', async () => {
    const { runner, rt } = setup();
    await rt.start(baseSpec);
    const run = runner.argsOf(['run'])[0]!;
    assert.deepEqual(run.slice(-2), ['docker.io/library/busybox:latest', 'pod1-web-0']);
  });

  test('start with args only runs them after the entrypoint of this platform\'s image config', async () => {
    const { runner, rt } = setup({ arch: 'arm64' });
    runner.on(['images', 'ls'], { stdout: 'REF TYPE DIGEST SIZE PLATFORMS LABELS\ndocker.io/library/busybox:latest application/vnd.oci.image.index.v1+json sha256:idx 1.9 MiB linux/amd64,linux/arm64 -\n' });
    runner.on(['content', 'get', 'sha256:idx'], { stdout: JSON.stringify({ manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:amd', platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:arm', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ] }) });
    runner.on(['content', 'get', 'sha256:arm'], { stdout: JSON.stringify({ config: { digest: 'sha256:cfg' }, layers: [] }) });
    runner.on(['content', 'get', 'sha256:cfg'], { stdout: JSON.stringify({ config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo default'] } }) });
    await rt.start({ ...baseSpec, args: ['echo hi'] });
    assert.deepEqual(runner.argsOf(['images', 'ls'])[0], [...PREFIX, 'images', 'ls', 'name==docker.io/library/busybox:latest']);
    assert.deepEqual(runner.argsOf(['run'])[0]!.slice(-4), ['pod1-web-0', '/bin/sh', '-c', 'echo hi']);
    assert.equal(runner.argsOf(['sha256:amd']).length, 0);
  });

  test('a container that cannot start is removed again and reported as RUNTIME_FAILED', async () => {
    const { runner, rt } = setup();
    runner.on(['run'], { exitCode: 1, stderr: 'ctr: failed to create shim task: exec: "nope": executable file not found in $PATH: unknown\n' });
    await assert.rejects(rt.start({ ...baseSpec, command: ['nope'] }), (e: unknown) =>
      isBrambleError(e, 'RUNTIME_FAILED') && e.message.includes('starting container "pod1-web-0"') && e.message.includes('executable file not found'));
    assert.deepEqual(runner.argsOf(['containers', 'delete']), [[...PREFIX, 'containers', 'delete', 'pod1-web-0']]);
  });

  test('a mount path with a comma is refused before ctr runs', async () => {
    const { runner, rt } = setup();
    await assert.rejects(rt.start({ ...baseSpec, mounts: [{ source: '/a,b', destination: '/x', readOnly: false }] }), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT'));
    assert.equal(runner.calls.length, 0);
  });

  test('list reports running tasks and reaps stopped ones, keeping their exit code as a label', async () => {
    const { runner, clock, rt } = setup();
    runner.on(['containers', 'ls', '-q'], { stdout: 'a\nb\nc\n' });
    runner.on(['tasks', 'ls'], { stdout: 'TASK PID STATUS\na 100 RUNNING\nb 200 STOPPED\n' });
    const info = (labels: Record<string, string>) => ({ stdout: JSON.stringify({ ID: 'x', Image: 'docker.io/library/busybox:latest', Labels: labels, CreatedAt: '2026-01-01T00:00:00Z' }) });
    runner.on(['containers', 'info', 'a'], info({ 'bramble.pod.uid': 'p1', 'io.containerd.image.config.stop-signal': 'SIGTERM' }));
    runner.on(['containers', 'info', 'b'], info({ 'bramble.pod.uid': 'p2' }));
    runner.on(['containers', 'info', 'c'], info({ 'bramble.pod.uid': 'p3' }));
    runner.on(['tasks', 'delete', 'b'], { stderr: 'time="x" level=warning msg="task b exit with non-zero exit code 3"\n' });
    const list = await rt.list();
    const now = String(clock.now());
    assert.deepEqual(runner.argsOf(['containers', 'label']), [[...PREFIX, 'containers', 'label', 'b', `${LABEL_EXIT_CODE}=3`, `${LABEL_FINISHED_AT}=${now}`]]);
    assert.deepEqual(list, [
      { id: 'a', image: 'docker.io/library/busybox:latest', labels: { 'bramble.pod.uid': 'p1' }, state: 'running', pid: 100, exitCode: undefined, startedAt: Date.parse('2026-01-01T00:00:00Z'), finishedAt: undefined },
      { id: 'b', image: 'docker.io/library/busybox:latest', labels: { 'bramble.pod.uid': 'p2' }, state: 'stopped', pid: undefined, exitCode: 3, startedAt: Date.parse('2026-01-01T00:00:00Z'), finishedAt: clock.now() },
      { id: 'c', image: 'docker.io/library/busybox:latest', labels: { 'bramble.pod.uid': 'p3' }, state: 'created', pid: undefined, exitCode: undefined, startedAt: Date.parse('2026-01-01T00:00:00Z'), finishedAt: undefined },
    ]);
    // Container records are read once: a second list asks only for containers and tasks.
    const before = runner.calls.length;
    runner.on(['tasks', 'ls'], { stdout: 'TASK PID STATUS\na 100 RUNNING\n' });
    const again = await rt.list();
    assert.equal(again.find((c) => c.id === 'b')?.exitCode, 3);
    assert.equal(runner.calls.length - before, 2);
  });

  test('a task that exited 0 is reported with exit code 0', async () => {
    const { runner, rt } = setup();
    runner.on(['containers', 'ls', '-q'], { stdout: 'b\n' });
    runner.on(['tasks', 'ls'], { stdout: 'TASK PID STATUS\nb 200 STOPPED\n' });
    runner.on(['containers', 'info', 'b'], { stdout: JSON.stringify({ Image: 'i', Labels: {} }) });
    const [b] = await rt.list();
    assert.equal(b?.exitCode, 0);
    assert.equal(b?.state, 'stopped');
  });

  test('stop sends SIGTERM, waits the grace period, then SIGKILLs every process', async () => {
    const { runner, clock, rt } = setup();
    runner.on(['tasks', 'ls'], () => ({ stdout: `TASK PID STATUS\nweb 7 ${hasSigkill(runner) ? 'STOPPED' : 'RUNNING'}\n` }));
    runner.on(['containers', 'info', 'web'], { stdout: JSON.stringify({ Image: 'i', Labels: {} }) });
    const t0 = clock.now();
    assert.equal(await drive(clock, rt.stop('web', 2)), true);
    assert.deepEqual(runner.argsOf(['tasks', 'kill']), [
      [...PREFIX, 'tasks', 'kill', '--signal', 'SIGTERM', 'web'],
      [...PREFIX, 'tasks', 'kill', '--all', '--signal', 'SIGKILL', 'web'],
    ]);
    assert.ok(clock.now() - t0 >= 2000);
  });

  test('stop returns as soon as the task exits on SIGTERM, using the image stop signal', async () => {
    const { runner, clock, rt } = setup();
    let polls = 0;
    runner.on(['tasks', 'ls'], () => ({ stdout: `TASK PID STATUS\nweb 7 ${++polls > 2 ? 'STOPPED' : 'RUNNING'}\n` }));
    runner.on(['containers', 'info', 'web'], { stdout: JSON.stringify({ Image: 'i', Labels: { 'io.containerd.image.config.stop-signal': 'SIGQUIT' } }) });
    assert.equal(await drive(clock, rt.stop('web', 30)), true);
    assert.deepEqual(runner.argsOf(['tasks', 'kill']), [[...PREFIX, 'tasks', 'kill', '--signal', 'SIGQUIT', 'web']]);
  });

  test('stop of a container without a running task reports false and signals nothing', async () => {
    const { runner, rt } = setup();
    runner.on(['tasks', 'ls'], { stdout: 'TASK PID STATUS\nother 7 RUNNING\n' });
    assert.equal(await rt.stop('web', 5), false);
    assert.equal(runner.argsOf(['tasks', 'kill']).length, 0);
  });

  test('remove force-deletes the task and deletes the container with its snapshot', async () => {
    const { runner, rt } = setup();
    assert.equal(await rt.remove('web'), true);
    assert.deepEqual(runner.calls.map((c) => c.args), [
      [...PREFIX, 'tasks', 'delete', '--force', 'web'],
      [...PREFIX, 'containers', 'delete', 'web'],
    ]);
  });

  test('remove of an unknown container reports false', async () => {
    const { runner, rt } = setup();
    runner.on(['tasks', 'delete'], { exitCode: 1, stderr: 'ctr: container "web" in namespace "bramble": not found\n' });
    runner.on(['containers', 'delete'], { exitCode: 1, stderr: 'ctr: container "web" in namespace "bramble": not found\n' });
    assert.equal(await rt.remove('web'), false);
  });

  test('ensureImage with policy Never and no image is RUNTIME_FAILED naming the image and the policy', async () => {
    const { runner, rt } = setup();
    await assert.rejects(rt.ensureImage('nginx:1.25', 'Never'), (e: unknown) =>
      isBrambleError(e, 'RUNTIME_FAILED') && e.message === 'image "nginx:1.25" is not present and imagePullPolicy is Never');
    assert.deepEqual(runner.calls.map((c) => c.args), [[...PREFIX, 'images', 'ls', '-q', 'name==docker.io/library/nginx:1.25']]);
  });

  test('ensureImage IfNotPresent does not pull an image that is there', async () => {
    const { runner, rt } = setup();
    runner.on(['images', 'ls'], { stdout: 'docker.io/library/nginx:1.25\n' });
    assert.deepEqual(await rt.ensureImage('nginx:1.25', 'IfNotPresent'), { pulled: false });
    assert.equal(runner.argsOf(['pull']).length, 0);
  });

  test('ensureImage Always pulls for this board\'s platform, over plain HTTP only from insecure registries', async () => {
    const { runner, rt } = setup({ arch: 'arm', insecure: ['registry.local:5000'] });
    assert.deepEqual(await rt.ensureImage('registry.local:5000/app:2', 'Always'), { pulled: true });
    assert.deepEqual(await rt.ensureImage('busybox', 'Always'), { pulled: true });
    assert.deepEqual(runner.argsOf(['pull']), [
      [...PREFIX, 'images', 'pull', '--platform', 'linux/arm', '--plain-http', 'registry.local:5000/app:2'],
      [...PREFIX, 'images', 'pull', '--platform', 'linux/arm', 'docker.io/library/busybox:latest'],
    ]);
  });

  test('a failed pull is RUNTIME_FAILED with ctr\'s reason', async () => {
    const { runner, rt } = setup();
    runner.on(['pull'], { exitCode: 1, stderr: 'ctr: failed to resolve reference "docker.io/library/nope:latest": not found\n' });
    await assert.rejects(rt.ensureImage('nope', 'IfNotPresent'), (e: unknown) => isBrambleError(e, 'RUNTIME_FAILED') && e.message.includes('failed to resolve reference'));
  });

  test('importImage returns the names ctr unpacked', async () => {
    const { runner, rt } = setup({ arch: 'x64' });
    runner.on(['images', 'import'], { stdout: 'unpacking bramble.test/busybox:1 (sha256:14a4cbd5cbd3)...done\nunpacking docker.io/library/a:1 (sha256:00ff)...done\n' });
    assert.deepEqual(await rt.importImage('/tmp/x.tar'), ['bramble.test/busybox:1', 'docker.io/library/a:1']);
    assert.deepEqual(runner.argsOf(['import'])[0], [...PREFIX, 'images', 'import', '--platform', 'linux/amd64', '/tmp/x.tar']);
  });

  test('exec runs ctr tasks exec with a fresh exec id and passes the exit code through', async () => {
    const { runner, rt } = setup();
    runner.on(['tasks', 'exec'], (c: RecordedCall) => ({ exitCode: 7, stdout: `ran ${c.args.slice(-2).join(' ')}`, stderr: '' }));
    const r1 = await rt.exec('web', ['cat', '/etc/hostname'], 3000);
    await rt.exec('web', ['true'], 3000);
    assert.deepEqual(r1, { exitCode: 7, stdout: 'ran cat /etc/hostname', stderr: '' });
    const [a, b] = runner.argsOf(['tasks', 'exec']);
    assert.deepEqual(a!.slice(0, 6), [...PREFIX, 'tasks', 'exec']);
    assert.equal(a![6], '--exec-id');
    assert.notEqual(a![7], b![7]);
    assert.deepEqual(a!.slice(8), ['web', 'cat', '/etc/hostname']);
    assert.equal(runner.calls[0]!.timeoutMs, 3000);
  });

  test('an exec that times out kills the exec process and is RUNTIME_FAILED', async () => {
    const { runner, rt } = setup();
    runner.on(['tasks', 'exec'], new CommandTimeoutError('ctr tasks exec', 500));
    await assert.rejects(rt.exec('web', ['sleep', '9'], 500), (e: unknown) => isBrambleError(e, 'RUNTIME_FAILED') && e.message.includes('500 ms'));
    const execId = runner.argsOf(['tasks', 'exec'])[0]![7];
    assert.deepEqual(runner.argsOf(['tasks', 'kill'])[0], [...PREFIX, 'tasks', 'kill', '--exec-id', execId!, '--signal', 'SIGKILL', 'web']);
  });

  test('exec in a container without a task is RUNTIME_FAILED, not exit code 1', async () => {
    const { runner, rt } = setup();
    runner.on(['tasks', 'exec'], { exitCode: 1, stderr: 'ctr: container "web" in namespace "bramble": not found\n' });
    await assert.rejects(rt.exec('web', ['true'], 1000), (e: unknown) => isBrambleError(e, 'RUNTIME_FAILED'));
  });

  test('stats reads ctr tasks metrics JSON and is undefined without a task', async () => {
    const { runner, rt } = setup();
    runner.once(['metrics'], { stdout: JSON.stringify({ cpu: { usage: { total: 123456789 } }, memory: { usage: { usage: 10_000_000 }, total_inactive_file: 1_000_000 } }) });
    runner.once(['metrics'], { exitCode: 1, stderr: 'ctr: no running task found: task web not found: not found\n' });
    assert.deepEqual(await rt.stats('web'), { cpuNanos: 123456789, memoryBytes: 9_000_000 });
    assert.equal(await rt.stats('web'), undefined);
    assert.deepEqual(runner.argsOf(['metrics'])[0], [...PREFIX, 'tasks', 'metrics', '--format', 'json', 'web']);
  });

  test('cgroup v2 metrics are read too', () => {
    assert.deepEqual(parseMetrics(JSON.stringify({ cpu: { usage_usec: 1500 }, memory: { usage: 5000, inactive_file: 1000 } })), { cpuNanos: 1_500_000, memoryBytes: 4000 });
  });

  test('version is the server version from ctr version', async () => {
    const { runner, rt } = setup({ namespace: 'other' });
    runner.on(['version'], { stdout: 'Client:\n  Version:  1.6.20~ds1\n\nServer:\n  Version:  1.6.21\n  UUID: x\n' });
    assert.equal(await rt.version(), 'containerd 1.6.21');
    assert.deepEqual(runner.calls[0]!.args, ['--address', SOCK, '--namespace', 'other', 'version']);
  });
});
