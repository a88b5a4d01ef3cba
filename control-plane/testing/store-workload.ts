// The load of a fault test: several clients, each with its own connection to
// one member, create, update (with the resourceVersion last seen), delete and
// read ConfigMaps of a small shared set of names, so that clients race on the same
// keys, and every attempt is recorded for the linearizability checker. One
// attempt per operation and no failover inside one: a call retried on another
// member after its first attempt may have taken effect would record a refusal
// (CONFLICT) for a write that happened.
//
// The API has no create-only call: an apply without a resourceVersion of a name
// that exists updates it. Creates therefore use a name never used before, so an
// apply of it can only create; the other operations pick among the names created.
import type { ClusterConnection } from '../cli/cli-client.js';
import { fromServiceError } from '../../proto/util/errors.js';
import { HistoryRecorder, monotonicClock } from './history-recorder.js';
import { storeOutcomeOfError, type StoreInput, type StoreOperation, type StoreOutput } from './linearizability-model.js';

export const WORKLOAD_NAMESPACE = 'default';

export interface WorkloadOptions {
  /** One connection per client, each pinned to one member (ConnectOptions.server). */
  clients: readonly ClusterConnection[];
  /** Deterministic choices: the same seed picks the same operations (timing still varies). */
  seed: number;
  /** Names alive at once, about: creates stop above it and deletes grow likelier. */
  liveKeys?: number;
  /** Pause between two operations of one client, so a slow board is not flooded. */
  thinkMs?: number;
  sleep: (ms: number) => Promise<void>;
  /** Starts every name and value, so workloads that share a store never touch each other's keys. */
  prefix: string;
}

/** A small seeded generator (mulberry32): a failing run names its seed and replays its choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ConfigMapView {
  metadata: { name: string; resourceVersion?: string };
  data?: { v?: string };
}

function readObject(text: string): { value: string; resourceVersion: number } {
  const o = JSON.parse(text) as ConfigMapView;
  return { value: o.data?.v ?? '', resourceVersion: Number(o.metadata.resourceVersion) };
}

export function configMapJson(name: string, value: string, resourceVersion?: number): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, namespace: WORKLOAD_NAMESPACE, ...(resourceVersion !== undefined ? { resourceVersion: String(resourceVersion) } : {}) },
    data: { v: value },
  });
}

/**
 * The API answers an update of a name that does not exist with CONFLICT ("has
 * resourceVersion ... but does not exist"); the model's word for that is NOT_FOUND.
 */
export function workloadOutcomeOfError(input: StoreInput, error: unknown): StoreOutput | undefined {
  const e = fromServiceError(error);
  if (input.type === 'update' && e.code === 'CONFLICT' && /but does not exist/.test(e.message)) return { type: 'failed', code: 'NOT_FOUND' };
  return storeOutcomeOfError(input, error);
}

/** An answer the API must never give to the workload's requests (a create that did not create). */
export class WorkloadAnomaly extends Error {}

/** Runs one operation against a member; throws what the API threw. */
export async function runStoreOperation(conn: ClusterConnection, input: StoreInput): Promise<StoreOutput> {
  switch (input.type) {
    case 'create':
    case 'update': {
      const rv = input.type === 'update' ? input.resourceVersion : undefined;
      const res = await conn.apply({ objects: [configMapJson(input.key, input.value, rv)] });
      const r = res.results[0];
      const expected = input.type === 'create' ? 'created' : 'configured';
      if (!r || r.action !== expected) throw new WorkloadAnomaly(`${input.type} of ${input.key} answered action ${r?.action ?? 'none'}, expected ${expected}`);
      return { type: 'written', revision: readObject(r.object).resourceVersion };
    }
    case 'delete':
      await conn.delete({
        kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE, name: input.key,
        ...(input.resourceVersion !== undefined ? { resourceVersion: String(input.resourceVersion) } : {}),
      });
      return { type: 'written' };
    case 'get': {
      const res = await conn.get({ kind: 'ConfigMap', namespace: WORKLOAD_NAMESPACE, name: input.key });
      const o = readObject(res.object);
      return { type: 'found', value: o.value, resourceVersion: o.resourceVersion };
    }
  }
}

export interface WorkloadStats {
  answered: number;
  unknown: number;
  byType: Record<string, number>;
  /** Unknown outcomes, as "client: message", the first few. */
  unknownSamples: string[];
}

export class StoreWorkload {
  readonly recorder = new HistoryRecorder<StoreInput, StoreOutput>(monotonicClock);
  readonly stats: WorkloadStats = { answered: 0, unknown: 0, byType: {}, unknownSamples: [] };
  /** Answers no correct server gives (each also recorded as of unknown outcome). */
  readonly anomalies: string[] = [];
  /** Every name created (or tried): what a final read must cover. */
  readonly names = new Set<string>();
  private readonly known = new Map<string, number>();
  private readonly live = new Set<string>();
  private stopping = false;
  private running: Promise<void>[] = [];
  private readonly random: () => number;
  private seq = 0;

  constructor(private readonly opts: WorkloadOptions) {
    this.random = seededRandom(opts.seed);
  }

  start(): void {
    this.running = this.opts.clients.map((conn, i) => this.loop(conn, i));
  }

  /** Stops issuing operations and waits for those in flight to end. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  history(): StoreOperation[] {
    return this.recorder.history();
  }

  /** Reads every name through `conn` and records the reads: the end of the history the checker sees. */
  async finalReads(conn: ClusterConnection, client = 'final'): Promise<Map<string, { value: string; resourceVersion: number } | undefined>> {
    const out = new Map<string, { value: string; resourceVersion: number } | undefined>();
    for (const key of [...this.names].sort()) {
      const input: StoreInput = { type: 'get', key };
      const r = await this.recorder.record(client, input, () => runStoreOperation(conn, input), (e) => workloadOutcomeOfError(input, e));
      if (r.outcome === 'unknown') throw new Error(`the final read of ${key} failed: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
      out.set(key, r.output.type === 'found' ? { value: r.output.value, resourceVersion: r.output.resourceVersion } : undefined);
    }
    return out;
  }

  private next(client: number): StoreInput {
    const liveKeys = this.opts.liveKeys ?? 8;
    const names = [...this.live];
    const pick = (): string => names[Math.floor(this.random() * names.length)]!;
    const roll = this.random();
    const value = `${this.opts.prefix}c${client}-${++this.seq}`;
    if (names.length === 0 || (names.length < liveKeys && roll < 0.2)) {
      const key = `${this.opts.prefix}k${this.seq}`;
      this.names.add(key);
      this.live.add(key);
      return { type: 'create', key, value };
    }
    const key = pick();
    const rv = this.known.get(key);
    if (roll < 0.55 && rv !== undefined) return { type: 'update', key, value, resourceVersion: rv };
    if (roll < 0.55 + (names.length >= liveKeys ? 0.12 : 0.04)) {
      return rv !== undefined && this.random() < 0.7 ? { type: 'delete', key, resourceVersion: rv } : { type: 'delete', key };
    }
    return { type: 'get', key };
  }

  private learn(input: StoreInput, output: StoreOutput): void {
    if (output.type === 'written' && input.type !== 'delete' && output.revision !== undefined) {
      if ((this.known.get(input.key) ?? 0) < output.revision) this.known.set(input.key, output.revision);
    } else if (output.type === 'found') {
      if ((this.known.get(input.key) ?? 0) < output.resourceVersion) this.known.set(input.key, output.resourceVersion);
    } else if ((output.type === 'written' && input.type === 'delete') || (output.type === 'failed' && output.code === 'NOT_FOUND')) {
      this.live.delete(input.key);
      this.known.delete(input.key);
    }
  }

  private async loop(conn: ClusterConnection, client: number): Promise<void> {
    while (!this.stopping) {
      const input = this.next(client);
      const r = await this.recorder.record(client, input, () => runStoreOperation(conn, input), (e) => workloadOutcomeOfError(input, e));
      this.stats.byType[input.type] = (this.stats.byType[input.type] ?? 0) + 1;
      if (r.outcome === 'answered') {
        this.stats.answered++;
        this.learn(input, r.output);
      } else {
        if (r.error instanceof WorkloadAnomaly) this.anomalies.push(`client ${client}: ${r.error.message}`);
        this.stats.unknown++;
        if (this.stats.unknownSamples.length < 8) {
          this.stats.unknownSamples.push(`${client} ${input.type} ${input.key}: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
        }
        // A client that cannot reach its member must not spin: the call already waited its deadline or failed fast.
        await this.opts.sleep(100);
      }
      if (this.opts.thinkMs) await this.opts.sleep(this.opts.thinkMs);
    }
  }
}
