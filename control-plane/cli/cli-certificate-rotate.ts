// `bramble certificate rotate-ca`: replaces the cluster CA with an overlap period.
// A single server's data dir is rotated here, on its machine (pki-ca.ts
// rotateClusterCa), admin.conf getting a certificate from the new CA with the
// bundle of both; a running server takes it up. A replicated control plane's
// members rotate together while running (ca-rotation.ts), asked through the API.
import fs from 'node:fs/promises';
import path from 'node:path';
import { BrambleError } from '../../proto/util/errors.js';
import { readIfExists } from '../../proto/util/files.js';
import { ADMIN_COMMON_NAME, ADMIN_ORGANIZATION } from '../pki/auth.js';
import { defaultDataDir, readClientConfig, writeClientConfig } from '../pki/client-config.js';
import { rotateClusterCa } from '../pki/pki-ca.js';
import { withCluster } from './cli-client.js';
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
  // Every member holds the CA and signs with it: one member rotating alone would split the
  // cluster, so the running members rotate together (Cluster.RotateClusterCa).
  if ((await readIfExists(path.join(dataDir, 'member.json'))) !== undefined) return rotateOnMembers(ctx, dataDir, overlapDays);
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
      'A running server takes up the new CA within a minute, without a restart (a stopped one at its start).\n' +
      AFTER_ROTATION,
  );
  return 0;
}

const AFTER_ROTATION =
  'Agents renew their node certificates at their next heartbeat; an agent offline for the whole overlap must join again.\n' +
  'When the overlap ends the servers serve from the new CA and replace their token files; join tokens made before then\n' +
  'name the previous CA.\n';

async function rotateOnMembers(ctx: CommandContext, dataDir: string, overlapDays: number): Promise<number> {
  // On a member's board its admin.conf reaches the members, unless --config names another file.
  const adminConf = path.join(dataDir, 'admin.conf');
  const connect = ctx.connect.configPath === undefined && (await readIfExists(adminConf)) !== undefined ? { ...ctx.connect, configPath: adminConf } : ctx.connect;
  const r = await withCluster(connect, (conn) => conn.rotateClusterCa({ overlapSeconds: (overlapDays * DAY) / 1000 }));
  ctx.io.stdout.write(
    (r.resumed
      ? `A CA rotation was under way: handed it to every member (${r.members.join(', ')}): CA sha256 ${r.newHash}; `
      : `Rotated the cluster CA on every member (${r.members.join(', ')}), without a restart: new CA sha256 ${r.newHash}; `) +
      `the previous one (sha256 ${r.previousHash}) is trusted and still serves until ${r.previousUntil}.\n` +
      'Each member\'s admin.conf now holds a certificate from the new CA and trusts both.\n' + AFTER_ROTATION,
  );
  return 0;
}
