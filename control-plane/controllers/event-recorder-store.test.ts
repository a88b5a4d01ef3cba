import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import type { EventObject, KObject, Pod } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Command, CommitResult, Store } from '../store/store.js';
import { EventSink, type EventSinkOptions } from './event-recorder-store.js';
import { LruMap } from './lru-map.js';

function pod(name: string, namespace = 'default'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, uid: `uid-${name}` }, spec: { containers: [{ name: 'main', image: 'busybox' }] } };
}

/** A store that counts its proposes and can be told to fail them. */
function countingStore(): Store & { proposes: number; failing: boolean } {
  const inner = createMemoryStore();
  const s = Object.create(inner) as Store & { proposes: number; failing: boolean };
  s.proposes = 0;
  s.failing = false;
  s.propose = async (c: Command): Promise<CommitResult> => {
    s.proposes++;
    if (s.failing) throw new BrambleError('STORE_FAILED', 'the disk is gone');
    return inner.propose(c);
  };
  return s;
}

function setup(opts: Partial<EventSinkOptions> = {}) {
  const store = countingStore();
  const clock = new FakeClock();
  const sink = new EventSink({ store, clock, ...opts });
  return { store, clock, sink };
}

function events(store: Store): EventObject[] {
  return store.list('Event').items as EventObject[];
}

describe('EventSink', () => {
  test('a first event becomes an Event named after its object, with the source and a count of 1', async () => {
    const { store, clock, sink } = setup();
    sink.recorder('default-scheduler').event(pod('web-abc'), 'Warning', 'FailedScheduling', '0/0 nodes are available');
    assert.equal(events(store).length, 0, 'nothing is written before the batch delay');
    await clock.advance(1_000);
    const [e] = events(store);
    assert.ok(e);
    assert.match(e.metadata.name, /^web-abc\.[0-9a-f]+$/);
    assert.equal(e.metadata.namespace, 'default');
    assert.deepEqual(e.involvedObject, { kind: 'Pod', namespace: 'default', name: 'web-abc', uid: 'uid-web-abc', apiVersion: 'v1' });
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'FailedScheduling');
    assert.equal(e.count, 1);
    assert.deepEqual(e.source, { component: 'default-scheduler' });
    assert.equal(e.firstTimestamp, e.lastTimestamp);
  });

  test('an event recorded 100 times in 10 minutes is one Event with count 100, written a handful of times', async () => {
    const { store, clock, sink } = setup();
    const rec = sink.recorder('kubelet', 'pi-1');
    for (let i = 0; i < 100; i++) {
      rec.event(pod('crash'), 'Warning', 'BackOff', 'Back-off restarting failed container main');
      await clock.advance(6_000);
    }
    await clock.advance(60_000);
    const all = events(store);
    assert.equal(all.length, 1);
    assert.equal(all[0]!.count, 100);
    assert.ok(store.proposes <= 12, `one write per minute at most: ${store.proposes} writes`);
    assert.ok(Date.parse(all[0]!.lastTimestamp) - Date.parse(all[0]!.firstTimestamp) === 99 * 6_000);
  });

  test('events of one burst go to the store in one propose', async () => {
    const { store, clock, sink } = setup();
    const rec = sink.recorder('replicaset-controller');
    for (let i = 0; i < 10; i++) rec.event(pod(`web-${i}`), 'Normal', 'SuccessfulCreate', `Created pod: web-${i}`);
    await clock.advance(1_000);
    assert.equal(events(store).length, 10);
    assert.equal(store.proposes, 1);
  });

  test('a different message, reason, type or source makes a separate Event', async () => {
    const { store, clock, sink } = setup();
    const p = pod('web');
    sink.recorder('kubelet').event(p, 'Normal', 'Started', 'Started container a');
    sink.recorder('kubelet').event(p, 'Normal', 'Started', 'Started container b');
    sink.recorder('kubelet').event(p, 'Normal', 'Killing', 'Started container a');
    sink.recorder('kubelet').event(p, 'Warning', 'Started', 'Started container a');
    sink.recorder('other').event(p, 'Normal', 'Started', 'Started container a');
    await clock.advance(1_000);
    assert.equal(events(store).length, 5);
  });

  test('a cluster-scoped object has its Events in the default namespace', async () => {
    const { store, clock, sink } = setup();
    const node: KObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1', uid: 'n1' } };
    sink.recorder('node-controller').event(node, 'Normal', 'NodeReady', 'Node pi-1 status is now: NodeReady');
    await clock.advance(1_000);
    assert.equal(events(store)[0]!.metadata.namespace, 'default');
    assert.equal(events(store)[0]!.involvedObject.namespace, undefined);
  });

  test('the spam filter lets 25 distinct Events about one object through, then one per 5 minutes', async () => {
    const { store, clock, sink } = setup();
    const rec = sink.recorder('kubelet');
    for (let i = 0; i < 30; i++) rec.event(pod('noisy'), 'Normal', 'Pulled', `image ${i}`);
    rec.event(pod('quiet'), 'Normal', 'Pulled', 'image 0');
    await clock.advance(1_000);
    assert.equal(events(store).filter((e) => e.involvedObject.name === 'noisy').length, 25);
    assert.equal(events(store).filter((e) => e.involvedObject.name === 'quiet').length, 1, 'another object has its own bucket');
    assert.equal(sink.stats.dropped, 5);
    await clock.advance(5 * 60_000);
    rec.event(pod('noisy'), 'Normal', 'Pulled', 'image 100');
    rec.event(pod('noisy'), 'Normal', 'Pulled', 'image 101');
    await clock.advance(1_000);
    assert.equal(events(store).filter((e) => e.involvedObject.name === 'noisy').length, 26);
  });

  test('repeats of a counted Event are not spam-filtered', async () => {
    const { store, clock, sink } = setup();
    const rec = sink.recorder('kubelet');
    for (let i = 0; i < 200; i++) rec.event(pod('crash'), 'Warning', 'BackOff', 'Back-off');
    await clock.advance(1_000);
    assert.equal(events(store)[0]!.count, 200);
  });

  test('a repeat after the aggregation window starts a new Event', async () => {
    const { store, clock, sink } = setup({ aggregateWindowMs: 10 * 60_000 });
    const rec = sink.recorder('kubelet');
    rec.event(pod('web'), 'Normal', 'Started', 'Started container main');
    await clock.advance(11 * 60_000);
    rec.event(pod('web'), 'Normal', 'Started', 'Started container main');
    await clock.advance(1_000);
    assert.deepEqual(events(store).map((e) => e.count), [1, 1]);
  });

  test('an Event pushed out of the bounded cache is still written, as long as the bounded backlog has room', async () => {
    const { store, clock, sink } = setup({ cacheSize: 2 });
    const rec = sink.recorder('replicaset-controller');
    for (let i = 0; i < 5; i++) rec.event(pod(`web-${i}`), 'Normal', 'SuccessfulCreate', 'Created');
    assert.equal(sink.pendingCount(), 4, 'two in the cache, two pushed out: the third pushed out is dropped');
    assert.equal(sink.stats.dropped, 1);
    await clock.advance(1_000);
    assert.equal(events(store).length, 4);
    assert.equal(sink.pendingCount(), 0);
  });

  test('a failed write never throws to the caller and is retried at the next interval', async () => {
    const { store, clock, sink } = setup();
    store.failing = true;
    const rec = sink.recorder('kubelet');
    rec.event(pod('web'), 'Warning', 'Unhealthy', 'Liveness probe failed');
    await clock.advance(1_000);
    assert.equal(sink.stats.failedWrites, 1);
    store.failing = false;
    rec.event(pod('web'), 'Warning', 'Unhealthy', 'Liveness probe failed');
    await clock.advance(60_000);
    assert.equal(events(store).length, 1);
    assert.equal(events(store)[0]!.count, 2);
  });

  test('close writes what is pending at once and then takes no more events', async () => {
    const { store, clock, sink } = setup();
    const rec = sink.recorder('kubelet');
    rec.event(pod('web'), 'Normal', 'Killing', 'Stopping container main');
    await sink.close();
    assert.equal(events(store).length, 1);
    rec.event(pod('web'), 'Normal', 'Killing', 'Stopping container other');
    await clock.advance(120_000);
    assert.equal(events(store).length, 1);
    assert.equal(clock.pendingCount, 0);
  });
});

describe('LruMap', () => {
  test('forgets the least recently used entry first', () => {
    const evicted: string[] = [];
    const m = new LruMap<string, number>(2, (k) => evicted.push(k));
    m.set('a', 1);
    m.set('b', 2);
    m.get('a');
    m.set('c', 3);
    assert.deepEqual(evicted, ['b']);
    assert.equal(m.size, 2);
  });
});
