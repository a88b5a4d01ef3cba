// The admin's client config (admin.conf, ~/.bramble/config): where the server
// is, which CA to trust, and the client certificate and key. YAML, mode 0600.
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../../proto/util/files.js';
import { BrambleError } from '../../proto/util/errors.js';

export interface ClientConfig {
  /** "host:port" of the server the config was written by: the first one tried. */
  server: string;
  /**
   * Every control-plane member known when the config was written, `server` first:
   * the CLI fails over to the next when one cannot be reached. Left out (or only
   * `server`) with one server.
   */
  servers?: string[];
  ca: string;
  cert: string;
  key: string;
}

const API_VERSION = 'bramble.dev/v1';
const KIND = 'Config';
const FIELDS = [
  ['server', 'server'],
  ['ca', 'certificateAuthority'],
  ['cert', 'clientCertificate'],
  ['key', 'clientKey'],
] as const;

export async function writeClientConfig(file: string, cfg: ClientConfig): Promise<void> {
  const doc: Record<string, string | string[]> = { apiVersion: API_VERSION, kind: KIND };
  for (const [field, yamlField] of FIELDS) doc[yamlField] = cfg[field];
  const others = serverList(cfg).slice(1);
  if (others.length > 0) doc.servers = serverList(cfg);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Created 0600 from the start: it holds the admin's private key.
  await writeFileAtomic(file, stringify(doc, { lineWidth: 0 }), 0o600);
}

export async function readClientConfig(file: string): Promise<ClientConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new BrambleError('INVALID_ARGUMENT', `cannot read client config ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new BrambleError('INVALID_ARGUMENT', `client config ${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new BrambleError('INVALID_ARGUMENT', `client config ${file} must be a YAML mapping`);
  }
  const map = doc as Record<string, unknown>;
  if (map.kind !== KIND) {
    throw new BrambleError('INVALID_ARGUMENT', `client config ${file}: kind must be "${KIND}": found ${JSON.stringify(map.kind)}`);
  }
  const out: Partial<ClientConfig> = {};
  for (const [field, yamlField] of FIELDS) {
    const v = map[yamlField];
    if (typeof v !== 'string' || v.trim() === '') {
      throw new BrambleError('INVALID_ARGUMENT', `client config ${file}: ${yamlField} must be a non-empty string`);
    }
    out[field] = v;
  }
  const cfg = out as ClientConfig;
  if (!HOST_PORT.test(cfg.server)) {
    throw new BrambleError('INVALID_ARGUMENT', `client config ${file}: server must be "host:port": found "${cfg.server}"`);
  }
  const servers = map.servers;
  if (servers !== undefined) {
    if (!Array.isArray(servers) || servers.some((s) => typeof s !== 'string' || !HOST_PORT.test(s))) {
      throw new BrambleError('INVALID_ARGUMENT', `client config ${file}: servers must be a list of "host:port": found ${JSON.stringify(servers).slice(0, 200)}`);
    }
    cfg.servers = servers as string[];
  }
  return cfg;
}

const HOST_PORT = /^.+:\d+$/;

/** Every server to try, in order: `server` first, then the others, each once. */
export function serverList(cfg: Pick<ClientConfig, 'server' | 'servers'>): string[] {
  return [...new Set([cfg.server, ...(cfg.servers ?? [])])];
}

/** /var/lib/bramble when running as root, ~/.bramble otherwise. */
export function defaultDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/bramble' : path.join(os.homedir(), '.bramble');
}

/**
 * Which config file the CLI uses: --config FILE (must exist), $BRAMBLE_CONFIG,
 * ~/.bramble/config, then <data dir>/admin.conf on the server's own board.
 */
export function findClientConfigPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined && explicit !== '') {
    if (existsSync(explicit)) return explicit;
    throw new BrambleError('INVALID_ARGUMENT', `client config given with --config does not exist: ${explicit}`);
  }
  const candidates: string[] = [];
  if (env.BRAMBLE_CONFIG) candidates.push(env.BRAMBLE_CONFIG);
  const home = env.HOME ?? os.homedir();
  candidates.push(path.join(home, '.bramble', 'config'), path.join(defaultDataDir(), 'admin.conf'));
  const unique = [...new Set(candidates)];
  for (const c of unique) if (existsSync(c)) return c;
  throw new BrambleError(
    'NOT_FOUND',
    `no client config found: tried ${unique.join(', ')}; pass --config FILE or set BRAMBLE_CONFIG ` +
      `(the server writes admin.conf in its data directory)`,
  );
}

/** mTLS to the control plane with the config's CA pinned. */
export function clientCredentials(cfg: ClientConfig): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(cfg.ca), Buffer.from(cfg.key), Buffer.from(cfg.cert), {
    // The CA is private to this cluster and pinned from the config file, so a
    // successful chain verification already proves we reached this cluster's
    // server. The host name is skipped on purpose: boards are reached by
    // addresses (DHCP leases, mDNS names, NAT) the serving certificate cannot
    // know in advance. OpenSSL still requires the serverAuth purpose, which
    // node and admin client certificates from the same CA do not carry.
    checkServerIdentity: () => undefined,
  });
}
