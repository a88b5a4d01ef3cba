// The keys that encrypt Secrets at rest, kept in <data-dir>/cred/encryption-keys.json
// (mode 0600, replaced atomically): every key by id, one of them active for writes,
// older ones kept so that what they encrypted stays readable until it is rewritten.
// Key bytes live only in this file and in EncryptionKey objects, which print and
// serialize as their id alone, so a key cannot reach a log line or an error by accident.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { inspect } from 'node:util';
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { readIfExists, writeFileAtomic } from '../../proto/util/files.js';

export const KEY_FILE_VERSION = 1;
export const KEY_BYTES = 32;
/** Ids go into every stored ciphertext after "v1:", so they must not hold ':'. */
const KEY_ID = /^[a-z0-9][a-z0-9.-]{0,62}$/;
/** A key file holding more is not one Bramble wrote: rotation prunes what nothing uses. */
export const MAX_KEYS = 100;

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, 'cred', 'encryption-keys.json');
}

export function keyIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  return KEY_ID.test(id) ? undefined : 'must be 1 to 63 lower-case letters, digits, "." or "-", starting with a letter or digit';
}

export class EncryptionKey {
  readonly #secret: Buffer;

  constructor(readonly id: string, secret: Uint8Array, readonly created: string) {
    const problem = keyIdProblem(id);
    if (problem) throw new BrambleError('INVALID_ARGUMENT', `an encryption key id ${problem}: current value is ${JSON.stringify(id)}`);
    if (secret.length !== KEY_BYTES) {
      throw new BrambleError('INVALID_ARGUMENT', `encryption key "${id}" must be ${KEY_BYTES} bytes: current length is ${secret.length} bytes`);
    }
    this.#secret = Buffer.from(secret);
  }

  /** The raw key, for node:crypto only. */
  bytes(): Buffer {
    return this.#secret;
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  toString(): string {
    return `EncryptionKey(${this.id})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** One consistent set of keys; replaced as a whole (never changed in place) on rotation. */
export class EncryptionKeySet {
  private readonly byId: Map<string, EncryptionKey>;

  constructor(readonly keys: readonly EncryptionKey[], readonly activeId: string) {
    this.byId = new Map(keys.map((k) => [k.id, k]));
    if (this.byId.size !== keys.length) throw new BrambleError('INVALID_ARGUMENT', 'encryption key ids must be unique');
    if (!this.byId.has(activeId)) {
      throw new BrambleError('INVALID_ARGUMENT', `the active encryption key "${activeId}" must be one of the keys: ${this.ids().join(', ') || 'none'}`);
    }
  }

  active(): EncryptionKey {
    return this.byId.get(this.activeId)!;
  }

  find(id: string): EncryptionKey | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return this.keys.map((k) => k.id);
  }

  /** A new set with `key` added and made active. */
  withActive(key: EncryptionKey): EncryptionKeySet {
    return new EncryptionKeySet([...this.keys, key], key.id);
  }

  /** A new set without the given (inactive) keys. */
  without(ids: ReadonlySet<string>): EncryptionKeySet {
    return new EncryptionKeySet(this.keys.filter((k) => k.id === this.activeId || !ids.has(k.id)), this.activeId);
  }

  toJSON(): { activeId: string; ids: string[] } {
    return { activeId: this.activeId, ids: this.ids() };
  }
}

/** A fresh random key whose id says when it was made ("aesgcm-20261202t054530z", "-2" on a clash). */
export function generateKey(clock: Clock, taken: readonly string[] = []): EncryptionKey {
  const created = new Date(clock.now()).toISOString();
  const base = `aesgcm-${created.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '').toLowerCase()}`;
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  return new EncryptionKey(id, randomBytes(KEY_BYTES), created);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fileProblem(file: string, problem: string): BrambleError {
  return new BrambleError('STORE_FAILED', `the encryption key file ${file} is not valid: ${problem}; restore it from a backup of this data dir`);
}

/**
 * Reads a key file's text. Every message names the file and the field, never a
 * key's bytes: JSON.parse's own message quotes the text, so it is not passed on.
 */
export function parseKeyFile(text: string, file: string): EncryptionKeySet {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw fileProblem(file, 'it is not JSON');
  }
  if (!isRecord(doc)) throw fileProblem(file, 'it must be a JSON object');
  if (doc.version !== KEY_FILE_VERSION) throw fileProblem(file, `version must be ${KEY_FILE_VERSION}: current value is ${JSON.stringify(doc.version) ?? 'missing'}`);
  if (!Array.isArray(doc.keys) || doc.keys.length === 0) throw fileProblem(file, 'keys must be a non-empty list');
  if (doc.keys.length > MAX_KEYS) throw fileProblem(file, `keys must hold no more than ${MAX_KEYS} keys: current count is ${doc.keys.length}`);
  const keys: EncryptionKey[] = [];
  for (const [i, k] of doc.keys.entries()) {
    if (!isRecord(k)) throw fileProblem(file, `keys[${i}] must be an object`);
    const idProblem = keyIdProblem(k.id);
    if (idProblem) throw fileProblem(file, `keys[${i}].id ${idProblem}`);
    const id = k.id as string;
    if (keys.some((o) => o.id === id)) throw fileProblem(file, `keys[${i}].id "${id}" appears twice`);
    if (typeof k.secret !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(k.secret)) throw fileProblem(file, `keys[${i}].secret (key "${id}") must be base64 text`);
    const bytes = Buffer.from(k.secret, 'base64');
    if (bytes.length !== KEY_BYTES) throw fileProblem(file, `keys[${i}].secret (key "${id}") must hold ${KEY_BYTES} bytes: current length is ${bytes.length} bytes`);
    keys.push(new EncryptionKey(id, bytes, typeof k.created === 'string' ? k.created : ''));
  }
  if (typeof doc.active !== 'string' || !keys.some((k) => k.id === doc.active)) {
    throw fileProblem(file, `active must name one of the keys (${keys.map((k) => k.id).join(', ')}): current value is ${JSON.stringify(doc.active) ?? 'missing'}`);
  }
  return new EncryptionKeySet(keys, doc.active);
}

export function formatKeyFile(set: EncryptionKeySet): string {
  const keys = set.keys.map((k) => ({ id: k.id, created: k.created, secret: k.bytes().toString('base64') }));
  return JSON.stringify({ version: KEY_FILE_VERSION, active: set.activeId, keys }, null, 2) + '\n';
}

/** Replaces the key file atomically and durably: a power cut leaves the old set or the new one. */
export async function saveKeyFile(file: string, set: EncryptionKeySet): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.chmod(path.dirname(file), 0o700);
  await writeFileAtomic(file, formatKeyFile(set), 0o600, { fsync: true });
}

export interface LoadedKeys {
  keys: EncryptionKeySet;
  /** True when the file did not exist and a first key was made. */
  created: boolean;
}

/**
 * Reads the key file, or makes one with a first key when there is none. With
 * `usedKeyIds` (keys the store's Secrets are encrypted with) a missing file is
 * refused instead: a new key would decrypt none of them.
 */
export async function loadOrCreateKeyFile(file: string, clock: Clock, opts: { usedKeyIds?: readonly string[] } = {}): Promise<LoadedKeys> {
  const text = await readIfExists(file);
  if (text !== undefined) {
    // Keep it closed to other users even if someone opened it up.
    await fs.chmod(file, 0o600);
    return { keys: parseKeyFile(text, file), created: false };
  }
  if (opts.usedKeyIds && opts.usedKeyIds.length > 0) {
    throw new BrambleError('STORE_FAILED',
      `the encryption key file ${file} does not exist, but the store holds Secrets encrypted with keys ${opts.usedKeyIds.join(', ')}: ` +
      'restore the key file this data dir was written with (a data dir and its cred/ folder go together)');
  }
  const key = generateKey(clock);
  const keys = new EncryptionKeySet([key], key.id);
  await saveKeyFile(file, keys);
  return { keys, created: true };
}
