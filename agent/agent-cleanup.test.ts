import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBrambleError } from '../proto/util/errors.js';
import { cleanupAgent } from './agent-cleanup.js';
import { FakeRunner } from './exec-runner.js';

describe('cleanupAgent', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bramble-cleanup-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('removes our routes, the Pod sandboxes with a lease here and the bridge, then runs the hooks', async () => {
    await writeFile(join(dir, 'network.json'), JSON.stringify({ podCidr: '10.42.3.0/24', clusterCidr: '10.42.0.0/16' }));
    await mkdir(join(dir, 'ipam', 'bramble'), { recursive: true });
    await writeFile(join(dir, 'ipam', 'bramble', '10.42.3.7'), 'aaaaaaaaaaaa-pod\r\neth0');
    const runner = new FakeRunner()
      .on(['route', 'show'], { stdout: '10.42.1.0/24 via 192.168.1.11 dev eth0 proto 66\n10.9.0.0/16 via 192.168.1.2 dev eth0 proto static\n' })
      .on((c) => c.file === '/usr/lib/cni/bridge', (c) => ({ stdout: c.env?.CNI_COMMAND === 'DEL' ? '' : '{}' }));
    const hooked: string[] = [];
    const report = await cleanupAgent({ dataDir: dir, runner, hooks: [{ name: 'service-rules', cleanup: async () => void hooked.push('iptables') }] });
    assert.deepEqual(report, { routes: 1, pods: 1, bridge: true, hooks: ['service-rules'] });
    assert.deepEqual(hooked, ['iptables']);
    assert.deepEqual(runner.argsOf(['route', 'del']), [['route', 'del', '10.42.1.0/24', 'proto', '66']]);
    const del = runner.calls.find((c) => c.file === '/usr/lib/cni/bridge')!;
    assert.equal(del.env?.CNI_COMMAND, 'DEL');
    assert.equal(del.env?.CNI_CONTAINERID, 'aaaaaaaaaaaa-pod');
    assert.match(del.input!, /"subnet":"10\.42\.3\.0\/24"/);
    assert.deepEqual(runner.argsOf(['link', 'delete']), [['link', 'delete', 'bramble0', 'type', 'bridge']]);
  });

  test('a failing step does not stop the others, and the failure is reported at the end', async () => {
    const runner = new FakeRunner().on(['route', 'show'], { exitCode: 1, stderr: 'boom' });
    const hooked: string[] = [];
    await assert.rejects(cleanupAgent({ dataDir: dir, runner, hooks: [{ name: 'h', cleanup: async () => void hooked.push('h') }] }), (e: unknown) =>
      isBrambleError(e, 'RUNTIME_FAILED') && /removing host-gw routes: ip -4 -o route show table main must succeed/.test(e.message));
    assert.deepEqual(hooked, ['h']);
    assert.equal(runner.argsOf(['link', 'delete']).length, 1);
  });
});
