import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import type { EventObject, Pod } from '../../proto/model.js';
import type { PodEventReport__Output } from '../../proto/types.js';
import { createMemoryStore } from '../store/store-memory.js';
import { EventSink } from '../controllers/event-recorder-store.js';
import { recordNodeEvents } from './api-node-events.js';

function pod(name: string, nodeName: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { nodeName, containers: [{ name: 'main', image: 'busybox' }] } };
}

function report(over: Partial<PodEventReport__Output> = {}): PodEventReport__Output {
  return {
    namespace: 'default', podName: 'web', podUid: 'uid-web', fieldPath: 'spec.containers{main}',
    type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container main', count: 1, ...over,
  };
}

async function setup() {
  const store = createMemoryStore();
  await store.propose({ ops: [{ type: 'put', object: pod('web', 'pi-1') }, { type: 'put', object: pod('other', 'pi-2') }] });
  const clock = new FakeClock();
  const sink = new EventSink({ store, clock });
  return { store, clock, sink };
}

describe('recordNodeEvents', () => {
  test("a node's events about its Pods become kubelet Events with the node as host and the folded count", async () => {
    const { store, clock, sink } = await setup();
    assert.equal(recordNodeEvents(store, sink, 'pi-1', [report({ count: 7 })]), 1);
    await clock.advance(1_000);
    const [e] = store.list('Event').items as EventObject[];
    assert.equal(e!.count, 7);
    assert.deepEqual(e!.source, { component: 'kubelet', host: 'pi-1' });
    assert.equal(e!.involvedObject.fieldPath, 'spec.containers{main}');
    assert.equal(e!.involvedObject.uid, 'uid-web');
  });

  test('an event about a Pod bound to another node is refused, and nothing of the report is kept', async () => {
    const { store, clock, sink } = await setup();
    assert.throws(() => recordNodeEvents(store, sink, 'pi-1', [report(), report({ podName: 'other', podUid: '' })]),
      (e: unknown) => isBrambleError(e, 'FORBIDDEN') && /node "pi-1" may not report events about pod "default\/other": it is bound to "pi-2"/.test(e.message));
    await clock.advance(1_000);
    assert.equal(store.list('Event').items.length, 0);
  });

  test('an event about a Pod gone or replaced under its name is skipped', async () => {
    const { store, sink } = await setup();
    assert.equal(recordNodeEvents(store, sink, 'pi-1', [report({ podName: 'gone' }), report({ podUid: 'uid-old' })]), 0);
  });

  test('a report breaking a limit is refused naming the field', async () => {
    const { store, sink } = await setup();
    const cases: [Partial<PodEventReport__Output>, RegExp][] = [
      [{ type: 'Error' }, /events\[0\]\.type: must be "Normal" or "Warning"/],
      [{ reason: 'back off' }, /events\[0\]\.reason: must be a CamelCase word/],
      [{ message: 'x'.repeat(1025) }, /events\[0\]\.message: must be no more than 1024 characters: current length is 1025/],
      [{ count: 0 }, /events\[0\]\.count: must be from 1 to/],
      [{ podName: '' }, /events\[0\]\.podName: required/],
      [{ fieldPath: 'f'.repeat(300) }, /events\[0\]\.fieldPath: must be no more than 256/],
    ];
    for (const [over, message] of cases) {
      assert.throws(() => recordNodeEvents(store, sink, 'pi-1', [report(over)]), (e: unknown) => isBrambleError(e, 'VALIDATION_FAILED') && message.test(e.message), message.source);
    }
    assert.throws(() => recordNodeEvents(store, sink, 'pi-1', Array.from({ length: 101 }, () => report())), /events: must hold no more than 100 events: current count is 101/);
  });
});
