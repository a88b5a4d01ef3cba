// The board's view of the cluster network, from Node.WatchNetwork: every Node
// (trimmed to name, labels, pod CIDR and addresses), Service and Endpoints.
// Host-gw routes, the Service rules and the DNS resolver read it. A stream
// opens with SYNC … SYNCED, the whole state at one revision, which replaces
// what the view held (objects deleted while the stream was down disappear);
// changes follow. Listeners get a snapshot after a short debounce, so a burst
// of Endpoints changes costs one sync. The stream reconnects with back-off,
// and while it is down the last view stays (edge autonomy: routes and rules
// keep working without the control plane).
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import type { Connection } from './node-connection.js';
import type { NetworkEvent__Output } from '../proto/types.js';
import type { Clock, Timer } from '../proto/util/clock.js';
import { backoffDelay } from '../proto/util/work-queue.js';
import { silentLogger, type Logger } from '../proto/util/log.js';
import type { Endpoints, KObject, NodeObject, Service } from '../proto/model.js';
import { keyOf } from '../proto/model.js';
import { BrambleError } from '../proto/util/errors.js';

export interface NetworkSnapshot {
  /** Sorted by name. */
  nodes: NodeObject[];
  /** Sorted by namespace/name. */
  services: Service[];
  endpoints: Endpoints[];
  /** False until the first SYNCED: a view that is not complete yet (nothing is removed on its account). */
  synced: boolean;
}

export type NetworkListener = (snapshot: NetworkSnapshot) => void;

export interface NetworkViewOptions {
  /** One fixed client; or `connection`, which moves between control-plane members. */
  client?: Pick<NodeClient, 'WatchNetwork'>;
  connection?: Connection;
  nodeName: string;
  clock: Clock;
  logger?: Logger;
  /** Changes within this window reach the listeners as one snapshot; default 100 ms. */
  debounceMs?: number;
}

const RECONNECT = { baseMs: 500, maxMs: 30_000 };
const KINDS = ['Node', 'Service', 'Endpoints'] as const;
type ViewKind = (typeof KINDS)[number];
const TYPES = new Set(['SYNC', 'ADDED', 'MODIFIED', 'DELETED', 'SYNCED']);

export type NetworkChange =
  | { type: 'SYNCED' }
  | { type: 'SYNC' | 'ADDED' | 'MODIFIED' | 'DELETED'; kind: ViewKind; object: KObject };

/** Checks one stream message: a bad one is refused with the field named, never acted on. */
export function parseNetworkEvent(ev: NetworkEvent__Output): NetworkChange {
  const type = String(ev?.type ?? '');
  if (!TYPES.has(type)) throw new BrambleError('INVALID_ARGUMENT', `network event type must be SYNC, SYNCED, ADDED, MODIFIED or DELETED: current value is ${JSON.stringify(type.slice(0, 40))}`);
  if (type === 'SYNCED') return { type: 'SYNCED' };
  let obj: unknown;
  try {
    obj = JSON.parse(String(ev.object ?? ''));
  } catch {
    throw new BrambleError('INVALID_ARGUMENT', 'network event object must be JSON: it is not');
  }
  const o = obj as Partial<KObject> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new BrambleError('INVALID_ARGUMENT', 'network event object must be an object: it is not');
  if (!(KINDS as readonly string[]).includes(String(o.kind))) {
    throw new BrambleError('INVALID_ARGUMENT', `network event object kind must be Node, Service or Endpoints: current value is ${JSON.stringify(String(o.kind).slice(0, 40))}`);
  }
  const name = o.metadata?.name;
  if (typeof name !== 'string' || name === '') throw new BrambleError('INVALID_ARGUMENT', `network event ${o.kind} metadata.name must be a non-empty string: it is not`);
  return { type: type as 'SYNC', kind: o.kind as ViewKind, object: o as KObject };
}

export class NetworkView {
  private state: ViewMaps = emptyMaps();
  private synced = false;
  private stopped = false;
  private failures = 0;
  private call: ReturnType<NodeClient['WatchNetwork']> | undefined;
  private retryTimer: Timer | undefined;
  private debounceTimer: Timer | undefined;
  private cached: NetworkSnapshot | undefined;
  private readonly listeners = new Set<NetworkListener>();
  private readonly log: Logger;

  private unsubscribeMove: () => void = () => undefined;

  constructor(private readonly opts: NetworkViewOptions) {
    this.log = opts.logger ?? silentLogger();
    if (!opts.client && !opts.connection) throw new Error('a network view needs a connection or a client');
  }

  start(): void {
    this.stopped = false;
    // Another member serves the stream from a fresh SYNC; the last view stays in use until its SYNCED.
    this.unsubscribeMove = this.opts.connection?.onMove((_address, sameMember) => {
      // On the same member (one address) a stream still open there stays.
      if (this.stopped || (sameMember && this.call)) return;
      this.retryTimer?.cancel();
      this.failures = 0;
      const old = this.call;
      this.call = undefined;
      old?.cancel();
      this.watch();
    }) ?? (() => undefined);
    this.watch();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribeMove();
    this.retryTimer?.cancel();
    this.debounceTimer?.cancel();
    this.call?.cancel();
    this.call = undefined;
  }

  /** Registers a listener for snapshots after changes; returns its removal. */
  onChange(listener: NetworkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current view; the same object until the next change (callers must not modify it). */
  snapshot(): NetworkSnapshot {
    this.cached ??= {
      nodes: sorted(this.state.nodes),
      services: sorted(this.state.services),
      endpoints: sorted(this.state.endpoints),
      synced: this.synced,
    };
    return this.cached;
  }

  private watch(): void {
    if (this.stopped) return;
    // A new stream starts with SYNC: its objects are gathered apart and replace the view at SYNCED.
    let pending: ViewMaps | undefined;
    let live = false;
    const gen = this.opts.connection?.generation() ?? 0;
    const call = (this.opts.connection?.client() ?? this.opts.client!).WatchNetwork({ nodeName: this.opts.nodeName });
    this.call = call;
    call.on('data', (ev: NetworkEvent__Output) => {
      this.failures = 0;
      this.opts.connection?.succeeded(gen);
      let change: NetworkChange;
      try {
        change = parseNetworkEvent(ev);
      } catch (e) {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'bad network event from the control plane skipped');
        return;
      }
      if (change.type === 'SYNCED') {
        this.state = pending ?? emptyMaps();
        pending = undefined;
        live = true;
        this.synced = true;
        this.changed();
        return;
      }
      if (change.type === 'SYNC' && !live) {
        pending ??= emptyMaps();
        mapOf(change.kind, pending).set(keyOf(change.object), change.object as never);
        return;
      }
      if (!live) return;
      const map = mapOf(change.kind, this.state);
      if (change.type === 'DELETED') map.delete(keyOf(change.object));
      else map.set(keyOf(change.object), change.object as never);
      this.changed();
    });
    let ended = false;
    const again = (why: string, err?: unknown): void => {
      if (ended) return;
      ended = true;
      // Dropped by a move (its successor is open), or the member is away: the move reopens it.
      if (this.stopped || this.call !== call) return;
      if (this.opts.connection?.failed(gen, err)) {
        this.call = undefined;
        return;
      }
      this.failures++;
      this.log[this.failures === 1 ? 'info' : 'debug']({ why }, 'network stream ended; reconnecting, the last view stays in use');
      this.retryTimer = this.opts.clock.setTimeout(() => this.watch(), backoffDelay(this.failures, RECONNECT));
    };
    call.on('error', (e: Error) => again(e.message, e));
    call.on('end', () => again('end'));
  }

  private changed(): void {
    this.cached = undefined;
    if (this.debounceTimer) return;
    this.debounceTimer = this.opts.clock.setTimeout(() => {
      this.debounceTimer = undefined;
      const snap = this.snapshot();
      for (const l of [...this.listeners]) {
        try {
          l(snap);
        } catch (e) {
          // One consumer's bug must not starve the others of changes.
          this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'network view listener failed');
        }
      }
    }, this.opts.debounceMs ?? 100);
  }
}

interface ViewMaps {
  nodes: Map<string, NodeObject>;
  services: Map<string, Service>;
  endpoints: Map<string, Endpoints>;
}

function emptyMaps(): ViewMaps {
  return { nodes: new Map(), services: new Map(), endpoints: new Map() };
}

function mapOf(kind: ViewKind, maps: ViewMaps): Map<string, KObject> {
  return (kind === 'Node' ? maps.nodes : kind === 'Service' ? maps.services : maps.endpoints) as Map<string, KObject>;
}

function sorted<T>(m: Map<string, T>): T[] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}
