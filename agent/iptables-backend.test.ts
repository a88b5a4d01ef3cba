import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRunner } from './exec-runner.js';
import { countSaveOutput, detectIptablesBackend, modeFromVersion } from './iptables-backend.js';

const save = (chains: string[], rules: number) => ['*nat', ':PREROUTING ACCEPT [0:0]', ...chains.map((c) => `:${c} - [0:0]`), ...Array.from({ length: rules }, (_, i) => `-A PREROUTING -p tcp --dport ${i} -j ACCEPT`), 'COMMIT', ''].join('\n');

function runner(legacy: string | Error | number, nft: string | Error | number, version = 'iptables v1.8.9 (nf_tables)'): FakeRunner {
  const reply = (x: string | Error | number) => (x instanceof Error ? x : typeof x === 'number' ? { exitCode: x, stderr: 'nope' } : { stdout: x });
  return new FakeRunner()
    .on(['iptables-legacy-save'], reply(legacy))
    .on(['iptables-nft-save'], reply(nft))
    .on(['iptables', '--version'], { stdout: `${version}\n` });
}

describe('iptables backend detection', () => {
  test('the backend holding KUBE- or BRAMBLE- chains wins even with fewer rules', async () => {
    const b = await detectIptablesBackend(runner(save(['BRAMBLE-SERVICES'], 1), save([], 30)));
    assert.equal(b.mode, 'legacy');
    assert.deepEqual([b.iptables, b.restore, b.save], ['iptables-legacy', 'iptables-legacy-restore', 'iptables-legacy-save']);
  });

  test('without such chains the backend with more rules wins', async () => {
    const b = await detectIptablesBackend(runner(save([], 2), save([], 12), 'iptables v1.8.9 (legacy)'));
    assert.equal(b.mode, 'nft');
    assert.deepEqual([b.iptables, b.restore, b.save], ['iptables-nft', 'iptables-nft-restore', 'iptables-nft-save']);
    assert.match(b.reason, /legacy 2, nft 12/);
  });

  test('a tie is settled by what iptables --version says', async () => {
    assert.equal((await detectIptablesBackend(runner(save([], 0), save([], 0), 'iptables v1.8.9 (nf_tables)'))).mode, 'nft');
    assert.equal((await detectIptablesBackend(runner(save([], 0), save([], 0), 'iptables v1.8.7 (legacy)'))).mode, 'legacy');
  });

  test('when only one variant is installed it is used', async () => {
    const b = await detectIptablesBackend(runner(new Error('spawn iptables-legacy-save ENOENT'), save([], 0), 'iptables v1.8.9 (legacy)'));
    assert.equal(b.mode, 'nft');
    const c = await detectIptablesBackend(runner(save([], 0), 127));
    assert.equal(c.mode, 'legacy');
  });

  test('an old iptables without variants uses the plain binaries in legacy mode', async () => {
    const b = await detectIptablesBackend(runner(127, 127, 'iptables v1.6.1'));
    assert.deepEqual([b.mode, b.iptables, b.restore, b.save], ['legacy', 'iptables', 'iptables-restore', 'iptables-save']);
  });

  test('each probe has a deadline so a hanging iptables-nft cannot stall the agent', async () => {
    const r = runner(save([], 0), save([], 0));
    await detectIptablesBackend(r);
    for (const c of r.calls) assert.ok((c.timeoutMs ?? 0) > 0, `${c.file} has a timeout`);
  });

  test('counting skips comments and table headers', () => {
    assert.deepEqual(countSaveOutput('# Generated\n*nat\n:KUBE-SERVICES - [0:0]\n:PREROUTING ACCEPT [0:0]\n-A X -j Y\nCOMMIT\n'), { ownChains: 1, rules: 1 });
    assert.equal(modeFromVersion('iptables v1.8.4 (nf_tables)'), 'nft');
  });
});
