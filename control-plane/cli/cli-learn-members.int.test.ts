// The CLI's connection against a real gRPC server on loopback whose answers carry
// members in their headers, good and bad: the config file is rewritten for a good
// list only, a bad one costs a debug line and never the call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';
import { MEMBERS_METADATA_KEY } from '../api/members-metadata.js';
import { ensureClusterPki } from '../pki/pki-ca.js';
import { readClientConfig, writeClientConfig } from '../pki/client-config.js';
import { connectCluster } from './cli-client.js';
import type { ClientLog } from './cli-learn-members.js';

describe('learning the members over a real connection', () => {
  let dir: string;
  let server: grpc.Server;
  let port: number;
  /** The values the next answers send under MEMBERS_METADATA_KEY (none: no header). */
  let sending: string[] = [];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-learn-int-'));
    const pki = await ensureClusterPki(dir, { sans: ['127.0.0.1'] });
    server = new grpc.Server();
    server.addService(loadProto().bramble.v1.Cluster.service, {
      Version: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const md = new grpc.Metadata();
        for (const v of sending) md.add(MEMBERS_METADATA_KEY, v);
        call.sendMetadata(md);
        cb(null, { version: 'test', nodeName: 'fake' });
      },
    });
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', pki.serverCredentials(), (e, p) => (e ? reject(e) : resolve(p))));
    const admin = await pki.issueClientCert('bramble-admin', 'bramble:admins');
    await writeClientConfig(path.join(dir, 'base.conf'), { server: `127.0.0.1:${port}`, ca: pki.caPem, cert: admin.certPem, key: admin.keyPem });
  });
  after(async () => {
    server.forceShutdown();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function version(file: string): Promise<{ notices: string[]; debugs: string[] }> {
    const notices: string[] = [];
    const debugs: string[] = [];
    const log: ClientLog = { notice: (t) => { notices.push(t); }, debug: (t) => { debugs.push(t); } };
    const conn = await connectCluster({ configPath: file, env: {}, log });
    try {
      assert.equal((await conn.version()).nodeName, 'fake', 'the call itself always succeeds');
    } finally {
      conn.close();
    }
    return { notices, debugs };
  }

  test('bad lists leave the file alone with a debug line; a good one is written once', async () => {
    const file = path.join(dir, 'copy.conf');
    await fs.copyFile(path.join(dir, 'base.conf'), file);
    const text = await fs.readFile(file, 'utf8');
    const self = `127.0.0.1:${port}`;
    const bad = [[`${self},10.0.0.2`], [`${self},`], [`${self},10.0.0.2:7443`, '10.0.0.3:7443'], [Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}:7443`).join(',')], [`${self},h%x:1`]];
    for (const values of bad) {
      sending = values;
      const { notices, debugs } = await version(file);
      assert.deepEqual(notices, []);
      assert.equal(debugs.length, 1, `one debug line for ${JSON.stringify(values).slice(0, 80)}`);
      assert.match(debugs[0]!, /^the members a server sent were ignored: bramble-members /);
      assert.equal(await fs.readFile(file, 'utf8'), text);
    }
    sending = [];
    assert.deepEqual(await version(file), { notices: [], debugs: [] }, 'no header: no news');
    assert.equal(await fs.readFile(file, 'utf8'), text);
    sending = [`10.0.0.2:7443,${self},10.0.0.3:7443`];
    const { notices } = await version(file);
    assert.deepEqual(notices, [`${file} now lists the members' addresses: ${self}, 10.0.0.2:7443, 10.0.0.3:7443\n`]);
    assert.deepEqual((await readClientConfig(file)).servers, [self, '10.0.0.2:7443', '10.0.0.3:7443']);
    const written = await fs.stat(file);
    sending = [`10.0.0.3:7443,10.0.0.2:7443,${self}`];
    assert.deepEqual(await version(file), { notices: [], debugs: [] });
    assert.equal((await fs.stat(file)).ino, written.ino, 'the same members in another order: not rewritten');
    // --server pins one member: nothing learned.
    sending = [`${self},10.0.0.9:7443`];
    const pinned = await connectCluster({ configPath: file, env: {}, server: self });
    try {
      await pinned.version();
    } finally {
      pinned.close();
    }
    assert.equal((await fs.stat(file)).ino, written.ino, 'not rewritten through --server');
  });
});
