// Random histories against both stores and a model that is too simple to be wrong:
// a map of keys, a list of committed events, and "keep the last N events, whole revisions".
// Label-filtered watchers keep a view (as a client does from list + watch) through
// selectedEventType, and that view must end equal to the filtered state.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isBrambleError, type ErrorCode } from '../../proto/util/errors.js';
import { parseSelector } from '../../proto/model.js';
import type { Op, Store, StoreEvent } from './store.js';
import { createMemoryStore } from './store-memory.js';
import { openLevelStore } from './store-level.js';
import { labelled, waitFor } from '../../test/support/store-contract.js';
import { selectedEventType } from '../api/watch-selector.js';

type OpSpec = {
  t: 'create' | 'upsert' | 'update' | 'delete' | 'deleteIfVersion';
  name: string;
  ns: string;
  value: number;
  /** The object's `app` label after a put; undefined: no labels. */
  label: 'p' | 'q' | undefined;
  /** 'current': the version before the command; a number: probably stale. */
  rv: 'current' | number;
};
type Action = { a: 'cmd'; ops: OpSpec[] } | { a: 'watch'; from: number; ns?: string; sel?: 'p' | 'q' };

const opArb: fc.Arbitrary<OpSpec> = fc.record({
  t: fc.constantFrom('create', 'upsert', 'update', 'delete', 'deleteIfVersion'),
  name: fc.constantFrom('a', 'b', 'c'),
  ns: fc.constantFrom('x', 'y'),
  value: fc.nat(9),
  label: fc.constantFrom('p' as const, 'q' as const, undefined),
  rv: fc.oneof(fc.constant('current' as const), fc.integer({ min: 1, max: 30 })),
});
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ a: fc.constant('cmd' as const), ops: fc.array(opArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({
    a: fc.constant('watch' as const), from: fc.nat(40), ns: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
    sel: fc.option(fc.constantFrom('p' as const, 'q' as const), { nil: undefined }),
  }) },
);

/** What a test compares: enough to tell any two events apart. */
type Seen = [type: string, revision: number, ns: string, name: string, rv: string, value: string, previousLabels: string];
const seen = (e: StoreEvent): Seen => [e.type, e.revision, e.object.metadata.namespace ?? '', e.object.metadata.name,
  e.object.metadata.resourceVersion ?? '', (e.object.data as { v: string }).v, JSON.stringify(e.previousLabels) ?? ''];
const labelsOf = (label: string | undefined): Record<string, string> | undefined => (label === undefined ? undefined : { app: label });

interface ModelObject { value: string; rv: string; label?: string }

class Model {
  objects = new Map<string, ModelObject>();
  /** The objects as they were after each revision, for watchers resumed from the past. */
  states: Map<string, ModelObject>[] = [new Map()];
  history: (Seen & { length: 7 })[] = [];
  revision = 0;
  constructor(readonly retain: number) {}

  oldest(): number {
    const drop = this.history.length - this.retain;
    return drop > 0 ? this.history[drop - 1]![1] : 0;
  }

  /** Turns specs into store ops and applies them to the model; returns the expected error, if any. */
  apply(specs: OpSpec[]): { ops: Op[]; error?: ErrorCode } {
    const before = this.objects;
    const rvOf = (s: OpSpec): string => (s.rv === 'current' ? (before.get(`${s.ns}/${s.name}`)?.rv ?? '1') : String(s.rv));
    const ops: Op[] = specs.map((s): Op => {
      const object = labelled(s.name, labelsOf(s.label), { v: String(s.value) });
      object.metadata.namespace = s.ns;
      switch (s.t) {
        case 'create': return { type: 'put', object, precondition: { absent: true } };
        case 'upsert': return { type: 'put', object };
        case 'update': return { type: 'put', object, precondition: { resourceVersion: rvOf(s) } };
        case 'delete': return { type: 'delete', kind: 'ConfigMap', namespace: s.ns, name: s.name };
        case 'deleteIfVersion': return { type: 'delete', kind: 'ConfigMap', namespace: s.ns, name: s.name, precondition: { resourceVersion: rvOf(s) } };
      }
    });
    const next = new Map(before);
    const rev = this.revision + 1;
    const events: Seen[] = [];
    for (const op of ops) {
      const ns = op.type === 'put' ? op.object.metadata.namespace! : op.namespace!;
      const name = op.type === 'put' ? op.object.metadata.name : op.name;
      const key = `${ns}/${name}`;
      const cur = next.get(key);
      const p = op.precondition;
      if (p && 'absent' in p && cur) return { ops, error: 'ALREADY_EXISTS' };
      if (p && 'resourceVersion' in p && !cur) return { ops, error: 'NOT_FOUND' };
      if (p && 'resourceVersion' in p && cur!.rv !== p.resourceVersion) return { ops, error: 'CONFLICT' };
      if (op.type === 'put') {
        const value = (op.object.data as { v: string }).v;
        const label = op.object.metadata.labels?.app;
        next.set(key, { value, rv: String(rev), label });
        const previous = cur && cur.label !== label ? JSON.stringify(labelsOf(cur.label) ?? {}) : '';
        events.push([cur ? 'MODIFIED' : 'ADDED', rev, ns, name, String(rev), value, previous]);
      } else {
        if (!cur) return { ops, error: 'NOT_FOUND' };
        next.delete(key);
        events.push(['DELETED', rev, ns, name, String(rev), cur.value, '']);
      }
    }
    this.objects = next;
    this.revision = rev;
    this.states.push(next);
    this.history.push(...(events as (Seen & { length: 7 })[]));
    return { ops };
  }
}

interface Watcher {
  from: number;
  ns?: string;
  got: Seen[];
  /** With a label selector: the client's view, key → resourceVersion, and what went wrong keeping it. */
  sel?: string;
  view?: Map<string, string>;
  problems?: string[];
}

/** The objects of `state` a watcher sees: its namespace and, with a selector, app=<sel>. */
function visible(state: Map<string, ModelObject>, w: Watcher): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, o] of state) {
    if (w.ns !== undefined && !k.startsWith(`${w.ns}/`)) continue;
    if (w.sel !== undefined && o.label !== w.sel) continue;
    out.set(k, o.rv);
  }
  return out;
}

/** Applies a watch event to a client's view the way a client must be able to: strictly. */
function track(w: Watcher, e: StoreEvent): void {
  const type = selectedEventType(e, parseSelector(`app=${w.sel}`));
  if (type === undefined) return;
  const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
  const has = w.view!.has(key);
  if (type === 'ADDED' ? has : !has) w.problems!.push(`${type} ${key} at ${e.revision} with the view holding it: ${has}`);
  if (type === 'DELETED') w.view!.delete(key);
  else w.view!.set(key, e.object.metadata.resourceVersion!);
}

async function run(store: Store, model: Model, actions: Action[]): Promise<Watcher[]> {
  const watchers: Watcher[] = [];
  for (const act of actions) {
    if (act.a === 'watch') {
      const from = act.from % (model.revision + 2);
      const w: Watcher = { from: from === 0 ? model.revision : from, ns: act.ns, got: [], sel: act.sel };
      if (from !== 0 && from < model.oldest()) {
        assert.throws(() => store.watch({ fromRevision: from }, () => {}), (e) => isBrambleError(e, 'STORE_REVISION_TOO_OLD'));
        continue;
      }
      // A watch from a revision still to come skips the writes before it: no view can be kept from it.
      if (w.from > model.revision) w.sel = undefined;
      if (w.sel !== undefined) {
        w.view = visible(model.states[w.from]!, w);
        w.problems = [];
      }
      store.watch({ kind: 'ConfigMap', namespace: act.ns, fromRevision: from }, (e) => {
        w.got.push(seen(e));
        if (w.sel !== undefined) track(w, e);
      });
      watchers.push(w);
      continue;
    }
    const { ops, error } = model.apply(act.ops);
    if (error) {
      await assert.rejects(store.propose({ ops }), (e) => isBrambleError(e, error));
    } else {
      assert.equal((await store.propose({ ops })).revision, model.revision);
    }
  }
  return watchers;
}

async function checkState(store: Store, model: Model): Promise<void> {
  assert.equal(store.revision(), model.revision);
  assert.equal(store.oldestResumableRevision(), model.oldest());
  const actual = store.list('ConfigMap').items.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, (o.data as { v: string }).v, o.metadata.resourceVersion]);
  const expected = [...model.objects].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, o]) => [k, o.value, o.rv]);
  assert.deepEqual(actual, expected);
}

async function checkWatchers(watchers: Watcher[], model: Model): Promise<void> {
  for (const w of watchers) {
    const want = model.history.filter((e) => e[1] > w.from && (w.ns === undefined || e[2] === w.ns));
    await waitFor(() => w.got.length >= want.length, `watcher from ${w.from} to receive ${want.length} events`);
    assert.deepEqual(w.got, want);
    if (w.view) {
      assert.deepEqual(w.problems, []);
      assert.deepEqual([...w.view].sort(), [...visible(model.objects, w)].sort(), `the view of a watcher of app=${w.sel} from ${w.from}`);
    }
  }
}

const scenario = fc.record({
  retain: fc.constantFrom(3, 10, 10_000),
  actions: fc.array(actionArb, { minLength: 1, maxLength: 40 }),
});

describe('random histories', () => {
  test('the memory store matches the model and every watcher sees exactly the history after its revision', async () => {
    await fc.assert(fc.asyncProperty(scenario, async ({ retain, actions }) => {
      const store = createMemoryStore({ retainEvents: retain });
      try {
        const model = new Model(retain);
        const watchers = await run(store, model, actions);
        await checkState(store, model);
        await checkWatchers(watchers, model);
      } finally {
        await store.close();
      }
    }), { numRuns: 150 });
  });

  test('the LevelDB store matches the model, before and after reopening', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bramble-store-prop-'));
    let n = 0;
    try {
      await fc.assert(fc.asyncProperty(scenario, async ({ retain, actions }) => {
        const opts = { dataDir: join(dataDir, String(n++)), retainEvents: retain, sync: false };
        const store = await openLevelStore(opts);
        const model = new Model(retain);
        try {
          const watchers = await run(store, model, actions);
          await checkState(store, model);
          await checkWatchers(watchers, model);
        } finally {
          await store.close();
        }
        const reopened = await openLevelStore(opts);
        try {
          await checkState(reopened, model);
          // fromRevision 0 means "from now", so replay is checked from revision 1 at the earliest.
          const w: Watcher = { from: Math.max(1, model.oldest()), got: [] };
          reopened.watch({ fromRevision: w.from }, (e) => w.got.push(seen(e)));
          await checkWatchers([w], model);
        } finally {
          await reopened.close();
        }
      }), { numRuns: 40 });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
