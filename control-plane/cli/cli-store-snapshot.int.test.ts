// Backup and restore with real processes: a running server's store saved by
// the CLI, restored offline into new data dirs, and served again by a server
// started there, with every object and the revision as they were.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KObject } from '../../proto/model.js';
import { openLevelStore } from '../store/store-level.js';
import { readSnapshotFile } from '../store/store-snapshot-file.js';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../../test/support/server-process.js';

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {app: shop}}
data: {colour: "café crème", size: "10"}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData: {password: hunter22}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`;

/** The whole store of a stopped server's data dir, as the store reads it back. */
async function storeOf(dataDir: string): Promise<ReturnType<Awaited<ReturnType<typeof openLevelStore>>['snapshot']>> {
  const store = await openLevelStore({ dataDir });
  try {
    return store.snapshot();
  } finally {
    await store.close();
  }
}

describe('bramble store snapshot save and restore', () => {
  let root: string;
  let source: ServerProcess;
  let file: string;
  const started: ServerProcess[] = [];

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-backup-int-'));
    source = await startServerProcess({ dataDir: path.join(root, 'source'), extraArgs: ['--snapshot-schedule', 'none'] });
    started.push(source);
    await fs.writeFile(path.join(root, 'shop.yaml'), MANIFESTS);
    const applied = await runBramble(['--config', source.configPath, 'apply', '-f', path.join(root, 'shop.yaml')]);
    assert.equal(applied.code, 0, explain(applied));
    // Enough objects for several chunks of the stream and several import batches.
    const many = Array.from({ length: 300 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${i}, namespace: shop}\ndata: {v: "${'x'.repeat(300)}"}\n`).join('---\n');
    await fs.writeFile(path.join(root, 'many.yaml'), many);
    const more = await runBramble(['--config', source.configPath, 'apply', '-f', path.join(root, 'many.yaml')]);
    assert.equal(more.code, 0, explain(more));
    file = path.join(root, 'backup.snap');
  });

  after(async () => {
    for (const s of started) await s.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const bramble = (args: string[]) => runBramble(args, { timeoutMs: 60_000 });

  test('save writes a checked snapshot of the running server at one revision, and refuses to overwrite it without --force', async () => {
    const saved = await bramble(['--config', source.configPath, 'store', 'snapshot', 'save', file]);
    assert.equal(saved.code, 0, explain(saved));
    const { snapshot, summary } = await readSnapshotFile(file);
    assert.match(saved.stdout, new RegExp(`^saved ${file}: revision ${snapshot.revision}, ${snapshot.objects.length} objects, ${snapshot.events.length} events, ${summary.bytes} bytes, sha256 ${summary.sha256}\\n$`));
    assert.ok(snapshot.objects.length > 300);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    await assert.rejects(fs.stat(`${file}.tmp`));

    const again = await bramble(['--config', source.configPath, 'store', 'snapshot', 'save', file]);
    assert.equal(again.code, 1, explain(again));
    assert.match(again.stderr, /already exists: choose another file name, or pass --force to replace it/);
    const forced = await bramble(['--config', source.configPath, 'store', 'snapshot', 'save', file, '--force']);
    assert.equal(forced.code, 0, explain(forced));
  });

  test('restore into a new dir with the PKI kept serves every object at the same revision', async () => {
    const { snapshot } = await readSnapshotFile(file);
    const dir = path.join(root, 'restored');
    // A new machine that keeps the cluster's identity: its CA and join token come along (admin.conf names the old address).
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.cp(path.join(source.dataDir, 'tls'), path.join(dir, 'tls'), { recursive: true });
    await fs.copyFile(path.join(source.dataDir, 'token'), path.join(dir, 'token'));
    // Secrets in the snapshot are ciphertext: the keys travel beside the backup, never in it.
    const keys = path.join(source.dataDir, 'cred', 'encryption-keys.json');
    const restored = await bramble(['store', 'snapshot', 'restore', file, '--data-dir', dir, '--encryption-keys', keys]);
    assert.equal(restored.code, 0, explain(restored));
    assert.equal((await fs.stat(path.join(dir, 'cred', 'encryption-keys.json'))).mode & 0o777, 0o600);
    assert.match(restored.stdout, new RegExp(`restored into ${path.join(dir, 'store')} \\(revision ${snapshot.revision}, compacted revision ${snapshot.compactedRevision}\\)`));
    assert.match(restored.stdout, /holds the cluster CA: agents that joined it reconnect as they were/);
    assert.doesNotMatch(restored.stdout, /warning: the snapshot holds/, 'with the keys given there is nothing to warn about');
    assert.match(restored.stdout, new RegExp(`start it with: bramble server --data-dir ${dir}\\n$`));

    const server = await startServerProcess({ dataDir: dir, extraArgs: ['--snapshot-schedule', 'none'] });
    started.push(server);
    const version = await bramble(['--config', server.configPath, 'version', '-o', 'json']);
    assert.equal(version.code, 0, explain(version));
    assert.equal((JSON.parse(version.stdout) as { serverVersion: { revision: number } }).serverVersion.revision, snapshot.revision);
    const cm = await bramble(['--config', server.configPath, 'get', 'configmap', 'settings', '-n', 'shop', '-o', 'json']);
    assert.equal(cm.code, 0, explain(cm));
    assert.deepEqual(JSON.parse(cm.stdout) as KObject, snapshot.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'settings'));
    // A write after the restore continues the revisions instead of reusing one.
    const applied = await bramble(['--config', server.configPath, 'apply', '-f', path.join(root, 'shop.yaml')]);
    assert.equal(applied.code, 0, explain(applied));
    await fs.writeFile(path.join(root, 'after.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after, namespace: shop}\n');
    const after = await bramble(['--config', server.configPath, 'apply', '-f', path.join(root, 'after.yaml')]);
    assert.equal(after.code, 0, explain(after));
    await server.stop();

    // Every object as it was, and every retained event, read from the restored server's own files.
    const served = await storeOf(dir);
    const written = served.objects.filter((o) => Number(o.metadata.resourceVersion) > snapshot.revision);
    assert.deepEqual(written.map((o) => o.metadata.name), ['after']);
    assert.deepEqual(served.objects.filter((o) => !written.includes(o)), snapshot.objects);
    assert.deepEqual(served.events.filter((e) => e.revision <= snapshot.revision), snapshot.events);
    assert.equal(served.revision, snapshot.revision + 1);
  });

  test('restore refuses a dir whose server is running, then one with a store unless --force, which keeps the old store aside', async () => {
    const { snapshot } = await readSnapshotFile(file);
    const locked = await bramble(['store', 'snapshot', 'restore', file, '--data-dir', source.dataDir]);
    assert.equal(locked.code, 1, explain(locked));
    assert.match(locked.stderr, new RegExp(`the store in ${path.join(source.dataDir, 'store')} is locked by another process: stop the bramble server using ${source.dataDir}`));

    await source.stop();
    const before = await storeOf(source.dataDir);
    const refused = await bramble(['store', 'snapshot', 'restore', file, '--data-dir', source.dataDir]);
    assert.equal(refused.code, 1, explain(refused));
    assert.match(refused.stderr, new RegExp(`${source.dataDir} already holds a store .*: restore into a new directory, or pass --force to move it aside to ${path.join(source.dataDir, 'store')}\\.old-\\d{8}T\\d{6}Z`));
    assert.deepEqual(await storeOf(source.dataDir), before);

    const forced = await bramble(['store', 'snapshot', 'restore', file, '--data-dir', source.dataDir, '--force']);
    assert.equal(forced.code, 0, explain(forced));
    const aside = /the store that was there is kept in (\S+)\n/.exec(forced.stdout)?.[1];
    assert.ok(aside !== undefined && aside.startsWith(path.join(source.dataDir, 'store.old-')), forced.stdout);
    await fs.rename(aside, path.join(root, 'aside-store'));
    await fs.mkdir(path.join(root, 'aside'));
    await fs.rename(path.join(root, 'aside-store'), path.join(root, 'aside', 'store'));
    assert.deepEqual(await storeOf(path.join(root, 'aside')), before);
    assert.equal((await storeOf(source.dataDir)).revision, snapshot.revision);
  });

  test('a corrupted or cut snapshot is refused before the data dir is touched, naming the file', async () => {
    const good = await fs.readFile(file);
    const bad = path.join(root, 'bad.snap');
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length / 2)] ^= 0x01;
    for (const [bytes, reason] of [[flipped, /is corrupt: /], [good.subarray(0, good.length - 10), /is truncated: it ends after \d+ bytes/]] as const) {
      await fs.writeFile(bad, bytes);
      const dir = path.join(root, 'never');
      const r = await bramble(['store', 'snapshot', 'restore', bad, '--data-dir', dir]);
      assert.equal(r.code, 1, explain(r));
      assert.match(r.stderr, new RegExp(`^error: the snapshot ${bad} `));
      assert.match(r.stderr, reason);
      await assert.rejects(fs.stat(dir));
    }
  });
});
