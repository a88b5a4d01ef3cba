// Pinning a cluster's CA from a join token: read the self-signed root at the end
// of a server's TLS chain, then accept it only if its hash is the token's. Shared
// by agents joining as nodes and servers joining as control-plane members.
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { isIP } from 'node:net';
import { BrambleError } from './util/errors.js';
import { parseToken, type TokenParts } from './token.js';

export interface ServerCa {
  caPem: string;
  /** sha256 of the CA certificate's DER, lower-case hex. */
  caHash: string;
}

/**
 * Reads the self-signed root at the end of the server's TLS chain. Nothing is
 * verified here: the result is only trusted once verifyCaAgainstToken accepts
 * it, and later connections then verify the server's chain against it.
 */
export function fetchServerCa(host: string, port: number, opts: { timeoutMs?: number } = {}): Promise<ServerCa> {
  return new Promise((resolve, reject) => {
    const where = `${host}:${port}`;
    const socket = tls.connect({
      host,
      port,
      // SNI must be a host name; Node warns when given an address.
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    socket.setTimeout(opts.timeoutMs ?? 10_000, () => {
      socket.destroy();
      reject(new BrambleError('UNAVAILABLE', `cannot reach ${where} to read its CA: no TLS handshake within ${opts.timeoutMs ?? 10_000} ms`));
    });
    socket.once('error', (e) => {
      reject(new BrambleError('UNAVAILABLE', `cannot reach ${where} to read its CA: ${e.message}`));
    });
    socket.once('secureConnect', () => {
      try {
        resolve(rootOfChain(socket.getPeerCertificate(true), where));
      } catch (e) {
        reject(e);
      } finally {
        socket.destroy();
      }
    });
  });
}

function rootOfChain(leaf: tls.DetailedPeerCertificate, where: string): ServerCa {
  if (!leaf.raw) throw new BrambleError('CA_MISMATCH', `${where} sent no TLS certificate`);
  let cert = leaf;
  const seen = new Set<string>();
  // Node links each certificate to its issuer and a self-signed one to itself.
  while (cert.issuerCertificate?.raw && cert.issuerCertificate.fingerprint256 !== cert.fingerprint256) {
    if (seen.has(cert.fingerprint256)) break;
    seen.add(cert.fingerprint256);
    cert = cert.issuerCertificate;
  }
  const root = new X509Certificate(cert.raw);
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    throw new BrambleError(
      'CA_MISMATCH',
      `${where} did not send a self-signed CA certificate: its chain ends at "${root.subject.replace(/\n/g, ', ')}"`,
    );
  }
  return { caPem: root.toString(), caHash: createHash('sha256').update(root.raw).digest('hex') };
}

/** Throws CA_MISMATCH unless the server's CA is the one the token names. Call before sending the token. */
export function verifyCaAgainstToken(caHash: string, token: string | TokenParts): void {
  const expected = (typeof token === 'string' ? parseToken(token) : token).caHash.toLowerCase();
  const actual = caHash.toLowerCase();
  if (actual !== expected) {
    throw new BrambleError(
      'CA_MISMATCH',
      `the server's CA (sha256 ${actual.slice(0, 12)}…) does not match the token's (${expected.slice(0, 12)}…): ` +
        'wrong server or tampered connection',
    );
  }
}

