// Histories that a linearizable store produced, for testing the checker: every
// operation gets a linearization point inside its call..return window, the
// operations run one at a time in point order against the real state machine
// (store-state.ts), and what it answered is recorded. Windows overlap at random,
// so the checker has to find an order, and some outcomes are dropped as unknown
// (their point may then fall after the client gave up, as a Raft entry that
// commits late does).
import fc from 'fast-check';
import { isBrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import { StoreState } from '../store/store-state.js';
import type { Precondition } from '../store/store.js';
import type { StoreInput, StoreOperation, StoreOutput, PreconditionCode } from './linearizability-model.js';

export type Action = 'create' | 'update' | 'delete' | 'deleteIf' | 'get';

export interface OpSpec {
  client: number;
  /** Time between the client's previous return and this call. */
  gap: number;
  duration: number;
  /** Where in its window the operation takes effect, 0..1 (past the window for unknown outcomes). */
  point: number;
  key: number;
  action: Action;
  /** update, deleteIf: carry an out-of-date resourceVersion. */
  stale: boolean;
  unknown: boolean;
}

/** A version a key held in the reference run. */
export interface Version {
  value: string | undefined;
  resourceVersion: number;
  /** The history index of the write that made it. */
  writer: number;
}

export interface GeneratedHistory {
  history: StoreOperation[];
  /** Per operation, in history order: its linearization point. */
  points: number[];
  /** Per key, the versions it held, in order (from the initial absent one). */
  versions: Map<string, Version[]>;
  /** For each get, the index in versions of what it read. */
  readVersion: Map<number, number>;
}

export const keyName = (k: number): string => `k${k}`;

function thing(key: string, value: string): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: key, namespace: 'lin' }, data: { v: value } };
}

export function generateHistory(specs: readonly OpSpec[]): GeneratedHistory {
  const clientTime = new Map<number, number>();
  const timed = specs.map((s, index) => {
    const call = (clientTime.get(s.client) ?? 0) + s.gap;
    const ret = call + s.duration;
    clientTime.set(s.client, ret);
    const point = call + s.point * s.duration * (s.unknown ? 4 : 1);
    return { s, index, call, ret, point };
  });
  const state = new StoreState(16);
  const versions = new Map<string, Version[]>();
  const readVersion = new Map<number, number>();
  const history: StoreOperation[] = new Array(specs.length);
  const byPoint = [...timed].sort((a, b) => a.point - b.point || a.index - b.index);
  for (const { s, index, call, ret } of byPoint) {
    const key = keyName(s.key);
    let kv = versions.get(key);
    if (!kv) versions.set(key, (kv = [{ value: undefined, resourceVersion: 0, writer: -1 }]));
    const current = kv[kv.length - 1]!;
    const value = `${key}-v${index}`;
    // A stale version: the one before the current, or one that never was.
    const stale = kv.length >= 2 && kv[kv.length - 2]!.resourceVersion > 0 ? kv[kv.length - 2]!.resourceVersion : state.revision() + 1000;
    const rv = s.stale || current.value === undefined ? stale : current.resourceVersion;
    let input: StoreInput;
    let precondition: Precondition | undefined;
    switch (s.action) {
      case 'create': input = { type: 'create', key, value }; precondition = { absent: true }; break;
      case 'update': input = { type: 'update', key, value, resourceVersion: rv }; precondition = { resourceVersion: String(rv) }; break;
      case 'delete': input = { type: 'delete', key }; break;
      case 'deleteIf': input = { type: 'delete', key, resourceVersion: rv }; precondition = { resourceVersion: String(rv) }; break;
      case 'get': input = { type: 'get', key }; break;
    }
    let output: StoreOutput;
    if (input.type === 'get') {
      const o = state.get('ConfigMap', 'lin', key);
      output = o ? { type: 'found', value: (o.data as { v: string }).v, resourceVersion: Number(o.metadata.resourceVersion) } : { type: 'absent' };
      readVersion.set(index, kv.length - 1);
    } else {
      try {
        const applied = state.propose({
          ops: [input.type === 'delete'
            ? { type: 'delete', kind: 'ConfigMap', namespace: 'lin', name: key, precondition }
            : { type: 'put', object: thing(key, value), precondition }],
        });
        state.commit(applied);
        output = { type: 'written', revision: applied.revision };
        kv.push({ value: input.type === 'delete' ? undefined : value, resourceVersion: input.type === 'delete' ? 0 : applied.revision, writer: index });
      } catch (e) {
        if (!isBrambleError(e)) throw e;
        output = { type: 'failed', code: e.code as PreconditionCode };
      }
    }
    const op: StoreOperation = { client: s.client, input, call };
    if (s.unknown) op.gaveUpAt = ret;
    else op.result = { output, at: ret };
    history[index] = op;
  }
  return { history, points: timed.map((t) => t.point), versions, readVersion };
}

export interface SpecShape {
  clients: number;
  keys: number;
  /** Longest call..return window; gaps are up to a third of it. */
  maxDuration: number;
  /** Chance that an operation's outcome is unknown, 0..1. */
  unknownRate: number;
}

// Enough creates and few enough deletes that keys mostly exist, so updates and reads have something to see.
const ACTIONS: readonly Action[] = ['create', 'create', 'update', 'update', 'update', 'delete', 'deleteIf', 'get', 'get', 'get'];
const STALE_RATE = 0.25;

export function specArbitrary(shape: SpecShape, maxLength: number): fc.Arbitrary<OpSpec[]> {
  const spec: fc.Arbitrary<OpSpec> = fc.record({
    client: fc.nat(shape.clients - 1),
    gap: fc.nat(Math.ceil(shape.maxDuration / 3)),
    duration: fc.integer({ min: 0, max: shape.maxDuration }),
    // fast-check leans towards the ends of a range, which would make nearly every operation unknown.
    point: fc.noBias(fc.double({ min: 0, max: 1, noNaN: true })),
    key: fc.nat(shape.keys - 1),
    action: fc.constantFrom(...ACTIONS),
    stale: fc.noBias(fc.integer({ min: 0, max: 999 })).map((x) => x < STALE_RATE * 1000),
    unknown: fc.noBias(fc.integer({ min: 0, max: 999 })).map((x) => x < shape.unknownRate * 1000),
  });
  return fc.array(spec, { minLength: 1, maxLength, size: 'max' });
}

/** The same distribution from a seed, for histories too long for fast-check to shrink usefully. */
export function randomSpecs(seed: number, shape: SpecShape, count: number): OpSpec[] {
  let a = seed | 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(random() * n);
  return Array.from({ length: count }, (_, i) => ({
    client: i % shape.clients,
    gap: int(Math.ceil(shape.maxDuration / 3) + 1),
    duration: int(shape.maxDuration + 1),
    point: random(),
    key: int(shape.keys),
    action: ACTIONS[int(ACTIONS.length)]!,
    stale: random() < STALE_RATE,
    unknown: random() < shape.unknownRate,
  }));
}
