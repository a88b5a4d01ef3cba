import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import type { OciSpec, SpecEditor } from './containerd-specs.js';
import { FakeRunner } from './exec-runner.js';
import { CtrRuntime, withOwnMounts } from './runtime-ctr.js';
import type { ContainerSecurity, ContainerSpec } from './runtime.js';

const SOCK = '/run/bramble/containerd.sock';
const PREFIX = ['--address', SOCK, '--namespace', 'bramble'];

class FakeEditor implements SpecEditor {
  spec: OciSpec = { process: { user: { uid: 0, gid: 0, additionalGids: [0, 10] }, args: ['sh'] } };
  edited: string[] = [];
  fail?: string;
  async editSpec(id: string, edit: (spec: OciSpec) => OciSpec): Promise<void> {
    if (this.fail) throw new Error(this.fail);
    this.edited.push(id);
    this.spec = edit(this.spec);
  }
}

function setup() {
  const runner = new FakeRunner();
  const editor = new FakeEditor();
  const rt = new CtrRuntime({ address: SOCK, runner, clock: new FakeClock(), arch: 'arm64', specEditor: editor });
  return { runner, editor, rt };
}

const open: ContainerSecurity = { readOnlyRootFilesystem: false, privileged: false, capAdd: [], capDrop: [], allowPrivilegeEscalation: true };
const spec = (security?: ContainerSecurity): ContainerSpec => ({
  id: 'pod1-web-0', image: 'busybox', command: ['sh'], env: {}, mounts: [], labels: {}, logPath: '/var/log/p/0.log', security,
});

describe('CtrRuntime with a security context', () => {
  test('read-only root, privileged, capabilities and privilege escalation become ctr run flags', async () => {
    const { runner, rt } = setup();
    await rt.start(spec({ readOnlyRootFilesystem: true, privileged: true, capAdd: ['CAP_NET_ADMIN'], capDrop: ['CAP_KILL'], allowPrivilegeEscalation: true }));
    assert.deepEqual(runner.calls[0]!.args, [...PREFIX, 'run', '-d', '--log-uri', 'file:///var/log/p/0.log',
      '--privileged', '--read-only', '--allow-new-privs', '--cap-add', 'CAP_NET_ADMIN', '--cap-drop', 'CAP_KILL',
      'docker.io/library/busybox:latest', 'pod1-web-0', 'sh']);
  });

  test('allowPrivilegeEscalation false leaves ctr its no_new_privs default', async () => {
    const { runner, rt } = setup();
    await rt.start(spec({ ...open, allowPrivilegeEscalation: false }));
    assert.ok(!runner.calls[0]!.args.includes('--allow-new-privs'));
  });

  test('without a security context the ctr flags are as before', async () => {
    const { runner, rt } = setup();
    await rt.start(spec());
    assert.deepEqual(runner.calls[0]!.args, [...PREFIX, 'run', '-d', '--log-uri', 'file:///var/log/p/0.log', 'docker.io/library/busybox:latest', 'pod1-web-0', 'sh']);
  });

  test('a user is set by creating the container, editing its spec, then starting its task', async () => {
    const { runner, editor, rt } = setup();
    const info = await rt.start({ ...spec({ ...open, user: { uid: 1000, gid: 3000, supplementalGroups: [4000] } }), command: ['sh', '-c', 'id -u'] });
    assert.deepEqual(runner.calls.map((c) => c.args.slice(PREFIX.length, PREFIX.length + 2)), [['containers', 'create'], ['tasks', 'start']]);
    assert.deepEqual(runner.calls[0]!.args.slice(PREFIX.length), ['containers', 'create', '--allow-new-privs', '--runtime=io.containerd.runc.v2', '--', 'docker.io/library/busybox:latest', 'pod1-web-0', 'sh', '-c', 'id -u']);
    assert.deepEqual(runner.calls[1]!.args.slice(PREFIX.length), ['tasks', 'start', '-d', '--log-uri', 'file:///var/log/p/0.log', 'pod1-web-0']);
    assert.deepEqual(editor.edited, ['pod1-web-0']);
    // The image user's groups are not inherited by another uid.
    assert.deepEqual((editor.spec.process as { user: unknown }).user, { uid: 1000, gid: 3000, additionalGids: [4000] });
    assert.equal(info.state, 'running');
  });

  test('a spec edit that fails removes the created container and reports the failure', async () => {
    const { runner, editor, rt } = setup();
    editor.fail = 'containerd unreachable';
    await assert.rejects(rt.start(spec({ ...open, user: { uid: 1000, gid: 0 } })), /containerd unreachable/);
    assert.equal(runner.argsOf(['containers', 'delete', 'pod1-web-0']).length, 1);
    assert.equal(runner.argsOf(['tasks', 'start']).length, 0);
  });

  test('a task that cannot start removes the container', async () => {
    const { runner, rt } = setup();
    runner.on(['tasks', 'start'], { stdout: '', stderr: 'ctr: failed to create shim task: exec: "nope": executable file not found', exitCode: 1 });
    await assert.rejects(rt.start(spec({ ...open, user: { uid: 1000, gid: 0 } })), /must succeed: ctr exited with 1/);
    assert.equal(runner.argsOf(['containers', 'delete', 'pod1-web-0']).length, 1);
  });

  test('imageUser reads the USER of the image config', async () => {
    const { runner, rt } = setup();
    runner.on(['images', 'ls'], { stdout: 'REF TYPE DIGEST\ndocker.io/library/app:1 application/vnd.oci.image.manifest.v1+json sha256:m 1 MiB linux/arm64 -\n', stderr: '', exitCode: 0 });
    runner.on(['content', 'get', 'sha256:m'], { stdout: JSON.stringify({ config: { digest: 'sha256:c' } }), stderr: '', exitCode: 0 });
    runner.on(['content', 'get', 'sha256:c'], { stdout: JSON.stringify({ config: { User: '1000:1000' } }), stderr: '', exitCode: 0 });
    assert.equal(await rt.imageUser('app:1'), '1000:1000');
  });
});

describe('CtrRuntime and the Pod network', () => {
  test('a hostname is set in the stored spec between create and start, with the user when there is one', async () => {
    const { runner, editor, rt } = setup();
    await rt.start({ ...spec(), hostname: 'web-0' });
    assert.deepEqual(runner.calls.map((c) => c.args.slice(PREFIX.length, PREFIX.length + 2)), [['containers', 'create'], ['tasks', 'start']]);
    assert.equal(editor.spec.hostname, 'web-0');
    await rt.start({ ...spec({ ...open, user: { uid: 1000, gid: 3000 } }), id: 'pod1-web-1', hostname: 'web-1' });
    assert.equal(editor.spec.hostname, 'web-1');
    assert.equal((editor.spec.process as { user: { uid: number } }).user.uid, 1000);
  });

  test('a hostNetwork container runs with --net-host and keeps the board\'s hostname', async () => {
    const { runner, editor, rt } = setup();
    await rt.start({ ...spec(), hostNetwork: true, hostname: 'ignored' });
    assert.deepEqual(runner.calls[0]!.args, [...PREFIX, 'run', '-d', '--log-uri', 'file:///var/log/p/0.log', '--net-host', 'docker.io/library/busybox:latest', 'pod1-web-0', 'sh']);
    assert.deepEqual(editor.edited, []);
  });
});

test('a hostNetwork container\'s own resolv.conf replaces the board\'s that --net-host mounts', async () => {
  const { runner, editor, rt } = setup();
  editor.spec = { mounts: [{ destination: '/etc/resolv.conf', source: '/pod/resolv.conf' }, { destination: '/etc/resolv.conf', source: '/etc/resolv.conf' }, { destination: '/etc/hosts', source: '/etc/hosts' }] };
  await rt.start({ ...spec(), hostNetwork: true, mounts: [{ source: '/pod/resolv.conf', destination: '/etc/resolv.conf', readOnly: true }] });
  assert.ok(runner.calls[0]!.args.includes('--net-host'));
  assert.deepEqual(editor.spec.mounts, [{ destination: '/etc/resolv.conf', source: '/pod/resolv.conf' }, { destination: '/etc/hosts', source: '/etc/hosts' }]);
  assert.deepEqual(withOwnMounts({ mounts: [] }, []), { mounts: [] });
});
