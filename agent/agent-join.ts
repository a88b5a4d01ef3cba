// First contact with the control plane: pin its CA from the token, then join
// with a CSR for a key made on this board. The result is kept in the data dir;
// later starts reuse it and need no token. With several control-plane members
// the join goes to the leader, following join-retry.ts through elections.
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isIP } from 'node:net';
import { realClock, type Clock } from '../proto/util/clock.js';
import { BrambleError, fromServiceError } from '../proto/util/errors.js';
import { splitHostPort } from '../proto/names.js';
import { writeFileAtomic } from '../proto/util/files.js';
import { loadProto } from '../proto/load.js';
import { joinWithRetry, JOIN_TRY_TIMEOUT_MS } from './join-retry.js';
import { ServerList } from './server-list.js';
import type { Logger } from '../proto/util/log.js';
import {
  createCsrForKey, fetchServerCa, joinChannelCredentials, loadNodeCredentials, loadOrCreateNodeKey,
  saveNodeCredentials, verifyCaAgainstToken, type NodeCredentials,
} from './join-tls.js';

export interface JoinedNode {
  credentials: NodeCredentials;
  podCidr: string;
  clusterCidr: string;
  serviceCidr: string;
  /** The members the server that took the join listed (a fresh join only). */
  servers?: string[];
}

interface NetworkFile {
  nodeName: string;
  podCidr: string;
  clusterCidr: string;
  serviceCidr: string;
}


export async function ensureJoined(opts: {
  server: string;
  /** Every member to try, starting at its current one; default: `server` alone. */
  servers?: ServerList;
  token?: string;
  nodeName: string;
  dataDir: string;
  logger: Logger;
  /** Waits between rounds of members; default the real one. */
  clock?: Clock;
  /** How long failover answers (no leader, member unreachable) are retried; default 2 minutes. */
  deadlineMs?: number;
}): Promise<JoinedNode> {
  const networkPath = path.join(opts.dataDir, 'network.json');
  const existing = await loadNodeCredentials(opts.dataDir);
  if (existing) {
    const net = JSON.parse(await fs.readFile(networkPath, 'utf8')) as NetworkFile;
    if (net.nodeName !== opts.nodeName) {
      throw new BrambleError(
        'INVALID_ARGUMENT',
        `this data dir (${opts.dataDir}) belongs to node "${net.nodeName}", not "${opts.nodeName}": use another --data-dir or --node-name ${net.nodeName}`,
      );
    }
    return { credentials: existing, ...net };
  }
  if (!opts.token) {
    throw new BrambleError('TOKEN_INVALID', `this board has not joined yet: --token is required (find one in the server's data dir, file "token", or run \`bramble token create\`)`);
  }
  const token = opts.token;
  const servers = opts.servers ?? new ServerList([opts.server]);
  return joinWithRetry({
    servers,
    joinAt: (address, timeoutMs) => joinAt(address, token, timeoutMs, opts),
    clock: opts.clock ?? realClock,
    logger: opts.logger,
    deadlineMs: opts.deadlineMs,
  });
}

async function joinAt(
  server: string,
  token: string,
  timeoutMs: number,
  opts: { nodeName: string; dataDir: string; logger: Logger },
): Promise<JoinedNode> {
  const networkPath = path.join(opts.dataDir, 'network.json');
  const { host, port } = splitHostPort(server, '--server', { dial: true });
  const ca = await fetchServerCa(host, port, { timeoutMs: Math.min(10_000, timeoutMs) });
  // Before anything secret is sent: the server must hold the CA the token names.
  verifyCaAgainstToken(ca.caHash, token);
  const { keyPem } = await loadOrCreateNodeKey(opts.dataDir);
  const csrPem = await createCsrForKey(keyPem, opts.nodeName);
  const proto = loadProto();
  const client = new proto.bramble.v1.Node(server, joinChannelCredentials(ca.caPem), agentChannelOptions(server));
  try {
    const res = await new Promise<{ certificatePem: string; caPem: string; podCidr: string; clusterCidr: string; serviceCidr: string; servers?: string[] }>(
      (resolve, reject) =>
        client.Join(
          { token, nodeName: opts.nodeName, csrPem },
          { deadline: Date.now() + Math.min(JOIN_TRY_TIMEOUT_MS, timeoutMs) },
          (err, r) => (err || !r ? reject(joinCallError(err, server, timeoutMs)) : resolve(r)),
        ),
    );
    const credentials = { keyPem, certPem: res.certificatePem, caPem: ca.caPem };
    const net: NetworkFile = { nodeName: opts.nodeName, podCidr: res.podCidr, clusterCidr: res.clusterCidr, serviceCidr: res.serviceCidr };
    await writeFileAtomic(networkPath, JSON.stringify(net, null, 2), 0o644);
    await saveNodeCredentials(opts.dataDir, credentials);
    opts.logger.info({ node: opts.nodeName, podCidr: res.podCidr, server }, 'joined the cluster');
    return { credentials, ...net, servers: res.servers ?? [] };
  } finally {
    client.close();
  }
}

/**
 * A Join that timed out may have been taken (the answer lost): trying again is safe, as the
 * board's key is kept and a node's own key may join again. So it reads as UNAVAILABLE,
 * which the retry follows, not INTERNAL.
 */
function joinCallError(err: unknown, server: string, timeoutMs: number): BrambleError {
  if ((err as { code?: unknown } | null)?.code === grpc.status.DEADLINE_EXCEEDED) {
    return new BrambleError('UNAVAILABLE', `${server} did not answer the join within ${Math.min(JOIN_TRY_TIMEOUT_MS, timeoutMs)} ms`);
  }
  return fromServiceError(err);
}

/**
 * Channel options for the agent's connection. Keepalives notice a dead server.
 * Addresses are not TLS server names (Node warns when SNI is an IP); the CA is
 * pinned and host names are not checked, so a fixed name is sent instead.
 */
export function agentChannelOptions(server: string): grpc.ChannelOptions {
  const { host } = splitHostPort(server, '--server', { dial: true });
  return {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    ...(isIP(host) !== 0 && { 'grpc.ssl_target_name_override': 'bramble' }),
  };
}
