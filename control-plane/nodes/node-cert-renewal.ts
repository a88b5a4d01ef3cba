// Renewing a joined node's certificate. The caller has proved with its current
// certificate that it is node <name>; the new certificate is for that name only
// (the CA builds the subject itself) and for the key the node joined with, so a
// stolen-then-expiring certificate cannot be traded for one with another key,
// and a node deleted from the cluster gets none.
import { BrambleError } from '../../proto/util/errors.js';
import type { NodeObject } from '../../proto/model.js';
import type { JoinDeps } from './node-join.js';
import { NODE_KEY_ANNOTATION } from './node-join.js';

export type RenewDeps = Pick<JoinDeps, 'store' | 'signNodeCsr' | 'csrKeyFingerprint'>;

/** `nodeName`: from the caller's verified certificate, never from the request. */
export async function renewNodeCertificate(deps: RenewDeps, nodeName: string, csrPem: string): Promise<string> {
  const node = deps.store.get('Node', undefined, nodeName) as NodeObject | undefined;
  if (!node) {
    throw new BrambleError('NOT_FOUND', `node "${nodeName}" is not in the cluster (deleted?): its certificate is not renewed; join the board again with a token`);
  }
  const fingerprint = await deps.csrKeyFingerprint(csrPem).catch((e: unknown) => {
    throw new BrambleError('INVALID_ARGUMENT', `csr_pem must be a PEM certificate signing request: ${e instanceof Error ? e.message : String(e)}`);
  });
  const known = node.metadata.annotations?.[NODE_KEY_ANNOTATION];
  if (known === undefined || known !== fingerprint) {
    throw new BrambleError(
      'FORBIDDEN',
      `a renewed certificate must be for the key node "${nodeName}" joined with (sha256 ${known ?? 'unknown'}): the request's key is sha256 ${fingerprint}`,
    );
  }
  // Verifies the CSR's signature and that its CN is "system:node:<nodeName>".
  return deps.signNodeCsr(csrPem, nodeName);
}
