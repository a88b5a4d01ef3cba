// For tests and benchmarks: RaftStores on real LevelDB in a temporary directory,
// over the in-memory transport, on a fake clock that moves only while every
// replica is quiet (no batch being written, no message in flight), so elections
// are not disturbed by how fast the disk happens to be.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { seededRandom } from '../raft/raft-test-network.js';
import { MemoryNetwork } from '../raft/raft-transport-memory.js';
import { openRaftStore, type RaftStore, type RaftStoreOptions } from '../raft/raft-store.js';
import type { Command } from '../store/store.js';
import type { KObject } from '../../proto/model.js';

export interface RaftClusterOptions {
  ids?: string[];
  tickMs?: number;
  seed?: number;
  /** Extra options for every replica (compaction limits, timeouts). */
  store?: Partial<RaftStoreOptions>;
}

/** Real time allowed for the disk to go quiet before a step counts as hung. */
const SETTLE_MS = 20_000;

export class RaftTestCluster {
  readonly net = new MemoryNetwork();
  readonly clock = new FakeClock();
  readonly stores = new Map<string, RaftStore>();
  readonly ids: string[];
  readonly tickMs: number;
  private seed: number;
  /** Members that joined (no bootstrap): reopened without one, so they never bootstrap a cluster of their own. */
  private readonly joined = new Set<string>();

  private constructor(readonly root: string, private readonly opts: RaftClusterOptions) {
    this.ids = opts.ids ?? ['a', 'b', 'c'];
    this.tickMs = opts.tickMs ?? 100;
    // RAFT_CLUSTER_SEED replays a run with other election timeouts.
    this.seed = opts.seed ?? Number(process.env.RAFT_CLUSTER_SEED ?? 1);
  }

  static async start(opts: RaftClusterOptions = {}): Promise<RaftTestCluster> {
    const c = new RaftTestCluster(await mkdtemp(join(tmpdir(), 'raft-cluster-')), opts);
    for (const id of c.ids) await c.open(id);
    return c;
  }

  dataDir(id: string): string {
    return join(this.root, id);
  }

  /** A new member with an empty data dir that waits to be added (it gets its state by a snapshot). */
  async join(id: string, extra: Partial<RaftStoreOptions> = {}): Promise<RaftStore> {
    this.joined.add(id);
    return this.open(id, extra);
  }

  /** Opens (or reopens, after close or crash) the replica `id` from its data dir. */
  async open(id: string, extra: Partial<RaftStoreOptions> = {}): Promise<RaftStore> {
    const store = await openRaftStore({
      dataDir: this.dataDir(id),
      id,
      transport: this.net.transport(id),
      ...(this.joined.has(id) ? {} : { bootstrap: this.ids.map((p) => ({ id: p, address: `${p}.test:7443` })) }),
      clock: this.clock,
      random: seededRandom(this.seed++),
      tickMs: this.tickMs,
      ...this.opts.store,
      ...extra,
    });
    this.stores.set(id, store);
    return store;
  }

  store(id: string): RaftStore {
    const s = this.stores.get(id);
    if (!s) throw new Error(`replica ${id} is not running`);
    return s;
  }

  running(): RaftStore[] {
    return [...this.stores.values()];
  }

  async close(id: string): Promise<void> {
    await this.store(id).close();
    this.stores.delete(id);
  }

  async crash(id: string): Promise<void> {
    await this.store(id).crash();
    this.stores.delete(id);
  }

  /** Waits (in real time, bounded) until no replica is writing and no message is in flight. */
  async settle(): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      if (this.net.inFlight === 0 && this.running().every((s) => s.node.idle())) return;
      if (Date.now() > deadline) throw new Error('the cluster did not go quiet: a batch or a message is stuck');
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Moves the fake clock a tick at a time, letting the cluster settle in between, until `cond` holds. */
  async until(cond: () => boolean, what: string, maxTicks = 300): Promise<void> {
    for (let i = 0; i <= maxTicks; i++) {
      await this.settle();
      if (cond()) return;
      await this.clock.advance(this.tickMs);
    }
    throw new Error(`${what}: not reached within ${maxTicks} ticks`);
  }

  /** Drives the cluster until `p` settles; returns its value or throws its error. */
  async run<T>(p: Promise<T>, what = 'the operation', maxTicks = 300): Promise<T> {
    let done = false;
    p.then(() => { done = true; }, () => { done = true; });
    await this.until(() => done, what, maxTicks);
    return p;
  }

  leader(): RaftStore | undefined {
    return this.running().find((s) => s.leadership.isLeader());
  }

  async waitLeader(): Promise<RaftStore> {
    await this.until(() => this.leader() !== undefined, 'a leader elected');
    return this.leader()!;
  }

  followers(): RaftStore[] {
    return this.running().filter((s) => !s.leadership.isLeader());
  }

  /** Every running replica at the same revision with the same objects. */
  converged(kind = 'ConfigMap'): boolean {
    const [first, ...rest] = this.running();
    if (!first) return true;
    const want = JSON.stringify(first.list(kind));
    return rest.every((s) => s.revision() === first.revision() && JSON.stringify(s.list(kind)) === want);
  }

  async destroy(): Promise<void> {
    for (const id of [...this.stores.keys()]) await this.close(id).catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}

export function configMap(name: string, data: Record<string, string> = {}, resourceVersion?: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', ...(resourceVersion ? { resourceVersion } : {}) },
    data,
  } as unknown as KObject;
}

export function create(name: string, data: Record<string, string> = {}): Command {
  return { ops: [{ type: 'put', object: configMap(name, data), precondition: { absent: true } }] };
}

export function update(name: string, resourceVersion: string, data: Record<string, string>): Command {
  return { ops: [{ type: 'put', object: configMap(name, data), precondition: { resourceVersion } }] };
}
