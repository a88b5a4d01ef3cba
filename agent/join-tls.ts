// The agent's side of joining: pin the control plane's CA from the join token,
// make a key that never leaves the board, ask for a certificate with a CSR, and
// keep the resulting credentials in the agent's data directory.
// Imports nothing from control-plane/: the agent ships without it.
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill first.
import * as x509 from '@peculiar/x509';
import * as grpc from '@grpc/grpc-js';
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BrambleError } from '../proto/util/errors.js';
import { readIfExists, writeFileAtomic } from '../proto/util/files.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** Must match the control plane's NODE_CN_PREFIX (control-plane/pki/auth.ts). */
const NODE_CN_PREFIX = 'system:node:';

export { fetchServerCa, verifyCaAgainstToken, type ServerCa } from '../proto/server-ca.js';

/** A fresh P-256 key and a CSR for CN "system:node:<nodeName>". */
export async function createNodeKeyAndCsr(nodeName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateKeys();
  return { keyPem: await exportKeyPem(keys.privateKey), csrPem: await csrFor(keys, nodeName) };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

/** A CSR for an existing key, so a re-joining board keeps the key the server already knows. */
export async function createCsrForKey(keyPem: string, nodeName: string): Promise<string> {
  const privateKey = (await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), KEY_ALG, true, [
    'sign',
  ])) as CryptoKey;
  const spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const publicKey = (await webcrypto.subtle.importKey('spki', spki, KEY_ALG, true, ['verify'])) as CryptoKey;
  return csrFor({ privateKey, publicKey }, nodeName);
}

async function csrFor(keys: CryptoKeyPair, nodeName: string): Promise<string> {
  if (nodeName === '') throw new BrambleError('INVALID_ARGUMENT', 'node name must not be empty');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [NODE_CN_PREFIX + nodeName] }],
    keys,
    signingAlgorithm: SIGN_ALG,
  });
  return csr.toString('pem') + '\n';
}

// ------------------------------------------------------- credential files

export interface NodeCredentials {
  keyPem: string;
  certPem: string;
  caPem: string;
}

export function nodeCredentialPaths(dataDir: string): { key: string; cert: string; ca: string } {
  return { key: path.join(dataDir, 'node.key'), cert: path.join(dataDir, 'node.crt'), ca: path.join(dataDir, 'ca.crt') };
}

/** The board's key, made once and kept (0600) so a re-join presents the same key. */
export async function loadOrCreateNodeKey(dataDir: string): Promise<{ keyPem: string; created: boolean }> {
  const p = nodeCredentialPaths(dataDir);
  const existing = await readIfExists(p.key);
  if (existing !== undefined) return { keyPem: existing, created: false };
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyPem = await exportKeyPem((await generateKeys()).privateKey);
  await writeFileAtomic(p.key, keyPem, 0o600);
  return { keyPem, created: true };
}

/** Writes node.key (0600), node.crt and ca.crt after checking the certificate is for that key. */
export async function saveNodeCredentials(dataDir: string, creds: NodeCredentials): Promise<void> {
  assertCertMatchesKey(creds.certPem, creds.keyPem);
  const p = nodeCredentialPaths(dataDir);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(p.key, creds.keyPem, 0o600);
  await writeFileAtomic(p.ca, creds.caPem, 0o644);
  // The certificate last: its presence is what "this board has joined" means.
  await writeFileAtomic(p.cert, creds.certPem, 0o644);
}

/** undefined when the board has not joined yet (no node.crt). */
export async function loadNodeCredentials(dataDir: string): Promise<NodeCredentials | undefined> {
  const p = nodeCredentialPaths(dataDir);
  const certPem = await readIfExists(p.cert);
  if (certPem === undefined) return undefined;
  const keyPem = await readIfExists(p.key);
  const caPem = await readIfExists(p.ca);
  if (keyPem === undefined || caPem === undefined) {
    throw new BrambleError(
      'INVALID_ARGUMENT',
      `node credentials in ${dataDir} are incomplete: ${p.cert} exists but ${keyPem === undefined ? p.key : p.ca} ` +
        'does not; remove node.crt to join again',
    );
  }
  assertCertMatchesKey(certPem, keyPem);
  return { keyPem, certPem, caPem };
}

function assertCertMatchesKey(certPem: string, keyPem: string): void {
  const fromCert = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  if (!fromCert.equals(fromKey)) {
    throw new BrambleError('INVALID_ARGUMENT', 'node certificate is not for the node key: join again');
  }
}

// ------------------------------------------------------- channel credentials

// The CA is pinned (from the token's hash, then from ca.crt), so chain
// verification against it is the server check; host names are skipped because
// boards reach the server by whatever address they were given, which the
// serving certificate cannot list in advance.
const PINNED_CA_ONLY = { checkServerIdentity: () => undefined };

/** TLS for the Join call: server verified against the pinned CA, no client certificate yet. */
export function joinChannelCredentials(caPem: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(caPem), null, null, PINNED_CA_ONLY);
}

/** mTLS with the node's own certificate for every call after Join. */
export function nodeChannelCredentials(creds: NodeCredentials): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(creds.caPem),
    Buffer.from(creds.keyPem),
    Buffer.from(creds.certPem),
    PINNED_CA_ONLY,
  );
}
