// The CLI's connection to the Cluster API: credentials from a client config,
// promisified unary calls with a deadline, and gRPC failures turned into
// messages a person can act on (which address, which config file).
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { BrambleError, ERROR_CODE_METADATA_KEY, fromServiceError } from '../../proto/util/errors.js';
import { loadProto } from '../../proto/load.js';
import type { ApplyRequest } from '../../proto/generated/bramble/v1/ApplyRequest.js';
import type { ApplyResponse__Output } from '../../proto/generated/bramble/v1/ApplyResponse.js';
import type { ClusterClient } from '../../proto/generated/bramble/v1/Cluster.js';
import type { DeleteRequest } from '../../proto/generated/bramble/v1/DeleteRequest.js';
import type { DeleteResponse__Output } from '../../proto/generated/bramble/v1/DeleteResponse.js';
import type { GetRequest } from '../../proto/generated/bramble/v1/GetRequest.js';
import type { ListRequest } from '../../proto/generated/bramble/v1/ListRequest.js';
import type { ListResponse__Output } from '../../proto/generated/bramble/v1/ListResponse.js';
import type { ObjectResponse__Output } from '../../proto/generated/bramble/v1/ObjectResponse.js';
import type { TopRequest } from '../../proto/generated/bramble/v1/TopRequest.js';
import type { TopResponse__Output } from '../../proto/generated/bramble/v1/TopResponse.js';
import type { WatchRequest } from '../../proto/generated/bramble/v1/WatchRequest.js';
import type { WatchEvent__Output } from '../../proto/generated/bramble/v1/WatchEvent.js';
import type { VersionResponse__Output } from '../../proto/generated/bramble/v1/VersionResponse.js';
import type { CreateTokenRequest } from '../../proto/generated/bramble/v1/CreateTokenRequest.js';
import type { TokenInfo__Output } from '../../proto/generated/bramble/v1/TokenInfo.js';
import type { ListTokensResponse__Output } from '../../proto/generated/bramble/v1/ListTokensResponse.js';
import type { SecretsEncryptionStatusResponse__Output } from '../../proto/generated/bramble/v1/SecretsEncryptionStatusResponse.js';
import type { RotateSecretsEncryptionResponse__Output } from '../../proto/generated/bramble/v1/RotateSecretsEncryptionResponse.js';
import type { RotateClusterCaResponse__Output } from '../../proto/generated/bramble/v1/RotateClusterCaResponse.js';
import type { LogsRequest } from '../../proto/generated/bramble/v1/LogsRequest.js';
import type { LogChunk__Output } from '../../proto/generated/bramble/v1/LogChunk.js';
import type { ImageChunk } from '../../proto/generated/bramble/v1/ImageChunk.js';
import type { ImportImageResponse__Output } from '../../proto/generated/bramble/v1/ImportImageResponse.js';
import type { ExecRequest } from '../../proto/generated/bramble/v1/ExecRequest.js';
import type { ExecResponse__Output } from '../../proto/generated/bramble/v1/ExecResponse.js';
import type { ClusterStatusResponse__Output } from '../../proto/generated/bramble/v1/ClusterStatusResponse.js';
import type { RemoveMemberRequest } from '../../proto/generated/bramble/v1/RemoveMemberRequest.js';
import type { RemoveMemberResponse__Output } from '../../proto/generated/bramble/v1/RemoveMemberResponse.js';
import { clientCredentials, findClientConfigPath, readClientConfig, serverList, type ClientConfig } from '../pki/client-config.js';
import type { SnapshotChunk__Output } from '../../proto/generated/bramble/v1/SnapshotChunk.js';
import { membersLearner, type ClientLog } from './cli-learn-members.js';

export const DEFAULT_DEADLINE_MS = 15_000;
/** `secrets-encryption rotate` rewrites every Secret, a few hundred per second on an SD card. */
const ROTATE_DEADLINE_MS = 10 * 60_000;
const CA_ROTATE_DEADLINE_MS = 60_000;

export interface ClusterConnection {
  /** "host:port" of the member the last call reached (the config's first before any call). */
  readonly address: string;
  readonly configPath: string;
  apply(req: ApplyRequest): Promise<ApplyResponse__Output>;
  get(req: GetRequest): Promise<ObjectResponse__Output>;
  list(req: ListRequest): Promise<ListResponse__Output>;
  delete(req: DeleteRequest): Promise<DeleteResponse__Output>;
  version(): Promise<VersionResponse__Output>;
  top(req: TopRequest): Promise<TopResponse__Output>;
  createToken(req: CreateTokenRequest): Promise<TokenInfo__Output>;
  listTokens(): Promise<ListTokensResponse__Output>;
  deleteToken(id: string): Promise<void>;
  clusterStatus(): Promise<ClusterStatusResponse__Output>;
  removeMember(req: RemoveMemberRequest): Promise<RemoveMemberResponse__Output>;
  secretsEncryptionStatus(): Promise<SecretsEncryptionStatusResponse__Output>;
  rotateSecretsEncryption(req: { keepOldKeys: boolean }): Promise<RotateSecretsEncryptionResponse__Output>;
  rotateClusterCa(req: { overlapSeconds: number }): Promise<RotateClusterCaResponse__Output>;
  /** Changes after req.fromRevision, then live ones; no deadline: the caller cancels it. */
  watch(req: WatchRequest): WatchStream;
  /** A log stream: no deadline, since a follow lasts until cancelled. */
  logs(req: LogsRequest): LogStream;
  /** Sends the chunks as they come (the first names the node) and waits for the imported image names. */
  importImage(chunks: AsyncIterable<ImageChunk>): Promise<ImportImageResponse__Output>;
  /** An exec: no deadline, it lasts as long as the command. */
  exec(): ExecStream;
  /** The bytes of a store snapshot (store-snapshot.ts); no deadline: a big store on a slow link takes a while. */
  snapshotStore(): LogStream;
  close(): void;
}

/** Both directions of Cluster.Exec. */
export interface ExecStream {
  /** Sends one message; resolves once the stream can take more (back-pressure). */
  send(req: ExecRequest): Promise<void>;
  /** Nothing more will be sent (the server then ends the command's stdin). */
  end(): void;
  /** Stops the exec: the board kills the command. The responses then end quietly. */
  cancel(): void;
  responses: AsyncIterable<ExecResponse__Output>;
}

/** Bytes of a container log; ends quietly after cancel(). */
export interface LogStream extends AsyncIterable<Buffer> {
  cancel(): void;
}

/** Events of a Watch; ends quietly after cancel(). */
export interface WatchStream extends AsyncIterable<WatchEvent__Output> {
  cancel(): void;
}

export interface ConnectOptions {
  /** --config FILE; otherwise the search order of findClientConfigPath. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  deadlineMs?: number;
  clock?: Clock;
  /** --server HOST:PORT: talk to this member only, not the config's list. */
  server?: string;
  /** Where the connection says what it did on its own (a config that learned the members); silent without. */
  log?: ClientLog;
}

type UnaryMethod<Req, Res> = (
  argument: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

/** Why the connection failed, from the text grpc-js and Node put in the status details. */
function transportReason(details: string): string {
  if (/ECONNREFUSED/.test(details)) return 'connection refused';
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i.test(details)) return 'host name not found';
  if (/EHOSTUNREACH|ENETUNREACH/.test(details)) return 'host unreachable';
  if (/ETIMEDOUT/.test(details)) return 'connection timed out';
  if (/ECONNRESET|socket hang up/i.test(details)) return 'connection reset';
  return details.replace(/\.?\s*Resolution note:.*$/s, '') || 'unavailable';
}

/** The client rejected the server's certificate: it is not signed by the CA in the config. */
const SERVER_CERT_UNTRUSTED = /self[- ]signed|unable to verify|unable to get (local )?issuer|certificate verify failed|Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME/i;
/** The server rejected the client's certificate during the TLS handshake. */
const CLIENT_CERT_REFUSED = /alert (unknown ca|bad certificate|certificate required|certificate unknown|handshake failure)|tlsv1[\d.]* alert/i;

export interface CallFailureContext {
  address: string;
  configPath: string;
  deadlineMs: number;
  /** Whether the channel had connected, to tell a silent server from an unreachable one. */
  connected: boolean;
}

/** Turns a failed call into the BrambleError the CLI prints. */
export function mapCallError(e: grpc.ServiceError, ctx: CallFailureContext): BrambleError {
  const fromServer = e.metadata?.get(ERROR_CODE_METADATA_KEY)[0] !== undefined;
  if (fromServer) {
    const err = fromServiceError(e);
    if (err.code === 'UNAUTHENTICATED') {
      return new BrambleError('UNAUTHENTICATED', `the server refused the credentials in ${ctx.configPath}: ${err.message}`);
    }
    return err;
  }
  const details = e.details ?? e.message ?? '';
  const unreachable = (reason: string) =>
    new BrambleError('UNAVAILABLE', `cannot reach the Bramble server at ${ctx.address} (${reason}): is \`bramble server\` running?`);
  switch (e.code) {
    case grpc.status.UNAUTHENTICATED:
      return new BrambleError('UNAUTHENTICATED', `the server refused the credentials in ${ctx.configPath}${details ? `: ${details}` : ''}`);
    case grpc.status.UNAVAILABLE:
      if (SERVER_CERT_UNTRUSTED.test(details)) {
        return new BrambleError(
          'CA_MISMATCH',
          `the server at ${ctx.address} presented a certificate that the CA in ${ctx.configPath} did not sign (${details})`,
        );
      }
      if (CLIENT_CERT_REFUSED.test(details)) {
        return new BrambleError('UNAUTHENTICATED', `the server refused the credentials in ${ctx.configPath} (${details})`);
      }
      return unreachable(transportReason(details));
    case grpc.status.DEADLINE_EXCEEDED:
      return ctx.connected
        ? new BrambleError('UNAVAILABLE', `the Bramble server at ${ctx.address} did not answer within ${ctx.deadlineMs / 1000}s`)
        : unreachable(`no connection within ${ctx.deadlineMs / 1000}s`);
    default:
      return fromServiceError(e);
  }
}

/** SNI name sent when the server is addressed by IP: the CA is pinned and the host name is not checked. */
export const TLS_SERVER_NAME = 'bramble';

export function channelOptions(server: string): grpc.ChannelOptions {
  const host = server.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return {
    // Lists of a busy cluster can exceed grpc's 4 MB default.
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    // Node warns on every connection when the TLS server name is an IP address (RFC 6066).
    ...(isIP(host) !== 0 && { 'grpc.ssl_target_name_override': TLS_SERVER_NAME }),
  };
}

/** Finds and reads the client config (--config, $BRAMBLE_CONFIG, ...) and opens a client from it. */
export async function connectCluster(opts: ConnectOptions = {}): Promise<ClusterConnection> {
  const configPath = findClientConfigPath(opts.configPath, opts.env ?? process.env);
  return openCluster(await readClientConfig(configPath), { ...opts, configPath, learnMembers: true });
}

/**
 * A failure that says nothing about the request, only that this server could not be
 * reached: the next member of the cluster is worth a try.
 */
function worthFailingOver(e: grpc.ServiceError, connected: boolean): boolean {
  if (e.metadata?.get(ERROR_CODE_METADATA_KEY)[0] !== undefined) return false;
  const details = e.details ?? e.message ?? '';
  if (e.code === grpc.status.UNAVAILABLE) return !SERVER_CERT_UNTRUSTED.test(details) && !CLIENT_CERT_REFUSED.test(details);
  return e.code === grpc.status.DEADLINE_EXCEEDED && !connected;
}

interface Member {
  address: string;
  client: ClusterClient;
  connected: boolean;
}

export interface OpenOptions extends ConnectOptions {
  configPath: string;
  /**
   * Rewrite the config file when a server's answer names members it does not list (as
   * `bramble cluster status` does); never with --server, which pins one member.
   */
  learnMembers?: boolean;
}

/** Opens a Cluster client from a client config; nothing is sent until the first call. */
export function openCluster(cfg: ClientConfig, opts: OpenOptions): ClusterConnection {
  const configPath = opts.configPath;
  const deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const clock = opts.clock ?? realClock;
  const { Cluster } = loadProto().bramble.v1;
  const addresses = opts.server !== undefined ? [opts.server] : serverList(cfg);
  const learner = opts.learnMembers === true && opts.server === undefined ? membersLearner(cfg, configPath, addresses, opts.log) : undefined;
  /** Learns from the headers of a call; a stream's is not awaited (the write keeps the process alive). */
  const listen = (call: { on(event: 'metadata', fn: (md: grpc.Metadata) => void): unknown }): void => {
    if (learner) call.on('metadata', (md) => { void learner(md); });
  };
  const members = new Map<string, Member>();
  const member = (address: string): Member => {
    let m = members.get(address);
    if (!m) members.set(address, (m = { address, client: new Cluster(address, clientCredentials(cfg), channelOptions(address)), connected: false }));
    return m;
  };
  // The member that answered last: streams go there, unary calls start there.
  let current = member(addresses[0]!);

  function callOne<Req, Res>(m: Member, method: (c: ClusterClient) => UnaryMethod<Req, Res>, request: Req, callDeadlineMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      let headers: grpc.Metadata | undefined;
      const call = method(m.client).call(m.client, request, new grpc.Metadata(), { deadline: clock.now() + callDeadlineMs }, (err, res) => {
        if (m.client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY) m.connected = true;
        // Awaited: the command may end (and the process exit) right after this answer.
        const learned = learner && headers ? learner(headers) : Promise.resolve();
        void learned.then(() => {
          if (err) reject(err);
          else if (res === undefined) reject(new BrambleError('INTERNAL', 'the server sent an empty answer'));
          else resolve(res);
        });
      });
      if (learner) call.on('metadata', (md: grpc.Metadata) => { headers = md; });
    });
  }

  /** Tries the current member, then the others in the config's order, while they cannot be reached. */
  async function call<Req, Res>(method: (c: ClusterClient) => UnaryMethod<Req, Res>, request: Req, callDeadlineMs = deadlineMs): Promise<Res> {
    const order = [current.address, ...addresses.filter((a) => a !== current.address)];
    const unreachable: string[] = [];
    for (const [i, address] of order.entries()) {
      const m = member(address);
      try {
        const res = await callOne(m, method, request, callDeadlineMs);
        current = m;
        return res;
      } catch (e) {
        if (e instanceof BrambleError) throw e;
        const err = e as grpc.ServiceError;
        const mapped = mapCallError(err, { address, configPath, deadlineMs: callDeadlineMs, connected: m.connected });
        if (i === order.length - 1 || !worthFailingOver(err, m.connected)) {
          if (unreachable.length === 0) throw mapped;
          throw new BrambleError(mapped.code, `${mapped.message} (also tried: ${unreachable.join('; ')})`);
        }
        unreachable.push(`${address}: ${mapped.message}`);
      }
    }
    throw new BrambleError('INTERNAL', 'no server to call');
  }
  const client = (): ClusterClient => current.client;
  const connected = (): boolean => current.connected;

  const isReady = (): boolean => {
    if (client().getChannel().getConnectivityState(false) === grpc.connectivityState.READY) current.connected = true;
    return connected();
  };
  const failure = (e: unknown): BrambleError =>
    mapCallError(e as grpc.ServiceError, { address: current.address, configPath, deadlineMs, connected: isReady() });

  /** A server stream as an async iterable that ends quietly once cancelled; other failures are mapped. */
  function readable<T, U>(stream: grpc.ClientReadableStream<T>, pick: (item: T) => U): AsyncGenerator<U> & { cancel(): void } {
    listen(stream);
    let cancelled = false;
    async function* items(): AsyncGenerator<U> {
      try {
        for await (const item of stream as AsyncIterable<T>) yield pick(item);
      } catch (e) {
        if (!cancelled) throw failure(e);
      }
    }
    return Object.assign(items(), {
      cancel: () => {
        cancelled = true;
        stream.cancel();
      },
    });
  }

  const logs = (req: LogsRequest): LogStream => readable(client().Logs(req, new grpc.Metadata()), (c: LogChunk__Output) => c.data);

  function snapshotStore(): LogStream {
    const stream = client().SnapshotStore({}, new grpc.Metadata());
    // Cancelled before it is read (the file could not be written): the iterator reports errors, not this.
    stream.on('error', () => undefined);
    return readable(stream, (c: SnapshotChunk__Output) => c.data);
  }

  const watch = (req: WatchRequest): WatchStream => readable(client().Watch(req, new grpc.Metadata()), (e: WatchEvent__Output) => e);

  function importImage(chunks: AsyncIterable<ImageChunk>): Promise<ImportImageResponse__Output> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let wake: () => void = () => undefined;
      const call = client().ImportImage(new grpc.Metadata(), (err, res) => {
        settled = true;
        wake();
        if (err) reject(failure(err));
        else if (res === undefined) reject(new BrambleError('INTERNAL', 'the server sent an empty answer'));
        else resolve(res);
      });
      listen(call);
      const pump = async (): Promise<void> => {
        for await (const chunk of chunks) {
          if (settled) return;
          // Back-pressure: a large tarball must not pile up in memory while the board imports it.
          if (!call.write(chunk)) {
            await new Promise<void>((r) => {
              wake = r;
              call.once('drain', r);
            });
          }
        }
        if (!settled) call.end();
      };
      pump().catch((e: unknown) => {
        if (settled) return;
        settled = true;
        call.cancel();
        reject(e);
      });
    });
  }

  function exec(): ExecStream {
    const call = client().Exec(new grpc.Metadata());
    listen(call);
    let cancelled = false;
    let ended = false;
    // A failed stream rejects the responses; the send side must not throw unhandled as well.
    call.on('error', () => undefined);
    async function* responses(): AsyncGenerator<ExecResponse__Output> {
      try {
        for await (const r of call as AsyncIterable<ExecResponse__Output>) yield r;
      } catch (e) {
        if (!cancelled) throw failure(e);
      }
    }
    return {
      send: (req) => new Promise<void>((resolve) => {
        if (cancelled || ended) return resolve();
        if (call.write(req)) resolve();
        else {
          const done = (): void => {
            call.off('drain', done);
            call.off('close', done);
            resolve();
          };
          call.on('drain', done);
          call.on('close', done);
        }
      }),
      end: () => {
        if (ended || cancelled) return;
        ended = true;
        call.end();
      },
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
      responses: responses(),
    };
  }

  return {
    get address() {
      return current.address;
    },
    configPath,
    apply: (req) => call((c) => c.Apply, req),
    get: (req) => call((c) => c.Get, req),
    list: (req) => call((c) => c.List, req),
    delete: (req) => call((c) => c.Delete, req),
    version: () => call((c) => c.Version, {}),
    top: (req) => call((c) => c.Top, req),
    createToken: (req) => call((c) => c.CreateToken, req),
    listTokens: () => call((c) => c.ListTokens, {}),
    deleteToken: async (id) => {
      await call((c) => c.DeleteToken, { id });
    },
    clusterStatus: () => call((c) => c.ClusterStatus, {}),
    removeMember: (req) => call((c) => c.RemoveMember, req),
    secretsEncryptionStatus: () => call((c) => c.SecretsEncryptionStatus, {}),
    // Rewrites every Secret: allowed far longer than a read.
    rotateSecretsEncryption: (req) => call((c) => c.RotateSecretsEncryption, req, Math.max(deadlineMs, ROTATE_DEADLINE_MS)),
    // Two steps on every member, each within a member call's deadline.
    rotateClusterCa: (req) => call((c) => c.RotateClusterCa, req, Math.max(deadlineMs, CA_ROTATE_DEADLINE_MS)),
    watch,
    logs,
    importImage,
    exec,
    close: () => {
      for (const m of members.values()) m.client.close();
    },
    snapshotStore,
  };
}

/** Runs `fn` with a connection and always closes it, so the process can exit. */
export async function withCluster<T>(opts: ConnectOptions, fn: (c: ClusterConnection) => Promise<T>): Promise<T> {
  const conn = await connectCluster(opts);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}
