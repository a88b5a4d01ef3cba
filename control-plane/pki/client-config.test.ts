import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { isBrambleError } from '../../proto/util/errors.js';
import { defaultDataDir, findClientConfigPath, readClientConfig, serverList, writeClientConfig, type ClientConfig } from './client-config.js';

const CFG: ClientConfig = {
  server: '127.0.0.1:7443',
  ca: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  cert: '-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n',
  key: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
};

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-cfg-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('client config files', () => {
  test('a written config is YAML with the documented fields, mode 0600, and reads back the same', async (t) => {
    const file = path.join(await tempDir(t), 'sub', 'admin.conf');
    await writeClientConfig(file, CFG);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    const doc = parse(await fs.readFile(file, 'utf8')) as Record<string, string>;
    assert.deepEqual(doc, {
      apiVersion: 'bramble.dev/v1',
      kind: 'Config',
      server: CFG.server,
      certificateAuthority: CFG.ca,
      clientCertificate: CFG.cert,
      clientKey: CFG.key,
    });
    assert.deepEqual(await readClientConfig(file), CFG);
  });

  test('rewriting an existing config keeps it private', async (t) => {
    const file = path.join(await tempDir(t), 'admin.conf');
    await fs.writeFile(file, 'old', { mode: 0o644 });
    await writeClientConfig(file, CFG);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
  });

  test('a missing field is reported with the file and the field name', async (t) => {
    const file = path.join(await tempDir(t), 'admin.conf');
    await fs.writeFile(file, 'apiVersion: bramble.dev/v1\nkind: Config\nserver: h:1\ncertificateAuthority: x\nclientCertificate: y\n');
    await assert.rejects(readClientConfig(file), (e: unknown) =>
      isBrambleError(e, 'INVALID_ARGUMENT') && e.message.includes(file) && e.message.includes('clientKey'));
  });

  test('a server without a port is reported', async (t) => {
    const file = path.join(await tempDir(t), 'admin.conf');
    await writeClientConfig(file, { ...CFG, server: 'pi.local' });
    await assert.rejects(readClientConfig(file), (e: unknown) => isBrambleError(e) && /server must be "host:port"/.test(e.message));
  });

  test('a config of several members lists them all, the writing server first, and reads back the same', async (t) => {
    const file = path.join(await tempDir(t), 'admin.conf');
    const cfg = { ...CFG, servers: ['127.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443'] };
    await writeClientConfig(file, cfg);
    const doc = parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(doc.servers, cfg.servers);
    assert.deepEqual(serverList(await readClientConfig(file)), cfg.servers);
    // One member: no list is written, and the single server is the whole list.
    await writeClientConfig(file, { ...CFG, servers: [CFG.server] });
    assert.equal((parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>).servers, undefined);
    assert.deepEqual(serverList(await readClientConfig(file)), [CFG.server]);
  });

  test('servers that are not a list of host:port are reported', async (t) => {
    const file = path.join(await tempDir(t), 'admin.conf');
    await fs.writeFile(file, `kind: Config\nserver: a:1\ncertificateAuthority: x\nclientCertificate: y\nclientKey: z\nservers: [a:1, nope]\n`);
    await assert.rejects(readClientConfig(file), (e: unknown) => isBrambleError(e) && /servers must be a list of "host:port"/.test(e.message));
  });

  test('a file of another kind or broken YAML is reported with its name', async (t) => {
    const dir = await tempDir(t);
    const other = path.join(dir, 'other.yaml');
    await fs.writeFile(other, 'kind: Pod\n');
    await assert.rejects(readClientConfig(other), (e: unknown) => isBrambleError(e) && e.message.includes(other) && /kind must be "Config"/.test(e.message));
    const broken = path.join(dir, 'broken.yaml');
    await fs.writeFile(broken, 'a: [1, 2\n');
    await assert.rejects(readClientConfig(broken), (e: unknown) => isBrambleError(e) && /not valid YAML/.test(e.message));
    await assert.rejects(readClientConfig(path.join(dir, 'absent')), (e: unknown) => isBrambleError(e) && /cannot read/.test(e.message));
  });
});

describe('finding the client config', () => {
  test('an explicit --config file wins and must exist', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'c.yaml');
    await fs.writeFile(file, '');
    assert.equal(findClientConfigPath(file, { BRAMBLE_CONFIG: '/nope' }), file);
    assert.throws(() => findClientConfigPath(path.join(dir, 'missing')), (e: unknown) => isBrambleError(e) && /--config does not exist/.test(e.message));
  });

  test('BRAMBLE_CONFIG comes before ~/.bramble/config', async (t) => {
    const home = await tempDir(t);
    await fs.mkdir(path.join(home, '.bramble'));
    await fs.writeFile(path.join(home, '.bramble', 'config'), '');
    const envFile = path.join(home, 'env.yaml');
    await fs.writeFile(envFile, '');
    assert.equal(findClientConfigPath(undefined, { HOME: home, BRAMBLE_CONFIG: envFile }), envFile);
    assert.equal(findClientConfigPath(undefined, { HOME: home }), path.join(home, '.bramble', 'config'));
  });

  test('when nothing is found the error lists every place tried', async (t) => {
    const home = await tempDir(t);
    const env = { HOME: home, BRAMBLE_CONFIG: path.join(home, 'nope.yaml') };
    const adminConf = path.join(defaultDataDir(), 'admin.conf');
    const exists = await fs.stat(adminConf).then(() => true, () => false);
    if (exists) {
      assert.equal(findClientConfigPath(undefined, env), adminConf);
      return;
    }
    assert.throws(() => findClientConfigPath(undefined, env), (e: unknown) =>
      isBrambleError(e, 'NOT_FOUND') &&
      e.message.includes(env.BRAMBLE_CONFIG) &&
      e.message.includes(path.join(home, '.bramble', 'config')) &&
      e.message.includes(adminConf));
  });

  test('the default data dir depends on whether we run as root', () => {
    const expected = process.getuid?.() === 0 ? '/var/lib/bramble' : path.join(os.homedir(), '.bramble');
    assert.equal(defaultDataDir(), expected);
  });
});
