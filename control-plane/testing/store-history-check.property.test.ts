// Histories a linearizable store produced (the real state machine, run one
// operation at a time at points inside overlapping windows) must all check ok;
// the same histories with one result changed in a way no linearizable store can
// answer must all check illegal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { StoreOperation, StoreOutput } from './linearizability-model.js';
import { checkStoreHistory } from './store-history-check.js';
import {
  generateHistory, randomSpecs, specArbitrary, type GeneratedHistory, type SpecShape,
} from './store-history-fixtures.js';

const small: SpecShape = { clients: 4, keys: 2, maxDuration: 30, unknownRate: 0.15 };
const wide: SpecShape = { clients: 6, keys: 4, maxDuration: 80, unknownRate: 0.1 };
const RUNS = 200;

const withOutput = (h: StoreOperation[], i: number, output: StoreOutput): StoreOperation[] =>
  h.map((op, j) => (j === i ? { ...op, result: { output, at: op.result!.at } } : op));
const revisionOf = (op: StoreOperation): number | undefined =>
  (op.result?.output.type === 'written' ? op.result.output.revision : undefined);

describe('histories of a linearizable store check ok', () => {
  for (const [name, shape] of [['few keys, short windows', small], ['more keys, long overlapping windows', wide]] as const) {
    test(name, () => {
      fc.assert(fc.property(specArbitrary(shape, 60), (specs) => {
        const { history } = generateHistory(specs);
        const r = checkStoreHistory(history);
        assert.equal(r.result, 'ok', `${r.message}\n${JSON.stringify(history)}`);
      }), { numRuns: RUNS });
    });
  }
});

/** Checks a mutation that must be caught whenever `mutate` finds somewhere to apply it. */
function mustBeIllegal(mutate: (g: GeneratedHistory) => StoreOperation[] | undefined): void {
  let applied = 0;
  fc.assert(fc.property(specArbitrary(small, 60), (specs) => {
    const mutated = mutate(generateHistory(specs));
    fc.pre(mutated !== undefined);
    applied++;
    const r = checkStoreHistory(mutated);
    assert.equal(r.result, 'illegal', JSON.stringify(mutated));
  }), { numRuns: RUNS });
  assert.ok(applied > RUNS / 4, `the mutation applied to only ${applied} histories`);
}

describe('one result changed in a way no linearizable store answers is illegal', () => {
  test('a get reads a value that was never written', () => {
    mustBeIllegal(({ history }) => {
      const i = history.findIndex((op) => op.result?.output.type === 'found');
      if (i < 0) return undefined;
      const o = history[i]!.result!.output as Extract<StoreOutput, { type: 'found' }>;
      return withOutput(history, i, { ...o, value: 'never written' });
    });
  });

  test('a get reads the version before one whose write was acknowledged before the get was called', () => {
    mustBeIllegal(({ history, versions, readVersion }) => {
      for (const [g, j] of readVersion) {
        const op = history[g]!;
        const kv = versions.get(op.input.key)!;
        const before = kv[j - 1];
        const writer = kv[j] && kv[j]!.writer >= 0 ? history[kv[j]!.writer]! : undefined;
        if (!op.result || !before || before.value === undefined || !writer?.result || writer.result.at >= op.call) continue;
        return withOutput(history, g, { type: 'found', value: before.value, resourceVersion: before.resourceVersion });
      }
      return undefined;
    });
  });

  test('an acknowledged write is lost: a get called after it returned, with no delete in between, reads absent', () => {
    mustBeIllegal(({ history, versions, readVersion }) => {
      for (const [g, j] of readVersion) {
        const op = history[g]!;
        const v = versions.get(op.input.key)![j]!;
        const writer = v.writer >= 0 ? history[v.writer]! : undefined;
        if (op.result?.output.type !== 'found' || !writer?.result || writer.result.at >= op.call) continue;
        // A delete called when the get returns counts as concurrent with it, so it may come first.
        const mayDelete = history.some((d) => d.input.type === 'delete' && d.input.key === op.input.key &&
          d.call <= op.result!.at && d.result?.output.type !== 'failed');
        if (mayDelete) continue;
        return withOutput(history, g, { type: 'absent' });
      }
      return undefined;
    });
  });

  test('two acknowledged writes return the same revision', () => {
    mustBeIllegal(({ history }) => {
      const writes = history.map((op, i) => [i, revisionOf(op)] as const).filter(([, r]) => r !== undefined);
      if (writes.length < 2) return undefined;
      const [[, r0], [i1]] = writes as [readonly [number, number], readonly [number, number]];
      return withOutput(history, i1, { type: 'written', revision: r0 });
    });
  });

  test('a write called after another returned gets a lower revision', () => {
    mustBeIllegal(({ history }) => {
      for (let a = 0; a < history.length; a++) {
        const ra = revisionOf(history[a]!);
        if (ra === undefined || ra < 2) continue;
        const b = history.findIndex((op) => revisionOf(op) !== undefined && op.call > history[a]!.result!.at);
        if (b >= 0) return withOutput(history, b, { type: 'written', revision: ra - 1 });
      }
      return undefined;
    });
  });
});

/** One result replaced by another answer the operation could have given. */
function mutateOne(g: GeneratedHistory, pick: number, choice: number): StoreOperation[] | undefined {
  const known = g.history.map((op, i) => i).filter((i) => g.history[i]!.result);
  if (known.length === 0) return undefined;
  const i = known[pick % known.length]!;
  const op = g.history[i]!;
  const out = op.result!.output;
  const kv = g.versions.get(op.input.key)!.filter((v) => v.value !== undefined);
  let next: StoreOutput;
  switch (out.type) {
    case 'found': {
      const others = kv.filter((v) => v.value !== out.value);
      const v = others[choice % Math.max(1, others.length)];
      next = v && choice % 3 !== 0 ? { type: 'found', value: v.value!, resourceVersion: v.resourceVersion } : { type: 'absent' };
      break;
    }
    case 'absent': {
      const v = kv[choice % Math.max(1, kv.length)];
      if (!v) return undefined;
      next = { type: 'found', value: v.value!, resourceVersion: v.resourceVersion };
      break;
    }
    case 'written':
      next = choice % 2 === 0 || out.revision === undefined
        ? { type: 'failed', code: op.input.type === 'create' ? 'ALREADY_EXISTS' : 'NOT_FOUND' }
        : { type: 'written', revision: out.revision + 1 };
      break;
    case 'failed':
      next = { type: 'written', revision: 10_000 + choice };
      break;
  }
  return withOutput(g.history, i, next);
}

test('a random result changed is mostly illegal', () => {
  let tried = 0;
  let illegal = 0;
  fc.assert(fc.property(specArbitrary(small, 40), fc.nat(), fc.nat(), (specs, pick, choice) => {
    const mutated = mutateOne(generateHistory(specs), pick, choice);
    fc.pre(mutated !== undefined);
    tried++;
    if (checkStoreHistory(mutated).result === 'illegal') illegal++;
  }), { numRuns: 500, seed: 10 });
  console.log(`${illegal} of ${tried} histories with one random result changed were illegal`);
  assert.ok(illegal > tried * 0.5, `${illegal} of ${tried} mutated histories were illegal`);
});

test('5 clients x 2,000 operations over 20 keys check well under a second', () => {
  const shape: SpecShape = { clients: 5, keys: 20, maxDuration: 30, unknownRate: 0.02 };
  const { history } = generateHistory(randomSpecs(42, shape, 10_000));
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const r = checkStoreHistory(history);
  const { user, system } = process.cpuUsage(cpu);
  const took = (user + system) / 1000;
  assert.equal(r.result, 'ok', r.message);
  // CPU time, cold (JIT warm-up included): a loaded machine stretches wall time, not this.
  assert.ok(took < 1000, `took ${took.toFixed(0)} ms of CPU`);
  console.log(`checked ${history.length} operations in ${took.toFixed(0)} ms of CPU (${(performance.now() - wall).toFixed(0)} ms wall)`);
});

test('16 clients on one key, with long overlapping windows and timeouts, are decided well within the budget', () => {
  // Failed writes and reads commute with each other: tried in every order they took 9 s
  // here, placed as no choice about 0.3 s.
  const shape: SpecShape = { clients: 16, keys: 1, maxDuration: 60, unknownRate: 0.1 };
  const { history } = generateHistory(randomSpecs(11, shape, 2000));
  const r = checkStoreHistory(history, { timeBudgetMs: 4_000 });
  assert.equal(r.result, 'ok', r.message);
});
