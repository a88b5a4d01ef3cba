// Join tokens: "B10<sha256 of the cluster CA, hex>::<id>.<secret>".
// The CA hash lets a new board pin the control plane's CA before it sends
// anything secret; the id names the token on the server; the secret proves
// the board was given the token. Shared by the control plane and the agent.
import { randomInt } from 'node:crypto';
import { BrambleError } from './util/errors.js';

export const TOKEN_PREFIX = 'B10';
export const TOKEN_ID_LENGTH = 6;
export const TOKEN_SECRET_LENGTH = 16;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const HASH_RE = /^[0-9a-f]{64}$/;
const ID_RE = /^[a-z0-9]{6}$/;
const SECRET_RE = /^[a-z0-9]{16}$/;

export interface TokenParts {
  /** sha256 of the cluster CA certificate's DER, lower-case hex. */
  caHash: string;
  id: string;
  secret: string;
}

function invalid(message: string): BrambleError {
  return new BrambleError('TOKEN_INVALID', message);
}

/**
 * Parses a token as typed or read from a file (surrounding whitespace ignored).
 * Errors say which part is wrong but never repeat the secret.
 */
export function parseToken(text: string): TokenParts {
  const t = text.trim();
  const shape = `expected "${TOKEN_PREFIX}<64 hex CA hash>::<6 char id>.<16 char secret>"`;
  if (t === '') throw invalid(`join token is empty: ${shape}`);
  if (!t.startsWith(TOKEN_PREFIX)) throw invalid(`join token must start with "${TOKEN_PREFIX}": ${shape}`);
  const sep = t.indexOf('::');
  if (sep < 0) throw invalid(`join token must have "::" between the CA hash and "<id>.<secret>": ${shape}`);
  const caHash = t.slice(TOKEN_PREFIX.length, sep).toLowerCase();
  if (!HASH_RE.test(caHash)) {
    throw invalid(`join token's CA hash must be 64 hex characters: found ${caHash.length} characters`);
  }
  const rest = t.slice(sep + 2);
  const dot = rest.indexOf('.');
  if (dot < 0) throw invalid(`join token must have "." between the token id and the secret: ${shape}`);
  const id = rest.slice(0, dot);
  const secret = rest.slice(dot + 1);
  if (!ID_RE.test(id)) {
    // The id is not secret, but it may be a mangled secret: show only its length.
    throw invalid(`join token id must be ${TOKEN_ID_LENGTH} characters of a-z and 0-9: found ${id.length} characters`);
  }
  if (!SECRET_RE.test(secret)) {
    throw invalid(
      `join token secret must be ${TOKEN_SECRET_LENGTH} characters of a-z and 0-9: found ${secret.length} characters`,
    );
  }
  return { caHash, id, secret };
}

export function formatToken(parts: TokenParts): string {
  return `${TOKEN_PREFIX}${parts.caHash.toLowerCase()}::${parts.id}.${parts.secret}`;
}

function randomString(length: number): string {
  let s = '';
  // randomInt is uniform (no modulo bias) and backed by the CSPRNG.
  for (let i = 0; i < length; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** A fresh id and secret (about 31 and 82 bits of entropy). */
export function generateTokenParts(): { id: string; secret: string } {
  return { id: randomString(TOKEN_ID_LENGTH), secret: randomString(TOKEN_SECRET_LENGTH) };
}
