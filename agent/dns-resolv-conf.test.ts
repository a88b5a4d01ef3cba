import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodSpec } from '../proto/model.js';
import { parseResolvConf, podDnsSettings, podResolvConf, type PodResolvConfOptions } from './dns-resolv-conf.js';

const HOST = '# written by dhcpcd\nnameserver 192.168.1.1\nnameserver 1.1.1.1\nsearch home.lan. lab.example.org\noptions edns0 timeout:2\n';
const opts: PodResolvConfOptions = { dnsServiceIP: '10.43.0.10', clusterDomain: 'cluster.local', hostResolvConf: HOST };
const pod = (spec: Partial<PodSpec> = {}, namespace = 'shop') => ({ metadata: { namespace }, spec });

describe('podResolvConf by dnsPolicy', () => {
  test('ClusterFirst (the default) points at the cluster DNS with the namespace search list, the host domains after it, and ndots:5', () => {
    assert.equal(podResolvConf(pod(), opts), [
      'search shop.svc.cluster.local svc.cluster.local cluster.local home.lan lab.example.org',
      'nameserver 10.43.0.10',
      'options ndots:5',
      '',
    ].join('\n'));
    assert.equal(podResolvConf(pod({ dnsPolicy: 'ClusterFirst' }), opts), podResolvConf(pod(), opts));
  });

  test('a Pod without a namespace is in default', () => {
    assert.match(podResolvConf({ metadata: {}, spec: {} }, opts), /^search default\.svc\.cluster\.local /);
  });

  test("Default copies the board's nameservers, search domains and options", () => {
    assert.equal(podResolvConf(pod({ dnsPolicy: 'Default' }), opts), 'search home.lan lab.example.org\nnameserver 192.168.1.1\nnameserver 1.1.1.1\noptions edns0 timeout:2\n');
  });

  test('ClusterFirst on a hostNetwork Pod falls back to Default, as kubelet does', () => {
    const s = podDnsSettings(pod({ hostNetwork: true }), opts);
    assert.equal(s.source, 'host');
    assert.deepEqual(s.nameservers, ['192.168.1.1', '1.1.1.1']);
  });

  test('ClusterFirstWithHostNet gives a hostNetwork Pod the cluster DNS', () => {
    const s = podDnsSettings(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), opts);
    assert.equal(s.source, 'cluster');
    assert.deepEqual(s.nameservers, ['10.43.0.10']);
    assert.deepEqual(s.options, ['ndots:5']);
  });

  test('None takes only the dnsConfig', () => {
    const text = podResolvConf(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'], searches: ['corp.example'], options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }] } }), opts);
    assert.equal(text, 'search corp.example\nnameserver 9.9.9.9\noptions ndots:2 rotate\n');
  });

  test("the documentation's custom DNS example gives the resolv.conf the documentation shows", () => {
    const text = podResolvConf(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1'], searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), opts);
    assert.equal(text, 'search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 192.0.2.1\noptions ndots:2 edns0\n');
  });

  test('without a known DNS Service IP ClusterFirst falls back to the board resolv.conf with a warning', () => {
    const s = podDnsSettings(pod(), { ...opts, dnsServiceIP: '' });
    assert.equal(s.source, 'host');
    assert.match(s.warnings[0]!, /cluster DNS Service IP/);
  });
});

describe('dnsConfig merging and limits', () => {
  test('dnsConfig nameservers and searches follow the policy ones without duplicates, options merge by name with the later winning', () => {
    const s = podDnsSettings(pod({ dnsConfig: { nameservers: ['10.43.0.10', '8.8.8.8'], searches: ['svc.cluster.local', 'extra.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), opts);
    assert.deepEqual(s.nameservers, ['10.43.0.10', '8.8.8.8']);
    assert.deepEqual(s.searches, ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'home.lan', 'lab.example.org', 'extra.example']);
    assert.deepEqual(s.options, ['ndots:2', 'edns0']);
  });

  test('more than 3 nameservers are cut to the first 3 with a warning', () => {
    const s = podDnsSettings(pod({ dnsPolicy: 'Default', dnsConfig: { nameservers: ['8.8.8.8', '9.9.9.9'] } }), opts);
    assert.deepEqual(s.nameservers, ['192.168.1.1', '1.1.1.1', '8.8.8.8']);
    assert.match(s.warnings.join('\n'), /nameserver limits were exceeded/);
  });

  test('the search list is cut to 32 domains and to 2048 characters, dropping domains over 253 characters', () => {
    const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
    const s = podDnsSettings(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: many } }), opts);
    assert.equal(s.searches.length, 32);
    assert.match(s.warnings.join('\n'), /search line limits were exceeded/);
    const long = Array.from({ length: 12 }, (_, i) => `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.x${i}`);
    const cut = podDnsSettings(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: [...long, `${'z'.repeat(250)}.example`] } }), opts);
    assert.ok(cut.searches.join(' ').length <= 2048);
    assert.ok(cut.searches.every((d) => d.length <= 253));
    assert.equal(cut.searches.length, 11, "the last whole domains that fit are kept");
  });
});

describe('parseResolvConf', () => {
  test('reads nameserver, the last search line, and options; skips comments and the root domain', () => {
    assert.deepEqual(parseResolvConf('; old\nsearch a.b\nnameserver 127.0.0.53\nsearch c.d. .\noptions ndots:1\noptions ndots:3 edns0\n'), {
      nameservers: ['127.0.0.53'], searches: ['c.d'], options: ['ndots:3', 'edns0'],
    });
  });
});
