// Certificates renewed while the server and an agent run: real TLS on a real
// server; only the clock that decides "due" is fake (the certificates are signed
// with the real time, so handshakes check them as they would on a board).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { loadProto, type ClusterClient } from '../../proto/load.js';
import type { NodeClient } from '../../proto/generated/bramble/v1/Node.js';
import { FakeClock, realClock } from '../../proto/util/clock.js';
import { CertRenewalLoop } from '../../proto/util/cert-renewal.js';
import { silentLogger } from '../../proto/util/log.js';
import { agentChannelOptions, ensureJoined } from '../../agent/agent-join.js';
import { loadNodeCredentials, nodeChannelCredentials, type NodeCredentials } from '../../agent/join-tls.js';
import { NodeConnection } from '../../agent/node-connection.js';
import { caBundleSha256, nodeCertRenewable } from '../../agent/node-cert-renewal.js';
import { ServerList } from '../../agent/server-list.js';
import { clientCredentials, readClientConfig, writeClientConfig } from './client-config.js';
import { startServer, type RunningServer } from '../server.js';
import { rotateClusterCa } from './pki-ca.js';

const DAY = 24 * 3600 * 1000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TLS connection to the gRPC port, kept open; its peer certificate is what the server served at the handshake. */
function connectTls(port: number, caPem: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: caPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => resolve(s));
    s.once('error', reject);
  });
}

async function servedSerial(port: number, caPem: string): Promise<string> {
  const s = await connectTls(port, caPem);
  try {
    return s.getPeerCertificate().serialNumber;
  } finally {
    s.destroy();
  }
}

function version(client: ClusterClient): Promise<string> {
  return new Promise((resolve, reject) => client.Version({}, (err, r) => (err || !r ? reject(err) : resolve(r.version))));
}

function recordEvents(client: NodeClient, nodeName: string): Promise<void> {
  return new Promise((resolve, reject) => client.RecordEvents({ nodeName, events: [] }, (err) => (err ? reject(err) : resolve())));
}

describe('certificate renewal on a running server and agent (real TLS)', () => {
  let dir: string;
  let server: RunningServer;
  const renewalClock = new FakeClock(Date.now());

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-cert-renewal-int-'));
    server = await startServer({
      dataDir: path.join(dir, 'data'), grpcAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0', logger: silentLogger(),
      certRenewal: { clock: renewalClock },
    });
  });

  after(async () => {
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('the server serves a renewed certificate to new connections without a restart, and open connections keep working', async () => {
    const cfg = await readClientConfig(path.join(server.dataDir, 'admin.conf'));
    const Cluster = loadProto().bramble.v1.Cluster;
    const admin = new Cluster(cfg.server, clientCredentials(cfg));
    const held = await connectTls(server.grpcPort, cfg.ca);
    try {
      await version(admin);
      const first = await servedSerial(server.grpcPort, cfg.ca);
      assert.equal(held.getPeerCertificate().serialNumber, first);
      assert.equal(new X509Certificate(await fs.readFile(path.join(server.dataDir, 'tls', 'server.crt'))).serialNumber, first);

      await renewalClock.advance(340 * DAY);
      const second = await waitFor('a new serving certificate', async () => {
        const s = await servedSerial(server.grpcPort, cfg.ca);
        return s !== first ? s : undefined;
      });
      assert.equal(new X509Certificate(await fs.readFile(path.join(server.dataDir, 'tls', 'server.crt'))).serialNumber, second, 'written to disk too');
      assert.equal(held.destroyed, false, 'the connection opened before is still open');
      assert.equal(held.getPeerCertificate().serialNumber, first);
      assert.equal(admin.getChannel().getConnectivityState(false), grpc.connectivityState.READY);
      await version(admin);
    } finally {
      held.destroy();
      admin.close();
    }
  });

  test('the server renews admin.conf before it expires: atomically, 0600, its server list kept, and the admin connects with it', async () => {
    const file = path.join(server.dataDir, 'admin.conf');
    // The first test's advance left looks that renew admin.conf too; one look begun now ends
    // after them, so the file is not written behind this test's own write below.
    await server.checkCertificates();
    const before = await readClientConfig(file);
    // As a member's list, or one the CLI learned: the renewal must not drop it.
    await writeClientConfig(file, { ...before, servers: [before.server, '10.9.9.9:7443'] });
    await renewalClock.advance(400 * DAY);
    const renewed = await waitFor('a renewed admin certificate', async () => {
      const c = await readClientConfig(file);
      return c.cert !== before.cert ? c : undefined;
    });
    assert.notEqual(renewed.key, before.key);
    assert.deepEqual(renewed.servers, [before.server, '10.9.9.9:7443']);
    assert.equal(renewed.server, before.server);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    // The renewal clock runs 400 days ahead of the clock that signs, so the look queued
    // behind the one that renewed finds the new certificate due too and writes again:
    // "left" means once the loop has gone quiet, not at the instant the first write landed.
    await waitFor('no temporary file left beside admin.conf', async () => {
      const files = (await fs.readdir(server.dataDir)).filter((f) => f.startsWith('admin.conf'));
      return files.length === 1 && files[0] === 'admin.conf' ? true : undefined;
    });
    // Signed with the real time: a full lifetime from now, as a new certificate (the first test may have renewed it seconds ago).
    assert.notEqual(new X509Certificate(renewed.cert).serialNumber, new X509Certificate(before.cert).serialNumber);
    assert.ok(Date.parse(new X509Certificate(renewed.cert).validTo) > Date.now() + 360 * DAY);
    const admin = new (loadProto().bramble.v1.Cluster)(renewed.server, clientCredentials(renewed));
    try {
      assert.match(await version(admin), /\d/);
    } finally {
      admin.close();
    }
  });

  test('an agent renews its node certificate, dials again with it, and the old certificate is still accepted until it expires', async () => {
    const agentDir = path.join(dir, 'agent');
    const address = `127.0.0.1:${server.grpcPort}`;
    const token = (await fs.readFile(server.tokenFile, 'utf8')).trim();
    const joined = await ensureJoined({ server: address, token, nodeName: 'pi-int', dataDir: agentDir, logger: silentLogger() });
    const old: NodeCredentials = joined.credentials;
    let creds = old;
    const Node = loadProto().bramble.v1.Node;
    const connection = new NodeConnection({
      servers: new ServerList([address]), clock: realClock, logger: silentLogger(),
      dial: (a) => new Node(a, nodeChannelCredentials(creds), agentChannelOptions(a)),
    });
    const agentClock = new FakeClock(Date.now());
    const loop = new CertRenewalLoop({
      clock: agentClock, logger: silentLogger(),
      certs: [nodeCertRenewable({ nodeName: 'pi-int', dataDir: agentDir, connection, clock: realClock, current: () => creds, install: (n) => { creds = n; } })],
    });
    const oldClient = new Node(address, nodeChannelCredentials(old), agentChannelOptions(address));
    try {
      const before = connection.client();
      await recordEvents(before, 'pi-int');
      loop.start();
      await agentClock.advance(340 * DAY);
      await waitFor('the renewed node certificate', async () => (creds !== old ? true : undefined));
      await loop.stop();
      const saved = await loadNodeCredentials(agentDir);
      assert.equal(saved?.certPem, creds.certPem, 'kept in the data dir');
      assert.equal(saved?.keyPem, old.keyPem, 'for the same key');
      const renewed = new X509Certificate(creds.certPem);
      assert.notEqual(renewed.serialNumber, new X509Certificate(old.certPem).serialNumber);
      assert.equal(renewed.subject, 'CN=system:node:pi-int\nO=bramble:nodes');
      assert.notEqual(connection.client(), before, 'dialled again');
      await recordEvents(connection.client(), 'pi-int');
      await recordEvents(oldClient, 'pi-int');
    } finally {
      await loop.stop();
      connection.close();
      oldClient.close();
    }
  });
});

function heartbeat(client: NodeClient, nodeName: string): Promise<string> {
  return new Promise((resolve, reject) => client.Heartbeat(
    { nodeName, pods: [], portConflicts: [], addresses: [], labels: {} },
    (err, r) => (err || !r ? reject(err) : resolve(r.caBundleSha256)),
  ));
}

function recordEventsWithin(client: NodeClient, nodeName: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => client.RecordEvents({ nodeName, events: [] }, { deadline: Date.now() + ms }, (err) => (err ? reject(err) : resolve())));
}

describe('CA rotation on a server with a joined agent (real TLS)', () => {
  let dir: string;
  let server: RunningServer | undefined;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-rotate-int-'));
  });

  after(async () => {
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('during the overlap old and renewed agents both connect; after it the server serves from the new CA and only renewed agents do', async () => {
    const dataDir = path.join(dir, 'data');
    const agentDir = path.join(dir, 'agent');
    const Node = loadProto().bramble.v1.Node;
    server = await startServer({ dataDir, grpcAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0', logger: silentLogger() });
    let address = `127.0.0.1:${server.grpcPort}`;
    const token = (await fs.readFile(server.tokenFile, 'utf8')).trim();
    const old = (await ensureJoined({ server: address, token, nodeName: 'pi-rot', dataDir: agentDir, logger: silentLogger() })).credentials;
    await server.close();

    // Long enough for a restart and the checks below on a loaded machine; the test then waits it out.
    const rotation = await rotateClusterCa(dataDir, { overlapMs: 20_000 });
    const newCaPem = await fs.readFile(path.join(dataDir, 'tls', 'ca.crt'), 'utf8');
    const renewalClock = new FakeClock(Date.now());
    server = await startServer({ dataDir, grpcAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0', logger: silentLogger(), certRenewal: { clock: renewalClock } });
    address = `127.0.0.1:${server.grpcPort}`;

    const oldClient = new Node(address, nodeChannelCredentials(old), agentChannelOptions(address));
    let creds = old;
    const connection = new NodeConnection({
      servers: new ServerList([address]), clock: realClock, logger: silentLogger(),
      dial: (a) => new Node(a, nodeChannelCredentials(creds), agentChannelOptions(a)),
    });
    try {
      // The overlap: the agent that trusts only the previous CA still gets in, and hears of the new bundle.
      await recordEvents(oldClient, 'pi-rot');
      const bundleHash = await heartbeat(oldClient, 'pi-rot');
      assert.notEqual(bundleHash, caBundleSha256(old.caPem), 'the heartbeat tells the agent its ca.crt is not the bundle');
      await nodeCertRenewable({ nodeName: 'pi-rot', dataDir: agentDir, connection, clock: realClock, current: () => creds, install: (n) => { creds = n; } }).renew();
      assert.ok(new X509Certificate(creds.certPem).verify(new X509Certificate(newCaPem).publicKey), 'renewed from the new CA');
      assert.equal(caBundleSha256(creds.caPem), bundleHash, 'the agent now holds the bundle');
      await recordEvents(connection.client(), 'pi-rot');

      // The overlap ends: the next renewal look moves the serving certificate to the new CA.
      assert.ok(Date.now() < Date.parse(rotation.previousUntil), 'the checks above ran inside the overlap');
      await waitFor('the end of the overlap', async () => (Date.now() > Date.parse(rotation.previousUntil) ? true : undefined), 30_000);
      await renewalClock.advance(3600_000);
      await waitFor('a serving certificate from the new CA', async () => {
        const s = await connectTls(server!.grpcPort, newCaPem).catch(() => undefined);
        if (!s) return undefined;
        s.destroy();
        return true;
      });
      const fresh = new Node(address, nodeChannelCredentials(creds), agentChannelOptions(address));
      try {
        await recordEvents(fresh, 'pi-rot');
        assert.equal(await heartbeat(fresh, 'pi-rot'), caBundleSha256(newCaPem), 'the bundle is the new CA alone');
      } finally {
        fresh.close();
      }
      const stale = new Node(address, nodeChannelCredentials(old), agentChannelOptions(address));
      try {
        await assert.rejects(recordEventsWithin(stale, 'pi-rot', 3000), 'an agent that never renewed cannot connect after the overlap');
      } finally {
        stale.close();
      }
    } finally {
      oldClient.close();
      connection.close();
    }
  });
});
