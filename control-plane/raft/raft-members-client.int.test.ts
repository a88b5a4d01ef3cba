// The Members service over real TLS on loopback: a forwarded write and its error
// code cross the wire, a member that is down is named, and a joining server pins
// the CA from its token before it sends the token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import { loadProto, type JoinMemberResponse, type MemberStatusResponse } from '../../proto/load.js';
import { formatToken } from '../../proto/token.js';
import { membersHandlers, type MemberService } from '../api/api-members.js';
import { ensureClusterPki, type ClusterPki } from '../pki/pki-ca.js';
import type { Command, CommitResult } from '../store/store.js';
import { joinAsMember, MembersClient } from './raft-members-client.js';

const TOKEN_ID = 'abc123';
const TOKEN_SECRET = '0123456789abcdef';

class Leader implements MemberService {
  joins: string[] = [];
  async join(name: string): Promise<JoinMemberResponse> {
    this.joins.push(name);
    return { caPem: this.caPem, caKeyPem: 'KEY', encryptionKeys: '{}', members: [{ name: 'cp1', address: 'a:1', learner: false }, { name, address: 'b:2', learner: true }] };
  }
  async propose(command: Command): Promise<CommitResult> {
    const op = command.ops[0]!;
    if (op.type === 'put' && op.precondition && 'resourceVersion' in op.precondition) {
      throw new BrambleError('CONFLICT', 'ConfigMap default/a is at resourceVersion 5, the request carried 4');
    }
    return { revision: 9, objects: [op.type === 'put' ? { ...op.object, metadata: { ...op.object.metadata, resourceVersion: '9' } } : undefined!] };
  }
  ownStatus(): MemberStatusResponse {
    return { name: 'cp1', role: 'leader', term: 2, leader: 'cp1', commitIndex: 5, appliedIndex: 5, lastIndex: 5, revision: 9 };
  }
  constructor(readonly caPem: string) {}
}

describe('the Members service over TLS', () => {
  let dir: string;
  let pki: ClusterPki;
  let server: grpc.Server;
  let address: string;
  let leader: Leader;
  let client: MembersClient;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-members-'));
    pki = await ensureClusterPki(dir, { sans: ['127.0.0.1'] });
    leader = new Leader(pki.caPem);
    server = new grpc.Server();
    server.addService(loadProto().bramble.v1.Members.service, membersHandlers({
      logger: silentLogger(), members: leader,
      verifyToken: async (t) => { if (!t.endsWith(`${TOKEN_ID}.${TOKEN_SECRET}`)) throw new BrambleError('TOKEN_INVALID', 'join token is not known'); },
      authorizeReplica: (call) => {
        const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
        if (cn !== 'system:replica:cp2') throw new BrambleError('FORBIDDEN', 'only a replica may forward writes');
        return 'cp2';
      },
      peerAddress: () => '127.0.0.1',
    }));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', pki.serverCredentials(), (err, p) => (err ? reject(err) : resolve(p))));
    address = `127.0.0.1:${port}`;
    const replica = await pki.issueClientCert('system:replica:cp2', 'bramble:replicas');
    client = new MembersClient({ credentials: grpc.credentials.createSsl(Buffer.from(pki.caPem), Buffer.from(replica.keyPem), Buffer.from(replica.certPem), { checkServerIdentity: () => undefined }) });
  });
  after(async () => {
    client?.close();
    await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test('a forwarded write comes back with the leader\'s result', async () => {
    const res = await client.forward(address, { ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } }, precondition: { absent: true } }] });
    assert.equal(res.revision, 9);
    assert.equal(res.objects[0]!.metadata.resourceVersion, '9');
  });

  test('the leader\'s refusal keeps its code across the forward', async () => {
    await assert.rejects(
      client.forward(address, { ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } }, precondition: { resourceVersion: '4' } }] }),
      (e: unknown) => isBrambleError(e, 'CONFLICT') && /resourceVersion 5/.test(e.message),
    );
  });

  test('a member that is down is named, and the request counts as never sent (safe to send elsewhere)', async () => {
    await assert.rejects(client.memberStatus('127.0.0.1:1', 2000), (e: unknown) => isBrambleError(e, 'NOT_LEADER') && /127\.0\.0\.1:1 cannot be reached .* did not get the request/.test(e.message));
    assert.equal((await client.memberStatus(address)).role, 'leader');
  });

  test('a server joins with the cluster\'s token and gets the CA back', async () => {
    const token = formatToken({ caHash: pki.caHash, id: TOKEN_ID, secret: TOKEN_SECRET });
    const res = await joinAsMember({ server: address, token, name: 'cp2', address: '127.0.0.1:7444' });
    assert.equal(res.caPem.trim(), pki.caPem.trim());
    assert.deepEqual(res.members.map((m) => [m.name, m.learner]), [['cp1', false], ['cp2', true]]);
  });

  test('a token for another CA is refused before the token is sent', async () => {
    const before = leader.joins.length;
    const token = formatToken({ caHash: 'f'.repeat(64), id: TOKEN_ID, secret: TOKEN_SECRET });
    await assert.rejects(joinAsMember({ server: address, token, name: 'cp3', address: '127.0.0.1:7445' }), (e: unknown) => isBrambleError(e, 'CA_MISMATCH'));
    assert.equal(leader.joins.length, before);
  });
});
