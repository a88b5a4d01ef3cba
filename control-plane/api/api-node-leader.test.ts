import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { FakeClock } from '../../proto/util/clock.js';
import { fromServiceError, LEADER_ADDRESS_FIELD } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import { createMemoryStore } from '../store/store-memory.js';
import { TunnelRegistry } from '../nodes/node-tunnels.js';
import { nodeServiceHandlers, type NodeApiDeps, type NodeApiLeader } from './api-node.js';

/** A leadership a test flips by hand. */
class SwitchLeader implements NodeApiLeader {
  private readonly listeners = new Set<(leader: boolean) => void>();
  constructor(private leader: boolean) {}
  isLeader(): boolean {
    return this.leader;
  }
  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  describe(): string {
    return this.leader ? 'this member leads' : 'the leader is "pi-2" (10.0.0.2:7443)';
  }
  leaderAddress(): string | undefined {
    return this.leader ? undefined : '10.0.0.2:7443';
  }
  set(leader: boolean): void {
    this.leader = leader;
    for (const l of [...this.listeners]) l(leader);
  }
  subscribers(): number {
    return this.listeners.size;
  }
}

function deps(over: Partial<NodeApiDeps> = {}): NodeApiDeps {
  const store = createMemoryStore();
  const clock = new FakeClock();
  return {
    store, clock, logger: silentLogger(),
    join: {
      store, clock, clusterCidr: '10.42.0.0/16',
      verifyToken: async () => undefined,
      signNodeCsr: async () => 'CERT',
      csrKeyFingerprint: async () => 'fp',
    },
    caPem: 'CA', clusterCidr: '10.42.0.0/16', serviceCidr: '10.43.0.0/16', heartbeatIntervalSeconds: 10,
    identity: () => ({ kind: 'node', name: 'pi-1' }),
    heartbeats: { observe: () => undefined },
    tunnels: new TunnelRegistry(),
    ...over,
  };
}

/** A server call as grpc-js hands it to a handler: events, a request, and what the handler writes. */
class FakeCall extends EventEmitter {
  cancelled = false;
  readonly written: unknown[] = [];
  ended = false;
  constructor(readonly request: unknown = {}) {
    super();
  }
  getPeer(): string {
    return 'ipv4:10.0.0.9:50000';
  }
  getAuthContext(): ReturnType<grpc.ServerUnaryCall<unknown, unknown>['getAuthContext']> {
    return {};
  }
  write(m: unknown): boolean {
    this.written.push(m);
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

type AnyHandler = (call: unknown, callback?: (err: unknown, res?: unknown) => void) => void;

function callUnary(handler: unknown, request: unknown): Promise<{ err: unknown; res: unknown }> {
  return new Promise((resolve) => (handler as AnyHandler)(new FakeCall(request), (err, res) => resolve({ err, res })));
}

/** Resolves with the error the stream ends with (emitted on the call), or undefined when it ends cleanly. */
function streamEnd(call: FakeCall): Promise<unknown> {
  return new Promise((resolve) => {
    call.once('error', (e: unknown) => resolve(e));
    const poll = setInterval(() => {
      if (call.ended) {
        clearInterval(poll);
        resolve(undefined);
      }
    }, 5);
    call.once('error', () => clearInterval(poll));
  });
}

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function assertNotLeader(err: unknown): void {
  assert.ok(err, 'the call must fail');
  const be = fromServiceError(err);
  assert.equal(be.code, 'NOT_LEADER', be.message);
  assert.match(be.message, /does not lead and did not act on the request: the leader is "pi-2" \(10\.0\.0\.2:7443\)/);
  // The address as a field too: an agent that does not know the leader goes there next.
  assert.deepEqual(be.details, [{ path: LEADER_ADDRESS_FIELD, message: '10.0.0.2:7443' }]);
}

describe('Node service on a member that does not lead', () => {
  const unaryCalls: [string, unknown][] = [
    ['Join', { token: 't', nodeName: 'pi-1', csrPem: 'CSR' }],
    ['RenewCertificate', { csrPem: 'CSR' }],
    ['Heartbeat', { nodeName: 'pi-1', pods: [], portConflicts: [], addresses: [], labels: {} }],
    ['UpdatePodStatus', { namespace: 'default', name: 'web', uid: 'u', status: '{}', finalized: false }],
    ['RecordEvents', { nodeName: 'pi-1', events: [] }],
  ];
  for (const [method, request] of unaryCalls) {
    test(`${method} is refused with NOT_LEADER and nothing is written`, async () => {
      let observed = 0;
      const d = deps({ leader: new SwitchLeader(false), heartbeats: { observe: () => void observed++ } });
      const handlers = nodeServiceHandlers(d) as unknown as Record<string, unknown>;
      const { err } = await callUnary(handlers[method], request);
      assertNotLeader(err);
      assert.equal(observed, 0);
      assert.equal(d.store.list('Node').items.length, 0);
    });
  }

  for (const method of ['WatchAssignments', 'WatchNetwork']) {
    test(`${method} is refused with NOT_LEADER before anything is sent`, async () => {
      const handlers = nodeServiceHandlers(deps({ leader: new SwitchLeader(false) })) as unknown as Record<string, AnyHandler>;
      const call = new FakeCall({ nodeName: 'pi-1' });
      const ended = streamEnd(call);
      handlers[method]!(call);
      assertNotLeader(await ended);
      assert.equal(call.written.length, 0);
    });
  }

  test('Tunnel is refused with NOT_LEADER and no tunnel is registered', async () => {
    const d = deps({ leader: new SwitchLeader(false) });
    const call = new FakeCall();
    const ended = streamEnd(call);
    (nodeServiceHandlers(d).Tunnel as unknown as AnyHandler)(call);
    call.emit('data', { nodeName: 'pi-1' });
    assertNotLeader(await ended);
    assert.equal(d.tunnels.find('pi-1'), undefined);
  });
});

describe('Node service when leadership is lost', () => {
  test('an open WatchAssignments stream ends with NOT_LEADER, and unsubscribes', async () => {
    const leader = new SwitchLeader(true);
    const handlers = nodeServiceHandlers(deps({ leader })) as unknown as Record<string, AnyHandler>;
    const call = new FakeCall({ nodeName: 'pi-1' });
    const ended = streamEnd(call);
    handlers.WatchAssignments!(call);
    await waitFor('the SYNCED marker', () => call.written.some((m) => (m as { type: string }).type === 'SYNCED'));
    assert.equal(leader.subscribers(), 1);
    leader.set(false);
    assertNotLeader(await ended);
    assert.equal(leader.subscribers(), 0);
  });

  test('an open WatchNetwork stream ends with NOT_LEADER', async () => {
    const leader = new SwitchLeader(true);
    const handlers = nodeServiceHandlers(deps({ leader })) as unknown as Record<string, AnyHandler>;
    const call = new FakeCall({ nodeName: 'pi-1' });
    const ended = streamEnd(call);
    handlers.WatchNetwork!(call);
    await waitFor('the first message', () => call.written.length > 0);
    leader.set(false);
    assertNotLeader(await ended);
  });

  test('an open tunnel ends with NOT_LEADER and is removed from the registry', async () => {
    const leader = new SwitchLeader(true);
    const d = deps({ leader });
    const call = new FakeCall();
    const ended = streamEnd(call);
    (nodeServiceHandlers(d).Tunnel as unknown as AnyHandler)(call);
    call.emit('data', { nodeName: 'pi-1' });
    assert.ok(d.tunnels.find('pi-1'));
    leader.set(false);
    assertNotLeader(await ended);
    assert.equal(d.tunnels.find('pi-1'), undefined);
    assert.equal(leader.subscribers(), 0);
  });

  test('a stream closed by the agent stops listening to leadership', async () => {
    const leader = new SwitchLeader(true);
    const handlers = nodeServiceHandlers(deps({ leader })) as unknown as Record<string, AnyHandler>;
    const call = new FakeCall({ nodeName: 'pi-1' });
    handlers.WatchAssignments!(call);
    await waitFor('the subscription', () => leader.subscribers() === 1);
    call.cancelled = true;
    call.emit('cancelled');
    await waitFor('the unsubscription', () => leader.subscribers() === 0);
  });
});

describe('Node service on the leader', () => {
  test('the answer to a heartbeat tells the agent every control-plane member', async () => {
    const servers = ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443'];
    const d = deps({ leader: new SwitchLeader(true), servers: () => servers });
    await d.store.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1' }, spec: {}, status: {} } as never }] });
    const handlers = nodeServiceHandlers(d) as unknown as Record<string, unknown>;
    const hb = await callUnary(handlers.Heartbeat, { nodeName: 'pi-1', pods: [], portConflicts: [], addresses: [], labels: {} });
    assert.equal(hb.err, null, String(hb.err && fromServiceError(hb.err).message));
    assert.deepEqual((hb.res as { servers: string[] }).servers, servers);
  });

  test('without a servers list the agent hears an empty one, which it reads as no news', async () => {
    const d = deps();
    await d.store.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1' }, spec: {}, status: {} } as never }] });
    const hb = await callUnary((nodeServiceHandlers(d) as unknown as Record<string, unknown>).Heartbeat, { nodeName: 'pi-1', pods: [], portConflicts: [], addresses: [], labels: {} });
    assert.equal(hb.err, null, String(hb.err && fromServiceError(hb.err).message));
    assert.deepEqual((hb.res as { servers: string[] }).servers, []);
  });
});
