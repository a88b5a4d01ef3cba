// `bramble certificate status`: reads the certificates a data dir holds, on this
// machine, without a server: the cluster CA and the serving certificate
// (tls/), the admin's client certificate (admin.conf) and, for an agent's data
// dir (or DIR/agent), the node certificate and the CA it trusts. Prints each
// one's subject, expiry and the days that remain.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { readIfExists } from '../../proto/util/files.js';
import { defaultDataDir, readClientConfig } from '../pki/client-config.js';
import { renewalDueAt } from '../../proto/util/cert-renewal.js';
import type { CommandContext } from './cli-context.js';
import { renderTable, type Printed } from './cli-print.js';
import { BrambleError } from '../../proto/util/errors.js';

export const CERTIFICATE_OUTPUT_FORMATS = ['json', 'yaml'] as const;
export type CertificateOutput = 'table' | (typeof CERTIFICATE_OUTPUT_FORMATS)[number];

const DAY = 24 * 3600 * 1000;

export type CertificateState = 'valid' | 'renew-soon' | 'expired' | 'not-yet-valid';

export interface CertificateInfo {
  /** What the certificate is for: ca, serving, admin, node, agent-ca. */
  role: string;
  file: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** Whole days left until notAfter (negative once expired). */
  remainingDays: number;
  state: CertificateState;
}

/** One certificate PEM (the first in the text) as a row. */
export function describeCertificate(role: string, file: string, pem: string, now: number): CertificateInfo {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new BrambleError('INVALID_ARGUMENT', `${file}: ${role} certificate is not a PEM X.509 certificate: ${(e as Error).message}`);
  }
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  const remaining = notAfter - now;
  let state: CertificateState = 'valid';
  if (now < notBefore) state = 'not-yet-valid';
  else if (remaining <= 0) state = 'expired';
  else if (role !== 'ca' && role !== 'agent-ca' && role !== 'previous-ca' && role !== 'staged-ca' && now >= renewalDueAt({ notBefore, notAfter })) state = 'renew-soon';
  return {
    role,
    file,
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notBefore: new Date(notBefore).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    remainingDays: Math.floor(remaining / DAY),
    state,
  };
}

function oneLine(dn: string): string {
  return dn.split('\n').filter((s) => s !== '').join(', ');
}

/** Every certificate found in a server's or an agent's data dir (and DIR/agent). */
export async function collectCertificates(dataDir: string, now: number): Promise<CertificateInfo[]> {
  const found: CertificateInfo[] = [];
  const addFile = async (role: string, file: string): Promise<void> => {
    const pem = await readIfExists(file);
    if (pem !== undefined) found.push(describeCertificate(role, file, pem, now));
  };
  await addFile('ca', path.join(dataDir, 'tls', 'ca.crt'));
  await addFile('previous-ca', path.join(dataDir, 'tls', 'ca-previous.crt'));
  // Trusted ahead of a replicated rotation's second step (see ca-rotation.ts); normally absent.
  await addFile('staged-ca', path.join(dataDir, 'tls', 'ca-staged.crt'));
  await addFile('serving', path.join(dataDir, 'tls', 'server.crt'));
  const adminConf = path.join(dataDir, 'admin.conf');
  if ((await readIfExists(adminConf)) !== undefined) {
    // The one reader of client configs: a malformed admin.conf is reported as the CLI reports it everywhere else.
    const cfg = await readClientConfig(adminConf);
    found.push(describeCertificate('admin', adminConf, cfg.cert, now));
  }
  for (const dir of [dataDir, path.join(dataDir, 'agent')]) {
    await addFile('node', path.join(dir, 'node.crt'));
    await addFile('agent-ca', path.join(dir, 'ca.crt'));
  }
  return found;
}

function remainingText(c: CertificateInfo): string {
  if (c.state === 'expired') return `expired ${-c.remainingDays}d ago`;
  return `${c.remainingDays}d`;
}

export function printCertificates(certs: CertificateInfo[], output: CertificateOutput, dataDir: string): Printed {
  if (output === 'json') return { stdout: JSON.stringify(certs, null, 2) + '\n', stderr: '' };
  if (output === 'yaml') return { stdout: toYaml(certs), stderr: '' };
  if (certs.length === 0) return { stdout: '', stderr: `No certificates in ${dataDir} (tls/, admin.conf, node.crt, agent/).\n` };
  const rows = [
    ['ROLE', 'SUBJECT', 'NOT AFTER', 'REMAINING', 'STATE', 'FILE'],
    ...certs.map((c) => [c.role, c.subject, c.notAfter, remainingText(c), c.state, c.file]),
  ];
  return { stdout: renderTable(rows), stderr: '' };
}

export interface CertificateStatusInput {
  dataDir?: string;
  output: CertificateOutput;
}

/** Exit 0; 1 when any certificate has expired or is not valid yet. */
export async function runCertificateStatus(ctx: CommandContext, input: CertificateStatusInput): Promise<number> {
  const dataDir = input.dataDir ?? defaultDataDir();
  try {
    await fs.access(dataDir);
  } catch {
    throw new BrambleError('NOT_FOUND', `--data-dir ${dataDir} does not exist or cannot be read`);
  }
  const certs = await collectCertificates(dataDir, ctx.io.clock.now());
  const printed = printCertificates(certs, input.output, dataDir);
  if (printed.stdout) ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  return certs.some((c) => c.state === 'expired' || c.state === 'not-yet-valid') ? 1 : 0;
}
