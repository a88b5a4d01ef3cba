// The agent's failover between control-plane members, with fake members and a fake clock:
// the session, the network view, the connection and the server list as agent.ts wires them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import { FakeClock } from '../proto/util/clock.js';
import { BrambleError, LEADER_ADDRESS_FIELD } from '../proto/util/errors.js';
import { silentLogger } from '../proto/util/log.js';
import type { Pod } from '../proto/model.js';
import { AgentSession, type DesiredState } from './agent-session.js';
import { NetworkView } from './network-view.js';
import { NodeConnection, isFailoverError } from './node-connection.js';
import { ServerList, type ServerListStore } from './server-list.js';

type Mode = 'leader' | 'follower' | 'down';

class FakeStream extends EventEmitter {
  cancelled = false;
  ended = false;
  /** Ends the stream with this error, as grpc-js does. */
  fail(err: unknown): void {
    this.ended = true;
    this.emit('error', err);
  }
  get open(): boolean {
    return !this.cancelled && !this.ended;
  }
  written: unknown[] = [];
  write(m: unknown): boolean {
    this.written.push(m);
    return true;
  }
  cancel(): void {
    this.cancelled = true;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
}

function failure(mode: Mode, address: string): unknown {
  if (mode === 'follower') return new BrambleError('NOT_LEADER', `this control-plane member (${address}) does not lead and did not act on the request`).toServiceError();
  return Object.assign(new Error(`14 UNAVAILABLE: connect ECONNREFUSED ${address}`), { code: GrpcStatus.UNAVAILABLE });
}

/** One control-plane member as the agent sees it; its mode can change under the agent. */
class FakeMember {
  mode: Mode;
  servers: string[] = [];
  heartbeats = 0;
  heartbeatFailures = 0;
  /** Heartbeats alone fail (a slow member): the streams stay up. */
  heartbeatsDown = false;
  readonly watches: FakeStream[] = [];
  readonly tunnels: FakeStream[] = [];
  readonly networks: FakeStream[] = [];
  readonly statuses: string[] = [];
  clientsClosed = 0;
  constructor(readonly address: string, mode: Mode) {
    this.mode = mode;
  }

  client(): NodeClient {
    type Cb = (err: unknown, res?: object) => void;
    const unary = (onOk: () => object, down = () => false) => (...args: unknown[]) => {
      const cb = args[args.length - 1] as Cb;
      queueMicrotask(() => {
        const away = down();
        if (this.mode === 'leader' && !away) cb(null, onOk());
        else cb(failure(away ? 'down' : this.mode, this.address));
      });
    };
    const stream = (into: FakeStream[]) => () => {
      const s = new FakeStream();
      into.push(s);
      if (this.mode !== 'leader') queueMicrotask(() => s.fail(failure(this.mode, this.address)));
      return s;
    };
    return {
      Heartbeat: unary(() => {
        this.heartbeats++;
        return { intervalSeconds: 10, servers: this.servers };
      }, () => this.heartbeatsDown && ++this.heartbeatFailures > 0),
      UpdatePodStatus: (req: { name: string }, cb: Cb) => unary(() => {
        this.statuses.push(req.name);
        return {};
      })(cb),
      RecordEvents: unary(() => ({ accepted: 0 })),
      WatchAssignments: stream(this.watches),
      Tunnel: stream(this.tunnels),
      WatchNetwork: stream(this.networks),
      close: () => void this.clientsClosed++,
    } as unknown as NodeClient;
  }

  /** Ends every open stream the way a member that lost leadership does. */
  loseLeadership(): void {
    this.mode = 'follower';
    for (const s of [...this.watches, ...this.tunnels, ...this.networks]) if (s.open) s.fail(failure('follower', this.address));
  }

  openWatches(): FakeStream[] {
    return this.watches.filter((s) => s.open);
  }
}

const pod = (name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { nodeName: 'pi-1', containers: [{ name: 'c', image: 'busybox' }] } });
const ev = (type: string, obj?: object) => ({ type, object: obj ? JSON.stringify(obj) : '', revision: 1 });

function memoryStore(initial?: string[]): ServerListStore & { saved: string[][] } {
  const saved: string[][] = [];
  return { saved, load: async () => initial, save: async (s) => void saved.push(s) };
}

async function settle(clock: FakeClock, rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await clock.advance(0);
}

function agent(members: FakeMember[], opts: { given?: string[]; store?: ServerListStore } = {}) {
  const clock = new FakeClock();
  const byAddress = new Map(members.map((m) => [m.address, m]));
  const dials: string[] = [];
  const servers = new ServerList(opts.given ?? members.map((m) => m.address), { store: opts.store });
  const connection = new NodeConnection({
    servers, clock, logger: silentLogger(),
    dial: (address) => {
      dials.push(address);
      const m = byAddress.get(address);
      if (!m) throw new Error(`no fake member at ${address}`);
      return m.client();
    },
  });
  const seen: { state: DesiredState; synced: boolean }[] = [];
  const session = new AgentSession({
    connection, nodeName: 'pi-1', clock, logger: silentLogger(), heartbeatIntervalMs: 10_000,
    heartbeat: async () => ({ nodeName: 'pi-1' }),
    onDesired: (state, synced) => seen.push({ state, synced }),
    tunnel: { logs: async function* () {}, importImage: async () => [], podFigures: async () => [] },
  });
  const view = new NetworkView({ connection, nodeName: 'pi-1', clock });
  return {
    clock, dials, servers, connection, session, view, seen,
    start: async () => {
      await servers.loadPersisted();
      session.start();
      view.start();
      await settle(clock);
    },
    stop: () => {
      session.stop();
      view.stop();
      connection.close();
    },
  };
}

/** The member holds every stream the agent keeps open, and heard a heartbeat. */
function assertServedBy(m: FakeMember): void {
  assert.equal(m.openWatches().length, 1, `${m.address} must hold the assignments watch`);
  assert.equal(m.tunnels.filter((s) => s.open).length, 1, `${m.address} must hold the tunnel`);
  assert.equal(m.networks.filter((s) => s.open).length, 1, `${m.address} must hold the network watch`);
  assert.ok(m.heartbeats >= 1, `${m.address} must have heard a heartbeat`);
}

describe('agent failover between control-plane members', () => {
  test('a member that answers NOT_LEADER is left for the next, where every stream opens', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'follower');
    const b = new FakeMember('10.0.0.2:7443', 'leader');
    const t = agent([a, b]);
    await t.start();
    assert.deepEqual(t.dials, [a.address, b.address]);
    assertServedBy(b);
    assert.equal(a.clientsClosed, 1);
    t.stop();
  });

  test('an unreachable member is left for the next without waiting', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'down');
    const b = new FakeMember('10.0.0.2:7443', 'leader');
    const t = agent([a, b]);
    await t.start();
    assert.deepEqual(t.dials, [a.address, b.address]);
    assert.equal(t.clock.now(), new FakeClock().now(), 'no time may pass before the second member is tried');
    assertServedBy(b);
    t.stop();
  });

  test('after a full round without an answer the agent waits, longer each round, then tries again from the first', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'down');
    const b = new FakeMember('10.0.0.2:7443', 'down');
    const t = agent([a, b]);
    await t.start();
    assert.deepEqual(t.dials, [a.address, b.address]);
    await t.clock.advance(499);
    assert.equal(t.dials.length, 2, 'the next round must wait for the back-off');
    await t.clock.advance(1);
    await settle(t.clock);
    assert.deepEqual(t.dials, [a.address, b.address, a.address, b.address]);
    await t.clock.advance(999);
    assert.equal(t.dials.length, 4, 'the second pause is longer');
    b.mode = 'leader';
    await t.clock.advance(1);
    await settle(t.clock);
    assert.deepEqual(t.dials.slice(4), [a.address, b.address]);
    assertServedBy(b);
    t.stop();
  });

  test('a member that loses leadership ends the streams with NOT_LEADER and the agent moves to the next', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'leader');
    const b = new FakeMember('10.0.0.2:7443', 'leader');
    const t = agent([a, b]);
    await t.start();
    assertServedBy(a);
    a.loseLeadership();
    await settle(t.clock);
    // One move however many streams saw the failure.
    assert.deepEqual(t.dials, [a.address, b.address]);
    assertServedBy(b);
    assert.equal(a.openWatches().length, 0);
    t.stop();
  });

  test('members a heartbeat lists replace the list and are persisted, then used for failover', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'leader');
    const c = new FakeMember('10.0.0.3:7443', 'leader');
    a.servers = [a.address, c.address];
    const store = memoryStore();
    const t = agent([a, c], { given: [a.address], store });
    await t.start();
    assert.deepEqual(store.saved, [[a.address, c.address]]);
    assert.deepEqual(t.servers.all(), [a.address, c.address]);
    a.loseLeadership();
    await settle(t.clock);
    assert.deepEqual(t.dials, [a.address, c.address]);
    assertServedBy(c);
    t.stop();
  });

  test('a list persisted by an earlier run finds the cluster when the given server is gone', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'down');
    const c = new FakeMember('10.0.0.3:7443', 'leader');
    const t = agent([a, c], { given: [a.address], store: memoryStore([a.address, c.address]) });
    await t.start();
    assert.deepEqual(t.dials, [a.address, c.address]);
    assertServedBy(c);
    t.stop();
  });

  test('the pods keep running while no member answers, and the assignments resume on the member that comes back', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'leader');
    const b = new FakeMember('10.0.0.2:7443', 'down');
    const t = agent([a, b]);
    await t.start();
    const [watch] = a.openWatches();
    watch!.emit('data', ev('ADDED', { ...pod('web'), kind: 'Pod' }));
    watch!.emit('data', ev('SYNCED'));
    assert.deepEqual(t.seen.map((s) => s.state.pods.map((p) => p.metadata.name)), [['web']]);
    a.mode = 'down';
    watch!.fail(failure('down', a.address));
    // Hours of outage, many rounds: nothing tells the reconciler to remove a Pod.
    for (let i = 0; i < 40; i++) await t.clock.advance(30_000);
    assert.ok(t.dials.length > 6, `the agent must keep trying: ${t.dials.length} dials`);
    assert.deepEqual(t.seen.map((s) => s.state.pods.map((p) => p.metadata.name)), [['web']]);
    b.mode = 'leader';
    await t.clock.advance(30_000);
    await settle(t.clock);
    assertServedBy(b);
    const [again] = b.openWatches();
    again!.emit('data', ev('ADDED', { ...pod('web'), kind: 'Pod' }));
    assert.equal(t.seen.length, 1, 'a new stream hands nothing over before it is complete');
    again!.emit('data', ev('SYNCED'));
    assert.deepEqual(t.seen.at(-1)!.state.pods.map((p) => p.metadata.name), ['web']);
    t.stop();
  });

  test('with one address, a failed heartbeat is retried after the back-off and the streams still open stay', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'leader');
    const t = agent([a]);
    await t.start();
    const open = [a.watches[0], a.tunnels[0], a.networks[0]];
    a.heartbeatsDown = true;
    await t.clock.advance(10_000);
    assert.equal(a.heartbeatFailures, 1);
    a.heartbeatsDown = false;
    const before = a.heartbeats;
    await t.clock.advance(500);
    await settle(t.clock);
    assert.equal(a.heartbeats, before + 1, 'the heartbeat must be retried after the back-off, before the next interval');
    assert.deepEqual([a.watches[0], a.tunnels[0], a.networks[0]], open);
    assert.ok(open.every((s) => s!.open), 'no open stream may be dropped');
    assert.deepEqual(t.dials, [a.address]);
    t.stop();
  });

  test('with one address, a stream that ends is opened again on the same member', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'leader');
    const t = agent([a]);
    await t.start();
    a.watches[0]!.fail(failure('down', a.address));
    await t.clock.advance(500);
    await settle(t.clock);
    assert.equal(a.watches.length, 2, 'a second watch must be open');
    assert.equal(a.tunnels.length, 1, 'the tunnel stays');
    assert.deepEqual(t.dials, [a.address]);
    t.stop();
  });

  test('a pod status refused with NOT_LEADER is delivered to the next member', async () => {
    const a = new FakeMember('10.0.0.1:7443', 'leader');
    const b = new FakeMember('10.0.0.2:7443', 'leader');
    const t = agent([a, b]);
    await t.start();
    a.mode = 'follower';
    t.session.reportStatus(pod('web'), { phase: 'Running' });
    await settle(t.clock);
    assert.deepEqual(b.statuses, ['web']);
    t.stop();
  });
});

describe('isFailoverError', () => {
  test('moves on NOT_LEADER, unreachable and timed-out calls, and on nothing else', () => {
    assert.equal(isFailoverError(failure('follower', 'a:1')), true);
    assert.equal(isFailoverError(failure('down', 'a:1')), true);
    assert.equal(isFailoverError({ code: GrpcStatus.DEADLINE_EXCEEDED, message: 'deadline' }), true);
    assert.equal(isFailoverError(new BrambleError('UNAVAILABLE', 'cannot reach a:1 to read its CA')), true);
    assert.equal(isFailoverError(new BrambleError('FORBIDDEN', 'no').toServiceError()), false);
    assert.equal(isFailoverError(new BrambleError('VALIDATION_FAILED', 'bad heartbeat').toServiceError()), false);
    assert.equal(isFailoverError(undefined), false);
  });
});

describe('NodeConnection and the leader a follower names', () => {
  test('a follower naming a leader the agent does not know moves the connection straight there', () => {
    // The first server's own agent knew that server alone; the joiner then took over the lead.
    const servers = new ServerList(['127.0.0.1:7443']);
    const dialled: string[] = [];
    const conn = new NodeConnection({
      servers, clock: new FakeClock(), logger: silentLogger(),
      dial: (address) => {
        dialled.push(address);
        return { close: () => undefined } as unknown as NodeClient;
      },
    });
    const notLeader = new BrambleError('NOT_LEADER', 'this control-plane member does not lead: the leader is "s2" (10.0.0.2:7443)', [{ path: LEADER_ADDRESS_FIELD, message: '10.0.0.2:7443' }]);
    assert.equal(conn.failed(conn.generation(), notLeader.toServiceError()), true);
    assert.deepEqual(dialled, ['127.0.0.1:7443', '10.0.0.2:7443']);
    assert.equal(conn.address(), '10.0.0.2:7443');
    assert.deepEqual(servers.all(), ['127.0.0.1:7443', '10.0.0.2:7443']);
  });
});
