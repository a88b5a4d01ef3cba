// The rule set generated from Services and Endpoints, against golden files in
// agent/testdata/service-rules/ (UPDATE_GOLDEN=1 rewrites them).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../test/support/server-process.js';
import { makeEndpoints, makeService, makeSnapshot, manyServices } from '../test/support/service-fixtures.js';
import { LARGE_CLUSTER_ENDPOINTS, ServiceRulesCache, buildServiceRules, isLoadBalancerNode, probability, readyEndpoints, type ServiceSnapshot } from './service-rules.js';
import { LB_NODE_LABEL } from '../proto/model.js';
import { renderRestore } from './service-rules-restore.js';
import { endpointChain, serviceChain } from './service-rules-names.js';

const goldenDir = path.join(repoRoot(), 'agent', 'testdata', 'service-rules');

function golden(name: string, snap: ServiceSnapshot): string {
  const text = renderRestore(buildServiceRules(snap));
  const file = path.join(goldenDir, `${name}.txt`);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, text);
  }
  assert.ok(existsSync(file), `golden file ${file} must exist: run with UPDATE_GOLDEN=1 to write it`);
  assert.equal(text, readFileSync(file, 'utf8'), `rules differ from ${file} (UPDATE_GOLDEN=1 rewrites it after review)`);
  return text;
}

const http = { name: 'http', port: 8080, protocol: 'TCP' as const };
const web = (spec: Parameters<typeof makeService>[1] = { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }) => makeService('web', spec);
const webEndpoints = (ready: SubsetReady, notReady: SubsetReady = []) => makeEndpoints('web', [{ ready, notReady, ports: [http] }]);
type SubsetReady = (string | { ip: string; nodeName?: string })[];

describe('service rules golden files', () => {
  test('no Services gives only the base chains, egress masquerade and the node-port jump', () => {
    const text = golden('base', makeSnapshot([], []));
    assert.doesNotMatch(text, /BRAMBLE-SVC-|BRAMBLE-SEP-/);
    assert.match(text, /-A BRAMBLE-POSTROUTING .*-s 10\.42\.1\.0\/24 ! -d 10\.42\.0\.0\/16 -j MASQUERADE/);
  });

  test('a ClusterIP Service dispatches to three ready endpoints with 1/3 and 1/2, never to a not-ready one', () => {
    const text = golden('clusterip', makeSnapshot([web()], [webEndpoints(['10.42.1.5', '10.42.2.7', { ip: '10.42.1.6', nodeName: 'board-b' }], ['10.42.1.99'])]));
    assert.match(text, /--probability 0\.3333333333 -j BRAMBLE-SEP-/);
    assert.match(text, /--probability 0\.5000000000 -j BRAMBLE-SEP-/);
    assert.doesNotMatch(text, /10\.42\.1\.99/);
    assert.match(text, /-d 10\.43\.0\.20 --dport 80 ! -s 10\.42\.0\.0\/16 -j BRAMBLE-MARK-MASQ/);
  });

  test('a NodePort Service with the Cluster policy masquerades node-port traffic', () => {
    const svc = web({ type: 'NodePort', clusterIP: '10.43.0.21', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }] });
    const text = golden('nodeport', makeSnapshot([svc], [webEndpoints(['10.42.1.5', '10.42.2.7'])]));
    assert.match(text, /-A BRAMBLE-NODEPORTS .*--dport 30080 -j BRAMBLE-EXT-/);
    assert.match(text, /-A BRAMBLE-EXT-\S+ .*masquerade traffic.* -j BRAMBLE-MARK-MASQ/);
  });

  test('a LoadBalancer Service answers on its port on the board addresses of a load-balancer board', () => {
    const svc = web({ type: 'LoadBalancer', clusterIP: '10.43.0.22', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30081 }] });
    const snap = makeSnapshot([svc], [webEndpoints(['10.42.1.5'])], { node: { name: 'board-a', addresses: ['192.168.1.10', '10.200.3.2'], isLoadBalancerNode: true } });
    const text = golden('loadbalancer', snap);
    assert.match(text, /-d 192\.168\.1\.10 --dport 80 -j BRAMBLE-EXT-/);
    assert.match(text, /-d 10\.200\.3\.2 --dport 80 -j BRAMBLE-EXT-/);
    const notLb = renderRestore(buildServiceRules({ ...snap, node: { ...snap.node, isLoadBalancerNode: false } }));
    assert.doesNotMatch(notLb, /loadbalancer IP/, 'a board that is not a load-balancer board does not take the port');
    assert.match(notLb, /--dport 30081 -j BRAMBLE-EXT-/, 'but it still answers on the node port');
  });

  test('a LoadBalancer port a process on the board holds gets no loadbalancer rule there, but keeps its node port and cluster IP', () => {
    const svc = web({ type: 'LoadBalancer', clusterIP: '10.43.0.22', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30081 }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353, nodePort: 30053 }] });
    const eps = makeEndpoints('web', [{ ready: ['10.42.1.5'], ports: [http, { name: 'dns', port: 5353, protocol: 'UDP' }] }]);
    const node = { name: 'board-a', addresses: ['192.168.1.10'], isLoadBalancerNode: true, blockedLoadBalancerPorts: [{ protocol: 'TCP' as const, port: 80 }, { protocol: 'TCP' as const, port: 53 }] };
    const text = golden('loadbalancer-blocked', makeSnapshot([svc], [eps], { node }));
    assert.doesNotMatch(text, /-m tcp -p tcp -d 192\.168\.1\.10 --dport 80 /, 'the held TCP port is left to its process');
    assert.match(text, /-m udp -p udp -d 192\.168\.1\.10 --dport 53 -j BRAMBLE-EXT-/, 'a held TCP port does not block the same number over UDP');
    assert.match(text, /--dport 30081 -j BRAMBLE-EXT-/);
    assert.match(text, /-d 10\.43\.0\.22 --dport 80 -j BRAMBLE-SVC-/);
  });

  test('ClientIP affinity checks and sets a recent list per endpoint, with the default 10800 s and a given timeout', () => {
    const a = makeService('sticky', { clusterIP: '10.43.0.23', sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 8080 }] });
    const b = makeService('sticky-short', { clusterIP: '10.43.0.24', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80 }] });
    const eps = [
      makeEndpoints('sticky', [{ ready: ['10.42.1.5', '10.42.1.6'], ports: [{ port: 8080 }] }]),
      makeEndpoints('sticky-short', [{ ready: ['10.42.1.7'], ports: [{ port: 80 }] }]),
    ];
    const text = golden('affinity', makeSnapshot([a, b], eps));
    assert.match(text, /--rcheck --seconds 10800 --reap/);
    assert.match(text, /--rcheck --seconds 60 --reap/);
    assert.match(text, /-m recent --name BRAMBLE-SEP-\S+ --set -m tcp -p tcp -j DNAT --to-destination 10\.42\.1\.5:8080/);
  });

  test('the Local policy sends node-port traffic to this board\'s endpoints only, keeps the source, and drops when there are none', () => {
    const local = web({ type: 'NodePort', clusterIP: '10.43.0.25', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30082 }] });
    const remote = makeService('remote', { type: 'NodePort', clusterIP: '10.43.0.26', externalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30083 }] });
    const eps = [
      webEndpoints(['10.42.1.5', { ip: '10.42.2.7', nodeName: 'board-b' }]),
      makeEndpoints('remote', [{ ready: [{ ip: '10.42.2.8', nodeName: 'board-b' }], ports: [{ port: 80 }] }]),
    ];
    const text = golden('local-policy', makeSnapshot([local, remote], eps));
    const svl = text.split('\n').filter((l) => l.startsWith('-A BRAMBLE-SVL-'));
    assert.equal(svl.length, 1, 'one local endpoint for web');
    assert.doesNotMatch(svl.join('\n'), /--probability/);
    assert.doesNotMatch(text, /masquerade traffic for default\/web:http external/);
    assert.match(text, /has no local endpoints.*--dport 30083 -j DROP/);
  });

  test('a UDP Service gets udp matches and udp DNAT', () => {
    const svc = makeService('syslog', { clusterIP: '10.43.0.27', ports: [{ name: 'syslog', port: 514, protocol: 'UDP' }] });
    const text = golden('udp', makeSnapshot([svc], [makeEndpoints('syslog', [{ ready: ['10.42.1.5'], ports: [{ name: 'syslog', port: 514, protocol: 'UDP' }] }])]));
    assert.match(text, /-m udp -p udp -d 10\.43\.0\.27 --dport 514 -j BRAMBLE-SVC-/);
    assert.match(text, /-m udp -p udp -j DNAT --to-destination 10\.42\.1\.5:514/);
    assert.doesNotMatch(text, /-p tcp -d 10\.43\.0\.27/);
  });

  test('several ports get one chain each, with named target ports resolved per Pod in the Endpoints', () => {
    const svc = makeService('shop', { clusterIP: '10.43.0.28', ports: [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'metrics', port: 9090, targetPort: 'metrics' }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    const eps = makeEndpoints('shop', [
      { ready: ['10.42.1.5'], ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }, { name: 'dns', port: 5353, protocol: 'UDP' }] },
      { ready: ['10.42.1.6'], ports: [{ name: 'http', port: 8081 }, { name: 'metrics', port: 9100 }] },
    ]);
    const text = golden('multiport', makeSnapshot([svc], [eps]));
    assert.match(text, /DNAT --to-destination 10\.42\.1\.5:8080/);
    assert.match(text, /DNAT --to-destination 10\.42\.1\.6:8081/);
    assert.match(text, /-m udp -p udp -j DNAT --to-destination 10\.42\.1\.5:5353/);
    assert.equal((text.match(/^:BRAMBLE-SVC-/gm) ?? []).length, 3);
  });

  test('a Service without ready endpoints is rejected in filter, for its ClusterIP and its node port', () => {
    const a = makeService('empty', { clusterIP: '10.43.0.29', ports: [{ port: 80 }] });
    const b = makeService('empty-np', { type: 'NodePort', clusterIP: '10.43.0.30', ports: [{ port: 80, nodePort: 30084 }] });
    const eps = [makeEndpoints('empty', [{ notReady: ['10.42.1.5'], ports: [{ port: 80 }] }])];
    const text = golden('no-endpoints', makeSnapshot([a, b], eps));
    assert.match(text, /-A BRAMBLE-SERVICES .*"default\/empty has no endpoints" -m tcp -p tcp -d 10\.43\.0\.29 --dport 80 -j REJECT/);
    assert.match(text, /-A BRAMBLE-EXTERNAL-SERVICES .*--dst-type LOCAL -m tcp -p tcp --dport 30084 -j REJECT/);
    assert.doesNotMatch(text, /BRAMBLE-SVC-|BRAMBLE-SEP-|BRAMBLE-EXT-/);
  });

  test('the cluster DNS address is DNATed to the board\'s own resolver over udp and tcp', () => {
    const text = golden('dns', makeSnapshot([], [], { dnsServiceIP: '10.43.0.10', localDnsIP: '10.42.1.1' }));
    assert.match(text, /-m udp -p udp -d 10\.43\.0\.10 --dport 53 -j DNAT --to-destination 10\.42\.1\.1:53/);
    assert.match(text, /-m tcp -p tcp -d 10\.43\.0\.10 --dport 53 -j DNAT --to-destination 10\.42\.1\.1:53/);
  });
});

describe('service rules', () => {
  test('headless Services and selector-less Services without Endpoints get no rules', () => {
    const base = renderRestore(buildServiceRules(makeSnapshot([], [])));
    const headless = makeService('db', { clusterIP: 'None', ports: [{ port: 5432 }] });
    const manual = makeService('ext', { clusterIP: '10.43.0.31', selector: undefined, ports: [{ port: 80 }] });
    const text = renderRestore(buildServiceRules(makeSnapshot([headless, manual], [makeEndpoints('db', [{ ready: ['10.42.1.5'], ports: [{ port: 5432 }] }])])));
    assert.equal(text, base);
  });

  test('a selector-less Service with hand-written Endpoints gets rules', () => {
    const manual = makeService('ext', { clusterIP: '10.43.0.31', selector: undefined, ports: [{ port: 80 }] });
    const text = renderRestore(buildServiceRules(makeSnapshot([manual], [makeEndpoints('ext', [{ ready: ['192.168.1.50'], ports: [{ port: 80 }] }])])));
    assert.match(text, /DNAT --to-destination 192\.168\.1\.50:80/);
  });

  test('the rule text does not depend on the order of Services, subsets or addresses', () => {
    const svcs = [web(), makeService('api', { clusterIP: '10.43.0.40', ports: [{ port: 80 }] })];
    const e1 = [webEndpoints(['10.42.1.5', '10.42.1.6']), makeEndpoints('api', [{ ready: ['10.42.1.8'], ports: [{ port: 80 }] }])];
    const e2 = [makeEndpoints('api', [{ ready: ['10.42.1.8'], ports: [{ port: 80 }] }]), webEndpoints(['10.42.1.6', '10.42.1.5'])];
    assert.equal(renderRestore(buildServiceRules(makeSnapshot(svcs, e1))), renderRestore(buildServiceRules(makeSnapshot([...svcs].reverse(), e2))));
  });

  test('rules built with the per-Service cache are the ones built without it, through changes, additions and deletions', () => {
    const cache = new ServiceRulesCache();
    const a = web();
    const b = makeService('api', { clusterIP: '10.43.0.40', type: 'NodePort', ports: [{ port: 80, nodePort: 30090 }] });
    const ea = webEndpoints(['10.42.1.5']);
    const eb = makeEndpoints('api', [{ ready: ['10.42.1.8'], ports: [{ port: 80 }] }]);
    const steps: ServiceSnapshot[] = [
      makeSnapshot([a, b], [ea, eb]),
      makeSnapshot([a, b], [webEndpoints(['10.42.1.5', '10.42.1.6']), eb]),
      makeSnapshot([a], [ea]),
      makeSnapshot([a, b], [ea, eb], { node: { name: 'board-a', addresses: ['192.168.1.11'], isLoadBalancerNode: false } }),
      makeSnapshot([a, b], [ea, makeEndpoints('api', [])]),
    ];
    for (const [i, snap] of steps.entries()) {
      assert.equal(renderRestore(buildServiceRules(snap, cache)), renderRestore(buildServiceRules(snap)), `step ${i}`);
    }
    assert.equal(cache.size, 2);
  });

  test('above 1,000 endpoints the per-endpoint rules lose their comments, as kube-proxy\'s large-cluster mode, and the dispatch rules keep theirs', () => {
    const sepRules = (text: string) => text.split('\n').filter((l) => l.startsWith('-A BRAMBLE-SEP-') || (l.startsWith('-A BRAMBLE-SVC-') && / -j BRAMBLE-SEP-\S+$/.test(l)));
    const small = manyServices(LARGE_CLUSTER_ENDPOINTS / 2, 2);
    const smallText = renderRestore(buildServiceRules(makeSnapshot(small.services, small.endpoints)));
    assert.equal(sepRules(smallText).length, 3 * LARGE_CLUSTER_ENDPOINTS, 'one jump and two SEP rules per endpoint');
    assert.ok(sepRules(smallText).every((l) => l.includes(' -m comment --comment "default/svc-')), 'exactly 1,000: comments kept');

    const large = manyServices(LARGE_CLUSTER_ENDPOINTS / 2 + 1, 2);
    const text = renderRestore(buildServiceRules(makeSnapshot(large.services, large.endpoints)));
    const rules = sepRules(text);
    assert.equal(rules.length, (LARGE_CLUSTER_ENDPOINTS + 2) * 3);
    assert.ok(rules.every((l) => !l.includes('--comment')), `no comment on: ${rules.find((l) => l.includes('--comment'))}`);
    const svc = serviceChain('default/svc-0000:http', 'tcp');
    const sep = endpointChain('default/svc-0000:http', 'tcp', '10.42.0.2:8080');
    assert.match(text, new RegExp(`^-A ${svc} -m statistic --mode random --probability 0\\.5000000000 -j ${sep}$`, 'm'));
    assert.match(text, new RegExp(`^-A ${sep} -s 10\\.42\\.0\\.2 -j BRAMBLE-MARK-MASQ$`, 'm'));
    assert.match(text, new RegExp(`^-A ${sep} -m tcp -p tcp -j DNAT --to-destination 10\\.42\\.0\\.2:8080$`, 'm'));
    assert.match(text, new RegExp(`^-A BRAMBLE-SERVICES -m comment --comment "default/svc-0000:http cluster IP" .* -j ${svc}$`, 'm'));
    assert.match(text, new RegExp(`^-A ${svc} -m comment --comment "default/svc-0000:http cluster IP" .* -j BRAMBLE-MARK-MASQ$`, 'm'));
  });

  test('the cache rebuilds every Service when the endpoint count crosses the large-cluster threshold', () => {
    const cache = new ServiceRulesCache();
    const { services, endpoints } = manyServices(LARGE_CLUSTER_ENDPOINTS / 2, 2);
    const extra = manyServices(LARGE_CLUSTER_ENDPOINTS / 2 + 1, 2);
    const steps = [
      makeSnapshot(services, endpoints),
      makeSnapshot(extra.services, [...endpoints, extra.endpoints.at(-1)!]),
      makeSnapshot(services, endpoints),
    ];
    for (const [i, snap] of steps.entries()) {
      assert.equal(renderRestore(buildServiceRules(snap, cache)), renderRestore(buildServiceRules(snap)), `step ${i}`);
    }
  });

  test('every board answers on LoadBalancer ports unless some carry the ServiceLB label set to true', () => {
    const node = (name: string, labels?: Record<string, string>) => ({ metadata: { name, labels } });
    assert.equal(isLoadBalancerNode([node('a'), node('b')], 'a'), true);
    assert.equal(isLoadBalancerNode([node('a'), node('b', { [LB_NODE_LABEL]: 'true' })], 'a'), false);
    assert.equal(isLoadBalancerNode([node('a'), node('b', { [LB_NODE_LABEL]: 'true' })], 'b'), true);
    assert.equal(isLoadBalancerNode([node('a', { [LB_NODE_LABEL]: 'false' }), node('b')], 'a'), true);
  });

  test('readyEndpoints matches the port by name and protocol, and lists an address once', () => {
    const eps = makeEndpoints('web', [
      { ready: ['10.42.1.6', '10.42.1.5'], ports: [{ name: 'http', port: 8080 }, { name: 'http', port: 53, protocol: 'UDP' }] },
      { ready: ['10.42.1.5'], ports: [{ name: 'http', port: 8080 }] },
      { ready: ['10.42.1.9'], ports: [{ name: 'other', port: 1 }] },
    ]);
    assert.deepEqual(readyEndpoints({ name: 'http', port: 80 }, eps).map((e) => e.key), ['10.42.1.5:8080', '10.42.1.6:8080']);
    assert.deepEqual(readyEndpoints({ name: 'http', port: 80, protocol: 'UDP' }, eps).map((e) => e.key), ['10.42.1.5:53', '10.42.1.6:53']);
    assert.deepEqual(readyEndpoints({ port: 80 }, undefined), []);
  });

  test('probabilities are kube-proxy\'s %0.10f of 1/n', () => {
    assert.equal(probability(2), '0.5000000000');
    assert.equal(probability(3), '0.3333333333');
    assert.equal(probability(7), '0.1428571429');
  });

  test('chain names are the ones kube-proxy computes for the same service port and endpoint', () => {
    // From kube-proxy's proxier_test.go: ns1/svc1:p80 tcp and its endpoint 10.180.0.1:80.
    assert.equal(serviceChain('ns1/svc1:p80', 'tcp'), 'BRAMBLE-SVC-XPGD46QRK7WJZT7O');
    assert.equal(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'BRAMBLE-SEP-SXIVWICOYRO3J4NJ');
    assert.ok(serviceChain('ns1/svc1:p80', 'tcp').length <= 28, 'iptables chain names have at most 28 characters');
  });
});
