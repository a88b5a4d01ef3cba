// Secrets at rest with a real server: LevelDB files never hold a Secret's value,
// a store written before encryption is encrypted on its first start, rotation
// goes through the admin API, and damaged keys or ciphertext are refused by name.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { fromServiceError } from '../../proto/util/errors.js';
import { loadProto, type ClusterClient } from '../../proto/load.js';
import type { KObject } from '../../proto/model.js';
import { clientCredentials, readClientConfig } from '../pki/client-config.js';
import { setTimeout as delay } from 'node:timers/promises';
import { startServerProcess, type ServerProcess } from '../../test/support/server-process.js';
import { startServer, type RunningServer } from '../server.js';
import { openLevelStore } from '../store/store-level.js';
import { keyFilePath, parseKeyFile } from './encryption-keys.js';
import { ENCRYPTED_MARKER, encryptionOf } from './secret-cipher.js';

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;

function call<Req, Res>(client: ClusterClient, fn: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

const PASSWORD = 'pw-7f3a9c2e51b84d06a1';
const TOKEN = 'tk-0c9e6b2a4f718d35e2';
const CONTROL = 'cm-5d1f8e3b7a290c64f9';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function secretManifest(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, labels: { app: 'db' } }, type: 'Opaque', stringData: { password: PASSWORD }, data: { token: b64(TOKEN) } });
}

/** Every file under dir whose bytes contain needle. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if ((await fs.readFile(file)).includes(Buffer.from(needle))) found.push(path.relative(dir, file));
  }
  return found;
}

function capturingLogger(): { logger: pino.Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

interface Running {
  server: RunningServer;
  client: ClusterClient;
  close(): Promise<void>;
}

async function start(dataDir: string, logger: pino.Logger = pino({ level: 'silent' })): Promise<Running> {
  const server = await startServer({ dataDir, grpcAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0', logger });
  const cfg = await readClientConfig(path.join(server.dataDir, 'admin.conf'));
  const Cluster = loadProto().bramble.v1.Cluster;
  // admin.conf keeps the first start's port: point at this start's.
  const client = new Cluster(`127.0.0.1:${server.grpcPort}`, clientCredentials(cfg));
  return { server, client, close: async () => { client.close(); await server.close(); } };
}

function secretData(obj: KObject): Record<string, string> {
  return Object.fromEntries(Object.entries(obj.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

describe('secrets at rest (real server, real LevelDB)', () => {
  let dir: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-secrets-int-'));
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('no file of the store holds a Secret value, in clear or base64, while a ConfigMap value is found there', async () => {
    const dataDir = path.join(dir, 'fresh');
    const { logger, text: logText } = capturingLogger();
    const run = await start(dataDir, logger);
    try {
      const cm = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'control' }, data: { v: CONTROL } });
      const applied = await call(run.client, run.client.apply, { objects: [secretManifest('db'), cm] });
      assert.deepEqual(applied.results.map((r) => r.action), ['created', 'created']);
      assert.deepEqual(secretData(JSON.parse(applied.results[0]!.object) as KObject), { password: PASSWORD, token: TOKEN });
      const got = JSON.parse((await call(run.client, run.client.get, { kind: 'secret', namespace: 'default', name: 'db' })).object) as KObject;
      assert.deepEqual(secretData(got), { password: PASSWORD, token: TOKEN });
      const listed = await call(run.client, run.client.list, { kind: 'secrets', namespace: 'default' });
      assert.ok(!listed.objects.join('').includes(ENCRYPTED_MARKER), 'users never see the marker');
      const again = await call(run.client, run.client.apply, { objects: [secretManifest('db')] });
      assert.equal(again.results[0]!.action, 'unchanged', 'the schema and the apply planner see the Secret in clear');
    } finally {
      await run.close();
    }
    const storeDir = path.join(dataDir, 'store');
    assert.notDeepEqual(await filesContaining(storeDir, CONTROL), [], 'the grep can see values LevelDB holds');
    for (const needle of [PASSWORD, b64(PASSWORD), TOKEN, b64(TOKEN)]) {
      assert.deepEqual(await filesContaining(storeDir, needle), [], `${needle} is in the store's files`);
    }
    const keyFile = keyFilePath(dataDir);
    assert.equal((await fs.stat(keyFile)).mode & 0o777, 0o600);
    const keys = parseKeyFile(await fs.readFile(keyFile, 'utf8'), keyFile);
    const keyText = keys.active().bytes().toString('base64');
    assert.deepEqual(await filesContaining(storeDir, keyText), [], 'the key is not in the store');
    for (const needle of [keyText, PASSWORD, b64(PASSWORD), b64(TOKEN)]) assert.ok(!logText().includes(needle), `${needle} reached the log`);
    assert.match(logText(), /made the Secrets encryption key file/);
  });

  test('status and rotate go through the admin API; after rotation every Secret is under the new key and reads the same', async () => {
    const dataDir = path.join(dir, 'fresh');
    const run = await start(dataDir);
    try {
      const before = await call(run.client, run.client.secretsEncryptionStatus, {});
      assert.equal(before.totalSecrets, 1);
      assert.equal(before.plaintextSecrets, 0);
      assert.deepEqual(before.keys.map((k) => [k.id, k.active, Number(k.secrets)]), [[before.activeKeyId, true, 1]]);
      const rotated = await call(run.client, run.client.rotateSecretsEncryption, { keepOldKeys: false });
      assert.equal(rotated.previousKeyId, before.activeKeyId);
      assert.equal(Number(rotated.reencrypted), 1);
      assert.deepEqual(rotated.removedKeyIds, [before.activeKeyId]);
      assert.deepEqual(rotated.status?.keys.map((k) => [k.id, Number(k.secrets)]), [[rotated.activeKeyId, 1]]);
      const got = JSON.parse((await call(run.client, run.client.get, { kind: 'secret', namespace: 'default', name: 'db' })).object) as KObject;
      assert.deepEqual(secretData(got), { password: PASSWORD, token: TOKEN });
      const file = parseKeyFile(await fs.readFile(keyFilePath(dataDir), 'utf8'), 'f');
      assert.deepEqual([file.activeId, file.ids()], [rotated.activeKeyId, [rotated.activeKeyId]]);
    } finally {
      await run.close();
    }
  });

  test('a store written before encryption has its Secrets encrypted on first start, and its watch history in clear is dropped', async () => {
    const dataDir = path.join(dir, 'legacy');
    const legacy = await openLevelStore({ dataDir });
    const plain: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'old', namespace: 'default', uid: 'u1' }, data: { v: b64(PASSWORD) } };
    await legacy.propose({ ops: [{ type: 'put', object: plain }] });
    await legacy.close();
    const { logger, text } = capturingLogger();
    const run = await start(dataDir, logger);
    let activeKeyId: string;
    try {
      const got = JSON.parse((await call(run.client, run.client.get, { kind: 'secret', namespace: 'default', name: 'old' })).object) as KObject;
      assert.deepEqual(secretData(got), { v: PASSWORD });
      const status = await call(run.client, run.client.secretsEncryptionStatus, {});
      assert.equal(status.plaintextSecrets, 0);
      activeKeyId = status.activeKeyId;
    } finally {
      await run.close();
    }
    assert.match(text(), /encrypted the Secrets this store held in clear/);
    assert.match(text(), /dropped the watch history that held those Secrets in clear/);
    const raw = await openLevelStore({ dataDir });
    try {
      const enc = encryptionOf(raw.get('Secret', 'default', 'old')!);
      assert.equal(enc.state === 'encrypted' && enc.keyId, activeKeyId);
      const encryptedAt = Number(raw.get('Secret', 'default', 'old')!.metadata.resourceVersion);
      assert.ok(raw.oldestResumableRevision() >= encryptedAt, `no watch resumes from before the encryption (revision ${encryptedAt}): oldest is ${raw.oldestResumableRevision()}`);
    } finally {
      await raw.close();
    }
  });

  test('--cluster-init on a store written before encryption drops its history too: a joining member never receives the Secret in clear, and a watch from before relists', async () => {
    const dataDir = path.join(dir, 'legacy-cluster');
    const legacy = await openLevelStore({ dataDir });
    const plain: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'old', namespace: 'default', uid: 'u1' }, data: { v: b64(PASSWORD) } };
    await legacy.propose({ ops: [{ type: 'put', object: plain }] });
    await legacy.close();
    const env = { ...process.env, BRAMBLE_LOG_LEVEL: 'info' };
    const first = await startServerProcess({ dataDir, env, extraArgs: ['--cluster-init', '--node-name', 'cp1'] });
    let second: ServerProcess | undefined;
    const clients: ClusterClient[] = [];
    try {
      assert.match(first.output(), /dropped the watch history that held those Secrets in clear/);
      second = await startServerProcess({ env, extraArgs: ['--join', `127.0.0.1:${first.grpcPort}`, '--token-file', path.join(dataDir, 'token'), '--node-name', 'cp2'] });
      const cfg = await readClientConfig(first.configPath);
      const Cluster = loadProto().bramble.v1.Cluster;
      const [leader, follower] = [first, second].map((s) => {
        const c = new Cluster(`127.0.0.1:${s.grpcPort}`, clientCredentials(cfg));
        clients.push(c);
        return c;
      }) as [ClusterClient, ClusterClient];
      // The joiner has the Secret (from the leader's snapshot or log) and reads it in clear with the shared key.
      const deadline = Date.now() + 30_000;
      let got: KObject | undefined;
      while (!got) {
        got = await call(follower, follower.get, { kind: 'secret', namespace: 'default', name: 'old', consistency: 'serializable' })
          .then((r) => JSON.parse(r.object) as KObject, () => undefined);
        if (!got && Date.now() > deadline) assert.fail(`cp2 never served the Secret:\n${second.output().slice(-2000)}`);
        if (!got) await delay(100);
      }
      assert.deepEqual(secretData(got), { v: PASSWORD });
      const encryptedAt = Number(got.metadata.resourceVersion);
      for (const [name, client] of [['cp1', leader], ['cp2', follower]] as const) {
        const stream = client.watch({ kind: 'secrets', namespace: 'default', fromRevision: encryptedAt - 1 });
        const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
          stream.on('data', (e: unknown) => reject(new Error(`${name} replayed history from before the encryption: ${JSON.stringify(e).slice(0, 200)}`)));
          stream.on('error', resolve);
        });
        assert.equal(fromServiceError(err).code, 'STORE_REVISION_TOO_OLD', `${name}: ${err.message}`);
      }
    } finally {
      for (const c of clients) c.close();
      await second?.stop();
      await first.stop();
    }
    // Nothing the joiner ever wrote holds the value, in clear or base64: no snapshot or log entry carried it.
    assert.deepEqual(await filesContaining(second!.dataDir, PASSWORD), []);
    assert.deepEqual(await filesContaining(second!.dataDir, b64(PASSWORD)), []);
    await second!.close();
  });

  test('a ciphertext changed on disk is a STORE_FAILED error naming the Secret and key id; the Secret still lists and deletes', async () => {
    const dataDir = path.join(dir, 'fresh');
    const raw = await openLevelStore({ dataDir });
    const stored = raw.get('Secret', 'default', 'db')!;
    const marker = (stored.data as Record<string, string>)[ENCRYPTED_MARKER]!;
    const [format, keyId, blob] = marker.split(':') as [string, string, string];
    const bytes = Buffer.from(blob, 'base64');
    bytes[bytes.length - 1]! ^= 0xff;
    await raw.propose({ ops: [{ type: 'put', object: { ...stored, data: { [ENCRYPTED_MARKER]: `${format}:${keyId}:${bytes.toString('base64')}` } } }] });
    await raw.close();
    const run = await start(dataDir);
    try {
      await assert.rejects(call(run.client, run.client.get, { kind: 'secret', namespace: 'default', name: 'db' }), (e: grpc.ServiceError) => {
        const err = fromServiceError(e);
        assert.equal(err.code, 'STORE_FAILED');
        assert.match(err.message, new RegExp(`^Secret default/db cannot be decrypted: its ciphertext does not authenticate under key "${keyId}"`));
        return true;
      });
      const listed = await call(run.client, run.client.list, { kind: 'secrets', namespace: 'default' });
      assert.equal(listed.objects.length, 1);
      const status = await call(run.client, run.client.secretsEncryptionStatus, {});
      assert.equal(Number(status.unreadableSecrets), 1);
      await call(run.client, run.client.delete, { kind: 'secret', namespace: 'default', name: 'db' });
      assert.equal((await call(run.client, run.client.list, { kind: 'secrets', namespace: 'default' })).objects.length, 0);
    } finally {
      await run.close();
    }
  });

  test('a corrupted key file stops the start with an error naming the file, not a crash and not the key', async () => {
    const dataDir = path.join(dir, 'fresh');
    const file = keyFilePath(dataDir);
    const good = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, good.slice(0, good.length - 40));
    await assert.rejects(start(dataDir), (e: unknown) => {
      const msg = (e as Error).message;
      assert.match(msg, /^the encryption key file .*encryption-keys\.json is not valid: it is not JSON/);
      assert.ok(!msg.includes(parseKeyFile(good, file).active().bytes().toString('base64').slice(0, 16)));
      return true;
    });
    await fs.writeFile(file, good);
    const run = await start(dataDir);
    await run.close();
  });
});
