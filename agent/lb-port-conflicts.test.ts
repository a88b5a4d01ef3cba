// Which LoadBalancer ports a board leaves to a process that holds them, checked on every sync and on a timer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../proto/util/clock.js';
import { makeService } from '../test/support/service-fixtures.js';
import { LbPortGuard, checkLoadBalancerPorts } from './lb-port-conflicts.js';
import type { PortListener } from './port-listeners.js';

const addresses = ['192.168.1.10'];
const listen = (port: number, address = '0.0.0.0', protocol: 'TCP' | 'UDP' = 'TCP'): PortListener => ({ protocol, address, port, wildcard: address === '0.0.0.0' });
const lb = makeService('web', { type: 'LoadBalancer', clusterIP: '10.43.0.22', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }] });
const nodePort = makeService('np', { type: 'NodePort', clusterIP: '10.43.0.23', ports: [{ port: 80, nodePort: 30081 }] });

describe('LoadBalancer port check', () => {
  test('a LoadBalancer port held on a wildcard is a conflict and blocked; the same number over the other protocol is not', () => {
    const check = checkLoadBalancerPorts([lb, nodePort], addresses, true, () => [listen(80), listen(53, '0.0.0.0', 'TCP')]);
    assert.deepEqual(check.conflicts, [{ namespace: 'default', service: 'web', protocol: 'TCP', port: 80 }]);
    assert.deepEqual(check.blocked, [{ protocol: 'TCP', port: 80 }]);
  });

  test('a listener on loopback only, or on another address, does not clash; one on a board address does', () => {
    assert.deepEqual(checkLoadBalancerPorts([lb], addresses, true, () => [listen(80, '127.0.0.1'), listen(80, '10.42.1.1')]).conflicts, []);
    assert.equal(checkLoadBalancerPorts([lb], addresses, true, () => [listen(53, '192.168.1.10', 'UDP')]).conflicts[0]?.protocol, 'UDP');
  });

  test('a board that is not a load-balancer board has no conflicts and does not read the sockets', () => {
    assert.deepEqual(checkLoadBalancerPorts([lb], addresses, false, () => assert.fail('not read')), { conflicts: [], blocked: [] });
  });

  test('two Services on one held port are two conflicts and one blocked port', () => {
    const other = makeService('web2', { type: 'LoadBalancer', clusterIP: '10.43.0.24', ports: [{ port: 80, nodePort: 30090 }] });
    const check = checkLoadBalancerPorts([other, lb], addresses, true, () => [listen(80)]);
    assert.deepEqual(check.conflicts.map((c) => c.service), ['web', 'web2']);
    assert.equal(check.blocked.length, 1);
  });
});

describe('LbPortGuard', () => {
  test('the periodic check asks for a rule sync only when the held ports change', async () => {
    const clock = new FakeClock();
    let held: PortListener[] = [];
    let syncs = 0;
    const guard = new LbPortGuard({ listeners: () => held, clock, intervalMs: 30_000, onBlockedChange: () => { syncs++; } });
    guard.start();
    try {
      assert.deepEqual(guard.check([lb], addresses, true).blocked, []);
      await clock.advance(30_000);
      assert.equal(syncs, 0, 'nothing changed');
      held = [listen(80)];
      await clock.advance(30_000);
      assert.equal(syncs, 1, 'a process took the port');
      // The sync that follows checks again and records the conflict for the heartbeat.
      guard.check([lb], addresses, true);
      assert.deepEqual(guard.conflicts().map((c) => c.port), [80]);
      await clock.advance(30_000);
      assert.equal(syncs, 1, 'still held: no new sync');
      held = [];
      await clock.advance(30_000);
      assert.equal(syncs, 2, 'the port was freed');
    } finally {
      guard.stop();
    }
  });
});
