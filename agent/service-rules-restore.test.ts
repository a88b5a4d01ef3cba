import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEndpoints, makeService, makeSnapshot } from '../test/support/service-fixtures.js';
import { buildServiceRules } from './service-rules.js';
import { emptyExisting, parseSavedChains, planCleanup, planRestore, splitSavedTables } from './service-rules-restore.js';
import { endpointChain, serviceChain } from './service-rules-names.js';

const svc = (name: string, ip: string) => makeService(name, { clusterIP: ip, ports: [{ port: 80 }] });
const eps = (name: string, ...ips: string[]) => makeEndpoints(name, [{ ready: ips, ports: [{ port: 80 }] }]);
const snapOf = (aIps: string[], withB = true) => makeSnapshot(
  withB ? [svc('a', '10.43.0.11'), svc('b', '10.43.0.12')] : [svc('a', '10.43.0.11')],
  withB ? [eps('a', ...aIps), eps('b', '10.42.1.20')] : [eps('a', ...aIps)],
);
const declared = (text: string) => text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);

describe('restore planning', () => {
  test('a full plan declares every chain of both tables and deletes nothing when nothing is stale', () => {
    const set = buildServiceRules(snapOf(['10.42.1.5']));
    const plan = planRestore(set, { existing: emptyExisting() });
    assert.equal(plan.written.nat.length, set.nat.size);
    assert.equal(plan.written.filter.length, set.filter.size);
    assert.deepEqual(plan.deleted, { filter: [], nat: [] });
    assert.equal(plan.rulesWritten, plan.rulesTotal);
    assert.match(plan.text, /^\*filter\n[\s\S]*COMMIT\n\*nat\n[\s\S]*COMMIT\n$/);
  });

  test('a partial plan rewrites only the chains whose rules changed', () => {
    const first = planRestore(buildServiceRules(snapOf(['10.42.1.5', '10.42.1.6'])));
    const second = planRestore(buildServiceRules(snapOf(['10.42.1.5', '10.42.1.7'])), { previous: first.state });
    const names = declared(second.text);
    const svcA = serviceChain('default/a', 'tcp');
    assert.ok(!names.includes('BRAMBLE-SERVICES') && !names.includes('BRAMBLE-POSTROUTING'), 'the dispatch did not change');
    assert.ok(names.includes(svcA), 'a\'s service chain lists the new endpoint');
    assert.ok(names.includes(endpointChain('default/a', 'tcp', '10.42.1.7:80')), 'the new endpoint chain is written');
    assert.ok(!names.includes(endpointChain('default/a', 'tcp', '10.42.1.5:80')), 'an unchanged endpoint chain is left alone');
    assert.ok(!names.includes(serviceChain('default/b', 'tcp')), 'b did not change');
    assert.deepEqual(second.deleted.nat, [endpointChain('default/a', 'tcp', '10.42.1.6:80')]);
    assert.match(second.text, new RegExp(`-X ${endpointChain('default/a', 'tcp', '10.42.1.6:80')}\n`));
    assert.equal(second.skipped, 3 + 7, 'b\'s SVC and SEP, a\'s kept SEP, and the seven base chains');
    assert.ok(second.rulesWritten < second.rulesTotal);
  });

  test('an unchanged snapshot writes no chain at all, and no restore input', () => {
    const first = planRestore(buildServiceRules(snapOf(['10.42.1.5'])));
    const again = planRestore(buildServiceRules(snapOf(['10.42.1.5'])), { previous: first.state });
    assert.equal(again.text, '');
    assert.equal(again.rulesWritten, 0);
  });

  test('a partial plan leaves out the table it has nothing for', () => {
    const first = planRestore(buildServiceRules(snapOf(['10.42.1.5'])));
    const second = planRestore(buildServiceRules(snapOf(['10.42.1.6'])), { previous: first.state });
    assert.doesNotMatch(second.text, /^\*filter$/m, 'only nat chains changed');
    assert.match(second.text, /^\*nat\n[^]*\nCOMMIT\n$/);
  });

  test('a whole iptables-save splits into its filter and nat sections, a table not printed reading as empty', () => {
    const save = '# Generated\n*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*nat\n:BRAMBLE-SERVICES - [0:0]\n-A BRAMBLE-SERVICES -j RETURN\nCOMMIT\n# Completed\n';
    assert.deepEqual(splitSavedTables(save), { filter: '', nat: '*nat\n:BRAMBLE-SERVICES - [0:0]\n-A BRAMBLE-SERVICES -j RETURN\nCOMMIT' });
    assert.deepEqual(splitSavedTables('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n'), { filter: '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT', nat: '' });
    assert.deepEqual(splitSavedTables(''), { filter: '', nat: '' });
  });

  test('a Service losing its last endpoint rewrites the dispatch chains in both tables', () => {
    const first = planRestore(buildServiceRules(snapOf(['10.42.1.5'])));
    const second = planRestore(buildServiceRules(snapOf([])), { previous: first.state });
    assert.deepEqual(second.written.filter, ['BRAMBLE-SERVICES'], 'the REJECT appears');
    assert.ok(second.written.nat.includes('BRAMBLE-SERVICES'), 'the dispatch rule goes');
    assert.deepEqual(second.deleted.nat.sort(), [serviceChain('default/a', 'tcp'), endpointChain('default/a', 'tcp', '10.42.1.5:80')].sort());
  });

  test('a deleted Service\'s chains are deleted in a partial plan, and the base chains stay', () => {
    const first = planRestore(buildServiceRules(snapOf(['10.42.1.5'])));
    const second = planRestore(buildServiceRules(snapOf(['10.42.1.5'], false)), { previous: first.state });
    assert.deepEqual(second.deleted.nat.sort(), [serviceChain('default/b', 'tcp'), endpointChain('default/b', 'tcp', '10.42.1.20:80')].sort());
    assert.doesNotMatch(second.text, /-X BRAMBLE-(SERVICES|NODEPORTS|POSTROUTING|MARK-MASQ)/);
  });

  test('a NodePort Service losing its endpoints has every stale chain flushed before the first is deleted (EXT jumps to SVC, SVC to SEP)', () => {
    const np = makeService('np', { type: 'NodePort', clusterIP: '10.43.0.30', ports: [{ port: 80, nodePort: 30080 }] });
    const snapNp = (ips: string[]) => makeSnapshot([np], [makeEndpoints('np', [{ ready: ips, ports: [{ port: 80 }] }])]);
    const first = planRestore(buildServiceRules(snapNp(['10.42.1.5', '10.42.1.6'])));
    const second = planRestore(buildServiceRules(snapNp([])), { previous: first.state });
    assert.equal(second.deleted.nat.length, 4, 'EXT, SVC and two SEP chains');
    const lines = second.text.split('\n');
    const firstDelete = lines.findIndex((l) => l.startsWith('-X '));
    for (const chain of second.deleted.nat) {
      const flushedAt = lines.indexOf(`:${chain} - [0:0]`);
      assert.ok(flushedAt >= 0 && flushedAt < firstDelete, `${chain} must be flushed before line ${firstDelete}: it is at ${flushedAt}`);
    }
  });

  test('a full plan deletes stale service chains found in the tables but never base or foreign ones', () => {
    const existing = emptyExisting();
    existing.nat.set('BRAMBLE-SVC-OLDOLDOLDOLDOLD1', []);
    existing.nat.set('BRAMBLE-SERVICES', []);
    existing.nat.set('BRAMBLE-SOMETHING', []);
    existing.filter.set('BRAMBLE-SEP-OLDOLDOLDOLDOLD2', []);
    const plan = planRestore(buildServiceRules(snapOf(['10.42.1.5'])), { existing });
    assert.deepEqual(plan.deleted, { filter: ['BRAMBLE-SEP-OLDOLDOLDOLDOLD2'], nat: ['BRAMBLE-SVC-OLDOLDOLDOLDOLD1'] });
    assert.doesNotMatch(plan.text, /-X BRAMBLE-SOMETHING|-X BRAMBLE-SERVICES/);
  });

  test('parseSavedChains keeps only Bramble chains with their rules', () => {
    const save = [
      '# Generated by iptables-save', '*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':BRAMBLE-SERVICES - [0:0]',
      ':BRAMBLE-SVC-X - [0:0]', '-A PREROUTING -j BRAMBLE-SERVICES', '-A KUBE-SERVICES -j RETURN',
      '-A BRAMBLE-SERVICES -d 10.43.0.1/32 -j BRAMBLE-SVC-X', 'COMMIT', '',
    ].join('\n');
    const chains = parseSavedChains(save);
    assert.deepEqual([...chains.keys()], ['BRAMBLE-SERVICES', 'BRAMBLE-SVC-X']);
    assert.deepEqual(chains.get('BRAMBLE-SERVICES'), ['-A BRAMBLE-SERVICES -d 10.43.0.1/32 -j BRAMBLE-SVC-X']);
    assert.deepEqual(chains.get('BRAMBLE-SVC-X'), []);
  });

  test('the cleanup input deletes the jumps, flushes then deletes every Bramble chain found, and is empty when there are none', () => {
    const existing = emptyExisting();
    existing.nat.set('BRAMBLE-SERVICES', ['-A BRAMBLE-SERVICES -j BRAMBLE-SVC-X']);
    existing.nat.set('BRAMBLE-SVC-X', []);
    assert.equal(planCleanup(existing, { filter: [], nat: ['-D OUTPUT 1'] }), '*nat\n:BRAMBLE-SERVICES - [0:0]\n:BRAMBLE-SVC-X - [0:0]\n-D OUTPUT 1\n-X BRAMBLE-SERVICES\n-X BRAMBLE-SVC-X\nCOMMIT\n');
    assert.equal(planCleanup(emptyExisting()), '');
  });
});
