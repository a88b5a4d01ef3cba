import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import type { NodeObject } from '../proto/model.js';
import { FakeRunner } from './exec-runner.js';
import { FakeRouteTable } from './routes-hostgw-fake.js';
import { HostGwRoutes, IpRouteTable, parseAddresses, parseRoutes, planRoutes, ROUTE_PROTO, type RouteTable } from './routes-hostgw.js';

const node = (name: string, podCIDR: string | undefined, ip: string | undefined): NodeObject => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name },
  spec: podCIDR ? { podCIDR } : {},
  status: { addresses: ip ? [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: ip }] : [] },
} as NodeObject);

const LAN = [{ cidr: '192.168.1.0/24', dev: 'eth0' }, { cidr: '10.42.0.0/24', dev: 'bramble0' }];

function routes(table: RouteTable = new FakeRouteTable()) {
  const clock = new FakeClock();
  return { clock, hostgw: new HostGwRoutes({ table, nodeName: 'a', clock }) };
}

describe('planRoutes', () => {
  test('one route per other node with a pod CIDR and an InternalIP on the LAN, not to itself', () => {
    const plan = planRoutes([node('a', '10.42.0.0/24', '192.168.1.10'), node('b', '10.42.1.0/24', '192.168.1.11'), node('c', '10.42.2.0/24', '192.168.1.12')], 'a', LAN);
    assert.deepEqual(plan.routes, [
      { dst: '10.42.1.0/24', via: '192.168.1.11', dev: 'eth0' },
      { dst: '10.42.2.0/24', via: '192.168.1.12', dev: 'eth0' },
    ]);
    assert.deepEqual(plan.skipped, []);
  });

  test('nodes without a pod CIDR, without an InternalIP or off the connected subnets are skipped with the reason', () => {
    const plan = planRoutes([node('b', undefined, '192.168.1.11'), node('c', '10.42.2.0/24', undefined), node('d', '10.42.3.0/24', '172.16.0.4')], 'a', LAN);
    assert.deepEqual(plan.routes, []);
    assert.deepEqual(plan.skipped, [
      { node: 'b', reason: 'no pod CIDR' },
      { node: 'c', reason: 'no InternalIP' },
      { node: 'd', reason: 'not on a connected subnet', address: '172.16.0.4' },
    ]);
  });

  test('the subnets of ignored devices (the Pod bridge) are not the LAN', () => {
    const plan = planRoutes([node('b', '10.42.1.0/24', '10.42.0.7')], 'a', LAN, ['bramble0']);
    assert.equal(plan.skipped[0]?.reason, 'not on a connected subnet');
  });
});

describe('HostGwRoutes', () => {
  test('adds routes for other nodes and enables forwarding', async () => {
    const table = new FakeRouteTable();
    const { hostgw } = routes(table);
    await hostgw.update([node('a', '10.42.0.0/24', '192.168.1.10'), node('b', '10.42.1.0/24', '192.168.1.11')]);
    assert.equal(table.forwarding, true);
    assert.deepEqual(table.changes, ['replace 10.42.1.0/24 via 192.168.1.11 dev eth0']);
  });

  test('a second sync with nothing changed touches nothing', async () => {
    const table = new FakeRouteTable();
    const { hostgw } = routes(table);
    const nodes = [node('b', '10.42.1.0/24', '192.168.1.11')];
    await hostgw.update(nodes);
    await hostgw.update(nodes);
    assert.equal(table.changes.length, 1);
  });

  test('a node that changed address gets its route replaced; a node that left loses its route', async () => {
    const table = new FakeRouteTable();
    const { hostgw } = routes(table);
    await hostgw.update([node('b', '10.42.1.0/24', '192.168.1.11'), node('c', '10.42.2.0/24', '192.168.1.12')]);
    table.changes.length = 0;
    await hostgw.update([node('b', '10.42.1.0/24', '192.168.1.21')]);
    assert.deepEqual(table.changes, ['replace 10.42.1.0/24 via 192.168.1.21 dev eth0', 'remove 10.42.2.0/24']);
  });

  test('routes of other protocols are never replaced or removed, even to a pod CIDR', async () => {
    const table = new FakeRouteTable();
    table.table = [
      { dst: '10.42.1.0/24', via: '192.168.1.99', dev: 'eth0', proto: 'static' },
      { dst: '0.0.0.0/0', via: '192.168.1.1', dev: 'eth0', proto: 'dhcp' },
    ];
    const { hostgw } = routes(table);
    await hostgw.update([node('b', '10.42.1.0/24', '192.168.1.11')]);
    await hostgw.update([]);
    assert.deepEqual(table.changes, []);
    assert.equal(table.table.length, 2);
    assert.equal(await hostgw.cleanup(), 0);
  });

  test('a route of ours removed behind our back comes back at the periodic resync', async () => {
    const table = new FakeRouteTable();
    const { hostgw, clock } = routes(table);
    hostgw.start();
    await hostgw.update([node('b', '10.42.1.0/24', '192.168.1.11')]);
    table.table = [];
    await clock.advance(60_000);
    assert.deepEqual(table.table.map((r) => r.dst), ['10.42.1.0/24']);
    await hostgw.stop();
  });

  test('cleanup removes every route of ours, including ones a previous run left, and stops syncing', async () => {
    const table = new FakeRouteTable();
    table.table = [{ dst: '10.42.7.0/24', via: '192.168.1.17', dev: 'eth0', proto: String(ROUTE_PROTO) }, { dst: '192.168.1.0/24', dev: 'eth0', proto: 'kernel' }];
    const { hostgw } = routes(table);
    assert.equal(await hostgw.cleanup(), 1, 'a leftover of an earlier run, with no node view yet');
    const { hostgw: again, clock } = routes(table);
    again.start();
    await again.update([node('b', '10.42.1.0/24', '192.168.1.11')]);
    assert.equal(await again.cleanup(), 1);
    assert.deepEqual(table.table.map((r) => r.dst), ['192.168.1.0/24']);
    await clock.advance(120_000);
    await again.update([node('b', '10.42.1.0/24', '192.168.1.11')]);
    assert.deepEqual(table.table.map((r) => r.dst), ['192.168.1.0/24']);
  });

  test('a failing table is retried at the next update and does not throw out of update', async () => {
    const table = new FakeRouteTable();
    let fail = true;
    const original = table.replace.bind(table);
    table.replace = async (r) => {
      if (fail) throw new Error('RTNETLINK answers: Network is unreachable');
      return original(r);
    };
    const { hostgw } = routes(table);
    await hostgw.update([node('b', '10.42.1.0/24', '192.168.1.11')]);
    assert.equal(table.table.length, 0);
    fail = false;
    await hostgw.update([node('b', '10.42.1.0/24', '192.168.1.11')]);
    assert.deepEqual(table.table.map((r) => r.dst), ['10.42.1.0/24']);
  });
});

describe('IpRouteTable', () => {
  test('replace and remove carry Bramble\'s protocol, forwarding goes through sysctl', async () => {
    const runner = new FakeRunner();
    const table = new IpRouteTable(runner);
    await table.replace({ dst: '10.42.1.0/24', via: '192.168.1.11', dev: 'eth0' });
    await table.remove({ dst: '10.42.1.0/24' });
    await table.enableForwarding();
    assert.deepEqual(runner.calls.map((c) => [c.file, ...c.args].join(' ')), [
      'ip route replace 10.42.1.0/24 via 192.168.1.11 dev eth0 proto 66',
      'ip route del 10.42.1.0/24 proto 66',
      'sysctl -w net.ipv4.ip_forward=1',
    ]);
  });

  test('removing a route that is already gone is not an error; other failures are', async () => {
    const runner = new FakeRunner().once(['route', 'del'], { exitCode: 2, stderr: 'RTNETLINK answers: No such process' });
    const table = new IpRouteTable(runner);
    await table.remove({ dst: '10.42.1.0/24' });
    runner.once(['route', 'replace'], { exitCode: 2, stderr: 'Error: Nexthop has invalid gateway.' });
    await assert.rejects(table.replace({ dst: '10.42.1.0/24', via: '10.9.9.9', dev: 'eth0' }), /ip route replace .* must succeed: exited with 2: Error: Nexthop has invalid gateway/);
  });

  test('routes and addresses are read from ip\'s one-line output', async () => {
    assert.deepEqual(parseRoutes([
      'default via 192.168.1.1 dev eth0 proto dhcp src 192.168.1.10 metric 100 ',
      '10.42.0.0/24 dev bramble0 proto kernel scope link src 10.42.0.1 ',
      '10.42.1.0/24 via 192.168.1.11 dev eth0 proto 66 ',
      '10.9.0.0/16 via 192.168.1.2 dev eth0 ',
      'unreachable 10.66.0.0/16 ',
    ].join('\n')), [
      { dst: '0.0.0.0/0', via: '192.168.1.1', dev: 'eth0', proto: 'dhcp' },
      { dst: '10.42.0.0/24', via: undefined, dev: 'bramble0', proto: 'kernel' },
      { dst: '10.42.1.0/24', via: '192.168.1.11', dev: 'eth0', proto: '66' },
      { dst: '10.9.0.0/16', via: '192.168.1.2', dev: 'eth0', proto: 'boot' },
    ]);
    assert.deepEqual(parseAddresses([
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '2: eth0    inet 192.168.1.10/24 brd 192.168.1.255 scope global eth0\\       valid_lft forever preferred_lft forever',
      '3: wg0    inet 10.8.0.2/32 scope global wg0\\       valid_lft forever preferred_lft forever',
    ].join('\n')), [{ cidr: '127.0.0.0/8', dev: 'lo' }, { cidr: '192.168.1.0/24', dev: 'eth0' }]);
  });
});
