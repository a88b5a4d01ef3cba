// How a Secret is stored encrypted: its `data` (and `stringData`, should a write
// carry it) is replaced by one entry, `data: {"bramble.io/encrypted": "v1:<keyId>:<base64>"}`,
// where the base64 holds a random 96-bit nonce, the AES-256-GCM ciphertext of the
// JSON of those fields, and the 16-byte tag. Everything else (metadata, type,
// immutable) stays readable, so listing by name and label works without keys.
// The marker's key cannot be a user's: data keys may not hold '/'.
// The Secret's namespace and name are the additional authenticated data, so a
// ciphertext copied onto another Secret does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import { deepFreeze } from '../store/store-state.js';
import { keyIdProblem, type EncryptionKey, type EncryptionKeySet } from './encryption-keys.js';

export const ENCRYPTED_MARKER = 'bramble.io/encrypted';
export const CIPHER_FORMAT = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Fields of a Secret that are encrypted; the rest is metadata. */
const SECRET_FIELDS = ['data', 'stringData'] as const;

export interface SecretRef {
  namespace?: string;
  name: string;
}

/** Where a stored object stands: not a Secret, a Secret in clear, one encrypted under a key, or a marker that cannot be read. */
export type Encryption =
  | { state: 'not-secret' }
  | { state: 'plaintext' }
  | { state: 'encrypted'; keyId: string; blob: Buffer }
  | { state: 'malformed'; problem: string };

export function describeSecret(ref: SecretRef): string {
  return `Secret ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

function additionalData(ref: SecretRef): Buffer {
  // NUL never occurs in names, so no two Secrets share this text.
  return Buffer.from(`${CIPHER_FORMAT}\0Secret\0${ref.namespace ?? ''}\0${ref.name}`, 'utf8');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads a marker's text; `problem` never quotes the ciphertext. */
export function parseMarker(text: unknown): Encryption {
  if (typeof text !== 'string') return { state: 'malformed', problem: 'the encryption marker is not a string' };
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (first < 0 || second < 0) return { state: 'malformed', problem: 'the encryption marker must read "v1:<key id>:<base64>"' };
  const format = text.slice(0, first);
  if (format !== CIPHER_FORMAT) return { state: 'malformed', problem: `the encryption format must be ${CIPHER_FORMAT}: current value is ${JSON.stringify(format.slice(0, 20))}` };
  const keyId = text.slice(first + 1, second);
  const idProblem = keyIdProblem(keyId);
  if (idProblem) return { state: 'malformed', problem: `the encryption key id ${idProblem}: current value is ${JSON.stringify(keyId.slice(0, 70))}` };
  const b64 = text.slice(second + 1);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return { state: 'malformed', problem: `the ciphertext under key "${keyId}" is not base64` };
  const blob = Buffer.from(b64, 'base64');
  if (blob.length < NONCE_BYTES + TAG_BYTES) {
    return { state: 'malformed', problem: `the ciphertext under key "${keyId}" is ${blob.length} bytes, shorter than a nonce and a tag (${NONCE_BYTES + TAG_BYTES})` };
  }
  return { state: 'encrypted', keyId, blob };
}

/** How the stored object is kept; only Secrets are ever encrypted. */
export function encryptionOf(obj: KObject): Encryption {
  if (obj.kind !== 'Secret') return { state: 'not-secret' };
  const data = obj.data;
  if (!isRecord(data) || !(ENCRYPTED_MARKER in data)) return { state: 'plaintext' };
  if (Object.keys(data).length !== 1 || obj.stringData !== undefined) {
    return { state: 'malformed', problem: `the encrypted data must hold "${ENCRYPTED_MARKER}" alone` };
  }
  return parseMarker(data[ENCRYPTED_MARKER]);
}

/** The Secret as stored: its data fields sealed under `key`. Other kinds are returned as given. */
export function sealSecret(obj: KObject, key: EncryptionKey): KObject {
  if (obj.kind !== 'Secret') return obj;
  const payload: Record<string, unknown> = {};
  const rest: KObject = { ...obj };
  for (const f of SECRET_FIELDS) {
    if (obj[f] !== undefined) payload[f] = obj[f];
    delete rest[f];
  }
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes(), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(obj.metadata));
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  const blob = Buffer.concat([nonce, body, cipher.getAuthTag()]);
  return { ...rest, data: { [ENCRYPTED_MARKER]: `${CIPHER_FORMAT}:${key.id}:${blob.toString('base64')}` } };
}

function unreadable(ref: SecretRef, why: string): BrambleError {
  return new BrambleError('STORE_FAILED', `${describeSecret(ref)} cannot be decrypted: ${why}`);
}

/**
 * The Secret as users see it, deeply frozen: a plaintext one (stored before
 * encryption) as it is, an encrypted one with its fields back. Throws
 * STORE_FAILED naming the Secret and the key id when the key is missing or the
 * ciphertext does not authenticate; never a key or a plaintext byte.
 */
export function openSecret(obj: KObject, keys: EncryptionKeySet): KObject {
  const enc = encryptionOf(obj);
  if (enc.state === 'not-secret' || enc.state === 'plaintext') return obj;
  const ref = obj.metadata;
  if (enc.state === 'malformed') throw unreadable(ref, enc.problem);
  const key = keys.find(enc.keyId);
  if (!key) {
    throw unreadable(ref, `it is encrypted with key "${enc.keyId}", which the key file does not hold (it holds ${keys.ids().join(', ')}); ` +
      'restore the key file this data was written with');
  }
  const nonce = enc.blob.subarray(0, NONCE_BYTES);
  const tag = enc.blob.subarray(enc.blob.length - TAG_BYTES);
  const body = enc.blob.subarray(NONCE_BYTES, enc.blob.length - TAG_BYTES);
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes(), nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(ref));
    decipher.setAuthTag(tag);
    text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw unreadable(ref, `its ciphertext does not authenticate under key "${enc.keyId}" (changed on disk, copied from another Secret, or written with another key of that id)`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = undefined;
  }
  if (!isRecord(payload) || Object.keys(payload).some((k) => !(SECRET_FIELDS as readonly string[]).includes(k))) {
    throw unreadable(ref, `its decrypted content under key "${enc.keyId}" is not a Secret's data`);
  }
  const { data: _marker, ...rest } = obj;
  return deepFreeze({ ...rest, ...payload } as KObject);
}
