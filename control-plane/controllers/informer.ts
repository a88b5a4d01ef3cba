// An informer (client-go tools/cache SharedIndexInformer, made small): one kind of
// object listed and then watched from the list's revision into a read-only cache
// with indexes. Controllers read the cache instead of the store and use the event
// handlers only to enqueue keys; what to do is decided in reconcile, from the cache
// and the store, never from the event (level-triggered).
//
// The list and the watch registration happen in one synchronous step and the watch
// starts at the list's revision, so no event falls in between and none is seen
// twice. Objects are the store's own deeply frozen objects, shared by every reader:
// the cache never copies or changes them, and neither may a handler.
import type { Clock, Timer } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger, type Logger } from '../../proto/util/log.js';
import type { KObject } from '../../proto/model.js';
import { backoffDelay, type BackoffPolicy } from '../../proto/util/work-queue.js';
import type { Store, StoreEvent, Watch } from '../store/store.js';

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function keyOf(o: KObject): string {
  return objectKey(o.metadata.namespace, o.metadata.name);
}

/** The inverse of objectKey: namespace is undefined for a cluster-scoped key. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export interface EventHandlers<T extends KObject = KObject> {
  onAdd?(obj: T): void;
  /** Also called for every surviving object after a relist (a resync), possibly with old === new. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** The object's last known state: the store's final one, or the cache's after a relist. */
  onDelete?(obj: T): void;
}

/** Maps an object to the index values it is found under (none, one or several). */
export type IndexFunc = (obj: KObject) => readonly string[];

export const INDEX_NAMESPACE = 'namespace';
/** Every owner's uid (ownerReferences). */
export const INDEX_OWNER = 'owner';
/** The uid of the managing owner only (the ownerReference with controller: true). */
export const INDEX_CONTROLLER = 'controller';
/** spec.nodeName, for Pods bound to a node. */
export const INDEX_NODE = 'node';

export const DEFAULT_INDEXERS: Readonly<Record<string, IndexFunc>> = {
  [INDEX_NAMESPACE]: (o) => (o.metadata.namespace ? [o.metadata.namespace] : []),
  [INDEX_OWNER]: (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid),
  [INDEX_CONTROLLER]: (o) => (o.metadata.ownerReferences ?? []).filter((r) => r.controller === true).slice(0, 1).map((r) => r.uid),
  [INDEX_NODE]: (o) => {
    const nodeName = (o.spec as { nodeName?: unknown } | undefined)?.nodeName;
    return typeof nodeName === 'string' && nodeName !== '' ? [nodeName] : [];
  },
};

/** Waits between relists when the watch keeps refusing the list's revision. */
export const RELIST_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

export interface InformerOptions {
  store: Store;
  kind: string;
  clock: Clock;
  logger?: Logger;
  /** Replaces DEFAULT_INDEXERS. */
  indexers?: Record<string, IndexFunc>;
}

export class Informer<T extends KObject = KObject> {
  readonly kind: string;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly indexers: Record<string, IndexFunc>;
  private readonly items = new Map<string, T>();
  /** index name → value → keys. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private readonly handlers = new Set<EventHandlers<T>>();
  private watch: Watch | undefined;
  private retry: Timer | undefined;
  private failedWatches = 0;
  private revision = 0;
  private started = false;
  private stopped = false;
  private synced = false;
  private readonly syncWaiters = new Set<(synced: boolean) => void>();

  constructor(opts: InformerOptions) {
    this.kind = opts.kind;
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = (opts.logger ?? silentLogger()).child({ informer: opts.kind });
    this.indexers = opts.indexers ?? { ...DEFAULT_INDEXERS };
    for (const name of Object.keys(this.indexers)) this.indices.set(name, new Map());
  }

  /**
   * Handlers added after the informer has synced are first told of every cached
   * object as an add, so a late controller sees the same picture as an early one.
   * Returns a function that removes the handlers.
   */
  addEventHandler(h: EventHandlers<T>): () => void {
    this.handlers.add(h);
    if (this.synced) for (const o of this.items.values()) this.call('onAdd', () => h.onAdd?.(o));
    return () => this.handlers.delete(h);
  }

  /** Lists and starts watching. Idempotent; an informer once stopped is not started again. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.listAndWatch();
  }

  /** Cancels the watch and any pending relist; no handler is called after it returns. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.watch?.cancel();
    this.watch = undefined;
    this.retry?.cancel();
    this.retry = undefined;
    this.handlers.clear();
    this.settleSyncWaiters(false);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the cache, false if the informer stops before that. */
  whenSynced(): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => this.syncWaiters.add(resolve));
  }

  /** The revision the cache reflects: the list's, then each delivered event's. */
  lastSyncRevision(): number {
    return this.revision;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  /** A fresh array (sort it freely) of the cached, frozen objects. */
  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Objects whose index `name` has `value`, in key order. */
  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`informer for ${this.kind} has no index "${name}": known indexes are ${[...this.indices.keys()].join(', ')}`);
    return [...(index.get(value) ?? [])].sort().map((k) => this.items.get(k)!);
  }

  /**
   * Drops the watch, lists again and resyncs: keys gone from the new list are
   * delivered as deletes, the rest as updates. For a watch that fell behind the
   * store's retained events (STORE_REVISION_TOO_OLD).
   */
  relist(): void {
    if (!this.started || this.stopped) return;
    this.watch?.cancel();
    this.watch = undefined;
    this.retry?.cancel();
    this.retry = undefined;
    this.listAndWatch();
  }

  // ------------------------------------------------------------------ internals

  private listAndWatch(): void {
    const listed = this.store.list(this.kind);
    this.replace(listed.items as T[], listed.revision);
    try {
      // fromRevision 0 means "from now", which for an empty store at revision 0 is the same thing.
      this.watch = this.store.watch({ kind: this.kind, fromRevision: listed.revision }, (e) => this.onEvent(e));
      this.failedWatches = 0;
    } catch (err) {
      if (!isBrambleError(err, 'STORE_REVISION_TOO_OLD')) throw err;
      // The list came from further back than the store still keeps events for (a
      // lagging source). Relist at once; if that keeps failing, back off on the clock.
      this.failedWatches++;
      this.logger.warn({ err, revision: listed.revision, attempt: this.failedWatches }, 'watch fell behind the retained events: listing again');
      if (this.failedWatches === 1) return this.listAndWatch();
      this.retry = this.clock.setTimeout(() => {
        this.retry = undefined;
        if (!this.stopped) this.listAndWatch();
      }, backoffDelay(this.failedWatches - 1, RELIST_BACKOFF));
    }
  }

  /** Makes the cache equal to a fresh list, telling handlers what changed. */
  private replace(items: readonly T[], revision: number): void {
    const fresh = new Map<string, T>();
    for (const o of items) fresh.set(keyOf(o), o);
    const gone: T[] = [];
    for (const [key, old] of this.items) {
      if (fresh.has(key)) continue;
      this.remove(key, old);
      gone.push(old);
    }
    const changes: [T | undefined, T][] = [];
    for (const [key, o] of fresh) {
      const old = this.items.get(key);
      this.put(key, o, old);
      changes.push([old, o]);
    }
    this.revision = revision;
    const first = !this.synced;
    if (first) {
      this.synced = true;
      this.settleSyncWaiters(true);
    }
    for (const o of gone) this.emit('onDelete', (h) => h.onDelete?.(o));
    for (const [old, o] of changes) {
      if (old) this.emit('onUpdate', (h) => h.onUpdate?.(old, o));
      else this.emit('onAdd', (h) => h.onAdd?.(o));
    }
  }

  private onEvent(e: StoreEvent): void {
    if (this.stopped) return;
    const obj = e.object as T;
    const key = keyOf(obj);
    const old = this.items.get(key);
    this.revision = e.revision;
    if (e.type === 'DELETED') {
      if (!old) return;
      this.remove(key, old);
      this.emit('onDelete', (h) => h.onDelete?.(obj));
      return;
    }
    this.put(key, obj, old);
    if (old) this.emit('onUpdate', (h) => h.onUpdate?.(old, obj));
    else this.emit('onAdd', (h) => h.onAdd?.(obj));
  }

  private put(key: string, obj: T, old: T | undefined): void {
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indices.get(name)!;
      for (const value of fn(obj)) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  private remove(key: string, old: T): void {
    this.unindex(key, old);
    this.items.delete(key);
  }

  private unindex(key: string, old: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indices.get(name)!;
      for (const value of fn(old)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  private emit(what: keyof EventHandlers<T>, fn: (h: EventHandlers<T>) => void): void {
    for (const h of [...this.handlers]) this.call(what, () => fn(h));
  }

  /** One controller's handler that throws must not keep the others (or the cache) from the event. */
  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, handler: what }, 'informer event handler threw');
    }
  }

  private settleSyncWaiters(synced: boolean): void {
    const waiters = [...this.syncWaiters];
    this.syncWaiters.clear();
    for (const w of waiters) w(synced);
  }
}

/**
 * Resolves true once every informer has synced, false as soon as the signal aborts
 * or one of them stops first (client-go's WaitForCacheSync).
 */
export async function waitForCacheSync(signal: AbortSignal, ...informers: Informer<KObject>[]): Promise<boolean> {
  if (signal.aborted) return false;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (const inf of informers) {
      if (!(await Promise.race([inf.whenSynced(), aborted]))) return false;
    }
    return !signal.aborted;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
