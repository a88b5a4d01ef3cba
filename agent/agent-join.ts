// First contact with the control plane: pin its CA from the token, then join
// with a CSR for a key made on this board. The result is kept in the data dir;
// later starts reuse it and need no token.
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isIP } from 'node:net';
import { BrambleError, fromServiceError } from '../proto/util/errors.js';
import { splitHostPort } from '../proto/names.js';
import { writeFileAtomic } from '../proto/util/files.js';
import { loadProto } from '../proto/load.js';
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
}

interface NetworkFile {
  nodeName: string;
  podCidr: string;
  clusterCidr: string;
  serviceCidr: string;
}


export async function ensureJoined(opts: {
  server: string;
  token?: string;
  nodeName: string;
  dataDir: string;
  logger: Logger;
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
  const { host, port } = splitHostPort(opts.server, '--server', { dial: true });
  const ca = await fetchServerCa(host, port);
  // Before anything secret is sent: the server must hold the CA the token names.
  verifyCaAgainstToken(ca.caHash, opts.token);
  const { keyPem } = await loadOrCreateNodeKey(opts.dataDir);
  const csrPem = await createCsrForKey(keyPem, opts.nodeName);
  const proto = loadProto();
  const client = new proto.bramble.v1.Node(opts.server, joinChannelCredentials(ca.caPem), agentChannelOptions(opts.server));
  try {
    const res = await new Promise<{ certificatePem: string; caPem: string; podCidr: string; clusterCidr: string; serviceCidr: string }>(
      (resolve, reject) =>
        client.Join(
          { token: opts.token, nodeName: opts.nodeName, csrPem },
          { deadline: Date.now() + 30_000 },
          (err, r) => (err || !r ? reject(fromServiceError(err)) : resolve(r)),
        ),
    );
    const credentials = { keyPem, certPem: res.certificatePem, caPem: ca.caPem };
    const net: NetworkFile = { nodeName: opts.nodeName, podCidr: res.podCidr, clusterCidr: res.clusterCidr, serviceCidr: res.serviceCidr };
    await writeFileAtomic(networkPath, JSON.stringify(net, null, 2), 0o644);
    await saveNodeCredentials(opts.dataDir, credentials);
    opts.logger.info({ node: opts.nodeName, podCidr: res.podCidr }, 'joined the cluster');
    return { credentials, ...net };
  } finally {
    client.close();
  }
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
