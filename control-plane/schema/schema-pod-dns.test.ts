import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectProblem, expectValid, fixtures, problemsOf, set } from '../testing/schema-fixtures.js';

const pod = (path: string, value: unknown) => set(fixtures.pod(), path, value);
const withDns = (dnsPolicy: unknown, dnsConfig?: unknown) => set(pod('spec.dnsPolicy', dnsPolicy), 'spec.dnsConfig', dnsConfig);

describe('Pod dnsPolicy and dnsConfig', () => {
  test('every Kubernetes dnsPolicy is accepted, and dnsConfig with each of them', () => {
    for (const policy of ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default']) {
      expectValid(withDns(policy));
      expectValid(withDns(policy, { nameservers: ['1.1.1.1'], searches: ['corp.example.'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] }));
    }
    expectValid(withDns('None', { nameservers: ['1.1.1.1', '2001:db8::1'] }));
  });

  test("the documentation's custom DNS Pod (service/networking/custom-dns.yaml) is valid", () => {
    expectValid(withDns('None', { nameservers: ['192.0.2.1'], searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] }));
  });

  test('dnsPolicy must be one of the four policies', () => {
    expectProblem(withDns('ClusterOnly'), 'spec.dnsPolicy', 'must be one of "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None": current value is "ClusterOnly"');
  });

  test('None needs a dnsConfig with at least one nameserver', () => {
    expectProblem(withDns('None'), 'spec.dnsConfig', 'must be set when dnsPolicy is "None"');
    expectProblem(withDns('None', { searches: ['a.example'] }), 'spec.dnsConfig.nameservers', 'must have at least one nameserver when dnsPolicy is "None"');
  });

  test('at most 3 nameservers, each an IP address', () => {
    expectProblem(withDns('Default', { nameservers: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4'] }), 'spec.dnsConfig.nameservers', 'must have at most 3 nameservers: current value has 4');
    expectProblem(withDns('Default', { nameservers: ['dns.google'] }), 'spec.dnsConfig.nameservers[0]', 'must be a valid IP address: current value is "dns.google"');
  });

  test('at most 32 search paths of 2048 characters in all, each a DNS subdomain', () => {
    const many = Array.from({ length: 33 }, (_, i) => `d${i}.example`);
    expectProblem(withDns('Default', { searches: many }), 'spec.dnsConfig.searches', 'must have at most 32 search paths: current value has 33');
    const long = Array.from({ length: 11 }, () => `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example`);
    expectProblem(withDns('Default', { searches: long }), 'spec.dnsConfig.searches', 'must have at most 2048 characters (spaces included) in the search list');
    expectProblem(withDns('Default', { searches: ['Bad_Domain'] }), 'spec.dnsConfig.searches[0]', 'current value is "Bad_Domain"');
  });

  test('an option needs a name, and unknown dnsConfig fields are refused', () => {
    expectProblem(withDns('Default', { options: [{ value: '2' }] }), 'spec.dnsConfig.options[0].name', 'must not be empty');
    assert.ok(problemsOf(withDns('Default', { servers: ['1.1.1.1'] })).some((p) => p.path.startsWith('spec.dnsConfig')));
  });
});
