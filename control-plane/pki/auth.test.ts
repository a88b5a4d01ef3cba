import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerIdentity, requireAdmin, type AuthContext } from './auth.js';

const adminContext = { transportSecurityType: 'ssl', sslPeerCertificate: { subject: { CN: 'admin', O: 'bramble:admins' } } } as unknown as AuthContext;
const nodeContext = { transportSecurityType: 'ssl', sslPeerCertificate: { subject: { CN: 'system:node:rpa', O: 'bramble:nodes' } } } as unknown as AuthContext;

/** A call as grpc-js shapes it (call-connection.ts), counting how often its certificate is read. */
function callOn(session: object, context: AuthContext, reads: { n: number }) {
  return { call: { stream: { session } }, getAuthContext: () => { reads.n++; return context; } };
}

test('a connection\'s certificate is read once, whatever the number of calls on it', () => {
  const session = {};
  const reads = { n: 0 };
  for (let i = 0; i < 5; i++) assert.deepEqual(peerIdentity(callOn(session, adminContext, reads)), { kind: 'admin' });
  assert.equal(reads.n, 1);
});

test('each connection is judged by its own certificate', () => {
  const reads = { n: 0 };
  const admin = {};
  const node = {};
  assert.deepEqual(peerIdentity(callOn(admin, adminContext, reads)), { kind: 'admin' });
  assert.deepEqual(peerIdentity(callOn(node, nodeContext, reads)), { kind: 'node', name: 'rpa' });
  assert.throws(() => requireAdmin(callOn(node, nodeContext, reads)), /node "rpa" may not call this method: only the admin may/);
  assert.doesNotThrow(() => requireAdmin(callOn(admin, adminContext, reads)));
  assert.equal(reads.n, 2);
});

test('a call whose connection cannot be found has its certificate read every time', () => {
  const reads = { n: 0 };
  const call = { getAuthContext: () => { reads.n++; return nodeContext; } };
  peerIdentity(call);
  peerIdentity(call);
  assert.equal(reads.n, 2);
});

test('a connection without a verified certificate stays without an identity', () => {
  const reads = { n: 0 };
  const session = {};
  assert.equal(peerIdentity(callOn(session, {} as AuthContext, reads)), undefined);
  assert.throws(() => requireAdmin(callOn(session, adminContext, reads)), /no client certificate/, 'what the handshake gave is what counts');
});
