import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints, EndpointSubset, Service, ServiceSpec } from '../proto/model.js';
import { CLUSTER_TTL_SECONDS, ClusterDnsView, type ClusterLookup } from './dns-records.js';

function svc(name: string, ns: string, spec: Partial<ServiceSpec>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [], ...spec } };
}

function eps(name: string, ns: string, subsets: EndpointSubset[]): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns }, subsets };
}

function view(...objects: (Service | Endpoints)[]): ClusterDnsView {
  const v = new ClusterDnsView();
  v.replaceAll(objects);
  return v;
}

function answered(r: ClusterLookup): Extract<ClusterLookup, { kind: 'answer' }> {
  assert.equal(r.kind, 'answer', 'a cluster name must be answered, not forwarded');
  return r as Extract<ClusterLookup, { kind: 'answer' }>;
}

const data = (r: ClusterLookup): unknown[] => answered(r).answers.map((a) => (a as { data: unknown }).data);

const web = svc('web', 'default', { clusterIP: '10.43.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }, { port: 9000 }] });
const db = svc('db', 'prod', {
  clusterIP: 'None',
  ports: [{ name: 'pg', port: 5432 }],
});
const dbEndpoints = eps('db', 'prod', [{
  addresses: [{ ip: '10.42.1.5', hostname: 'db-0' }, { ip: '10.42.2.6', hostname: 'db-1' }, { ip: '10.42.2.7' }],
  notReadyAddresses: [{ ip: '10.42.3.8', hostname: 'db-2' }],
  ports: [{ name: 'pg', port: 15432, protocol: 'TCP' }],
}]);

describe('Service A records', () => {
  test('NAME.NS.svc.cluster.local of a ClusterIP Service is its ClusterIP with a 5 second TTL', () => {
    const r = answered(view(web).lookup({ name: 'web.default.svc.cluster.local', type: 'A' }));
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers, [{ type: 'A', name: 'web.default.svc.cluster.local', ttl: CLUSTER_TTL_SECONDS, class: 'IN', data: '10.43.0.10' }]);
  });

  test('names are matched case-insensitively and a trailing dot is ignored, the answer keeping the asked spelling', () => {
    const r = answered(view(web).lookup({ name: 'WEB.Default.SVC.cluster.local.', type: 'A' }));
    assert.deepEqual(data(r), ['10.43.0.10']);
    assert.equal(r.answers[0]!.name, 'WEB.Default.SVC.cluster.local.');
  });

  test('a headless Service resolves to its ready endpoints only', () => {
    assert.deepEqual(data(view(db, dbEndpoints).lookup({ name: 'db.prod.svc.cluster.local', type: 'A' })), ['10.42.1.5', '10.42.2.6', '10.42.2.7']);
  });

  test('a headless Service with publishNotReadyAddresses also lists the not-ready endpoints', () => {
    const published = svc('db', 'prod', { ...db.spec, publishNotReadyAddresses: true });
    assert.deepEqual(data(view(published, dbEndpoints).lookup({ name: 'db.prod.svc.cluster.local', type: 'A' })), ['10.42.1.5', '10.42.2.6', '10.42.2.7', '10.42.3.8']);
  });

  test('an endpoint IP in two subsets is answered once', () => {
    const two = eps('db', 'prod', [{ addresses: [{ ip: '10.42.1.5' }], ports: [{ port: 1 }] }, { addresses: [{ ip: '10.42.1.5' }], ports: [{ port: 2 }] }]);
    assert.deepEqual(data(view(db, two).lookup({ name: 'db.prod.svc.cluster.local', type: 'A' })), ['10.42.1.5']);
  });

  test('a headless Service without ready endpoints is NODATA, not NXDOMAIN: the name exists', () => {
    const r = answered(view(db).lookup({ name: 'db.prod.svc.cluster.local', type: 'A' }));
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers, []);
    assert.equal(r.authorities[0]?.type, 'SOA');
  });

  test('a Service whose ClusterIP is not allocated yet has no address', () => {
    const r = answered(view(svc('new', 'default', {})).lookup({ name: 'new.default.svc.cluster.local', type: 'A' }));
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers, []);
  });
});

describe('NXDOMAIN and NODATA', () => {
  test('an unknown Service is NXDOMAIN with the zone SOA in the authority section', () => {
    const r = answered(view(web).lookup({ name: 'nope.default.svc.cluster.local', type: 'A' }));
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.deepEqual(r.answers, []);
    const soa = r.authorities[0]!;
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.name, 'cluster.local');
    assert.equal(soa.type === 'SOA' && soa.data.minimum, CLUSTER_TTL_SECONDS);
  });

  test('a Service in another namespace than the one asked is NXDOMAIN', () => {
    assert.equal(answered(view(web).lookup({ name: 'web.prod.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
  });

  test('names in the cluster domain that no record shape has are NXDOMAIN', () => {
    for (const name of ['foo.cluster.local', 'a.b.c.d.e.svc.cluster.local', 'web.default.svc.svc.cluster.local', 'x.y.pod.extra.cluster.local']) {
      assert.equal(answered(view(web).lookup({ name, type: 'A' })).rcode, 'NXDOMAIN', name);
    }
  });

  test('AAAA, TXT and MX of a known Service are NODATA: NOERROR with no answers and the SOA', () => {
    for (const type of ['AAAA', 'TXT', 'MX', 'UNKNOWN_65']) {
      const r = answered(view(web).lookup({ name: 'web.default.svc.cluster.local', type }));
      assert.equal(r.rcode, 'NOERROR', type);
      assert.deepEqual(r.answers, [], type);
      assert.equal(r.authorities[0]?.type, 'SOA', type);
    }
  });

  test('the namespace and svc names exist as empty names: NODATA, and an unknown namespace is NXDOMAIN', () => {
    const v = view(web);
    assert.deepEqual([v.lookup({ name: 'default.svc.cluster.local', type: 'A' }), v.lookup({ name: 'svc.cluster.local', type: 'A' })].map((r) => answered(r).rcode), ['NOERROR', 'NOERROR']);
    assert.equal(answered(v.lookup({ name: 'empty.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
  });

  test('the zone apex answers SOA and is NODATA for A', () => {
    const v = view(web);
    const soa = answered(v.lookup({ name: 'cluster.local', type: 'SOA' }));
    assert.equal(soa.answers[0]?.type, 'SOA');
    const a = answered(v.lookup({ name: 'cluster.local', type: 'A' }));
    assert.deepEqual([a.rcode, a.answers.length], ['NOERROR', 0]);
  });

  test('a class other than IN inside the cluster domain is refused', () => {
    assert.equal(answered(view(web).lookup({ name: 'web.default.svc.cluster.local', type: 'A', class: 'CH' })).rcode, 'REFUSED');
  });
});

describe('SRV records', () => {
  test('a named port of a ClusterIP Service points at the Service name, with its A record in the additional section', () => {
    const r = answered(view(web).lookup({ name: '_http._tcp.web.default.svc.cluster.local', type: 'SRV' }));
    assert.deepEqual(data(r), [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
    assert.deepEqual(r.additionals.map((a) => [a.type, a.name, (a as { data: unknown }).data]), [['A', 'web.default.svc.cluster.local', '10.43.0.10']]);
  });

  test('the protocol label must match the port protocol: UDP ports are _udp', () => {
    const v = view(web);
    assert.deepEqual(data(v.lookup({ name: '_dns._udp.web.default.svc.cluster.local', type: 'SRV' })), [{ priority: 0, weight: 100, port: 53, target: 'web.default.svc.cluster.local' }]);
    assert.equal(answered(v.lookup({ name: '_dns._tcp.web.default.svc.cluster.local', type: 'SRV' })).rcode, 'NXDOMAIN');
    assert.equal(answered(v.lookup({ name: '_https._tcp.web.default.svc.cluster.local', type: 'SRV' })).rcode, 'NXDOMAIN');
  });

  test('a headless Service has one SRV record per ready endpoint, on the endpoint port, to the per-pod names', () => {
    const r = answered(view(db, dbEndpoints).lookup({ name: '_pg._tcp.db.prod.svc.cluster.local', type: 'SRV' }));
    assert.deepEqual(data(r), [
      { priority: 0, weight: 33, port: 15432, target: 'db-0.db.prod.svc.cluster.local' },
      { priority: 0, weight: 33, port: 15432, target: 'db-1.db.prod.svc.cluster.local' },
      { priority: 0, weight: 33, port: 15432, target: '10-42-2-7.db.prod.svc.cluster.local' },
    ]);
    assert.deepEqual(r.additionals.map((a) => (a as { data: unknown }).data), ['10.42.1.5', '10.42.2.6', '10.42.2.7']);
  });

  test('an A query of an SRV name is NODATA', () => {
    const r = answered(view(web).lookup({ name: '_http._tcp.web.default.svc.cluster.local', type: 'A' }));
    assert.deepEqual([r.rcode, r.answers.length], ['NOERROR', 0]);
  });
});

describe('Pod records', () => {
  test('HOSTNAME.SUBDOMAIN.NS.svc.cluster.local is the address of the headless endpoint with that hostname', () => {
    const v = view(db, dbEndpoints);
    assert.deepEqual(data(v.lookup({ name: 'db-1.db.prod.svc.cluster.local', type: 'A' })), ['10.42.2.6']);
    assert.deepEqual(data(v.lookup({ name: '10-42-2-7.db.prod.svc.cluster.local', type: 'A' })), ['10.42.2.7'], 'an endpoint without hostname has its dashed IP');
  });

  test('a not-ready endpoint hostname is NXDOMAIN unless the Service publishes not-ready addresses', () => {
    assert.equal(answered(view(db, dbEndpoints).lookup({ name: 'db-2.db.prod.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
    const published = svc('db', 'prod', { ...db.spec, publishNotReadyAddresses: true });
    assert.deepEqual(data(view(published, dbEndpoints).lookup({ name: 'db-2.db.prod.svc.cluster.local', type: 'A' })), ['10.42.3.8']);
  });

  test('a ClusterIP Service has no per-pod names', () => {
    const withEps = eps('web', 'default', [{ addresses: [{ ip: '10.42.0.9', hostname: 'web-0' }], ports: [{ port: 80 }] }]);
    assert.equal(answered(view(web, withEps).lookup({ name: 'web-0.web.default.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
  });

  test('A-B-C-D.NS.pod.cluster.local is that IP, and a label that is not an IP is NXDOMAIN', () => {
    const v = view(web);
    assert.deepEqual(data(v.lookup({ name: '10-42-0-7.default.pod.cluster.local', type: 'A' })), ['10.42.0.7']);
    assert.equal(answered(v.lookup({ name: '10-42-0.default.pod.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
  });
});

describe('reverse and outside names', () => {
  test('PTR of a ClusterIP and of a headless endpoint name them; other reverse names are forwarded', () => {
    const v = view(web, db, dbEndpoints);
    assert.deepEqual(data(v.lookup({ name: '10.0.43.10.in-addr.arpa', type: 'PTR' })), ['web.default.svc.cluster.local']);
    assert.deepEqual(data(v.lookup({ name: '5.1.42.10.in-addr.arpa', type: 'PTR' })), ['db-0.db.prod.svc.cluster.local']);
    assert.deepEqual(v.lookup({ name: '1.1.168.192.in-addr.arpa', type: 'PTR' }), { kind: 'forward' });
  });

  test('names outside the cluster domain are forwarded, also ones that merely end in its text', () => {
    const v = view(web);
    assert.deepEqual(v.lookup({ name: 'example.com', type: 'A' }), { kind: 'forward' });
    assert.deepEqual(v.lookup({ name: 'evilcluster.local', type: 'A' }), { kind: 'forward' });
  });

  test('a custom cluster domain is honoured', () => {
    const v = new ClusterDnsView('k8s.home.');
    v.upsertService(web);
    assert.deepEqual(data(v.lookup({ name: 'web.default.svc.k8s.home', type: 'A' })), ['10.43.0.10']);
    assert.deepEqual(v.lookup({ name: 'web.default.svc.cluster.local', type: 'A' }), { kind: 'forward' });
  });
});

describe('ClusterDnsView updates', () => {
  test('apply takes WatchNetwork events: SYNC and ADDED insert, MODIFIED replaces, DELETED removes, Nodes are ignored', () => {
    const v = new ClusterDnsView();
    assert.equal(v.apply('SYNC', web), true);
    assert.deepEqual(data(v.lookup({ name: 'web.default.svc.cluster.local', type: 'A' })), ['10.43.0.10']);
    v.apply('MODIFIED', svc('web', 'default', { ...web.spec, clusterIP: '10.43.0.11' }));
    assert.deepEqual(data(v.lookup({ name: 'web.default.svc.cluster.local', type: 'A' })), ['10.43.0.11']);
    v.apply('ADDED', db);
    v.apply('ADDED', dbEndpoints);
    assert.equal(data(v.lookup({ name: 'db.prod.svc.cluster.local', type: 'A' })).length, 3);
    v.apply('DELETED', dbEndpoints);
    assert.deepEqual(data(v.lookup({ name: 'db.prod.svc.cluster.local', type: 'A' })), []);
    v.apply('DELETED', web);
    assert.equal(answered(v.lookup({ name: 'web.default.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
    assert.equal(answered(v.lookup({ name: 'default.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN', 'the namespace has no Service left');
    assert.equal(v.apply('ADDED', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }), false);
    assert.equal(v.serviceCount, 1);
  });

  test('replaceAll forgets what the new list does not hold and bumps the SOA serial', () => {
    const v = view(web, db);
    const before = v.serial;
    v.replaceAll([db]);
    assert.equal(answered(v.lookup({ name: 'web.default.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
    assert.ok(v.serial > before);
  });

  test('a Service modified twice counts once for its namespace', () => {
    const v = new ClusterDnsView();
    v.apply('ADDED', web);
    v.apply('MODIFIED', web);
    v.apply('DELETED', web);
    assert.equal(answered(v.lookup({ name: 'default.svc.cluster.local', type: 'A' })).rcode, 'NXDOMAIN');
  });
});
