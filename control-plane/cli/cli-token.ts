// `bramble token create|list|delete`: join tokens for new boards. `create`
// prints the token alone on stdout, so `TOKEN=$(bramble token create)` works.
import { stringify as toYaml } from 'yaml';
import type { TokenInfo__Output } from '../../proto/generated/bramble/v1/TokenInfo.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { LIMITS } from '../../proto/limits.js';
import { UsageError } from './cli-errors.js';
import { humanDuration, renderTable, type Printed } from './cli-print.js';

export const TOKEN_OUTPUT_FORMATS = ['json', 'yaml'] as const;
export type TokenOutput = 'table' | (typeof TOKEN_OUTPUT_FORMATS)[number];
export const DEFAULT_TOKEN_TTL = '24h';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Reads "30s", "90m", "24h", "7d" or a sum such as "1h30m" as seconds; "0"
 * means forever. Throws a UsageError naming the flag and the value.
 */
export function parseDuration(text: string, flag = '--ttl'): number {
  const t = text.trim();
  if (t === '0') return 0;
  const bad = (): UsageError =>
    new UsageError(`${flag} must be a duration such as 30s, 90m, 24h, 7d or 1h30m (0 for never): current value is "${text}"`);
  if (!/^(\d+[smhd])+$/.test(t)) throw bad();
  let seconds = 0;
  for (const m of t.matchAll(/(\d+)([smhd])/g)) seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  if (!Number.isSafeInteger(seconds)) throw bad();
  if (seconds > LIMITS.maxTokenTtlSeconds) {
    throw new UsageError(`${flag} must be no more than 100 years (36500d; 0 for never): current value is "${text}"`);
  }
  return seconds;
}

function expiresText(expires: string, now: number): string {
  if (expires === '') return 'never';
  const at = Date.parse(expires);
  if (Number.isNaN(at)) return expires;
  return at <= now ? `expired ${humanDuration(now - at)} ago` : `in ${humanDuration(at - now)}`;
}

function createdText(created: string, now: number): string {
  const at = Date.parse(created);
  return Number.isNaN(at) ? '<unknown>' : `${humanDuration(now - at)} ago`;
}

/** The listed tokens never carry the secret: only CreateToken returns it. */
function listed(t: TokenInfo__Output): Omit<TokenInfo__Output, 'token'> {
  return { id: t.id, description: t.description, expires: t.expires, created: t.created };
}

export function printTokens(tokens: TokenInfo__Output[], output: TokenOutput, now: number): Printed {
  if (output === 'json') return { stdout: JSON.stringify(tokens.map(listed), null, 2) + '\n', stderr: '' };
  if (output === 'yaml') return { stdout: toYaml(tokens.map(listed)), stderr: '' };
  if (tokens.length === 0) return { stdout: '', stderr: 'No join tokens.\n' };
  const rows = [
    ['ID', 'DESCRIPTION', 'EXPIRES', 'CREATED'],
    ...tokens.map((t) => [t.id, t.description || '<none>', expiresText(t.expires, now), createdText(t.created, now)]),
  ];
  return { stdout: renderTable(rows), stderr: '' };
}

export interface TokenCreateInput {
  ttl?: string;
  description?: string;
}

export async function runTokenCreate(ctx: CommandContext, input: TokenCreateInput): Promise<number> {
  const ttlSeconds = parseDuration(input.ttl ?? DEFAULT_TOKEN_TTL);
  const made = await withCluster(ctx.connect, (conn) => conn.createToken({ ttlSeconds, description: input.description ?? '' }));
  ctx.io.stdout.write(made.token + '\n');
  return 0;
}

export async function runTokenList(ctx: CommandContext, input: { output: TokenOutput }): Promise<number> {
  const res = await withCluster(ctx.connect, (conn) => conn.listTokens());
  const printed = printTokens(res.tokens, input.output, ctx.io.clock.now());
  if (printed.stdout) ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  return 0;
}

export async function runTokenDelete(ctx: CommandContext, input: { id: string }): Promise<number> {
  if (input.id.trim() === '') throw new UsageError('token delete needs a token ID: see `bramble token list`');
  await withCluster(ctx.connect, (conn) => conn.deleteToken(input.id));
  ctx.io.stdout.write(`token ${input.id} deleted\n`);
  return 0;
}
