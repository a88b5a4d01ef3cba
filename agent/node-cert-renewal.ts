// The agent's node certificate, renewed while the agent runs: well before it
// expires (proto/util/cert-renewal.ts decides when) the agent asks the control
// plane for a new one with the current one, for the same key, checks what it got,
// keeps it in the data dir and dials again with it. Pods keep running throughout;
// only the agent's streams open again on the new channel.
import { X509Certificate } from 'node:crypto';
import { caBundleSha256, splitPemCertificates } from '../proto/util/ca-bundle.js';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import type { RenewCertificateResponse__Output } from '../proto/types.js';
import type { Clock } from '../proto/util/clock.js';
import { certValidity, type RenewableCert } from '../proto/util/cert-renewal.js';
import { BrambleError, fromServiceError } from '../proto/util/errors.js';
import type { Logger } from '../proto/util/log.js';
import { createCsrForKey, saveNodeCredentials, type NodeCredentials } from './join-tls.js';

const RENEW_DEADLINE_MS = 30_000;
/** Must match the control plane's NODE_CN_PREFIX (control-plane/pki/auth.ts). */
const NODE_CN_PREFIX = 'system:node:';

/** What renewal needs of the agent's connection (node-connection.ts's NodeConnection). */
export interface RenewalConnection {
  client(): NodeClient;
  generation(): number;
  failed(generation: number, err: unknown): boolean;
  /** Dials the current member again, with the credentials `current()` now holds. */
  reconnect(): void;
}

export interface NodeCertRenewalOptions {
  nodeName: string;
  dataDir: string;
  connection: RenewalConnection;
  clock: Clock;
  /** The credentials in use; replaced by `install` after a renewal. */
  current(): NodeCredentials;
  install(next: NodeCredentials): void;
  /** Renew whatever the dates say (the control plane trusts another CA bundle than ca.crt holds). */
  stale?(): boolean;
}

export function nodeCertRenewable(opts: NodeCertRenewalOptions): RenewableCert {
  return {
    name: 'node',
    validity: () => certValidity(opts.current().certPem),
    ...(opts.stale ? { stale: opts.stale } : {}),
    renew: async () => {
      const creds = opts.current();
      const csrPem = await createCsrForKey(creds.keyPem, opts.nodeName);
      const gen = opts.connection.generation();
      const res = await new Promise<RenewCertificateResponse__Output>((resolve, reject) => {
        opts.connection.client().RenewCertificate(
          { csrPem },
          { deadline: opts.clock.now() + RENEW_DEADLINE_MS },
          (err, r) => {
            if (err || !r) {
              opts.connection.failed(gen, err);
              reject(fromServiceError(err));
            } else resolve(r);
          },
        );
      });
      const next: NodeCredentials = { keyPem: creds.keyPem, certPem: res.certificatePem, caPem: res.caPem || creds.caPem };
      checkRenewed(next, opts.nodeName);
      // Persisted before use: an agent restarted now starts with the new certificate.
      await saveNodeCredentials(opts.dataDir, next);
      opts.install(next);
      opts.connection.reconnect();
    },
  };
}

/**
 * What the server sent must be usable before it replaces a working certificate:
 * issued to this node, signed by a CA in the bundle. (saveNodeCredentials checks
 * it is for the node's key.)
 */
export function checkRenewed(next: NodeCredentials, nodeName: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(next.certPem);
  } catch (e) {
    throw new BrambleError('INVALID_ARGUMENT', `renewed node certificate is not a PEM X.509 certificate: ${(e as Error).message}`);
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  if (cn !== NODE_CN_PREFIX + nodeName) {
    throw new BrambleError('INVALID_ARGUMENT', `renewed node certificate must be issued to "${NODE_CN_PREFIX}${nodeName}": it is issued to "${cn ?? ''}"`);
  }
  const cas = splitPemCertificates(next.caPem);
  if (!cas.some((ca) => cert.verify(new X509Certificate(ca).publicKey))) {
    throw new BrambleError('INVALID_ARGUMENT', 'renewed node certificate is not signed by any CA the server sent: kept the current one');
  }
}

/**
 * What the heartbeats say of the control plane's CA bundle: once it differs from
 * the agent's ca.crt (a CA rotation began or ended) the node certificate is stale,
 * and renewing it brings the bundle; until then nothing is asked.
 */
export class CaBundleWatch {
  private changed = false;

  constructor(private readonly opts: { current(): NodeCredentials; renewNow(): void; logger: Logger }) {}

  heard(sha256: string): void {
    if (this.changed || sha256 === caBundleSha256(this.opts.current().caPem)) return;
    this.changed = true;
    this.opts.logger.info({ caBundleSha256: sha256 }, 'the control plane trusts another CA bundle (a CA rotation): renewing the node certificate to get it');
    this.opts.renewNow();
  }

  stale(): boolean {
    return this.changed;
  }

  /** A renewal installed the control plane's bundle. */
  installed(): void {
    this.changed = false;
  }
}

export { caBundleSha256, splitPemCertificates };
