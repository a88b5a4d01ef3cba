// Cascading delete through a real `bramble server` process and the compiled CLI:
// a ConfigMap owns Pods (unbound, as the server runs no agent, so each Pod delete
// is immediate) and `bramble delete --cascade=...` decides what happens to them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../proto/model.js';
import { realClock } from '../../../proto/util/clock.js';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../../../test/support/server-process.js';

describe('bramble delete --cascade against a running server', { concurrency: 3 }, () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.close();
  });

  const bramble = (args: string[], input?: string) => runBramble(['--config', server.configPath, ...args], { input });

  const getJson = async (kind: string, name: string): Promise<KObject | undefined> => {
    const r = await bramble(['get', kind, name, '-o', 'json']);
    if (r.code !== 0 && /not found/.test(r.stderr)) return undefined;
    assert.equal(r.code, 0, explain(r));
    return JSON.parse(r.stdout) as KObject;
  };

  /** An owner ConfigMap and pods that name its uid; returns the owner's uid. */
  const createFamily = async (owner: string, pods: string[]): Promise<string> => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: owner }, data: { k: 'v' } };
    const r = await bramble(['apply', '-f', '-'], JSON.stringify(cm));
    assert.equal(r.code, 0, explain(r));
    const uid = (await getJson('cm', owner))!.metadata.uid!;
    const docs = pods.map((name) => JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid, blockOwnerDeletion: true }] },
      spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] },
    }));
    const p = await bramble(['apply', '-f', '-'], docs.join('\n---\n'));
    assert.equal(p.code, 0, explain(p));
    return uid;
  };

  /** Polls with a deadline until `cond` holds. */
  const eventually = async (what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
    const deadline = realClock.now() + timeoutMs;
    while (!(await cond())) {
      if (realClock.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what}`);
      await realClock.sleep(100);
    }
  };

  test('background: the owner goes at once and the collector deletes its pods', async () => {
    await createFamily('bg-owner', ['bg-a', 'bg-b']);
    const r = await bramble(['delete', 'cm', 'bg-owner']);
    assert.equal(r.code, 0, explain(r));
    assert.equal(await getJson('cm', 'bg-owner'), undefined);
    await eventually('the pods are deleted', async () => (await getJson('pod', 'bg-a')) === undefined && (await getJson('pod', 'bg-b')) === undefined);
  });

  test('orphan: the owner goes and its pods stay, without the reference', async () => {
    await createFamily('or-owner', ['or-a', 'or-b']);
    const r = await bramble(['delete', 'cm', 'or-owner', '--cascade=orphan']);
    assert.equal(r.code, 0, explain(r));
    assert.equal(await getJson('cm', 'or-owner'), undefined);
    for (const name of ['or-a', 'or-b']) {
      const p = await getJson('pod', name);
      assert.ok(p, `${name} is kept`);
      assert.equal(p.metadata.ownerReferences, undefined);
    }
  });

  test('foreground: the command returns once the pods and then the owner are gone', async () => {
    await createFamily('fg-owner', ['fg-a', 'fg-b']);
    const r = await bramble(['delete', 'cm', 'fg-owner', '--cascade=foreground', '--timeout=30s']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /configmap\/fg-owner deleted/);
    assert.equal(await getJson('cm', 'fg-owner'), undefined);
    assert.equal(await getJson('pod', 'fg-a'), undefined);
    assert.equal(await getJson('pod', 'fg-b'), undefined);
  });

  test('a --cascade value that is not a mode is a usage error naming the modes', async () => {
    const r = await bramble(['delete', 'cm', 'whatever', '--cascade=true']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /--cascade must be one of background, orphan, foreground: current value is "true"/);
  });
});
