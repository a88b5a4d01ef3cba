// cordon, uncordon and drain against a real `bramble server` and the compiled CLI.
// No agent runs, so a drained Pod stays Terminating (nobody confirms it stopped):
// that is the wait and its timeout. The e2e test (test/node-failure.e2e.test.ts)
// drains a real board to the end. Only the scheduler runs, so the store holds
// exactly what the test wrote.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import type { NodeObject, Pod } from '../../proto/model.js';
import { explain, runBramble, startServerProcess, type CliResult, type ServerProcess } from '../../test/support/server-process.js';

function node(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} });
}

function pod(name: string, nodeName: string, owned: boolean): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(owned ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: '00000000-0000-4000-8000-000000000001', controller: true }] } : {}),
    },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
  });
}

describe('cordon, uncordon and drain against a running server', () => {
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    server = await startServerProcess({ extraArgs: ['--controllers', 'scheduler'] });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-drain-test-'));
  });
  after(async () => {
    await server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const bramble = (...args: string[]): Promise<CliResult> => runBramble(['--config', server.configPath, ...args]);
  const apply = async (name: string, ...docs: string[]): Promise<void> => {
    const file = path.join(dir, name);
    await fs.writeFile(file, docs.join('\n---\n'));
    const r = await bramble('apply', '-f', file);
    assert.equal(r.code, 0, explain(r));
  };
  const stored = async <T>(kind: string, name: string): Promise<T> => {
    const r = await bramble('get', kind, name, '-o', 'json');
    assert.equal(r.code, 0, explain(r));
    return JSON.parse(r.stdout) as T;
  };

  test('cordon and uncordon set and clear spec.unschedulable and say so, also when there was nothing to do', async () => {
    await apply('pi-1.json', node('pi-1'));
    const first = await bramble('cordon', 'pi-1');
    assert.deepEqual([first.code, first.stdout], [0, 'node/pi-1 cordoned\n'], explain(first));
    assert.equal((await stored<NodeObject>('node', 'pi-1')).spec.unschedulable, true);
    assert.equal((await bramble('cordon', 'pi-1')).stdout, 'node/pi-1 already cordoned\n');
    const un = await bramble('uncordon', 'pi-1');
    assert.deepEqual([un.code, un.stdout], [0, 'node/pi-1 uncordoned\n'], explain(un));
    assert.equal((await stored<NodeObject>('node', 'pi-1')).spec.unschedulable, undefined);
    assert.equal((await bramble('uncordon', 'pi-1')).stdout, 'node/pi-1 already uncordoned\n');
    const missing = await bramble('cordon', 'nope');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope/);
  });

  test('drain refuses a bare Pod before evicting anything, leaving the node cordoned', async () => {
    await apply('pi-2.json', node('pi-2'), pod('owned', 'pi-2', true), pod('bare', 'pi-2', false));
    const r = await bramble('drain', 'pi-2');
    assert.equal(r.code, 1, explain(r));
    assert.equal(r.stdout, 'node/pi-2 cordoned\n');
    assert.match(r.stderr, /cannot delete Pods declare no controller \(use --force to override\): default\/bare/);
    assert.equal((await stored<Pod>('pod', 'owned')).metadata.deletionTimestamp, undefined, 'nothing was evicted');
    assert.equal((await stored<NodeObject>('node', 'pi-2')).spec.unschedulable, true);
  });

  test('drain --force evicts every Pod and, with no agent to confirm, gives up at --timeout with exit 1 naming them', async () => {
    await apply('pi-3.json', node('pi-3'), pod('a3', 'pi-3', true), pod('b3', 'pi-3', false), pod('elsewhere', 'pi-1', true));
    const r = await bramble('drain', 'pi-3', '--force', '--timeout', '2s');
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stdout, /^node\/pi-3 cordoned\nevicting pod default\/a3\nevicting pod default\/b3\n$/);
    assert.match(r.stderr, /Warning: deleting Pods that declare no controller: default\/b3/);
    assert.match(r.stderr, /did not complete within 2s: 2 Pod\(s\) still terminating: default\/a3, default\/b3/);
    assert.ok((await stored<Pod>('pod', 'a3')).metadata.deletionTimestamp, 'a graceful delete: Terminating until its agent confirms');
    assert.equal((await stored<Pod>('pod', 'elsewhere')).metadata.deletionTimestamp, undefined);
  });

  test('drain --grace-period gives each evicted Pod that long to stop; 0 and words are refused before anything happens', async () => {
    await apply('pi-5.json', node('pi-5'), pod('a5', 'pi-5', true));
    for (const bad of ['0', 'soon']) {
      const r = await bramble('drain', 'pi-5', '--grace-period', bad);
      assert.equal(r.code, 2, explain(r));
      assert.match(r.stderr, new RegExp(`--grace-period must be -1 \\(each Pod's own terminationGracePeriodSeconds\\) or a whole number of seconds from 1: current value is "${bad}"`));
    }
    assert.equal((await stored<NodeObject>('node', 'pi-5')).spec.unschedulable, undefined, 'a usage error cordons nothing');
    const r = await bramble('drain', 'pi-5', '--grace-period', '5', '--timeout', '1s');
    assert.equal(r.code, 1, explain(r));
    assert.equal((await stored<Pod>('pod', 'a5')).metadata.deletionGracePeriodSeconds, 5);
    await apply('pi-6.json', node('pi-6'), pod('a6', 'pi-6', true));
    const own = await bramble('drain', 'pi-6', '--grace-period', '-1', '--timeout', '1s');
    assert.equal(own.code, 1, explain(own));
    assert.equal((await stored<Pod>('pod', 'a6')).metadata.deletionGracePeriodSeconds, undefined);
  });

  test('drain of a node with no Pods is done at once', async () => {
    await apply('pi-4.json', node('pi-4'));
    const r = await bramble('drain', 'pi-4', '--ignore-daemonsets');
    assert.deepEqual([r.code, r.stdout], [0, 'node/pi-4 cordoned\nnode/pi-4 drained\n'], explain(r));
  });
});
