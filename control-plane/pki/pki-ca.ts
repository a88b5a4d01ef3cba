// The cluster's private certificate authority. It signs the control plane's
// serving certificate, the admin's client certificate, each node's client
// certificate and each replica's certificate. ECDSA P-256 keys: signing and handshakes are cheap on a Pi and
// grpc-js (OpenSSL) accepts them.
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill first.
import * as x509 from '@peculiar/x509';
import * as grpc from '@grpc/grpc-js';
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readIfExists, writeFileAtomic } from '../../proto/util/files.js';
import { BrambleError } from '../../proto/util/errors.js';
import { realClock, type Clock } from '../../proto/util/clock.js';
import { NODE_CN_PREFIX, NODE_ORGANIZATION, REPLICA_CN_PREFIX, REPLICA_ORGANIZATION } from './auth.js';
import { nodeNameRule } from '../../proto/names.js';
import { RENEW_BEFORE, renewalDueAt } from '../../proto/util/cert-renewal.js';
import { MutableCertificateProvider } from '../../proto/util/cert-provider.js';

/** Leaves closer than this to expiry (or than a third of their lifetime) are renewed. */
export { RENEW_BEFORE };

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;
const CA_VALIDITY = 10 * 365 * DAY;
const LEAF_VALIDITY = 365 * DAY;
/** Boards without a real-time clock may boot slightly behind; back-date so fresh certs are valid at once. */
const BACKDATE = 3600 * 1000;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

export interface ClusterPki {
  readonly tlsDir: string;
  /**
   * Every CA this cluster trusts now, PEM: the CA alone, or during a CA rotation's
   * overlap the new one then the previous one. Agents and admins get this bundle.
   */
  readonly caPem: string;
  /**
   * sha256 of the DER of the CA at the root of the serving chain, lower-case hex:
   * what join tokens carry (the previous CA's during a rotation's overlap).
   */
  readonly caHash: string;
  /** The CA that signs new certificates (the new one during a rotation). */
  readonly signingCaPem: string;
  /** End of the CA rotation's overlap (ms since the epoch) while one is under way. */
  rotationUntil(): number | undefined;
  /**
   * Trusts `caPem` too in TLS handshakes (server and replica channels), ahead of
   * adopting it: every member trusts a new CA before any member signs with it. Agents
   * are not told (caPem is unchanged), so a rotation that stops here costs them nothing.
   * Kept in tls/ca-staged.crt (a certificate, no key) so that a member restarting before
   * the rotation's second step still accepts the members that took it.
   */
  stageCa(caPem: string, until?: number): Promise<void>;
  /** Drops a CA staged by stageCa (a rotation that stopped). */
  unstageCa(caPem: string): Promise<void>;
  /**
   * Drops a staged CA whose rotation's overlap (stageCa's `until`, kept in
   * tls/ca-staged.json) has ended without this member adopting it: the rotation was
   * stopped and the abort never reached this member, or the others took it and this
   * member is left on the old CA either way. Returns the dropped CA's hash.
   */
  dropStaleStage(): Promise<string | undefined>;
  /**
   * Takes up a CA rotation decided by a member: the current CA becomes the previous one,
   * trusted and serving until `previousUntil`, and the new CA signs from now on. Written
   * to tls/ as rotateClusterCa does, then swapped in while running. False when this CA
   * is already the signing one (the rotation reached this member before).
   */
  adoptCa(rotation: CaRotationBundle): Promise<boolean>;
  /**
   * Reads the CA and any rotation from tls/ again: a single server's data dir rotated by
   * `bramble certificate rotate-ca` while the server runs. True when the signing CA changed.
   */
  reloadCa(): Promise<boolean>;
  /** Called with the TLS trust bundle whenever it changes (staged, adopted, overlap ended). */
  onTrustChange(listener: (trustPem: string) => void): void;
  /** The CAs TLS handshakes trust now: caPem plus any staged CA. */
  tlsTrustPem(): string;
  /** Whether a certificate PEM (the first in it) was signed by the signing CA. */
  signedBySigningCa(certPem: string): boolean;
  /** True when the serving certificate is not from the CA it should be served from now (a rotation's overlap ended). */
  servingCertStale(): boolean;
  /** Subject alternative names on the serving certificate ("dns:..." / "ip:..."). */
  readonly serverSans: readonly string[];
  /** TLS for the gRPC server: client certificates are requested and verified, but not required. */
  serverCredentials(): grpc.ServerCredentials;
  /** The serving certificate in use now. */
  servingCertPem(): string;
  /**
   * A new serving certificate from the CA, for a new key: written to tls/ (key,
   * then certificate, each atomically) and pushed into every server built on
   * serverCredentials(), so new handshakes see it while open connections keep theirs.
   */
  renewServingCert(): Promise<void>;
  issueClientCert(commonName: string, organization: string): Promise<IssuedCert>;
  /**
   * A control-plane member's certificate (CN "system:replica:<name>", O
   * "bramble:replicas"): replicas dial each other with it and may serve it, so it
   * carries both clientAuth and serverAuth. `sans`: the member's names and addresses.
   */
  issueReplicaCert(name: string, opts?: { sans?: string[] }): Promise<IssuedCert>;
  /** Verifies a node's CSR (signature, CN "system:node:<nodeName>") and returns the signed certificate PEM. */
  signNodeCsr(csrPem: string, nodeName: string): Promise<string>;
}

export interface ClusterPkiOptions {
  /** Extra names or addresses for the serving certificate (e.g. a load balancer's). */
  sans?: string[];
  clock?: Clock;
  /** Lifetime of the leaves this CA signs (default one year); tests make it short. */
  leafValidityMs?: number;
}

interface FileNames {
  caCrt: string;
  caKey: string;
  serverCrt: string;
  serverKey: string;
}

export async function ensureClusterPki(dataDir: string, opts: ClusterPkiOptions = {}): Promise<ClusterPki> {
  const clock = opts.clock ?? realClock;
  const tlsDir = path.join(dataDir, 'tls');
  await fs.mkdir(tlsDir, { recursive: true, mode: 0o700 });
  await fs.chmod(tlsDir, 0o700);
  const files: FileNames = {
    caCrt: path.join(tlsDir, 'ca.crt'),
    caKey: path.join(tlsDir, 'ca.key'),
    serverCrt: path.join(tlsDir, 'server.crt'),
    serverKey: path.join(tlsDir, 'server.key'),
  };

  const leafValidityMs = opts.leafValidityMs ?? LEAF_VALIDITY;
  // Mutable: a CA rotation decided by another member is taken up while running (adoptCa).
  let ca = await ensureCa(files, clock, leafValidityMs);
  let previous = await loadPreviousCa(tlsDir, ca.leafValidityMs);
  const stagedFile = path.join(tlsDir, STAGED_CRT);
  // A stage from before a restart is trusted again, but never blocks another rotation (stagedAt 0).
  let staged = await loadStagedCa(stagedFile, ca.certPem);
  const stagedUntilFile = path.join(tlsDir, STAGED_UNTIL);
  let stagedUntil = staged === undefined ? undefined : await loadStagedUntil(stagedUntilFile);
  let stagedAt = 0;
  const dropStage = async (): Promise<void> => {
    await fs.rm(stagedFile, { force: true });
    await fs.rm(stagedUntilFile, { force: true });
    staged = undefined;
    stagedUntil = undefined;
    trustChanged();
  };
  // During a rotation's overlap the serving certificate still comes from the previous CA,
  // which every agent and admin already trusts; everything else is signed by the new one.
  const inOverlap = (): boolean => previous !== undefined && clock.now() < previous.until;
  const servingCa = (): LoadedCa => (inOverlap() ? previous!.ca : ca);
  const trustPem = (): string => (inOverlap() ? ca.certPem + previous!.ca.certPem : ca.certPem);
  const tlsTrust = (): string => trustPem() + (staged ?? '');
  const sans = hostSans(opts.sans ?? []);
  let servedFrom = servingCa();
  let server = await ensureServingCert(files, servedFrom, sans, clock);
  const serving = new MutableCertificateProvider(tlsTrust(), { certPem: server.certPem + servedFrom.certPem, keyPem: server.keyPem });
  let trusted = tlsTrust();
  let caChanges: Promise<unknown> = Promise.resolve();
  const oneCaChange = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = caChanges.then(fn);
    caChanges = run.catch(() => undefined);
    return run;
  };
  const trustListeners: ((trustPem: string) => void)[] = [];
  const trustChanged = (): void => {
    trusted = tlsTrust();
    serving.setCa(trusted);
    for (const l of trustListeners) l(trusted);
  };

  return {
    tlsDir,
    get signingCaPem() {
      return ca.certPem;
    },
    rotationUntil: () => (inOverlap() ? previous!.until : undefined),
    stageCa: async (caPem, until) => {
      if (caPem === ca.certPem || caPem === staged) return;
      new NodeX509(caPem); // throws on a PEM that is not a certificate, before anything trusts it
      if (until !== undefined && !Number.isFinite(until)) {
        throw new BrambleError('INVALID_ARGUMENT', `the staged CA's previousUntil must be an ISO time: current value is ${String(until)}`);
      }
      // Two rotations run at once from two members would each adopt their own CA on some members:
      // the second is refused while the first's stage is fresh (an abort that never came expires).
      if (staged !== undefined && clock.now() - stagedAt < STAGE_TTL_MS) {
        throw new BrambleError('FAILED_PRECONDITION', `another cluster CA rotation is being run (its new CA was staged here ${Math.round((clock.now() - stagedAt) / 1000)} s ago): try again once it has finished`);
      }
      // The end first: a stage on disk without it is kept until a rotation replaces it (as before it had one).
      if (until !== undefined) await writeFileAtomic(stagedUntilFile, `${JSON.stringify({ until: new Date(until).toISOString() })}\n`, 0o644);
      else await fs.rm(stagedUntilFile, { force: true });
      await writeFileAtomic(stagedFile, caPem, 0o644);
      staged = caPem;
      stagedUntil = until;
      stagedAt = clock.now();
      trustChanged();
    },
    unstageCa: async (caPem) => {
      if (staged !== caPem) return;
      await dropStage();
    },
    dropStaleStage: async () => {
      if (staged === undefined || stagedUntil === undefined || clock.now() < stagedUntil) return undefined;
      const hash = certificateHash(staged);
      await dropStage();
      return hash;
    },
    // One change of CA at a time: a second adoption racing the first would read the new key as the current one.
    adoptCa: (rotation) => oneCaChange(async () => {
      if (rotation.caPem === ca.certPem) {
        if (staged !== undefined) await dropStage();
        return false;
      }
      if (inOverlap()) {
        throw new BrambleError('FAILED_PRECONDITION', `a CA rotation is under way on this member until ${new Date(previous!.until).toISOString()} with another CA: rotate again after it ends`);
      }
      const until = Date.parse(rotation.previousUntil);
      if (!Number.isFinite(until) || until <= clock.now()) {
        throw new BrambleError('INVALID_ARGUMENT', `previousUntil must be an ISO time in the future: current value is "${rotation.previousUntil}"`);
      }
      assertKeyMatches(rotation.caPem, rotation.caKeyPem, 'the new cluster CA certificate', 'the new cluster CA key');
      const currentKeyPem = await readIfExists(files.caKey);
      if (currentKeyPem === undefined) throw new BrambleError('INTERNAL', `the cluster CA key is missing from ${tlsDir}`);
      await writeRotationFiles(tlsDir, { certPem: ca.certPem, keyPem: currentKeyPem }, { certPem: rotation.caPem, keyPem: rotation.caKeyPem }, rotation.previousUntil);
      const fresh: LoadedCa = { cert: new x509.X509Certificate(rotation.caPem), certPem: rotation.caPem, key: await importKeyPem(rotation.caKeyPem), leafValidityMs };
      previous = { ca, until };
      ca = fresh;
      await dropStage();
      return true;
    }),
    reloadCa: () => oneCaChange(async () => {
      const onDisk = await ensureCa(files, clock, leafValidityMs);
      if (onDisk.certPem === ca.certPem) return false;
      const rotation = await loadPreviousCa(tlsDir, leafValidityMs);
      ca = onDisk;
      previous = rotation;
      trustChanged();
      return true;
    }),
    onTrustChange: (listener) => {
      trustListeners.push(listener);
    },
    tlsTrustPem: () => tlsTrust(),
    signedBySigningCa: (certPem) => {
      try {
        const cert = new NodeX509(certPem);
        const issuer = new NodeX509(ca.certPem);
        return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
      } catch {
        return false;
      }
    },
    get caPem() {
      return trustPem();
    },
    get caHash() {
      return createHash('sha256').update(Buffer.from(servingCa().cert.rawData)).digest('hex');
    },
    serverSans: sans.map((s) => `${s.type}:${s.value}`),
    serverCredentials: () => serving.serverCredentials(),
    servingCertPem: () => server.certPem,
    servingCertStale: () => servedFrom.certPem !== servingCa().certPem || trusted !== tlsTrust(),
    renewServingCert: async () => {
      const from = servingCa();
      server = await issueServingCert(files, from, sans, clock);
      servedFrom = from;
      // The trusted CAs first: a client certificate from the new CA must verify once the new chain is served.
      if (trusted !== tlsTrust()) trustChanged();
      serving.setIdentity({ certPem: server.certPem + from.certPem, keyPem: server.keyPem });
    },
    issueClientCert: async (commonName, organization) => {
      const keys = await generateKeys();
      const cert = await signLeaf(ca, clock, {
        commonName,
        organization,
        publicKey: keys.publicKey,
        usage: x509.ExtendedKeyUsage.clientAuth,
      });
      return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
    },
    issueReplicaCert: async (name, replicaOpts = {}) => {
      const problem = nodeNameRule(name);
      if (problem) throw new BrambleError('INVALID_ARGUMENT', `replica name ${problem}: current value is "${name}"`);
      const keys = await generateKeys();
      const sans = (replicaOpts.sans ?? []).map((v) => v.trim()).filter((v) => v !== '');
      const cert = await signLeaf(ca, clock, {
        commonName: REPLICA_CN_PREFIX + name,
        organization: REPLICA_ORGANIZATION,
        publicKey: keys.publicKey,
        usage: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
        ...(sans.length > 0 ? { sans: sans.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value })) } : {}),
      });
      return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
    },
    signNodeCsr: async (csrPem, nodeName) => {
      const csr = await verifiedCsr(csrPem);
      const wanted = NODE_CN_PREFIX + nodeName;
      const cns = csr.subjectName.getField('CN');
      if (nodeName === '' || cns.length !== 1 || cns[0] !== wanted) {
        const found = cns.length === 0 ? 'no CN' : cns.map((c) => `"${c}"`).join(', ');
        throw new BrambleError('FORBIDDEN', `certificate signing request must have CN "${wanted}": found ${found}`);
      }
      // The subject is built here, never copied from the CSR, so a node cannot
      // smuggle in another organization (such as bramble:admins).
      const cert = await signLeaf(ca, clock, {
        commonName: wanted,
        organization: NODE_ORGANIZATION,
        publicKey: csr.publicKey,
        usage: x509.ExtendedKeyUsage.clientAuth,
      });
      return cert.toString('pem') + '\n';
    },
  };
}

/**
 * Puts an existing cluster's CA into a data dir, for a server joining that cluster
 * as a member: it then signs node and replica certificates as every member does.
 * The same CA already there is kept; another cluster's CA is never replaced.
 */
export async function installClusterCa(dataDir: string, caPem: string, caKeyPem: string): Promise<void> {
  const tlsDir = path.join(dataDir, 'tls');
  await fs.mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const caCrt = path.join(tlsDir, 'ca.crt');
  const caKey = path.join(tlsDir, 'ca.key');
  assertKeyMatches(caPem, caKeyPem, 'the cluster CA certificate', 'the cluster CA key');
  const existing = await readIfExists(caCrt);
  if (existing !== undefined) {
    if (existing.trim() === caPem.trim()) return;
    throw new BrambleError('CA_MISMATCH', `${caCrt} holds the CA of another cluster: join with an empty --data-dir, or move ${tlsDir} away`);
  }
  await writeFileAtomic(caKey, caKeyPem, 0o600);
  await writeFileAtomic(caCrt, caPem, 0o644);
}

/** A CA staged by a rotation that never adopted nor aborted it blocks another rotation this long. */
const STAGE_TTL_MS = 5 * 60_000;

const ROTATION_FILE = 'ca-rotation.json';
const STAGED_CRT = 'ca-staged.crt';
const STAGED_UNTIL = 'ca-staged.json';

/** The end of the staged CA's overlap, or undefined when not known (a file missing or not ours: the stage is kept). */
async function loadStagedUntil(file: string): Promise<number | undefined> {
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    const until = Date.parse((JSON.parse(text) as { until?: unknown }).until as string);
    return Number.isFinite(until) ? until : undefined;
  } catch {
    return undefined;
  }
}

/** The CA a rotation's first step staged here before a restart, unless it is already the signing one or is not a certificate. */
async function loadStagedCa(file: string, signingPem: string): Promise<string | undefined> {
  const pem = await readIfExists(file);
  if (pem === undefined || pem === signingPem) return undefined;
  try {
    new NodeX509(pem);
    return pem;
  } catch {
    return undefined;
  }
}
const PREVIOUS_CRT = 'ca-previous.crt';
const PREVIOUS_KEY = 'ca-previous.key';

interface PreviousCa {
  ca: LoadedCa;
  /** End of the overlap, ms since the epoch. */
  until: number;
}

async function loadPreviousCa(tlsDir: string, leafValidityMs: number): Promise<PreviousCa | undefined> {
  const text = await readIfExists(path.join(tlsDir, ROTATION_FILE));
  if (text === undefined) return undefined;
  const crt = path.join(tlsDir, PREVIOUS_CRT);
  const key = path.join(tlsDir, PREVIOUS_KEY);
  let until: number;
  try {
    until = Date.parse((JSON.parse(text) as { previousUntil?: string }).previousUntil ?? '');
  } catch {
    until = Number.NaN;
  }
  if (!Number.isFinite(until)) {
    throw new BrambleError('INTERNAL', `${path.join(tlsDir, ROTATION_FILE)} must hold {"previousUntil": "<ISO time>"}: restore it, or remove it to end the CA rotation now`);
  }
  const certPem = await readIfExists(crt);
  const keyPem = await readIfExists(key);
  if (certPem === undefined || keyPem === undefined) {
    throw new BrambleError('INTERNAL', `a CA rotation is recorded in ${path.join(tlsDir, ROTATION_FILE)} but ${certPem === undefined ? crt : key} is missing: restore it, or remove ${ROTATION_FILE} to end the rotation now`);
  }
  assertKeyMatches(certPem, keyPem, crt, key);
  return { ca: { cert: new x509.X509Certificate(certPem), certPem, key: await importKeyPem(keyPem), leafValidityMs }, until };
}

export interface CaRotation {
  previousHash: string;
  newHash: string;
  previousUntil: string;
  /** The new CA then the previous one: what clients trust during the overlap. */
  bundlePem: string;
  /** A client certificate from the new CA (for admin.conf). */
  issueClientCert(commonName: string, organization: string): Promise<IssuedCert>;
}

/**
 * Replaces the cluster CA in a data dir: the current CA becomes the previous one,
 * trusted (and serving) until `overlapMs` from now, and a new CA signs everything
 * else. A server started on the data dir then serves the overlap; the servers'
 * renewal loop moves the serving certificate to the new CA when the overlap ends.
 */
export async function rotateClusterCa(dataDir: string, opts: { overlapMs: number; clock?: Clock }): Promise<CaRotation> {
  const clock = opts.clock ?? realClock;
  const tlsDir = path.join(dataDir, 'tls');
  const caCrt = path.join(tlsDir, 'ca.crt');
  const caKey = path.join(tlsDir, 'ca.key');
  if (!(opts.overlapMs > 0)) throw new BrambleError('INVALID_ARGUMENT', `the overlap must be more than 0 days: current value is ${opts.overlapMs / (24 * 3600 * 1000)}`);
  const certPem = await readIfExists(caCrt);
  const keyPem = await readIfExists(caKey);
  if (certPem === undefined || keyPem === undefined) {
    throw new BrambleError('NOT_FOUND', `${tlsDir} holds no cluster CA (ca.crt and ca.key): is this a server's data dir?`);
  }
  assertKeyMatches(certPem, keyPem, caCrt, caKey);
  const running = await loadPreviousCa(tlsDir, LEAF_VALIDITY);
  if (running && clock.now() < running.until) {
    throw new BrambleError('FAILED_PRECONDITION', `a CA rotation is under way until ${new Date(running.until).toISOString()}: rotate again after it ends`);
  }
  const fresh = await createCa(clock);
  const previousUntil = new Date(clock.now() + opts.overlapMs).toISOString();
  await writeRotationFiles(tlsDir, { certPem, keyPem }, fresh, previousUntil);
  const hash = (pem: string): string => createHash('sha256').update(new NodeX509(pem).raw).digest('hex');
  const signing: LoadedCa = { cert: new x509.X509Certificate(fresh.certPem), certPem: fresh.certPem, key: await importKeyPem(fresh.keyPem), leafValidityMs: LEAF_VALIDITY };
  return {
    previousHash: hash(certPem), newHash: hash(fresh.certPem), previousUntil, bundlePem: fresh.certPem + certPem,
    issueClientCert: async (commonName, organization) => {
      const keys = await generateKeys();
      const cert = await signLeaf(signing, clock, { commonName, organization, publicKey: keys.publicKey, usage: x509.ExtendedKeyUsage.clientAuth });
      return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
    },
  };
}

/** A CA rotation as members hand it to each other: the new CA, its key, and the end of the overlap. */
export interface CaRotationBundle {
  caPem: string;
  caKeyPem: string;
  /** ISO time the previous CA stops being trusted. */
  previousUntil: string;
}

/** A new CA for a rotation decided now, in memory only until a member adopts it. */
export async function newCaRotation(opts: { overlapMs: number; clock?: Clock }): Promise<CaRotationBundle> {
  const clock = opts.clock ?? realClock;
  if (!(opts.overlapMs > 0)) throw new BrambleError('INVALID_ARGUMENT', `the overlap must be more than 0 days: current value is ${opts.overlapMs / DAY}`);
  const fresh = await createCa(clock);
  return { caPem: fresh.certPem, caKeyPem: fresh.keyPem, previousUntil: new Date(clock.now() + opts.overlapMs).toISOString() };
}

/** The rotation under way in a data dir (ca.crt, ca.key and the record), to hand on to a member that lacks it. */
export async function readCaRotation(dataDir: string): Promise<CaRotationBundle & { previousPem: string }> {
  const tlsDir = path.join(dataDir, 'tls');
  const record = await readIfExists(path.join(tlsDir, ROTATION_FILE));
  const caPem = await readIfExists(path.join(tlsDir, 'ca.crt'));
  const caKeyPem = await readIfExists(path.join(tlsDir, 'ca.key'));
  const previousPem = await readIfExists(path.join(tlsDir, PREVIOUS_CRT));
  if (record === undefined || caPem === undefined || caKeyPem === undefined || previousPem === undefined) {
    throw new BrambleError('INTERNAL', `no complete CA rotation in ${tlsDir} (${ROTATION_FILE}, ca.crt, ca.key, ${PREVIOUS_CRT})`);
  }
  const previousUntil = (JSON.parse(record) as { previousUntil?: string }).previousUntil ?? '';
  return { caPem, caKeyPem, previousUntil, previousPem };
}

/** sha256 (hex) of a certificate's DER: what join tokens and `rotate-ca` name a CA by. */
export function certificateHash(pem: string): string {
  return createHash('sha256').update(new NodeX509(pem).raw).digest('hex');
}

/**
 * The previous CA first, then the record, then the new CA (key before certificate):
 * a crash part way leaves either the old CA alone in use, or a complete rotation.
 */
async function writeRotationFiles(
  tlsDir: string, current: { certPem: string; keyPem: string }, fresh: { certPem: string; keyPem: string }, previousUntil: string,
): Promise<void> {
  await writeFileAtomic(path.join(tlsDir, PREVIOUS_KEY), current.keyPem, 0o600);
  await writeFileAtomic(path.join(tlsDir, PREVIOUS_CRT), current.certPem, 0o644);
  await writeFileAtomic(path.join(tlsDir, ROTATION_FILE), JSON.stringify({ previousUntil }, null, 2) + '\n', 0o644);
  await writeFileAtomic(path.join(tlsDir, 'ca.key'), fresh.keyPem, 0o600);
  await writeFileAtomic(path.join(tlsDir, 'ca.crt'), fresh.certPem, 0o644);
}

/** The CA key, for a member handing it to a server that joins (over the token-pinned connection only). */
export async function readClusterCaKey(dataDir: string): Promise<string> {
  const key = await readIfExists(path.join(dataDir, 'tls', 'ca.key'));
  if (key === undefined) throw new BrambleError('INTERNAL', `the cluster CA key is missing from ${path.join(dataDir, 'tls')}`);
  return key;
}

/** sha256 (hex) of the SubjectPublicKeyInfo in a certificate, CSR or public key PEM. */
export function publicKeyFingerprint(pem: string): string {
  let spki: Buffer;
  if (pem.includes('CERTIFICATE REQUEST')) {
    spki = Buffer.from(new x509.Pkcs10CertificateRequest(pem).publicKey.rawData);
  } else if (pem.includes('BEGIN CERTIFICATE')) {
    spki = new NodeX509(pem).publicKey.export({ type: 'spki', format: 'der' });
  } else {
    spki = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  }
  return createHash('sha256').update(spki).digest('hex');
}

// ------------------------------------------------------------------ internals

interface LoadedCa {
  cert: x509.X509Certificate;
  certPem: string;
  key: CryptoKey;
  leafValidityMs: number;
}

async function ensureCa(files: FileNames, clock: Clock, leafValidityMs: number): Promise<LoadedCa> {
  const certPem = await readIfExists(files.caCrt);
  const keyPem = await readIfExists(files.caKey);
  if (certPem !== undefined && keyPem !== undefined) {
    assertKeyMatches(certPem, keyPem, files.caCrt, files.caKey);
    return { cert: new x509.X509Certificate(certPem), certPem, key: await importKeyPem(keyPem), leafValidityMs };
  }
  if (certPem !== undefined || keyPem !== undefined) {
    const [have, missing] = certPem !== undefined ? [files.caCrt, files.caKey] : [files.caKey, files.caCrt];
    // Never silently replace half a CA: every node and admin trusts the old one.
    throw new BrambleError(
      'INTERNAL',
      `cluster CA is incomplete: ${have} exists but ${missing} does not; restore it, or remove both to create a new CA`,
    );
  }
  const created = await createCa(clock);
  // Key first: a crash between the two writes leaves a key without a cert,
  // which the check above reports instead of generating a second CA.
  await writeFileAtomic(files.caKey, created.keyPem, 0o600);
  await writeFileAtomic(files.caCrt, created.certPem, 0o644);
  return { cert: new x509.X509Certificate(created.certPem), certPem: created.certPem, key: await importKeyPem(created.keyPem), leafValidityMs };
}

async function createCa(clock: Clock): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeys();
  const now = clock.now();
  const suffix = Buffer.from(webcrypto.getRandomValues(new Uint8Array(4))).toString('hex');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [`bramble-ca-${suffix}`] }, { O: ['bramble'] }],
    keys,
    signingAlgorithm: SIGN_ALG,
    notBefore: new Date(now - BACKDATE),
    notAfter: new Date(now + CA_VALIDITY),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

async function ensureServingCert(
  files: FileNames,
  ca: LoadedCa,
  sans: x509.JsonGeneralNames,
  clock: Clock,
): Promise<IssuedCert> {
  const certPem = await readIfExists(files.serverCrt);
  const keyPem = await readIfExists(files.serverKey);
  if (certPem !== undefined && keyPem !== undefined && (await servingCertUsable(certPem, keyPem, ca, sans, clock))) {
    return { certPem, keyPem };
  }
  return issueServingCert(files, ca, sans, clock);
}

async function issueServingCert(files: FileNames, ca: LoadedCa, sans: x509.JsonGeneralNames, clock: Clock): Promise<IssuedCert> {
  const keys = await generateKeys();
  const cert = await signLeaf(ca, clock, {
    commonName: 'bramble-server',
    organization: 'bramble',
    publicKey: keys.publicKey,
    usage: x509.ExtendedKeyUsage.serverAuth,
    sans,
  });
  const issued = { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
  // Key first: a crash between the writes leaves a certificate that is not for
  // the key, which servingCertUsable refuses at the next start, issuing anew.
  await writeFileAtomic(files.serverKey, issued.keyPem, 0o600);
  await writeFileAtomic(files.serverCrt, issued.certPem, 0o644);
  return issued;
}

/** Kept when signed by this CA, for this key, with the same SANs and not about to expire. */
async function servingCertUsable(
  certPem: string,
  keyPem: string,
  ca: LoadedCa,
  sans: x509.JsonGeneralNames,
  clock: Clock,
): Promise<boolean> {
  try {
    const cert = new x509.X509Certificate(certPem);
    if (!(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }))) return false;
    if (clock.now() >= renewalDueAt({ notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime() })) return false;
    assertKeyMatches(certPem, keyPem, 'server.crt', 'server.key');
    const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
    // Compare after the same encode/decode so IPv6 spellings cannot differ.
    const want = new x509.SubjectAlternativeNameExtension(sans);
    const decodedWant = new x509.SubjectAlternativeNameExtension(want.rawData);
    return ext !== null && sanKey(ext.names.toJSON()) === sanKey(decodedWant.names.toJSON());
  } catch {
    return false;
  }
}

function sanKey(names: x509.JsonGeneralNames): string {
  return names.map((n) => `${n.type}:${n.value}`).sort().join(',');
}

/** localhost, loopback, the host name, every non-internal address, plus the extra names. */
export function hostSans(extra: string[]): x509.JsonGeneralNames {
  const values = new Set<string>(['localhost', '127.0.0.1', '::1', os.hostname()]);
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal) values.add(a.address);
  }
  for (const s of extra) if (s.trim() !== '') values.add(s.trim());
  return [...values].sort().map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }));
}

interface LeafParams {
  commonName: string;
  organization: string;
  publicKey: x509.PublicKeyType;
  usage: x509.ExtendedKeyUsage | x509.ExtendedKeyUsage[];
  sans?: x509.JsonGeneralNames;
}

async function signLeaf(ca: LoadedCa, clock: Clock, p: LeafParams): Promise<x509.X509Certificate> {
  const now = clock.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(Array.isArray(p.usage) ? p.usage : [p.usage], false),
    await x509.SubjectKeyIdentifierExtension.create(p.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  ];
  if (p.sans) extensions.push(new x509.SubjectAlternativeNameExtension(p.sans, false));
  return x509.X509CertificateGenerator.create({
    subject: [{ CN: [p.commonName] }, { O: [p.organization] }],
    issuer: ca.cert.subjectName,
    publicKey: p.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGN_ALG,
    notBefore: new Date(now - BACKDATE),
    notAfter: new Date(now + ca.leafValidityMs),
    extensions,
  });
}

async function verifiedCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    throw new BrambleError(
      'INVALID_ARGUMENT',
      `certificate signing request must be a PEM PKCS#10 request: ${(e as Error).message}`,
    );
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new BrambleError('INVALID_ARGUMENT', 'certificate signing request signature does not verify against its own key');
  }
  return csr;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return (await webcrypto.subtle.importKey('pkcs8', der, KEY_ALG, true, ['sign'])) as CryptoKey;
}

function assertKeyMatches(certPem: string, keyPem: string, certName: string, keyName: string): void {
  const fromCert = new NodeX509(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  if (!fromCert.equals(fromKey)) {
    throw new BrambleError('INTERNAL', `${keyName} is not the private key of ${certName}`);
  }
}

