// `bramble secrets-encryption status|rotate`, as k3s users know them: which key
// encrypts Secrets at rest and how many Secrets each key holds; rotation to a new
// key with every Secret re-encrypted, while the cluster keeps running.
import type { SecretsEncryptionStatusResponse__Output } from '../../proto/generated/bramble/v1/SecretsEncryptionStatusResponse.js';
import type { RotateSecretsEncryptionResponse__Output } from '../../proto/generated/bramble/v1/RotateSecretsEncryptionResponse.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { renderTable, type Printed } from './cli-print.js';

export const SECRETS_ENCRYPTION_OUTPUT_FORMATS = ['json'] as const;
export type SecretsEncryptionOutput = 'text' | (typeof SECRETS_ENCRYPTION_OUTPUT_FORMATS)[number];

/** The stable JSON shape of `status -o json`. */
export function statusJson(s: SecretsEncryptionStatusResponse__Output): Record<string, unknown> {
  return {
    activeKeyId: s.activeKeyId,
    keys: s.keys.map((k) => ({ id: k.id, active: k.active, secrets: k.secrets })),
    plaintextSecrets: s.plaintextSecrets,
    unreadableSecrets: s.unreadableSecrets,
    totalSecrets: s.totalSecrets,
    revision: s.revision,
  };
}

export function printStatus(s: SecretsEncryptionStatusResponse__Output, output: SecretsEncryptionOutput): Printed {
  if (output === 'json') return { stdout: JSON.stringify(statusJson(s), null, 2) + '\n', stderr: '' };
  const rows = [['ACTIVE', 'KEY', 'SECRETS'], ...s.keys.map((k) => [k.active ? '*' : '', k.id, String(k.secrets)])];
  const lines = [
    'Encryption Status: Enabled (AES-256-GCM)',
    `Active Key: ${s.activeKeyId}`,
    `Secrets: ${s.totalSecrets} (${s.plaintextSecrets} in clear, ${s.unreadableSecrets} unreadable)`,
    '',
  ];
  const warn = s.unreadableSecrets > 0
    ? `warning: ${s.unreadableSecrets} Secret(s) cannot be decrypted with the keys in the key file; the server log names them\n`
    : '';
  return { stdout: lines.join('\n') + renderTable(rows), stderr: warn };
}

export function printRotation(r: RotateSecretsEncryptionResponse__Output, output: SecretsEncryptionOutput): Printed {
  const stderr = r.failures.map((f) => `error: ${f}\n`).join('');
  if (output === 'json') {
    const json = {
      previousKeyId: r.previousKeyId, activeKeyId: r.activeKeyId, reencrypted: r.reencrypted,
      removedKeyIds: r.removedKeyIds, keptKeyIds: r.keptKeyIds, failures: r.failures, status: r.status ? statusJson(r.status) : undefined,
    };
    return { stdout: JSON.stringify(json, null, 2) + '\n', stderr };
  }
  const lines = [
    `rotated the Secrets encryption key: ${r.previousKeyId} -> ${r.activeKeyId}`,
    `re-encrypted ${r.reencrypted} Secret(s) with ${r.activeKeyId}`,
    r.removedKeyIds.length > 0 ? `removed unused key(s): ${r.removedKeyIds.join(', ')}` : 'removed no key',
  ];
  if (r.keptKeyIds.length > 0) lines.push(`kept old key(s): ${r.keptKeyIds.join(', ')}`);
  return { stdout: lines.join('\n') + '\n', stderr };
}

export async function runSecretsEncryptionStatus(ctx: CommandContext, input: { output: SecretsEncryptionOutput }): Promise<number> {
  const s = await withCluster(ctx.connect, (conn) => conn.secretsEncryptionStatus());
  const printed = printStatus(s, input.output);
  ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  return 0;
}

/** Exits 1 when a Secret could not be re-encrypted (the key it uses is then kept). */
export async function runSecretsEncryptionRotate(ctx: CommandContext, input: { output: SecretsEncryptionOutput; keepOldKeys: boolean }): Promise<number> {
  const r = await withCluster(ctx.connect, (conn) => conn.rotateSecretsEncryption({ keepOldKeys: input.keepOldKeys }));
  const printed = printRotation(r, input.output);
  ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  return r.failures.length > 0 ? 1 : 0;
}
