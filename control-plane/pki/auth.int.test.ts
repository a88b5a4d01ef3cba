// A real grpc-js server with the cluster's TLS: who gets in, who is refused,
// and whether a joining agent can pin the CA from a token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadProto, type VersionResponse__Output } from '../../proto/load.js';
import type { ClusterClient } from '../../proto/generated/bramble/v1/Cluster.js';
import { BrambleError, ERROR_CODE_METADATA_KEY, isBrambleError } from '../../proto/util/errors.js';
import { formatToken, generateTokenParts } from '../../proto/token.js';
import {
  createNodeKeyAndCsr,
  fetchServerCa,
  joinChannelCredentials,
  nodeChannelCredentials,
  verifyCaAgainstToken,
} from '../../agent/join-tls.js';
import type { PeerCertificate } from 'node:tls';
import { ADMIN_COMMON_NAME, ADMIN_ORGANIZATION, peerIdentity, requireAdmin, requireNode, requireReplica, type CallWithAuth } from './auth.js';
import { clientCredentials } from './client-config.js';
import { ensureClusterPki, type ClusterPki } from './pki-ca.js';

const proto = loadProto();

interface Started {
  server: grpc.Server;
  port: number;
}

async function startServer(credentials: grpc.ServerCredentials): Promise<Started> {
  const server = new grpc.Server();
  server.addService(proto.bramble.v1.Cluster.service, {
    Version: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<VersionResponse__Output>) => {
      const id = peerIdentity(call);
      if (!id) {
        callback(new BrambleError('UNAUTHENTICATED', 'no client certificate: use the credentials in admin.conf').toServiceError());
        return;
      }
      callback(null, { version: 'test', revision: 0, objectCount: 0, gitCommit: '', nodeName: id.kind === 'admin' ? 'admin' : `node/${id.name}` });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

function callVersion(port: number, creds: grpc.ChannelCredentials): Promise<VersionResponse__Output> {
  const client = new proto.bramble.v1.Cluster(`127.0.0.1:${port}`, creds) as ClusterClient;
  return new Promise<VersionResponse__Output>((resolve, reject) => {
    client.Version({}, { deadline: Date.now() + 10_000 }, (err, res) => (err || !res ? reject(err) : resolve(res)));
  }).finally(() => client.close());
}

describe('cluster TLS and peer identity', () => {
  let dir: string;
  let pki: ClusterPki;
  let otherPki: ClusterPki;
  let running: Started;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-auth-'));
    pki = await ensureClusterPki(path.join(dir, 'a'), {});
    otherPki = await ensureClusterPki(path.join(dir, 'b'), {});
    running = await startServer(pki.serverCredentials());
  });

  after(async () => {
    running?.server.forceShutdown();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('an admin client certificate is accepted and identified as the admin', async () => {
    const admin = await pki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
    const creds = clientCredentials({ server: `127.0.0.1:${running.port}`, ca: pki.caPem, cert: admin.certPem, key: admin.keyPem });
    const res = await callVersion(running.port, creds);
    assert.equal(res.nodeName, 'admin');
  });

  test('a node certificate from a CSR is identified as that node', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr('pi-1');
    const certPem = await pki.signNodeCsr(csrPem, 'pi-1');
    const res = await callVersion(running.port, nodeChannelCredentials({ keyPem, certPem, caPem: pki.caPem }));
    assert.equal(res.nodeName, 'node/pi-1');
  });

  test('TLS without a client certificate reaches the handler and gets UNAUTHENTICATED', async () => {
    await assert.rejects(callVersion(running.port, joinChannelCredentials(pki.caPem)), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAUTHENTICATED);
      assert.equal(e.code, 16);
      // The code in metadata proves the refusal came from the handler, not the handshake.
      assert.deepEqual(e.metadata.get(ERROR_CODE_METADATA_KEY), ['UNAUTHENTICATED']);
      assert.match(e.details, /admin\.conf/);
      return true;
    });
  });

  test('a client certificate from another cluster CA gives no identity', async () => {
    const stranger = await otherPki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
    const creds = grpc.credentials.createSsl(Buffer.from(pki.caPem), Buffer.from(stranger.keyPem), Buffer.from(stranger.certPem), {
      checkServerIdentity: () => undefined,
    });
    await assert.rejects(callVersion(running.port, creds), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAUTHENTICATED);
      return true;
    });
  });

  test('a client pinning another CA refuses to talk to this server', async () => {
    const admin = await otherPki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
    const creds = clientCredentials({ server: `127.0.0.1:${running.port}`, ca: otherPki.caPem, cert: admin.certPem, key: admin.keyPem });
    await assert.rejects(callVersion(running.port, creds), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAVAILABLE);
      assert.match(e.details, /self-signed certificate|unable to verify/);
      return true;
    });
  });

  test('a server presenting a node certificate of the same CA is not trusted as the control plane', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr('rogue');
    const certPem = await pki.signNodeCsr(csrPem, 'rogue');
    const rogue = await startServer(
      grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(certPem + pki.caPem), private_key: Buffer.from(keyPem) }]),
    );
    try {
      const admin = await pki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
      const creds = clientCredentials({ server: `127.0.0.1:${rogue.port}`, ca: pki.caPem, cert: admin.certPem, key: admin.keyPem });
      await assert.rejects(callVersion(rogue.port, creds), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.UNAVAILABLE);
        // OpenSSL requires the serverAuth purpose, which node certificates lack.
        assert.match(e.details, /unsuitable certificate purpose/);
        return true;
      });
    } finally {
      rogue.server.forceShutdown();
    }
  });

  test('fetchServerCa returns the CA whose hash the cluster tokens carry', async () => {
    const got = await fetchServerCa('127.0.0.1', running.port);
    assert.equal(got.caHash, pki.caHash);
    assert.equal(got.caPem.trim(), pki.caPem.trim());
    const token = formatToken({ caHash: pki.caHash, ...generateTokenParts() });
    assert.doesNotThrow(() => verifyCaAgainstToken(got.caHash, token));
  });

  test('a token carrying another cluster CA hash fails with CA_MISMATCH', async () => {
    const got = await fetchServerCa('127.0.0.1', running.port);
    const token = formatToken({ caHash: otherPki.caHash, ...generateTokenParts() });
    assert.throws(() => verifyCaAgainstToken(got.caHash, token), (e: unknown) => isBrambleError(e, 'CA_MISMATCH'));
  });
});

type Requirement = 'admin' | 'node' | 'replica';

/** A server whose handler applies the requirement the client names in metadata. */
async function startGuardedServer(credentials: grpc.ServerCredentials): Promise<Started> {
  const server = new grpc.Server();
  server.addService(proto.bramble.v1.Cluster.service, {
    Version: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<VersionResponse__Output>) => {
      const wanted = String(call.metadata.get('x-require')[0] ?? '') as Requirement;
      try {
        let who: string;
        if (wanted === 'admin') {
          requireAdmin(call);
          who = 'admin';
        } else if (wanted === 'node') who = `node/${requireNode(call)}`;
        else if (wanted === 'replica') who = `replica/${requireReplica(call)}`;
        else throw new BrambleError('INVALID_ARGUMENT', `x-require must be admin, node or replica: current value is "${wanted}"`);
        callback(null, { version: 'test', revision: 0, objectCount: 0, gitCommit: '', nodeName: who });
      } catch (e) {
        callback((e as BrambleError).toServiceError());
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

function callRequiring(port: number, creds: grpc.ChannelCredentials, wanted: Requirement): Promise<VersionResponse__Output> {
  const client = new proto.bramble.v1.Cluster(`127.0.0.1:${port}`, creds) as ClusterClient;
  const md = new grpc.Metadata();
  md.set('x-require', wanted);
  return new Promise<VersionResponse__Output>((resolve, reject) => {
    client.Version({}, md, { deadline: Date.now() + 10_000 }, (err, res) => (err || !res ? reject(err) : resolve(res)));
  }).finally(() => client.close());
}

describe('replica certificates against the admin and node requirements, over real TLS', () => {
  let dir: string;
  let pki: ClusterPki;
  let running: Started;
  const creds = {} as Record<Requirement, grpc.ChannelCredentials>;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-auth-replica-'));
    pki = await ensureClusterPki(dir, {});
    running = await startGuardedServer(pki.serverCredentials());
    const server = `127.0.0.1:${running.port}`;
    const admin = await pki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
    creds.admin = clientCredentials({ server, ca: pki.caPem, cert: admin.certPem, key: admin.keyPem });
    const { keyPem, csrPem } = await createNodeKeyAndCsr('pi-1');
    creds.node = nodeChannelCredentials({ keyPem, certPem: await pki.signNodeCsr(csrPem, 'pi-1'), caPem: pki.caPem });
    const replica = await pki.issueReplicaCert('pi-1');
    creds.replica = clientCredentials({ server, ca: pki.caPem, cert: replica.certPem, key: replica.keyPem });
  });

  after(async () => {
    running?.server.forceShutdown();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('each certificate passes its own requirement, the replica one as that replica', async () => {
    assert.equal((await callRequiring(running.port, creds.admin, 'admin')).nodeName, 'admin');
    assert.equal((await callRequiring(running.port, creds.node, 'node')).nodeName, 'node/pi-1');
    assert.equal((await callRequiring(running.port, creds.replica, 'replica')).nodeName, 'replica/pi-1');
  });

  // The node and the replica share the name "pi-1" on purpose: the kind, not the name, decides.
  const directions: [Requirement, Requirement][] = [
    ['replica', 'admin'], ['replica', 'node'], ['admin', 'replica'], ['node', 'replica'], ['admin', 'node'], ['node', 'admin'],
  ];
  for (const [caller, wanted] of directions) {
    test(`a ${caller} certificate is refused as FORBIDDEN where a ${wanted} certificate is required`, async () => {
      await assert.rejects(callRequiring(running.port, creds[caller], wanted), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.PERMISSION_DENIED);
        assert.deepEqual(e.metadata.get(ERROR_CODE_METADATA_KEY), ['FORBIDDEN']);
        return true;
      });
    });
  }

  test('a call without a client certificate is refused by requireReplica as UNAUTHENTICATED', async () => {
    await assert.rejects(callRequiring(running.port, joinChannelCredentials(pki.caPem), 'replica'), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAUTHENTICATED);
      assert.match(e.details, /replica certificate/);
      return true;
    });
  });
});

/** A call whose TLS layer verified a certificate with this subject (or none). */
function fakeCall(subject?: Record<string, string | string[]>): CallWithAuth {
  const cert = subject ? ({ subject, raw: Buffer.from('x') } as unknown as PeerCertificate) : undefined;
  return { getAuthContext: () => (cert ? { transportSecurityType: 'ssl', sslPeerCertificate: cert } : {}) };
}

describe('identities from certificate subjects', () => {
  test('admin and node subjects map to identities; anything else has none', () => {
    assert.deepEqual(peerIdentity(fakeCall({ CN: 'admin', O: 'bramble:admins' })), { kind: 'admin' });
    assert.deepEqual(peerIdentity(fakeCall({ CN: 'system:node:pi-2', O: 'bramble:nodes' })), { kind: 'node', name: 'pi-2' });
    assert.equal(peerIdentity(fakeCall({ CN: 'admin', O: 'bramble:nodes' })), undefined);
    assert.equal(peerIdentity(fakeCall({ CN: 'system:node:pi-2', O: 'bramble:admins' })), undefined);
    assert.equal(peerIdentity(fakeCall({ CN: 'system:node:', O: 'bramble:nodes' })), undefined);
    assert.equal(peerIdentity(fakeCall({ CN: 'admin', O: ['bramble:admins', 'bramble:nodes'] })), undefined);
    assert.equal(peerIdentity(fakeCall()), undefined);
  });

  test('replica subjects map to replica identities, and mixed node and replica subjects to none', () => {
    assert.deepEqual(peerIdentity(fakeCall({ CN: 'system:replica:pi-1', O: 'bramble:replicas' })), { kind: 'replica', name: 'pi-1' });
    assert.equal(peerIdentity(fakeCall({ CN: 'system:replica:pi-1', O: 'bramble:nodes' })), undefined);
    assert.equal(peerIdentity(fakeCall({ CN: 'system:node:pi-1', O: 'bramble:replicas' })), undefined);
    assert.equal(peerIdentity(fakeCall({ CN: 'system:replica:', O: 'bramble:replicas' })), undefined);
    assert.equal(peerIdentity(fakeCall({ CN: 'admin', O: 'bramble:replicas' })), undefined);
    assert.equal(peerIdentity(fakeCall({ CN: 'system:replica:pi-1', O: ['bramble:replicas', 'bramble:admins'] })), undefined);
  });

  test('requireReplica returns the replica name and refuses nodes, the admin and anonymous calls', () => {
    assert.equal(requireReplica(fakeCall({ CN: 'system:replica:pi-1', O: 'bramble:replicas' })), 'pi-1');
    assert.throws(() => requireReplica(fakeCall({ CN: 'system:node:pi-1', O: 'bramble:nodes' })), (e: unknown) =>
      isBrambleError(e, 'FORBIDDEN') && e.message === 'node "pi-1" may not call the Raft service: only a replica certificate may');
    assert.throws(() => requireReplica(fakeCall({ CN: 'admin', O: 'bramble:admins' })), (e: unknown) => isBrambleError(e, 'FORBIDDEN'));
    assert.throws(() => requireReplica(fakeCall()), (e: unknown) => isBrambleError(e, 'UNAUTHENTICATED'));
    const replica = fakeCall({ CN: 'system:replica:pi-1', O: 'bramble:replicas' });
    assert.throws(() => requireAdmin(replica), (e: unknown) => isBrambleError(e, 'FORBIDDEN') && e.message.startsWith('replica "pi-1" may not'));
    assert.throws(() => requireNode(replica), (e: unknown) => isBrambleError(e, 'FORBIDDEN'));
  });

  test('requireAdmin refuses a call without a certificate as UNAUTHENTICATED and a node as FORBIDDEN', () => {
    assert.doesNotThrow(() => requireAdmin(fakeCall({ CN: 'admin', O: 'bramble:admins' })));
    assert.throws(() => requireAdmin(fakeCall()), (e: unknown) => isBrambleError(e, 'UNAUTHENTICATED') && /admin\.conf/.test(e.message));
    assert.throws(() => requireAdmin(fakeCall({ CN: 'system:node:a', O: 'bramble:nodes' }), 'delete tokens'), (e: unknown) =>
      isBrambleError(e, 'FORBIDDEN') && e.message.startsWith('node "a" may not delete tokens'));
  });

  test('requireNode returns the caller node and refuses other nodes, the admin and anonymous calls', () => {
    const a = fakeCall({ CN: 'system:node:a', O: 'bramble:nodes' });
    assert.equal(requireNode(a), 'a');
    assert.equal(requireNode(a, 'a'), 'a');
    assert.throws(() => requireNode(a, 'b'), (e: unknown) => isBrambleError(e, 'FORBIDDEN') && e.message === 'node "a" may not act for node "b"');
    assert.throws(() => requireNode(fakeCall({ CN: 'admin', O: 'bramble:admins' })), (e: unknown) => isBrambleError(e, 'FORBIDDEN'));
    assert.throws(() => requireNode(fakeCall()), (e: unknown) => isBrambleError(e, 'UNAUTHENTICATED'));
  });
});
