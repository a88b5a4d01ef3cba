import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import type { KObject } from '../../proto/model.js';
import { runWorkers, WorkQueue } from '../../proto/util/work-queue.js';
import { makePod } from '../testing/scheduler-fixtures.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { keyOf, splitKey } from './informer.js';
import { AlwaysLeader, type Leadership } from './leadership.js';
import { ControllerManager, type Controller, type ControllerContext } from './manager.js';
import type { SharedInformers } from './shared-informers.js';

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Leadership that a test hands out and takes away. */
class ManualLeadership implements Leadership {
  private readonly listeners = new Set<(leader: boolean) => void>();
  constructor(private leader: boolean) {}
  isLeader(): boolean {
    return this.leader;
  }
  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(leader: boolean): void {
    this.leader = leader;
    for (const l of this.listeners) l(leader);
  }
}

/** Labels each Pod it reconciles with its own name: one propose per reconcile. */
class LabellingController implements Controller {
  starts = 0;
  stops = 0;
  reconciles = 0;
  readonly terms: SharedInformers[] = [];
  /** While set, reconciles wait for it before writing. */
  gate: Promise<void> | undefined;
  private queue: WorkQueue | undefined;
  private running: Promise<void> | undefined;

  constructor(readonly name: string, private readonly store: Store, private readonly clock: FakeClock) {}

  start(ctx: ControllerContext): void {
    this.starts++;
    this.terms.push(ctx.informers);
    const queue = (this.queue = new WorkQueue(this.clock));
    const pods = ctx.informers.informer('Pod');
    const enqueue = (o: KObject) => queue.add(keyOf(o));
    pods.addEventHandler({ onAdd: enqueue, onUpdate: (_old, o) => enqueue(o) });
    this.running = (async () => {
      if (!(await ctx.informers.waitForSync(ctx.signal))) return;
      await runWorkers(queue, (key) => this.reconcile(key), 2);
    })();
  }

  async stop(): Promise<void> {
    this.queue?.shutdown();
    await this.running;
    this.stops++;
  }

  private async reconcile(key: string): Promise<void> {
    this.reconciles++;
    await this.gate;
    const { namespace, name } = splitKey(key);
    const pod = this.store.get('Pod', namespace, name);
    if (!pod || pod.metadata.labels?.[this.name]) return;
    await this.store.propose({ ops: [{
      type: 'put',
      object: { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, [this.name]: 'seen' } } },
      precondition: { resourceVersion: pod.metadata.resourceVersion! },
    }] });
  }
}

function setup(t: TestContext, leadership: Leadership = new AlwaysLeader(), count = 2) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  const controllers = Array.from({ length: count }, (_, i) => new LabellingController(`c${i + 1}`, store, clock));
  const manager = new ControllerManager({ store, clock, leadership, controllers });
  t.after(async () => {
    await manager.stop();
    await store.close();
  });
  const labels = (name: string) => Object.keys(store.get('Pod', 'default', name)?.metadata.labels ?? {}).sort();
  return { store, clock, controllers, manager, labels };
}

async function create(store: Store, ...names: string[]): Promise<void> {
  await store.propose({ ops: names.map((n) => ({ type: 'put' as const, object: makePod(n), precondition: { absent: true as const } })) });
}

describe('controller manager', () => {
  test('starts every controller together on one shared informer per kind and stops them all', async (t) => {
    const { store, controllers, manager, labels } = setup(t);
    await create(store, 'a');
    await manager.start();
    assert.equal(manager.running, true);
    const [c1, c2] = controllers;
    assert.equal(c1!.terms[0], c2!.terms[0], 'both controllers got the same informers');
    assert.deepEqual(c1!.terms[0]!.kinds(), ['Pod']);
    await settle();
    assert.deepEqual(labels('a'), ['c1', 'c2']);
    await manager.stop();
    assert.equal(manager.running, false);
    assert.deepEqual(controllers.map((c) => [c.starts, c.stops]), [[1, 1], [1, 1]]);
    await create(store, 'b');
    await settle();
    assert.deepEqual(labels('b'), [], 'nothing reconciles after stop');
  });

  test('a replica that does not lead runs no controller until it becomes the leader', async (t) => {
    const leadership = new ManualLeadership(false);
    const { store, controllers, manager, labels } = setup(t, leadership);
    await manager.start();
    await create(store, 'a');
    await settle();
    assert.equal(manager.running, false);
    assert.deepEqual(controllers.map((c) => c.starts), [0, 0]);
    assert.deepEqual(labels('a'), []);
    leadership.set(true);
    await manager.whenSettled();
    await settle();
    assert.deepEqual(labels('a'), ['c1', 'c2']);
  });

  test('losing leadership stops every controller; regaining it starts them again with fresh informers', async (t) => {
    const leadership = new ManualLeadership(true);
    const { store, controllers, manager, labels } = setup(t, leadership);
    await manager.start();
    const first = controllers[0]!.terms[0]!;
    leadership.set(false);
    await manager.whenSettled();
    assert.equal(manager.running, false);
    assert.deepEqual(controllers.map((c) => [c.starts, c.stops]), [[1, 1], [1, 1]]);

    await create(store, 'while-following');
    await settle();
    assert.deepEqual(labels('while-following'), [], 'a follower writes nothing');
    assert.equal(first.informer('Pod').get('default/while-following'), undefined, 'the old term\'s informer stopped watching');

    leadership.set(true);
    await manager.whenSettled();
    await settle();
    const second = controllers[0]!.terms[1]!;
    assert.notEqual(second, first);
    assert.equal(second, controllers[1]!.terms[1]);
    assert.deepEqual(labels('while-following'), ['c1', 'c2'], 'the new term lists what it missed');
    assert.equal(manager.termCount, 2);
  });

  test('stopping waits for the reconcile in flight, which commits whole', async (t) => {
    const { store, controllers, manager, labels } = setup(t, new AlwaysLeader(), 1);
    const c1 = controllers[0]!;
    let release!: () => void;
    c1.gate = new Promise((r) => (release = r));
    await manager.start();
    await create(store, 'a');
    await settle();
    assert.equal(c1.reconciles, 1);
    let stopped = false;
    const stopping = manager.stop().then(() => (stopped = true));
    await settle();
    assert.equal(stopped, false, 'stop is still waiting for the reconcile');
    release();
    await stopping;
    assert.deepEqual(labels('a'), ['c1'], 'the reconcile in flight finished its one propose');
    assert.equal(c1.stops, 1);
  });

  test('a leadership flap ends the term and starts one fresh term, never overlapping the old one', async (t) => {
    const leadership = new ManualLeadership(true);
    const { store, controllers, manager } = setup(t, leadership, 1);
    const c1 = controllers[0]!;
    let release!: () => void;
    c1.gate = new Promise((r) => (release = r));
    await manager.start();
    await create(store, 'a');
    await settle();
    leadership.set(false);
    leadership.set(true);
    leadership.set(false);
    leadership.set(true);
    await settle();
    assert.deepEqual([c1.starts, c1.stops], [1, 0], 'the stop waits for the reconcile; no second start overlaps it');
    c1.gate = undefined;
    release();
    await manager.whenSettled();
    assert.equal(manager.running, true);
    assert.deepEqual([c1.starts, c1.stops], [2, 1]);
  });

  test('a controller that fails to start does not keep the others from running', async (t) => {
    const { store, controllers, manager, labels } = setup(t);
    controllers[0]!.start = () => { throw new Error('broken'); };
    await create(store, 'a');
    await manager.start();
    await settle();
    assert.deepEqual(labels('a'), ['c2']);
    await manager.stop();
    assert.equal(controllers[1]!.stops, 1);
  });

  test('two controllers may not share a name', () => {
    const store = createMemoryStore();
    const clock = new FakeClock();
    const c = new LabellingController('same', store, clock);
    assert.throws(() => new ControllerManager({ store, clock, leadership: new AlwaysLeader(), controllers: [c, c] }), /two controllers are named "same"/);
  });
});
