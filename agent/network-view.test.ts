import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import { FakeClock } from '../proto/util/clock.js';
import type { KObject } from '../proto/model.js';
import { NetworkView, parseNetworkEvent, type NetworkSnapshot } from './network-view.js';

class FakeStream extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
  send(type: string, object?: KObject | string): void {
    this.emit('data', { type, object: object === undefined ? '' : typeof object === 'string' ? object : JSON.stringify(object), revision: 1 });
  }
}

function fakeClient() {
  const streams: FakeStream[] = [];
  const requests: unknown[] = [];
  const client = {
    WatchNetwork: (req: unknown) => {
      requests.push(req);
      const s = new FakeStream();
      streams.push(s);
      return s;
    },
  } as unknown as Pick<NodeClient, 'WatchNetwork'>;
  return { client, streams, requests };
}

const node = (name: string, podCIDR?: string): KObject => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: podCIDR ? { podCIDR } : {}, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] },
} as KObject);
const service = (name: string, ns = 'default'): KObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port: 80 }] } } as KObject);
const endpoints = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'default' }, subsets: [] } as KObject);

function setup(debounceMs = 100) {
  const clock = new FakeClock();
  const { client, streams, requests } = fakeClient();
  const view = new NetworkView({ client, nodeName: 'a', clock, debounceMs });
  const seen: NetworkSnapshot[] = [];
  view.onChange((s) => seen.push(s));
  view.start();
  return { clock, view, streams, requests, seen };
}

const names = (s: NetworkSnapshot) => ({ nodes: s.nodes.map((n) => n.metadata.name), services: s.services.map((x) => x.metadata.name), endpoints: s.endpoints.map((x) => x.metadata.name) });

describe('NetworkView', () => {
  test('asks for the network of its own node and is empty and not synced before SYNCED', async () => {
    const { view, streams, requests, seen, clock } = setup();
    assert.deepEqual(requests, [{ nodeName: 'a' }]);
    streams[0]!.send('SYNC', node('a', '10.42.0.0/24'));
    await clock.advance(500);
    assert.deepEqual(seen, []);
    assert.equal(view.snapshot().synced, false);
    assert.deepEqual(view.snapshot().nodes, []);
  });

  test('SYNC … SYNCED becomes the view, and listeners get one snapshot of it', async () => {
    const { view, streams, seen, clock } = setup();
    const s = streams[0]!;
    s.send('SYNC', node('b', '10.42.1.0/24'));
    s.send('SYNC', node('a', '10.42.0.0/24'));
    s.send('SYNC', service('web'));
    s.send('SYNC', endpoints('web'));
    s.send('SYNCED');
    await clock.advance(100);
    assert.equal(seen.length, 1);
    assert.deepEqual(names(seen[0]!), { nodes: ['a', 'b'], services: ['web'], endpoints: ['web'] });
    assert.equal(seen[0]!.synced, true);
    assert.equal(view.snapshot(), seen[0], 'the snapshot is kept until the next change');
  });

  test('a burst of changes reaches listeners as one debounced snapshot', async () => {
    const { streams, seen, clock } = setup();
    const s = streams[0]!;
    s.send('SYNCED');
    await clock.advance(100);
    s.send('ADDED', service('a'));
    s.send('ADDED', service('b'));
    s.send('MODIFIED', service('a'));
    await clock.advance(50);
    assert.equal(seen.length, 1);
    await clock.advance(50);
    assert.equal(seen.length, 2);
    assert.deepEqual(names(seen[1]!).services, ['a', 'b']);
    s.send('DELETED', service('a'));
    await clock.advance(100);
    assert.deepEqual(names(seen[2]!).services, ['b']);
  });

  test('a reconnect\'s SYNC replaces the view: what was deleted meanwhile disappears, the old view serves until SYNCED', async () => {
    const { view, streams, seen, clock } = setup();
    streams[0]!.send('SYNC', node('b', '10.42.1.0/24'));
    streams[0]!.send('SYNC', node('c', '10.42.2.0/24'));
    streams[0]!.send('SYNCED');
    await clock.advance(100);
    streams[0]!.emit('error', new Error('unavailable'));
    await clock.advance(499);
    assert.equal(streams.length, 1, 'the reconnect waits for its back-off');
    await clock.advance(1);
    assert.equal(streams.length, 2);
    streams[1]!.send('SYNC', node('b', '10.42.1.0/24'));
    await clock.advance(100);
    assert.deepEqual(names(view.snapshot()).nodes, ['b', 'c'], 'the last complete view serves while the new one arrives');
    streams[1]!.send('SYNCED');
    await clock.advance(100);
    assert.deepEqual(names(seen.at(-1)!).nodes, ['b']);
  });

  test('back-off grows while the control plane stays away and resets once it answers', async () => {
    const { streams, clock } = setup();
    streams[0]!.emit('end');
    await clock.advance(500);
    streams[1]!.emit('error', new Error('down'));
    await clock.advance(999);
    assert.equal(streams.length, 2);
    await clock.advance(1);
    assert.equal(streams.length, 3);
    streams[2]!.send('SYNCED');
    streams[2]!.emit('end');
    await clock.advance(500);
    assert.equal(streams.length, 4);
  });

  test('a bad message is skipped and the stream goes on', async () => {
    const { streams, seen, clock } = setup();
    const s = streams[0]!;
    s.send('SYNCED');
    s.send('ADDED', '{not json');
    s.send('ADDED', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } } as KObject);
    s.send('BOGUS', service('x'));
    s.send('ADDED', service('ok'));
    await clock.advance(100);
    assert.deepEqual(names(seen.at(-1)!).services, ['ok']);
  });

  test('a listener that throws does not keep the others from the snapshot, and a removed listener hears nothing', async () => {
    const { view, streams, seen, clock } = setup();
    view.onChange(() => {
      throw new Error('bug');
    });
    const other: NetworkSnapshot[] = [];
    const off = view.onChange((s) => other.push(s));
    streams[0]!.send('SYNCED');
    await clock.advance(100);
    assert.equal(seen.length, 1);
    assert.equal(other.length, 1);
    off();
    streams[0]!.send('ADDED', service('x'));
    await clock.advance(100);
    assert.equal(other.length, 1);
    assert.equal(seen.length, 2);
  });

  test('stop cancels the stream and no reconnect follows', async () => {
    const { view, streams, clock } = setup();
    view.stop();
    assert.equal(streams[0]!.cancelled, true);
    streams[0]!.emit('error', new Error('cancelled'));
    await clock.advance(60_000);
    assert.equal(streams.length, 1);
  });

  test('parseNetworkEvent names what is wrong', () => {
    assert.throws(() => parseNetworkEvent({ type: 'ADDED', object: JSON.stringify({ kind: 'Service', metadata: {} }), revision: 1 }), /Service metadata\.name must be a non-empty string/);
    assert.throws(() => parseNetworkEvent({ type: 'NOPE', object: '', revision: 1 }), /type must be SYNC, SYNCED, ADDED, MODIFIED or DELETED: current value is "NOPE"/);
    assert.deepEqual(parseNetworkEvent({ type: 'SYNCED', object: '', revision: 3 }), { type: 'SYNCED' });
  });
});
