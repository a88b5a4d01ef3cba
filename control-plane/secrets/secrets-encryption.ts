// Secrets encryption at rest as a user runs it: opening the store encrypted (a
// store written before encryption gets its Secrets encrypted on first start),
// `bramble secrets-encryption status` and `rotate`. Rotation follows k3s: a new
// key is saved and made active, every Secret is rewritten under it while the old
// keys still decrypt (reads never stop), then keys no Secret uses any more are
// removed from the key file. On a replicated control plane the rotating member
// takes every other member through the same steps (SetEncryptionKeys): all of them
// hold the new key before any member seals with it, and an old key goes only once
// no Secret uses it.
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { KObject } from '../../proto/model.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Op, Store } from '../store/store.js';
import { EncryptingStore, encryptionError } from './encrypting-store.js';
import { EncryptionKeySet, MAX_KEYS, formatKeyFile, generateKey, keyFilePath, loadOrCreateKeyFile, parseKeyFile, saveKeyFile } from './encryption-keys.js';
import { describeSecret, encryptionOf } from './secret-cipher.js';

export interface KeyUse {
  id: string;
  active: boolean;
  /** Secrets stored under this key that decrypt. */
  secrets: number;
}

export interface EncryptionStatus {
  activeKeyId: string;
  keys: KeyUse[];
  /** Secrets still in clear (a store written before encryption, until the first start rewrites them). */
  plaintextSecrets: number;
  /** Secrets that cannot be decrypted: their key is missing from the key file, or their ciphertext does not authenticate. */
  unreadableSecrets: number;
  totalSecrets: number;
  revision: number;
}

export interface RotationReport {
  previousKeyId: string;
  activeKeyId: string;
  /** Secrets rewritten under the new key. */
  reencrypted: number;
  removedKeyIds: string[];
  /** Old keys left in the key file: asked for, or still used by a Secret that could not be rewritten. */
  keptKeyIds: string[];
  /** One line per Secret that could not be rewritten, naming it and why. */
  failures: string[];
  status: EncryptionStatus;
}

/** The other members of a replicated control plane, as a rotation reaches them. */
export interface KeyPeers {
  /** Every other member, voters and learners. */
  others(): { name: string; address: string }[];
  /** Hands a member the key file it must hold next; rejects when it refuses or cannot be reached. */
  send(address: string, keyFile: string): Promise<void>;
}

export interface SecretsEncryptionDeps {
  /** The store as written to disk; read only, to see how each Secret is kept. */
  raw: Store;
  store: EncryptingStore;
  keyFile: string;
  clock: Clock;
  logger: Logger;
  /** Set on a replicated control plane. */
  peers?: KeyPeers;
  /**
   * Resolves once every write acknowledged before the call is applied here. On a replicated control
   * plane `raw` is this member's own state, which may lag: a rewrite forwarded to the leader is
   * acknowledged before this member applies it, and a count of keys in use must see it.
   */
  barrier?: () => Promise<void>;
}

/** Secrets per rewrite command, and a bound on its size, so one log entry stays small. */
const REWRITE_BATCH = 64;
const REWRITE_BATCH_BYTES = 1024 * 1024;

function refOf(o: KObject): { kind: string; namespace?: string; name: string } {
  return { kind: 'Secret', namespace: o.metadata.namespace, name: o.metadata.name };
}

export class SecretsEncryption {
  private rotating = false;

  constructor(private readonly deps: SecretsEncryptionDeps) {}

  status(): EncryptionStatus {
    const { raw, store } = this.deps;
    const keys = store.keySet();
    const counts = new Map<string, number>(keys.ids().map((id) => [id, 0]));
    let plaintext = 0;
    let unreadable = 0;
    const { items, revision } = raw.list('Secret');
    for (const stored of items) {
      const enc = encryptionOf(stored);
      if (enc.state === 'plaintext') plaintext++;
      else if (enc.state !== 'encrypted' || encryptionError(store.open(stored)) !== undefined) unreadable++;
      else counts.set(enc.keyId, (counts.get(enc.keyId) ?? 0) + 1);
    }
    return {
      activeKeyId: keys.activeId,
      keys: keys.ids().map((id) => ({ id, active: id === keys.activeId, secrets: counts.get(id) ?? 0 })),
      plaintextSecrets: plaintext,
      unreadableSecrets: unreadable,
      totalSecrets: items.length,
      revision,
    };
  }

  /** Rewrites every Secret still in clear under the active key. Returns how many were. */
  async encryptPlaintext(): Promise<{ encrypted: number; failures: string[] }> {
    const result = await this.rewrite((o) => encryptionOf(o).state === 'plaintext');
    return { encrypted: result.rewritten, failures: result.failures };
  }

  /** Adds a key, makes it active, re-encrypts every Secret with it, then (unless keepOldKeys) removes the keys nothing uses. */
  async rotate(opts: { keepOldKeys?: boolean } = {}): Promise<RotationReport> {
    if (this.rotating) throw new BrambleError('CONFLICT', 'a rotation of the Secrets encryption key is already running: wait for it to finish');
    this.rotating = true;
    try {
      const { store, keyFile, clock, logger } = this.deps;
      // A key file is refused at start with more than MAX_KEYS keys: never write one.
      if (store.keySet().keys.length >= MAX_KEYS && !opts.keepOldKeys) await this.pruneUnusedKeys(this.deps.peers?.others() ?? []);
      if (store.keySet().keys.length >= MAX_KEYS) {
        throw new BrambleError('LIMIT_EXCEEDED',
          `the encryption key file holds ${store.keySet().keys.length} keys, the most it may: rotate without --keep-old-keys so that keys no Secret uses are removed`);
      }
      const before = store.keySet();
      const key = generateKey(clock, before.ids());
      const next = before.withActive(key);
      const peers = this.deps.peers?.others() ?? [];
      // Every member holds the new key before any member seals with it: a member that has not got it
      // yet could not read a Secret another one rewrote. Nothing is active yet, so a failure here
      // leaves at most an unused key on some members (the next rotation prunes it).
      await this.sendToAll(peers, new EncryptionKeySet([...before.keys, key], before.activeId), 'take the new key');
      // Saved before any write uses it: a power cut never leaves ciphertext under a key only memory knew.
      await saveKeyFile(keyFile, next);
      store.setKeys(next);
      // Until each member has switched it seals under the old key, which every member still reads.
      await this.sendToAll(peers, next, 'make the new key active');
      logger.info({ keyId: next.activeId, previousKeyId: before.activeId }, 'a new Secrets encryption key is active; re-encrypting every Secret with it');
      await this.deps.barrier?.();
      const { rewritten, failures } = await this.rewrite((o) => {
        const enc = encryptionOf(o);
        return enc.state !== 'encrypted' || enc.keyId !== next.activeId;
      });
      let removed: string[] = [];
      if (!opts.keepOldKeys) {
        await this.deps.barrier?.();
        try {
          removed = await this.pruneUnusedKeys(peers);
        } catch (e) {
          // The new key is active everywhere and every Secret uses it: only old keys stay around.
          failures.push(`the old keys were kept: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      const kept = store.keySet().ids().filter((id) => id !== next.activeId);
      logger.info({ keyId: next.activeId, reencrypted: rewritten, removedKeyIds: removed, keptKeyIds: kept, failed: failures.length }, 'Secrets encryption key rotated');
      return { previousKeyId: before.activeId, activeKeyId: next.activeId, reencrypted: rewritten, removedKeyIds: removed, keptKeyIds: kept, failures, status: this.status() };
    } finally {
      this.rotating = false;
    }
  }

  /**
   * Takes the key file a rotating member sent as this member's own. Refused while this member
   * rotates itself, and when the file lacks a key a stored Secret or a write in flight here uses.
   */
  async adoptKeyFile(text: string): Promise<string> {
    if (this.rotating) throw new BrambleError('CONFLICT', 'this member is rotating the Secrets encryption key itself: run one rotation at a time');
    const { raw, store, keyFile, logger } = this.deps;
    const next = parseKeyFile(text, 'sent by the rotating member');
    await this.deps.barrier?.();
    const used = new Set(store.keySet().ids().filter((id) => store.writesInFlight(id) > 0));
    for (const o of raw.list('Secret').items) {
      const enc = encryptionOf(o);
      if (enc.state === 'encrypted') used.add(enc.keyId);
    }
    const dropped = [...used].filter((id) => next.find(id) === undefined);
    if (dropped.length > 0) {
      throw new BrambleError('FAILED_PRECONDITION', `the key file sent lacks keys Secrets on this member still use (${dropped.join(', ')}): it was not taken`);
    }
    await saveKeyFile(keyFile, next);
    store.setKeys(next);
    logger.info({ keyId: next.activeId, keyIds: next.ids() }, 'took the Secrets encryption keys the rotating member sent');
    return next.activeId;
  }

  /** Sends every peer the key file, all at once; rejects naming each member that did not take it. */
  private async sendToAll(peers: { name: string; address: string }[], keys: EncryptionKeySet, step: string): Promise<void> {
    if (peers.length === 0) return;
    const text = formatKeyFile(keys);
    const results = await Promise.allSettled(peers.map((p) => (p.address ? this.deps.peers!.send(p.address, text) : Promise.reject(new Error('no address known')))));
    const failed = peers.flatMap((p, i) => {
      const r = results[i]!;
      return r.status === 'rejected' ? [`member "${p.name}" (${p.address || 'no address'}): ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : [];
    });
    if (failed.length > 0) {
      throw new BrambleError('FAILED_PRECONDITION', `rotation needs every member of the control plane, and these did not ${step}: ${failed.join('; ')}. Run rotate again once every member is up`);
    }
  }

  /** Removes the inactive keys that no stored Secret and no write still in flight uses. */
  private async pruneUnusedKeys(peers: { name: string; address: string }[]): Promise<string[]> {
    const { raw, store, keyFile } = this.deps;
    const keys = store.keySet();
    // In-flight writes first: once one sealed with an old key has finished, a count after it sees its Secret.
    const candidates = keys.ids().filter((id) => id !== keys.activeId && store.writesInFlight(id) === 0);
    const used = new Set<string>();
    for (const o of raw.list('Secret').items) {
      const enc = encryptionOf(o);
      if (enc.state === 'encrypted') used.add(enc.keyId);
    }
    const unused = new Set(candidates.filter((id) => !used.has(id)));
    if (unused.size === 0) return [];
    const pruned = keys.without(unused);
    // The others first: each refuses while a Secret or a write of its own still uses one of them.
    await this.sendToAll(peers, pruned, 'remove the keys no Secret uses');
    await saveKeyFile(keyFile, pruned);
    store.setKeys(pruned);
    return [...unused];
  }

  /**
   * Puts each Secret that `wanted` picks back through the encrypting store, which
   * seals it under the active key: in commands of up to REWRITE_BATCH Secrets (one
   * disk sync each, not one per Secret), each put conditional on the version read,
   * and one by one with retries for a batch that lost a race with another writer.
   */
  private async rewrite(wanted: (stored: KObject) => boolean): Promise<{ rewritten: number; failures: string[] }> {
    const { raw, store } = this.deps;
    let rewritten = 0;
    const failures: string[] = [];
    const fail = (o: KObject, e: unknown): void => void failures.push(`${describeSecret(o.metadata)}: ${e instanceof Error ? e.message : String(e)}`);
    let batch: KObject[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      const items = batch;
      batch = [];
      bytes = 0;
      if (items.length === 0) return;
      try {
        const ops: Op[] = items.map((o) => ({ type: 'put', object: o, precondition: { resourceVersion: o.metadata.resourceVersion! } }));
        await store.propose({ ops });
        rewritten += items.length;
        return;
      } catch (e) {
        if (!isBrambleError(e, 'CONFLICT') && !isBrambleError(e, 'NOT_FOUND')) throw e;
      }
      for (const o of items) {
        try {
          const done = await retryOnConflict(store, refOf(o), (current) => {
            const now = raw.get('Secret', current.metadata.namespace, current.metadata.name);
            return now && wanted(now) ? current : undefined;
          });
          if (done && done.metadata.resourceVersion !== o.metadata.resourceVersion) rewritten++;
        } catch (e) {
          // Deleted meanwhile: nothing left to encrypt.
          if (!isBrambleError(e, 'NOT_FOUND')) fail(o, e);
        }
      }
    };
    for (const stored of raw.list('Secret').items) {
      if (!wanted(stored)) continue;
      const current = store.open(stored);
      const unreadable = encryptionError(current);
      if (unreadable !== undefined) {
        // The reason names the Secret already.
        failures.push(unreadable);
        continue;
      }
      const size = JSON.stringify(stored).length;
      if (batch.length >= REWRITE_BATCH || (batch.length > 0 && bytes + size > REWRITE_BATCH_BYTES)) await flush();
      batch.push(current);
      bytes += size;
    }
    await flush();
    return { rewritten, failures };
  }
}

export interface OpenedEncryption {
  store: EncryptingStore;
  encryption: SecretsEncryption;
  /** Secrets found in clear and encrypted by this start. */
  encryptedAtStart: number;
}

/**
 * Wraps the opened store so that Secrets are encrypted at rest, loading (or, on a
 * first start, making) <dataDir>/cred/encryption-keys.json, then encrypts the
 * Secrets a store written before encryption holds in clear. Refuses to make a new
 * key file for a store that already holds encrypted Secrets: that is a data dir
 * restored without its keys, and a new key would read none of them.
 */
export async function openEncryptedStore(opts: {
  raw: Store; dataDir: string; clock: Clock; logger: Logger; peers?: KeyPeers; barrier?: () => Promise<void>;
}): Promise<OpenedEncryption> {
  const { raw, clock, logger } = opts;
  const keyFile = keyFilePath(opts.dataDir);
  const encryptedIds = new Set<string>();
  for (const o of raw.list('Secret').items) {
    const enc = encryptionOf(o);
    if (enc.state === 'encrypted') encryptedIds.add(enc.keyId);
  }
  const { keys, created } = await loadOrCreateKeyFile(keyFile, clock, { usedKeyIds: [...encryptedIds] });
  const missing = [...encryptedIds].filter((id) => !keys.find(id));
  if (created) logger.info({ keyFile, keyId: keys.activeId }, 'made the Secrets encryption key file');
  if (missing.length > 0) {
    logger.error({ keyFile, missingKeyIds: missing }, `Secrets in the store are encrypted with keys the key file does not hold (${missing.join(', ')}): they cannot be read until it does`);
  }
  const store = new EncryptingStore(raw, keys, logger);
  const encryption = new SecretsEncryption({
    raw, store, keyFile, clock, logger, ...(opts.peers ? { peers: opts.peers } : {}), ...(opts.barrier ? { barrier: opts.barrier } : {}),
  });
  const { encrypted, failures } = await encryption.encryptPlaintext();
  if (encrypted > 0) {
    logger.info({ secrets: encrypted, keyId: keys.activeId }, 'encrypted the Secrets this store held in clear');
    // Their values in clear are still in the retained watch history (and in the disk's files until a
    // compaction): forget it, before anyone can watch from it.
    if (raw.forgetHistory) {
      try {
        const events = await raw.forgetHistory();
        logger.info({ events, revision: raw.revision() }, 'dropped the watch history that held those Secrets in clear');
      } catch (err) {
        logger.error({ err: String(err) }, 'the watch history that holds Secrets in clear could not be dropped: it goes as newer events replace it');
      }
    } else {
      logger.warn({ revision: raw.revision() }, 'this store cannot drop its watch history: it holds the Secrets\' earlier values in clear until newer events replace it');
    }
  }
  for (const f of failures) logger.error({ keyId: keys.activeId }, `a Secret held in clear could not be encrypted: ${f}`);
  return { store, encryption, encryptedAtStart: encrypted };
}
