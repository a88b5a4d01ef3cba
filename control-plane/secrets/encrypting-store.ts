// A Store that keeps Secrets encrypted at rest. It sits above the store's
// `propose` seam, so the ciphertext is what goes into the command, and from there
// into LevelDB, a replicated log, its snapshots and backups of the raw store;
// everything that reads through it (API, controllers, node API, events) sees
// Secrets in clear. Decrypted objects are kept in a WeakMap keyed by the stored
// object: the state machine hands out one frozen object per key and
// resourceVersion, so an informer's relist decrypts nothing twice, and an entry
// goes when the store lets go of that version.
//
// A Secret that cannot be decrypted (its key is missing, its ciphertext was
// changed) is handed out without its data and with the reason in the
// `bramble.io/encryption-error` annotation, and logged once, rather than made a
// thrown error: the garbage collector and namespace deletion list every kind,
// and one damaged Secret must not stop them, nor stop a user deleting it or
// applying it again. The API turns the annotation into STORE_FAILED for a get.
import { BrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { KObject } from '../../proto/model.js';
import { deepFreeze } from '../store/store-state.js';
import type { Command, CommitResult, ListResult, Op, Store, StoreEvent, Watch, WatchOptions } from '../store/store.js';
import type { EncryptionKeySet } from './encryption-keys.js';
import { describeSecret, encryptionOf, openSecret, sealSecret } from './secret-cipher.js';

export const ENCRYPTION_ERROR_ANNOTATION = 'bramble.io/encryption-error';

/** The reason a Secret handed out by an EncryptingStore has no data, or undefined when it was decrypted. */
export function encryptionError(obj: KObject): string | undefined {
  return obj.kind === 'Secret' ? obj.metadata.annotations?.[ENCRYPTION_ERROR_ANNOTATION] : undefined;
}

export class EncryptingStore implements Store {
  private keys: EncryptionKeySet;
  private readonly opened = new WeakMap<KObject, KObject>();
  private readonly openedEvents = new WeakMap<StoreEvent, StoreEvent>();
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly raw: Store, keys: EncryptionKeySet, private readonly logger?: Logger) {
    this.keys = keys;
  }

  keySet(): EncryptionKeySet {
    return this.keys;
  }

  /** Uses `next` from now on: its active key for writes, all its keys for reads. Save it to the key file first. */
  setKeys(next: EncryptionKeySet): void {
    this.keys = next;
  }

  /** Writes sealed with this key that have not committed (or failed) yet. */
  writesInFlight(keyId: string): number {
    return this.inFlight.get(keyId) ?? 0;
  }

  async propose(command: Command): Promise<CommitResult> {
    const key = this.keys.active();
    let sealed = false;
    const ops = command.ops.map((op): Op => {
      if (op.type !== 'put' || op.object?.kind !== 'Secret') return op;
      refuseUnsealable(op.object);
      sealed = true;
      return { ...op, object: sealSecret(op.object, key) };
    });
    if (!sealed) return this.openResult(await this.raw.propose(command));
    this.inFlight.set(key.id, this.writesInFlight(key.id) + 1);
    try {
      return this.openResult(await this.raw.propose({ ...command, ops }));
    } finally {
      const left = this.writesInFlight(key.id) - 1;
      if (left > 0) this.inFlight.set(key.id, left);
      else this.inFlight.delete(key.id);
    }
  }

  get(kind: string, namespace: string | undefined, name: string): KObject | undefined {
    const obj = this.raw.get(kind, namespace, name);
    return obj && this.open(obj);
  }

  list(kind: string, namespace?: string): ListResult {
    const result = this.raw.list(kind, namespace);
    if (kind !== 'Secret') return result;
    return { items: result.items.map((o) => this.open(o)), revision: result.revision };
  }

  watch(options: WatchOptions, onEvent: (e: StoreEvent) => void): Watch {
    return this.raw.watch(options, (e) => onEvent(e.object.kind === 'Secret' ? this.openEvent(e) : e));
  }

  revision(): number {
    return this.raw.revision();
  }

  oldestResumableRevision(): number {
    return this.raw.oldestResumableRevision();
  }

  objectCount(): number {
    return this.raw.objectCount();
  }

  diskBytes(): Promise<number> {
    return this.raw.diskBytes();
  }

  close(): Promise<void> {
    return this.raw.close();
  }

  /** A stored object as readers see it: Secrets decrypted (or marked unreadable), deeply frozen. */
  open(stored: KObject): KObject {
    if (stored.kind !== 'Secret') return stored;
    let out = this.opened.get(stored);
    if (out) return out;
    try {
      out = openSecret(stored, this.keys);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const enc = encryptionOf(stored);
      this.logger?.error(
        { kind: 'Secret', namespace: stored.metadata.namespace, objectName: stored.metadata.name, keyId: enc.state === 'encrypted' ? enc.keyId : undefined, resourceVersion: stored.metadata.resourceVersion },
        message,
      );
      out = unreadableSecret(stored, message);
    }
    this.opened.set(stored, out);
    return out;
  }

  private openEvent(e: StoreEvent): StoreEvent {
    let out = this.openedEvents.get(e);
    if (!out) {
      out = Object.freeze({ ...e, object: this.open(e.object) });
      this.openedEvents.set(e, out);
    }
    return out;
  }

  private openResult(result: CommitResult): CommitResult {
    return { revision: result.revision, objects: result.objects.map((o) => this.open(o)) };
  }
}

/**
 * A Secret read back without its data must not be written back that way (a
 * read-modify-write of its metadata would lose the ciphertext), and a stored
 * form must not be sealed a second time.
 */
function refuseUnsealable(obj: KObject): void {
  if (encryptionError(obj) !== undefined) {
    throw new BrambleError('STORE_FAILED',
      `${describeSecret(obj.metadata)} cannot be updated while its stored data cannot be decrypted: apply it again with its data, or delete it`);
  }
  if (encryptionOf(obj).state !== 'plaintext') {
    throw new BrambleError('INVALID_ARGUMENT', `${describeSecret(obj.metadata)} must be written with its data in clear: it carries an encryption marker`);
  }
}

function unreadableSecret(stored: KObject, reason: string): KObject {
  const { data: _data, stringData: _stringData, ...rest } = stored;
  const annotations = { ...(stored.metadata.annotations ?? {}), [ENCRYPTION_ERROR_ANNOTATION]: reason };
  return deepFreeze({ ...rest, metadata: { ...stored.metadata, annotations } } as KObject);
}
