// The calling side of the Members service: a follower forwarding a write to the
// leader, a member asking another for its status, and a new server asking to
// join. Credentials are injected (server.ts builds them from the PKI: raft/ sits
// below pki/), so this file only speaks gRPC.
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { BrambleError, ERROR_CODE_METADATA_KEY, fromServiceError } from '../../proto/util/errors.js';
import {
  loadProto, type ForwardRequest, type ForwardResponse__Output, type JoinMemberRequest, type JoinMemberResponse__Output,
  type MemberStatusResponse__Output, type MembersClient as GrpcMembersClient, type SetEncryptionKeysRequest,
  type SetEncryptionKeysResponse__Output, type SetClusterCaRequest, type SetClusterCaResponse__Output,
} from '../../proto/load.js';
import { fetchServerCa, verifyCaAgainstToken } from '../../proto/server-ca.js';
import type { KObject } from '../../proto/model.js';
import type { Command, CommitResult } from '../store/store.js';

export const DEFAULT_MEMBER_CALL_MS = 10_000;
/** Joining waits for the learner's addition to commit: longer than an ordinary call. */
const JOIN_DEADLINE_MS = 30_000;

/** SNI sent when a member is addressed by IP: the CA is pinned, host names are not checked. */
const TLS_SERVER_NAME = 'bramble';

function channelOptions(address: string): grpc.ChannelOptions {
  const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return {
    // A leader that vanished (unplugged) must not hold a forwarded write for minutes.
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    ...(isIP(host) !== 0 && { 'grpc.ssl_target_name_override': TLS_SERVER_NAME }),
  };
}

/**
 * A call that failed before any connection existed (refused, no route): grpc-js says
 * "No connection established" and the request never left this process. A call that
 * was sent and then lost its connection says otherwise, and may have been acted on.
 */
function neverSent(err: grpc.ServiceError): boolean {
  return err.code === grpc.status.UNAVAILABLE && /No connection established/.test(err.details ?? '');
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

function callUnary<Req, Res>(client: GrpcMembersClient, method: Unary<Req, Res>, req: Req, deadline: number, address: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, new grpc.Metadata(), { deadline }, (err, res) => {
      if (err) {
        // The other member's own refusal keeps its code; a transport failure names the member.
        if (err.metadata?.get(ERROR_CODE_METADATA_KEY)[0] !== undefined) reject(fromServiceError(err));
        else if (neverSent(err)) {
          // No connection was ever made, so the member never saw the request: like a refusal
          // by a member that does not lead, sending it elsewhere is safe.
          reject(new BrambleError('NOT_LEADER', `the control-plane member at ${address} cannot be reached (${err.details || err.message}) and did not get the request`));
        } else reject(new BrambleError('UNAVAILABLE', `cannot reach the control-plane member at ${address}: ${err.details || err.message}`));
      } else if (res === undefined) reject(new BrambleError('INTERNAL', `the member at ${address} sent an empty answer`));
      else resolve(res);
    });
  });
}

export interface MembersClientOptions {
  /** mTLS with this member's replica certificate. */
  credentials: grpc.ChannelCredentials;
  clock?: Clock;
  deadlineMs?: number;
}

/** One channel per member address, opened on first use and kept. */
export class MembersClient {
  private readonly clients = new Map<string, GrpcMembersClient>();
  private readonly clock: Clock;
  private readonly deadlineMs: number;

  constructor(private readonly opts: MembersClientOptions) {
    this.clock = opts.clock ?? realClock;
    this.deadlineMs = opts.deadlineMs ?? DEFAULT_MEMBER_CALL_MS;
  }

  private client(address: string): GrpcMembersClient {
    let c = this.clients.get(address);
    if (!c) {
      const { Members } = loadProto().bramble.v1;
      c = new Members(address, this.opts.credentials, channelOptions(address));
      this.clients.set(address, c);
    }
    return c;
  }

  /** Hands a write to the leader at `address`; its result, or its refusal with the leader's code. */
  async forward(address: string, command: Command): Promise<CommitResult> {
    const c = this.client(address);
    const res = await callUnary(c, c.Forward as Unary<ForwardRequest, ForwardResponse__Output>, { commandJson: JSON.stringify(command) }, this.clock.now() + this.deadlineMs, address);
    return { revision: res.revision, objects: res.objects.map((o) => JSON.parse(o) as KObject) };
  }

  memberStatus(address: string, deadlineMs = this.deadlineMs): Promise<MemberStatusResponse__Output> {
    const c = this.client(address);
    return callUnary(c, c.MemberStatus as Unary<object, MemberStatusResponse__Output>, {}, this.clock.now() + deadlineMs, address);
  }

  /** Hands the member at `address` the encryption key file it must hold (a rotation step); its active key id. */
  async setEncryptionKeys(address: string, keyFile: string): Promise<string> {
    const c = this.client(address);
    const res = await callUnary(c, c.SetEncryptionKeys as Unary<SetEncryptionKeysRequest, SetEncryptionKeysResponse__Output>, { keyFile }, this.clock.now() + this.deadlineMs, address);
    return res.activeKeyId;
  }

  /** One step of a cluster CA rotation on the member at `address` (never logged: it may carry the CA key); its signing CA's hash. */
  async setClusterCa(address: string, req: SetClusterCaRequest): Promise<string> {
    const c = this.client(address);
    const res = await callUnary(c, c.SetClusterCa as Unary<SetClusterCaRequest, SetClusterCaResponse__Output>, req, this.clock.now() + this.deadlineMs, address);
    return res.signingCaHash;
  }

  /** A follower hands a server's join (already checked against the token) to the leader. */
  joinMember(address: string, req: JoinMemberRequest, deadlineMs = JOIN_DEADLINE_MS): Promise<JoinMemberResponse__Output> {
    const c = this.client(address);
    return callUnary(c, c.JoinMember as Unary<JoinMemberRequest, JoinMemberResponse__Output>, req, this.clock.now() + deadlineMs, address);
  }

  /** Drops the channel of a member that left. */
  forget(address: string): void {
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

export interface JoinAsMemberOptions {
  /** host:port of any member of the cluster. */
  server: string;
  token: string;
  name: string;
  /** host:port where the other members reach this server. */
  address: string;
  clock?: Clock;
  deadlineMs?: number;
}

/**
 * Asks a running cluster to take this server as a member. The server's CA is pinned
 * from the token's hash before the token is sent, so a server that is not the
 * cluster's never sees it; the answer (CA key, encryption keys) travels only over
 * that verified connection.
 */
export async function joinAsMember(opts: JoinAsMemberOptions): Promise<JoinMemberResponse__Output> {
  const m = /^(.*):(\d+)$/.exec(opts.server);
  if (!m) throw new BrambleError('INVALID_ARGUMENT', `--join must be HOST:PORT: current value is "${opts.server}"`);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const ca = await fetchServerCa(host, Number(m[2]));
  verifyCaAgainstToken(ca.caHash, opts.token);
  const credentials = grpc.credentials.createSsl(Buffer.from(ca.caPem), null, null, { checkServerIdentity: () => undefined });
  const { Members } = loadProto().bramble.v1;
  const client = new Members(opts.server, credentials, channelOptions(opts.server));
  try {
    const clock = opts.clock ?? realClock;
    const deadline = clock.now() + (opts.deadlineMs ?? JOIN_DEADLINE_MS);
    const res = await callUnary(client, client.JoinMember as Unary<JoinMemberRequest, JoinMemberResponse__Output>, { token: opts.token, name: opts.name, address: opts.address }, deadline, opts.server);
    if (res.caPem.trim() !== ca.caPem.trim()) {
      throw new BrambleError('CA_MISMATCH', `the member at ${opts.server} answered with a CA other than the one its TLS connection presented`);
    }
    return res;
  } finally {
    client.close();
  }
}
