// `bramble certificate rotate-ca`: on the server's machine, replaces the cluster
// CA in its data dir with an overlap period (pki-ca.ts rotateClusterCa), and
// gives admin.conf a certificate from the new CA with the bundle of both.
import fs from 'node:fs/promises';
import path from 'node:path';
import { BrambleError } from '../../proto/util/errors.js';
import { readIfExists } from '../../proto/util/files.js';
import { ADMIN_COMMON_NAME, ADMIN_ORGANIZATION } from '../pki/auth.js';
import { defaultDataDir, readClientConfig, writeClientConfig } from '../pki/client-config.js';
import { rotateClusterCa } from '../pki/pki-ca.js';
import type { CommandContext } from './cli-context.js';

const DAY = 24 * 3600 * 1000;
export const DEFAULT_CA_OVERLAP_DAYS = 30;

export interface RotateCaInput {
  dataDir?: string;
  overlapDays?: string;
}

export function parseOverlapDays(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CA_OVERLAP_DAYS;
  const days = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(days > 0) || days > 3650) {
    throw new BrambleError('INVALID_ARGUMENT', `--overlap must be a number of days above 0 and at most 3650: current value is "${text}"`);
  }
  return days;
}

export async function runCertificateRotateCa(ctx: CommandContext, input: RotateCaInput): Promise<number> {
  const dataDir = input.dataDir ?? defaultDataDir();
  const overlapDays = parseOverlapDays(input.overlapDays);
  try {
    await fs.access(path.join(dataDir, 'tls', 'ca.crt'));
  } catch {
    throw new BrambleError('NOT_FOUND', `--data-dir ${dataDir} holds no cluster CA (tls/ca.crt): run this on a server's data dir`);
  }
  // Every member holds the CA and signs with it: one member rotating alone would split the cluster.
  if ((await readIfExists(path.join(dataDir, 'member.json'))) !== undefined) {
    throw new BrambleError('FAILED_PRECONDITION', `${dataDir} belongs to a replicated control plane: rotate-ca supports a single server only so far`);
  }
  const rotation = await rotateClusterCa(dataDir, { overlapMs: overlapDays * DAY, clock: ctx.io.clock });
  const adminConf = path.join(dataDir, 'admin.conf');
  let adminRewritten = false;
  if ((await readIfExists(adminConf)) !== undefined) {
    const cfg = await readClientConfig(adminConf);
    const issued = await rotation.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
    await writeClientConfig(adminConf, { ...cfg, ca: rotation.bundlePem, cert: issued.certPem, key: issued.keyPem });
    adminRewritten = true;
  }
  ctx.io.stdout.write(
    `Rotated the cluster CA in ${path.join(dataDir, 'tls')}: new CA sha256 ${rotation.newHash}; ` +
      `the previous one (sha256 ${rotation.previousHash}) is trusted and still serves until ${rotation.previousUntil}.\n` +
      (adminRewritten ? `${adminConf} now holds a certificate from the new CA and trusts both.\n` : '') +
      'Restart the server now to begin the overlap (Pods and agents keep running): until it restarts it does not\n' +
      'know of the new CA, and agents that have not renewed when the overlap ends are shut out. Agents renew their node certificates\n' +
      'at their next heartbeat; an agent offline for the whole overlap must join again. When the overlap ends the\n' +
      'server serves from the new CA and replaces its token file; join tokens made before then name the previous CA.\n',
  );
  return 0;
}
