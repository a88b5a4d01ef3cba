import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import { FakeClock } from '../proto/clock.js';
import { silentLogger } from '../proto/log.js';
import type { Pod } from '../proto/model.js';
import { AgentSession, type DesiredState } from './agent-session.js';

class FakeStream extends EventEmitter {
  written: unknown[] = [];
  cancelled = false;
  write(m: unknown): boolean {
    this.written.push(m);
    return true;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

type Callback = (err: Error | null, res?: object) => void;

function fakeClient(opts: { heartbeatFails?: () => boolean; statusFails?: () => boolean } = {}) {
  const watches: FakeStream[] = [];
  const tunnels: FakeStream[] = [];
  const statuses: { name: string; status: string; finalized: boolean }[] = [];
  let heartbeats = 0;
  const client = {
    Heartbeat: (_req: object, cb: Callback) => {
      heartbeats++;
      queueMicrotask(() => (opts.heartbeatFails?.() ? cb(new Error('unavailable')) : cb(null, {})));
    },
    UpdatePodStatus: (req: { name: string; status: string; finalized: boolean }, cb: Callback) => {
      queueMicrotask(() => {
        if (opts.statusFails?.()) return cb(new Error('unavailable'));
        statuses.push(req);
        cb(null, {});
      });
    },
    WatchAssignments: () => {
      const s = new FakeStream();
      watches.push(s);
      return s;
    },
    Tunnel: () => {
      const s = new FakeStream();
      tunnels.push(s);
      return s;
    },
  } as unknown as NodeClient;
  return { client, watches, tunnels, statuses, heartbeatCount: () => heartbeats };
}

const pod = (name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { containers: [] } });
const event = (type: string, obj?: object) => ({ type, object: obj ? JSON.stringify(obj) : '', revision: 1 });

function session(fake: ReturnType<typeof fakeClient>, clock: FakeClock, seen: { state: DesiredState; synced: boolean }[]) {
  return new AgentSession({
    client: fake.client, nodeName: 'pi-1', clock, logger: silentLogger(), heartbeatIntervalMs: 10_000,
    heartbeat: async () => ({ nodeName: 'pi-1' }),
    onDesired: (state, synced) => seen.push({ state, synced }),
    tunnel: { logs: async function* () {}, importImage: async () => [], podFigures: async () => [] },
  });
}

describe('AgentSession', () => {
  test('the assigned set is handed over only once the control plane says it is complete, then on every change', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const seen: { state: DesiredState; synced: boolean }[] = [];
    const s = session(fake, clock, seen);
    s.start();
    const w = fake.watches[0]!;
    w.emit('data', event('SYNC', pod('a')));
    assert.equal(seen.length, 0);
    w.emit('data', event('SYNCED'));
    w.emit('data', event('ADDED', pod('b')));
    w.emit('data', event('DELETED', pod('a')));
    assert.deepEqual(seen.map((x) => [x.synced, x.state.pods.map((p) => p.metadata.name)]), [[true, ['a']], [true, ['a', 'b']], [true, ['b']]]);
    s.stop();
  });

  test('a broken assignment stream is opened again after a back-off, starting from a fresh sync', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const s = session(fake, clock, []);
    s.start();
    fake.watches[0]!.emit('error', new Error('server went away'));
    assert.equal(fake.watches.length, 1);
    await clock.advance(499);
    assert.equal(fake.watches.length, 1);
    await clock.advance(1);
    assert.equal(fake.watches.length, 2);
    s.stop();
  });

  test('heartbeats go out at start and every interval, whether or not the last one got through', async () => {
    let down = true;
    const fake = fakeClient({ heartbeatFails: () => down });
    const clock = new FakeClock();
    const s = session(fake, clock, []);
    s.start();
    await clock.advance(0);
    assert.equal(s.connected, false);
    down = false;
    await clock.advance(10_000);
    assert.equal(fake.heartbeatCount(), 2);
    assert.equal(s.connected, true);
    s.stop();
  });

  test('pod status reports survive an outage, and only the newest status of a pod is sent', async () => {
    let down = true;
    const fake = fakeClient({ statusFails: () => down });
    const clock = new FakeClock();
    const s = session(fake, clock, []);
    s.reportStatus(pod('a'), { phase: 'Pending' });
    await clock.advance(0);
    s.reportStatus(pod('a'), { phase: 'Running' });
    await clock.advance(0);
    assert.equal(fake.statuses.length, 0);
    down = false;
    await clock.advance(2_000);
    assert.deepEqual(fake.statuses.map((x) => [x.name, JSON.parse(x.status).phase]), [['a', 'Running']]);
    s.stop();
  });

  test('the tunnel introduces the node first and answers a logs request with data then done', async () => {
    const fake = fakeClient();
    const clock = new FakeClock();
    const s = new AgentSession({
      client: fake.client, nodeName: 'pi-1', clock, logger: silentLogger(), heartbeatIntervalMs: 10_000,
      heartbeat: async () => ({ nodeName: 'pi-1' }),
      onDesired: () => undefined,
      tunnel: {
        logs: async function* () { yield Buffer.from('line 1\n'); },
        importImage: async () => [],
        podFigures: async () => [],
      },
    });
    s.start();
    const t = fake.tunnels[0]!;
    assert.deepEqual(t.written[0], { nodeName: 'pi-1' });
    t.emit('data', { requestId: 7, logs: { namespace: 'default', pod: 'a', container: 'c', follow: false, tailLines: -1 } });
    await clock.advance(0);
    assert.deepEqual(t.written.slice(1), [{ requestId: 7, data: Buffer.from('line 1\n') }, { requestId: 7, done: true }]);
    s.stop();
  });
});
