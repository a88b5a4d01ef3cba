// Join tokens on the server side. Each token is a store object of the internal
// kind BootstrapToken (not in proto/model.ts KINDS, so no manifest can create
// or read one) holding only a sha256 of the secret: a copy of the store is not
// a set of join tokens. sha256 rather than scrypt because the secret is 82
// random bits (no dictionary to slow down) and verify must stay cheap on a Pi.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../proto/util/files.js';
import { LIMITS } from '../../proto/limits.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { realClock, type Clock } from '../../proto/util/clock.js';
import type { KObject } from '../../proto/model.js';
import { formatToken, generateTokenParts, parseToken } from '../../proto/token.js';
import type { Store } from '../store/store.js';

export const BOOTSTRAP_TOKEN_KIND = 'BootstrapToken';
const API_VERSION = 'bramble.dev/v1';
const MAX_TTL_SECONDS = LIMITS.maxTokenTtlSeconds;
const DEFAULT_TOKEN_DESCRIPTION = 'default join token, written to <data dir>/token on first start';

interface TokenSpec {
  secretHash: string;
  description: string;
  created: string;
  /** ISO time; absent: never expires. */
  expires?: string;
}

export interface TokenSummary {
  id: string;
  description: string;
  created: string;
  expires?: string;
}

export interface CreatedToken extends TokenSummary {
  /** The full token text; shown once, never stored. */
  token: string;
}

export interface TokenRegistry {
  /** ttlSeconds 0 or absent: the token never expires. */
  create(opts?: { ttlSeconds?: number; description?: string }): Promise<CreatedToken>;
  list(): TokenSummary[];
  /** NOT_FOUND when there is no token with this id. */
  delete(id: string): Promise<void>;
  /** Returns the token's summary, or throws TOKEN_INVALID saying why. */
  verify(tokenText: string): TokenSummary;
  /**
   * First start: writes <dataDir>/token (0600) with a token that never expires
   * and registers it. Later starts reuse the file (registering it again if the
   * store lost it). `created` tells whether a new token was made.
   */
  ensureDefaultToken(dataDir: string): Promise<{ token: string; created: boolean }>;
}

export interface TokenRegistryOptions {
  store: Store;
  /** sha256 hex of this cluster's CA certificate (a function: it changes when a CA rotation's overlap ends). */
  caHash: string | (() => string);
  clock?: Clock;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function specOf(obj: KObject): TokenSpec {
  return obj.spec as TokenSpec;
}

function summary(obj: KObject): TokenSummary {
  const s = specOf(obj);
  return { id: obj.metadata.name, description: s.description, created: s.created, ...(s.expires ? { expires: s.expires } : {}) };
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

export function createTokenRegistry(opts: TokenRegistryOptions): TokenRegistry {
  const clock = opts.clock ?? realClock;
  const hashOption = opts.caHash;
  const currentHash = (): string => (typeof hashOption === 'string' ? hashOption : hashOption()).toLowerCase();

  function tokenObject(id: string, secret: string, description: string, expires?: string): KObject {
    const created = new Date(clock.now()).toISOString();
    const spec: TokenSpec = { secretHash: hashSecret(secret), description, created, ...(expires ? { expires } : {}) };
    return {
      apiVersion: API_VERSION,
      kind: BOOTSTRAP_TOKEN_KIND,
      metadata: { name: id, uid: randomUUID(), creationTimestamp: created },
      spec,
    };
  }

  async function create(o: { ttlSeconds?: number; description?: string } = {}): Promise<CreatedToken> {
    const ttl = o.ttlSeconds ?? 0;
    if (!Number.isInteger(ttl) || ttl < 0) {
      throw new BrambleError('INVALID_ARGUMENT', `token ttlSeconds must be a non-negative integer: current value is ${ttl}`);
    }
    if (ttl > MAX_TTL_SECONDS) {
      throw new BrambleError('INVALID_ARGUMENT', `token ttlSeconds must be no more than ${MAX_TTL_SECONDS} (100 years; 0 never expires): current value is ${ttl}`);
    }
    const expires = ttl > 0 ? new Date(clock.now() + ttl * 1000).toISOString() : undefined;
    // Ids are short, so a collision is possible: the absent precondition catches it.
    for (let attempt = 0; ; attempt++) {
      const { id, secret } = generateTokenParts();
      const obj = tokenObject(id, secret, o.description ?? '', expires);
      try {
        await opts.store.propose({ ops: [{ type: 'put', object: obj, precondition: { absent: true } }] });
      } catch (e) {
        if (isBrambleError(e, 'ALREADY_EXISTS') && attempt < 5) continue;
        throw e;
      }
      return { ...summary(obj), token: formatToken({ caHash: currentHash(), id, secret }) };
    }
  }

  function list(): TokenSummary[] {
    return opts.store
      .list(BOOTSTRAP_TOKEN_KIND)
      .items.map(summary)
      .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async function remove(id: string): Promise<void> {
    if (!opts.store.get(BOOTSTRAP_TOKEN_KIND, undefined, id)) {
      throw new BrambleError('NOT_FOUND', `join token "${id}" not found: see the list of tokens`);
    }
    await opts.store.propose({ ops: [{ type: 'delete', kind: BOOTSTRAP_TOKEN_KIND, name: id }] });
  }

  function verify(tokenText: string): TokenSummary {
    const parts = parseToken(tokenText);
    const caHash = currentHash();
    if (parts.caHash !== caHash) {
      throw new BrambleError(
        'TOKEN_INVALID',
        `join token is for another cluster: its CA hash ${short(parts.caHash)} is not this cluster's ${short(caHash)}`,
      );
    }
    const obj = opts.store.get(BOOTSTRAP_TOKEN_KIND, undefined, parts.id);
    if (!obj) {
      throw new BrambleError('TOKEN_INVALID', `join token "${parts.id}" is not known: it was never created or has been deleted`);
    }
    const spec = specOf(obj);
    const want = Buffer.from(spec.secretHash, 'hex');
    const got = Buffer.from(hashSecret(parts.secret), 'hex');
    // Both are sha256 digests, so the lengths match and the compare is constant-time.
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new BrambleError('TOKEN_INVALID', `join token "${parts.id}" has the wrong secret`);
    }
    if (spec.expires && Date.parse(spec.expires) <= clock.now()) {
      throw new BrambleError('TOKEN_INVALID', `join token "${parts.id}" expired at ${spec.expires}: create a new one`);
    }
    return summary(obj);
  }

  async function ensureDefaultToken(dataDir: string): Promise<{ token: string; created: boolean }> {
    const file = path.join(dataDir, 'token');
    const existing = await readTokenFile(file);
    const caHash = currentHash();
    if (existing && existing.caHash === caHash) {
      const obj = opts.store.get(BOOTSTRAP_TOKEN_KIND, undefined, existing.id);
      if (!obj || specOf(obj).secretHash !== hashSecret(existing.secret)) {
        await opts.store.propose({
          ops: [{ type: 'put', object: tokenObject(existing.id, existing.secret, DEFAULT_TOKEN_DESCRIPTION) }],
        });
      }
      return { token: formatToken(existing), created: false };
    }
    const made = await create({ description: DEFAULT_TOKEN_DESCRIPTION });
    await fs.mkdir(dataDir, { recursive: true });
    await writeFileAtomic(file, made.token + '\n', 0o600);
    return { token: made.token, created: true };
  }

  return { create, list, delete: remove, verify, ensureDefaultToken };
}

/** A token file that is missing or unreadable as a token is replaced by a new token. */
async function readTokenFile(file: string): Promise<ReturnType<typeof parseToken> | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return parseToken(text);
  } catch (e) {
    if (isBrambleError(e, 'TOKEN_INVALID')) return undefined;
    throw e;
  }
}
