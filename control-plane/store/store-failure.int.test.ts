// `bramble server` with a store it cannot trust: corrupt files at start-up, a
// store locked by another server, and a disk that fills up while it runs. Each
// ends the process with one clear line naming the directory and the reason,
// and an exit code a supervisor can act on (process-exit.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../../proto/util/errors.js';
import { loadProto, type ClusterClient } from '../../proto/load.js';
import { clientCredentials, readClientConfig } from '../pki/client-config.js';
import { EXIT_STORE_FAILED } from '../../proto/util/process-exit.js';
import { openLevelStore } from './store-level.js';
import { explain, freePort, runBramble, startServerProcess, tempDir, type ServerProcess } from '../../test/support/server-process.js';

const run = promisify(execFile);

async function serverArgs(dataDir: string): Promise<string[]> {
  return ['server', '--data-dir', dataDir, '--grpc-addr', `127.0.0.1:${await freePort()}`, '--http-addr', `127.0.0.1:${await freePort()}`, '--disable-agent'];
}

/** A data dir whose store holds a few objects, then the damage done by `harm` to its LevelDB directory. */
async function damagedDataDir(t: { after(fn: () => Promise<void>): void }, harm: (storeDir: string) => Promise<void>): Promise<string> {
  const dataDir = await tempDir(t, 'bramble-corrupt-');
  const store = await openLevelStore({ dataDir });
  for (let i = 0; i < 3; i++) {
    await store.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'default' } } }] });
  }
  await store.close();
  await harm(path.join(dataDir, 'store'));
  return dataDir;
}

function linesMentioning(text: string, word: string): string[] {
  return text.split('\n').filter((l) => l.includes(word));
}

test('bramble server on a store with a garbled CURRENT file exits 74 with one line naming the directory and the reason', async (t) => {
  const dataDir = await damagedDataDir(t, (dir) => fs.writeFile(path.join(dir, 'CURRENT'), 'garbage\n'));
  const r = await runBramble(await serverArgs(dataDir));
  assert.equal(r.code, EXIT_STORE_FAILED, explain(r));
  const storeDir = path.join(dataDir, 'store');
  assert.deepEqual(linesMentioning(r.stdout + r.stderr, 'corrupt'),
    [`error: the store in ${storeDir} is corrupt: its CURRENT file holds "garbage\\n", which names no MANIFEST file there; restore a backup or move it away`]);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
});

test('bramble server on a store holding a value that is not JSON exits 74 naming the key', async (t) => {
  const dataDir = await damagedDataDir(t, async (dir) => {
    const { Level } = await import('level');
    const db = new Level<string, string>(dir);
    await db.put('o:ConfigMap/default/c1', '{"kind": "ConfigMap", "metadata": {');
    await db.close();
  });
  const r = await runBramble(await serverArgs(dataDir));
  assert.equal(r.code, EXIT_STORE_FAILED, explain(r));
  const [line, ...more] = linesMentioning(r.stdout + r.stderr, 'corrupt');
  assert.deepEqual(more, []);
  assert.match(line!, new RegExp(`^error: the store in ${path.join(dataDir, 'store')} is corrupt: the value of o:ConfigMap/default/c1 is not valid JSON`));
});

test('a second bramble server on a store in use says it is locked, not corrupt, and exits 1', async (t) => {
  const first = await startServerProcess();
  t.after(() => first.close());
  const r = await runBramble(await serverArgs(first.dataDir));
  assert.equal(r.code, 1, explain(r));
  assert.match(r.stderr, new RegExp(`^error: the store in ${path.join(first.dataDir, 'store')} is locked by another process \\(is another bramble server using it\\?\\)`, 'm'));
  assert.doesNotMatch(r.stdout + r.stderr, /corrupt/);
});

function call<Req, Res>(client: ClusterClient, fn: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

test('a disk that fills up under a running bramble server makes it log one fatal line with the reason and exit 74', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a tmpfs');
    return;
  }
  const mountPoint = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-full-disk-'));
  let server: ServerProcess | undefined;
  let client: ClusterClient | undefined;
  let mounted = false;
  // One hook, in this order, whatever failed: the process must let go of the mount before it is unmounted.
  t.after(async () => {
    client?.close();
    await server?.kill();
    if (mounted) await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
    await fs.rm(mountPoint, { recursive: true, force: true });
  });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mountPoint]);
    mounted = true;
  } catch (e) {
    t.skip(`cannot mount a tmpfs here: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const dataDir = path.join(mountPoint, 'data');
  server = await startServerProcess({ dataDir });
  const cfg = await readClientConfig(server.configPath);
  client = new (loadProto().bramble.v1.Cluster)(cfg.server, clientCredentials(cfg));
  await call(client, client.apply, { objects: [JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before' }, data: { k: 'v' } })] });

  // Fill what is left: the write stops at ENOSPC with the file holding what fitted.
  await fs.writeFile(path.join(mountPoint, 'filler'), Buffer.alloc(4 * 1024 * 1024)).catch((e: NodeJS.ErrnoException) => assert.equal(e.code, 'ENOSPC'));

  // Pages LevelDB already holds may take a little more; writes of 16 KiB soon need new ones.
  let refused: unknown;
  const deadline = Date.now() + 20_000;
  for (let i = 0; refused === undefined && Date.now() < deadline; i++) {
    const object = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `fill-${i}` }, data: { k: 'x'.repeat(16 * 1024) } });
    await call(client, client.apply, { objects: [object] }).catch((e: unknown) => { refused = e; });
  }
  assert.ok(refused !== undefined, 'a write was refused before the deadline');
  const err = fromServiceError(refused);
  // The answer to the refused write, unless the process was already gone when it came.
  if (err.code !== 'UNAVAILABLE' || /store/.test(err.message)) {
    assert.equal(err.code, 'STORE_FAILED', err.message);
    assert.match(err.message, /No space left on device/);
  }

  const exit = await waitForExit(server);
  assert.deepEqual(exit, { code: EXIT_STORE_FAILED, signal: null }, server.output());
  const fatal = server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; dataDir?: string })
    .filter((l) => l.level >= 60);
  assert.equal(fatal.length, 1, server.output());
  assert.equal(fatal[0]!.dataDir, dataDir);
  assert.match(fatal[0]!.msg, new RegExp(`^the store could not write to ${path.join(dataDir, 'store')}: .*No space left on device; it accepts no more writes$`));

  // With space again the store opens as it was before the refused write.
  await fs.rm(path.join(mountPoint, 'filler'));
  client.close();
  await server.restart();
  client = new (loadProto().bramble.v1.Cluster)(cfg.server, clientCredentials(cfg));
  const got = await call(client, client.get, { kind: 'cm', name: 'before' });
  assert.deepEqual((JSON.parse(got.object) as { data: unknown }).data, { k: 'v' });
});

/** The process's own exit, polled with a deadline: it must come without a signal from the test. */
async function waitForExit(server: ServerProcess, timeoutMs = 20_000): Promise<{ code: number | null; signal: string | null }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = server.pid;
    let alive = pid !== undefined;
    try { if (pid !== undefined) process.kill(pid, 0); } catch { alive = false; }
    if (!alive) return server.stop();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`bramble server did not exit within ${timeoutMs} ms:\n${server.output()}`);
}
