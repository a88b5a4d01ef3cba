import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEndpoints, makeService, makeSnapshot } from '../test/support/service-fixtures.js';
import { staleUdpFlows, udpTargets } from './service-conntrack.js';

const snap = (ips: string[], tcpToo = false) => makeSnapshot(
  [
    makeService('dns', { clusterIP: '10.43.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, ...(tcpToo ? [{ name: 'dns-tcp', port: 53, protocol: 'TCP' as const }] : [])] }),
  ],
  [makeEndpoints('dns', [{ ready: ips, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }])],
);

describe('stale UDP flows', () => {
  test('only UDP ports are tracked, with their ready endpoint IPs', () => {
    const t = udpTargets(snap(['10.42.1.5'], true));
    assert.deepEqual([...t.keys()], ['10.43.0.53:53']);
    assert.deepEqual([...t.get('10.43.0.53:53')!.ips], ['10.42.1.5']);
  });

  test('an unchanged endpoint set gives no command; a deleted Service clears its endpoints\' flows', () => {
    assert.deepEqual(staleUdpFlows(udpTargets(snap(['10.42.1.5'])), udpTargets(snap(['10.42.1.5']))), []);
    assert.deepEqual(staleUdpFlows(udpTargets(snap(['10.42.1.5'])), udpTargets(makeSnapshot([], []))), [['-D', '-p', 'udp', '--orig-dst', '10.43.0.53', '--dst-nat', '10.42.1.5']]);
  });
});
