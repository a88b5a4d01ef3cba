// Who is calling: read from the client certificate the TLS layer verified
// against the cluster CA. Calls without a verified certificate have no identity.
import type * as grpc from '@grpc/grpc-js';
import { perConnection } from '../../proto/util/call-connection.js';
import { BrambleError } from '../../proto/util/errors.js';

export const ADMIN_COMMON_NAME = 'admin';
export const ADMIN_ORGANIZATION = 'bramble:admins';
export const NODE_CN_PREFIX = 'system:node:';
export const NODE_ORGANIZATION = 'bramble:nodes';
/** Control-plane members dial each other with these (CN "system:replica:<node-name>"). */
export const REPLICA_CN_PREFIX = 'system:replica:';
export const REPLICA_ORGANIZATION = 'bramble:replicas';

export type Identity = { kind: 'admin' } | { kind: 'node'; name: string } | { kind: 'replica'; name: string };

/** grpc-js does not export AuthContext itself. */
export type AuthContext = ReturnType<grpc.ServerUnaryCall<unknown, unknown>['getAuthContext']>;

export interface CallWithAuth {
  getAuthContext(): AuthContext;
}

/**
 * Who a call counts against for per-client limits: its certificate's identity,
 * or its address when it has none (so unauthenticated callers share a budget per host).
 */
export function clientKey(call: CallWithAuth & { getPeer(): string }): string {
  const id = peerIdentity(call);
  if (id) return describe(id);
  return `address ${peerAddress(call.getPeer())}`;
}

/** Subject fields may hold one value or several (Node gives an array then). */
function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/**
 * A connection's peer certificate is fixed by its TLS handshake, so it is read once per
 * connection. (A TLS 1.2 renegotiation could present another certificate, valid for the CA
 * too, or the socket would not stay up: its holder gains no more than it could with that one.)
 */
const authContextOf = perConnection((call: CallWithAuth) => call.getAuthContext());

export function peerIdentity(call: CallWithAuth): Identity | undefined {
  // grpc-js sets sslPeerCertificate only when the socket is authorized, i.e. the
  // certificate chained to the CA the server was given.
  const cert = authContextOf(call).sslPeerCertificate;
  if (!cert?.subject) return undefined;
  const cn = single(cert.subject.CN);
  const org = single(cert.subject.O);
  if (cn === ADMIN_COMMON_NAME && org === ADMIN_ORGANIZATION) return { kind: 'admin' };
  if (cn?.startsWith(NODE_CN_PREFIX) && org === NODE_ORGANIZATION) {
    const name = cn.slice(NODE_CN_PREFIX.length);
    if (name !== '') return { kind: 'node', name };
  }
  // The organization is checked with the prefix, so a CSR-signed node certificate
  // (whose subject the CA builds itself) can never name a replica, nor the reverse.
  if (cn?.startsWith(REPLICA_CN_PREFIX) && org === REPLICA_ORGANIZATION) {
    const name = cn.slice(REPLICA_CN_PREFIX.length);
    if (name !== '') return { kind: 'replica', name };
  }
  return undefined;
}

function describe(id: Identity): string {
  if (id.kind === 'admin') return 'admin';
  return `${id.kind} "${id.name}"`;
}

/** Throws unless the caller holds the admin certificate. */
export function requireAdmin(call: CallWithAuth, action = 'call this method'): void {
  const id = peerIdentity(call);
  if (!id) {
    throw new BrambleError('UNAUTHENTICATED', 'no client certificate: use the credentials in admin.conf');
  }
  if (id.kind !== 'admin') {
    throw new BrambleError('FORBIDDEN', `${describe(id)} may not ${action}: only the admin may`);
  }
}

/**
 * Throws unless the caller is a node (the node `name` when given). Returns the
 * node's name so handlers act on the caller's own node, never on a name from the request.
 */
export function requireNode(call: CallWithAuth, name?: string): string {
  const id = peerIdentity(call);
  if (!id) {
    throw new BrambleError('UNAUTHENTICATED', 'no client certificate: join the node with a token first');
  }
  if (id.kind !== 'node') {
    throw new BrambleError('FORBIDDEN', `${describe(id)} may not call the node API: only a node certificate may`);
  }
  if (name !== undefined && id.name !== name) {
    throw new BrambleError('FORBIDDEN', `node "${id.name}" may not act for node "${name}"`);
  }
  return id.name;
}

/**
 * Throws unless the caller is a control-plane replica. Returns the replica's
 * name so handlers check what a peer says about itself against its certificate.
 */
export function requireReplica(call: CallWithAuth): string {
  const id = peerIdentity(call);
  if (!id) {
    throw new BrambleError('UNAUTHENTICATED', 'no client certificate: replicas must dial with their replica certificate');
  }
  if (id.kind !== 'replica') {
    throw new BrambleError('FORBIDDEN', `${describe(id)} may not call the Raft service: only a replica certificate may`);
  }
  return id.name;
}

/** The address part of a grpc-js peer ("10.0.0.5:50123", "[::1]:4000", "ipv4:10.0.0.5:50123", "unix:/x"). */
export function peerAddress(peer: string): string {
  const m = peer.match(/^(?:ipv[46]:)?(?:\[([^\]]+)\]|([^:[\]]+)):\d+$/);
  return m ? (m[1] ?? m[2]!) : peer;
}
