import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import type { EventObject } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Command, CommitResult, Store } from '../store/store.js';
import { EventTtlController } from './controller-event-ttl.js';

function makeEvent(name: string, last: number): EventObject {
  const t = new Date(last).toISOString();
  return {
    apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default', uid: `uid-${name}` },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web' }, reason: 'Started', message: 'Started', type: 'Normal',
    count: 1, firstTimestamp: t, lastTimestamp: t,
  };
}

function counting(store: Store): Store & { proposes: number } {
  const s = Object.create(store) as Store & { proposes: number };
  s.proposes = 0;
  s.propose = (c: Command): Promise<CommitResult> => {
    s.proposes++;
    return store.propose(c);
  };
  return s;
}

describe('EventTtlController', () => {
  test('deletes Events last seen more than the TTL ago, and keeps the others', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore();
    const now = clock.now();
    await store.propose({ ops: [
      { type: 'put', object: makeEvent('old', now - 61 * 60_000) },
      { type: 'put', object: makeEvent('recent', now - 10 * 60_000) },
    ] });
    const ttl = new EventTtlController({ store, clock });
    assert.equal(await ttl.sweep(), 1);
    assert.deepEqual(store.list('Event').items.map((e) => e.metadata.name), ['recent']);
  });

  test('expired Events are deleted in batches, one propose per batch', async () => {
    const clock = new FakeClock();
    const inner = createMemoryStore();
    const ops = Array.from({ length: 250 }, (_, i) => ({ type: 'put' as const, object: makeEvent(`e${i}`, clock.now()) }));
    await inner.propose({ ops });
    const store = counting(inner);
    const ttl = new EventTtlController({ store, clock, ttlMs: 60 * 60_000, batchSize: 100 });
    await clock.advance(60 * 60_000);
    assert.equal(await ttl.sweep(), 250);
    assert.equal(store.proposes, 3);
    assert.equal(store.list('Event').items.length, 0);
  });

  test('once started, the sweep runs on the clock until stopped', async () => {
    const clock = new FakeClock();
    const store = createMemoryStore();
    await store.propose({ ops: [{ type: 'put', object: makeEvent('a', clock.now()) }] });
    const ttl = new EventTtlController({ store, clock, ttlMs: 10 * 60_000 });
    ttl.start();
    await clock.advance(9 * 60_000);
    assert.equal(store.list('Event').items.length, 1);
    await clock.advance(2 * 60_000);
    assert.equal(store.list('Event').items.length, 0);
    await ttl.stop();
    assert.equal(clock.pendingCount, 0);
  });

  test('a TTL that is not a positive duration is refused', () => {
    assert.throws(() => new EventTtlController({ store: createMemoryStore(), clock: new FakeClock(), ttlMs: 0 }), /positive duration: current value is 0/);
  });
});
