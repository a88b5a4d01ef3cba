// ServiceProxy against the real iptables, inside network namespaces this test makes
// (never the host's tables): rules applied and read back, partial syncs, foreign rules
// surviving, stale chains removed, cleanup, backend detection, and real traffic DNATed
// from a ClusterIP and a NodePort to a listener in another namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { realClock } from '../proto/util/clock.js';
import { silentLogger } from '../proto/util/log.js';
import { execRunner, nsenterRunner, type CommandRunner } from './exec-runner.js';
import { backendFor, detectIptablesBackend, type IptablesBackend, type IptablesMode } from './iptables-backend.js';
import { ServiceProxy } from './service-proxy.js';
import { parseSavedChains } from './service-rules-restore.js';
import { endpointChain, isServiceChainName, serviceChain } from './service-rules-names.js';
import { LARGE_CLUSTER_ENDPOINTS, type ServiceSnapshot } from './service-rules.js';
import { makeEndpoints, makeService, makeSnapshot, manyServices } from '../test/support/service-fixtures.js';

const isRoot = process.getuid?.() === 0;
const hasBinary = (name: string): boolean => ['/usr/sbin', '/sbin', '/usr/bin'].some((d) => existsSync(`${d}/${name}`));
const modes = (['nft', 'legacy'] as IptablesMode[]).filter((m) => hasBinary(`iptables-${m}-restore`));
const suffix = randomBytes(3).toString('hex');
let netnsCount = 0;

interface Netns {
  name: string;
  path: string;
  runner: CommandRunner;
  destroy(): Promise<void>;
}

async function must(runner: CommandRunner, file: string, args: string[], input?: string): Promise<string> {
  const r = await runner.run(file, args, { timeoutMs: 20_000, input });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} must succeed: exited with ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function makeNetns(label: string): Promise<Netns> {
  const name = `bsvc-${suffix}-${label}-${netnsCount++}`;
  await must(execRunner, 'ip', ['netns', 'add', name]);
  const path = `/var/run/netns/${name}`;
  const runner = nsenterRunner(path);
  await must(runner, 'ip', ['link', 'set', 'lo', 'up']);
  return { name, path, runner, destroy: async () => { await execRunner.run('ip', ['netns', 'delete', name]).catch(() => undefined); } };
}

const svc = (name: string, ip: string, extra: Record<string, unknown> = {}) => makeService(name, { clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...extra });
const eps = (name: string, ...ips: string[]) => makeEndpoints(name, [{ ready: ips, ports: [{ name: 'http', port: 8080 }] }]);

async function savedChains(ns: Netns, b: IptablesBackend, table: 'nat' | 'filter'): Promise<Map<string, string[]>> {
  return parseSavedChains(await must(ns.runner, b.save, ['-t', table]));
}

async function allSaved(ns: Netns, b: IptablesBackend): Promise<string> {
  return (await must(ns.runner, b.save, ['-t', 'nat'])) + (await must(ns.runner, b.save, ['-t', 'filter']));
}

/** Polls `ok` every 20 ms until it holds, failing after 10 s. */
async function waitUntil(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after 10 s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function proxyFor(ns: Netns, b: IptablesBackend): ServiceProxy {
  return new ServiceProxy({ runner: ns.runner, backend: b, clock: realClock, logger: silentLogger(), minSyncPeriodMs: 0, syncPeriodMs: 3_600_000 });
}

async function apply(proxy: ServiceProxy, snap: ServiceSnapshot) {
  proxy.update(snap);
  return proxy.synced();
}

for (const mode of modes) {
  describe(`ServiceProxy with the ${mode} backend in a network namespace`, { skip: !isRoot && 'needs root' }, () => {
    const backend = backendFor(mode, true, 'test');
    let ns: Netns | undefined;
    let proxy: ServiceProxy;
    const two = () => makeSnapshot([svc('a', '10.43.0.11'), svc('b', '10.43.0.12')], [eps('a', '10.42.1.5', '10.42.1.6'), eps('b', '10.42.1.20')]);

    before(async () => {
      ns = await makeNetns(mode);
      // Someone else's rules, which Bramble must never touch.
      await must(ns.runner, backend.iptables, ['-t', 'nat', '-N', 'FOREIGN-CHAIN']);
      await must(ns.runner, backend.iptables, ['-t', 'nat', '-A', 'FOREIGN-CHAIN', '-p', 'tcp', '--dport', '9999', '-j', 'RETURN']);
      await must(ns.runner, backend.iptables, ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '9999', '-j', 'FOREIGN-CHAIN']);
      await must(ns.runner, backend.iptables, ['-t', 'filter', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
      await must(ns.runner, backend.iptables, ['-t', 'nat', '-N', 'KUBE-SVC-NOTBRAMBLESCHAIN']);
      proxy = proxyFor(ns, backend);
      await proxy.start();
    });

    after(async () => {
      await proxy?.stop().catch(() => undefined);
      await ns?.destroy();
    });

    const foreignSurvives = async () => {
      const text = await allSaved(ns!, backend);
      assert.match(text, /:FOREIGN-CHAIN /);
      assert.match(text, /-A FOREIGN-CHAIN -p tcp -m tcp --dport 9999 -j RETURN/);
      assert.match(text, /-A PREROUTING -p tcp -m tcp --dport 9999 -j FOREIGN-CHAIN/);
      assert.match(text, /-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT/);
      assert.match(text, /:KUBE-SVC-NOTBRAMBLESCHAIN /);
    };

    test('a rule set is applied in one restore and reads back with every chain, rule and jump', async () => {
      const report = await apply(proxy, two());
      assert.equal(report.full, true);
      const nat = await savedChains(ns!, backend, 'nat');
      const filter = await savedChains(ns!, backend, 'filter');
      const total = [...nat.values(), ...filter.values()].reduce((n, r) => n + r.length, 0);
      assert.equal(total, report.rulesTotal);
      assert.equal(nat.get(serviceChain('default/a:http', 'tcp'))!.length, 3, 'masquerade mark and two endpoints');
      assert.ok(nat.has(endpointChain('default/a:http', 'tcp', '10.42.1.6:8080')));
      const text = await allSaved(ns!, backend);
      for (const [chain, target] of [['PREROUTING', 'BRAMBLE-SERVICES'], ['OUTPUT', 'BRAMBLE-SERVICES'], ['POSTROUTING', 'BRAMBLE-POSTROUTING'], ['INPUT', 'BRAMBLE-EXTERNAL-SERVICES'], ['FORWARD', 'BRAMBLE-FORWARD']]) {
        assert.match(text, new RegExp(`-A ${chain} .*-j ${target}\\b`), `${chain} jumps to ${target}`);
      }
      await foreignSurvives();
    });

    test('one endpoint change rewrites only that service\'s chains and deletes the old endpoint chain', async () => {
      const before = await savedChains(ns!, backend, 'nat');
      const snap = two();
      snap.endpoints[0] = eps('a', '10.42.1.5', '10.42.1.7');
      const report = await apply(proxy, snap);
      assert.equal(report.full, false);
      assert.equal(report.chainsDeleted, 1);
      const afterChains = await savedChains(ns!, backend, 'nat');
      const changed = [...new Set([...before.keys(), ...afterChains.keys()])]
        .filter((c) => JSON.stringify(before.get(c)) !== JSON.stringify(afterChains.get(c)))
        .sort();
      assert.deepEqual(changed, [
        serviceChain('default/a:http', 'tcp'),
        endpointChain('default/a:http', 'tcp', '10.42.1.6:8080'),
        endpointChain('default/a:http', 'tcp', '10.42.1.7:8080'),
      ].sort());
      assert.ok(!afterChains.has(endpointChain('default/a:http', 'tcp', '10.42.1.6:8080')));
      await foreignSurvives();
    });

    test('an agent restart re-syncs fully and removes stale Bramble chains, keeping foreign ones', async () => {
      await must(ns!.runner, backend.iptables, ['-t', 'nat', '-N', 'BRAMBLE-SEP-STALESTALESTALE1']);
      await must(ns!.runner, backend.iptables, ['-t', 'nat', '-A', 'BRAMBLE-SEP-STALESTALESTALE1', '-j', 'RETURN']);
      await proxy.stop();
      proxy = proxyFor(ns!, backend);
      await proxy.start();
      const report = await apply(proxy, two());
      assert.equal(report.full, true);
      assert.equal(report.jumpsInserted, 0, 'the jumps were already there: not inserted twice');
      const nat = await savedChains(ns!, backend, 'nat');
      assert.ok(!nat.has('BRAMBLE-SEP-STALESTALESTALE1'));
      assert.ok(!nat.has(endpointChain('default/a:http', 'tcp', '10.42.1.7:8080')), 'the previous run\'s endpoint chain is stale too');
      const text = await allSaved(ns!, backend);
      assert.equal((text.match(/-A PREROUTING .*-j BRAMBLE-SERVICES/g) ?? []).length, 1, 'one jump, not two');
      await foreignSurvives();
    });

    test('deleting every Service leaves only the base chains, without service rules', async () => {
      await apply(proxy, makeSnapshot([], []));
      const nat = await savedChains(ns!, backend, 'nat');
      const filter = await savedChains(ns!, backend, 'filter');
      assert.deepEqual([...nat.keys()].filter(isServiceChainName), []);
      assert.deepEqual([...nat.keys()].sort(), ['BRAMBLE-MARK-MASQ', 'BRAMBLE-NODEPORTS', 'BRAMBLE-POSTROUTING', 'BRAMBLE-SERVICES']);
      assert.deepEqual([...filter.keys()].sort(), ['BRAMBLE-EXTERNAL-SERVICES', 'BRAMBLE-FORWARD', 'BRAMBLE-SERVICES']);
      assert.equal(nat.get('BRAMBLE-NODEPORTS')!.length, 0);
      assert.equal(nat.get('BRAMBLE-SERVICES')!.length, 1, 'only the jump to BRAMBLE-NODEPORTS');
      assert.equal(filter.get('BRAMBLE-SERVICES')!.length, 0);
      await foreignSurvives();
    });

    test('above 1,000 endpoints the comment-less per-endpoint rules apply and read back, and one endpoint change rewrites only its chains', async () => {
      const { services, endpoints } = manyServices(LARGE_CLUSTER_ENDPOINTS / 2 + 1, 2);
      const large = makeSnapshot(services, endpoints);
      const report = await apply(proxy, large);
      const nat = await savedChains(ns!, backend, 'nat');
      const filter = await savedChains(ns!, backend, 'filter');
      assert.equal([...nat.values(), ...filter.values()].reduce((n, r) => n + r.length, 0), report.rulesTotal);
      const sep = endpointChain('default/svc-0000:http', 'tcp', '10.42.0.2:8080');
      assert.equal(nat.get(sep)!.length, 2);
      assert.ok(nat.get(sep)!.every((l) => !l.includes('--comment')), `no comment in ${sep}: ${nat.get(sep)!.join(' | ')}`);

      const changedSnap = { ...large, endpoints: [...large.endpoints] };
      const old = changedSnap.endpoints[7]!;
      changedSnap.endpoints[7] = makeEndpoints(old.metadata.name, [{ ready: [old.subsets![0]!.addresses![0]!.ip, '10.42.250.9'], ports: old.subsets![0]!.ports! }]);
      const change = await apply(proxy, changedSnap);
      assert.equal(change.full, false);
      assert.equal(change.chainsWritten, 2, 'the SVC chain and the new SEP chain');
      assert.equal(change.chainsDeleted, 1);
      const after = await savedChains(ns!, backend, 'nat');
      const differ = [...new Set([...nat.keys(), ...after.keys()])].filter((c) => JSON.stringify(nat.get(c)) !== JSON.stringify(after.get(c)));
      assert.equal(differ.length, 3, `changed: ${differ.join(', ')}`);
      await foreignSurvives();
    });

    test('a full resync repairs a Bramble chain someone flushed and a jump someone deleted', async () => {
      await apply(proxy, two());
      await must(ns!.runner, backend.iptables, ['-t', 'nat', '-F', serviceChain('default/b:http', 'tcp')]);
      await must(ns!.runner, backend.iptables, ['-t', 'nat', '-D', 'OUTPUT', '-m', 'comment', '--comment', 'bramble service portals', '-j', 'BRAMBLE-SERVICES']);
      await proxy.stop();
      proxy = new ServiceProxy({ runner: ns!.runner, backend, clock: realClock, logger: silentLogger(), minSyncPeriodMs: 0, syncPeriodMs: 200 });
      await proxy.start();
      proxy.update(two());
      await proxy.synced();
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const nat = await savedChains(ns!, backend, 'nat');
        const text = await allSaved(ns!, backend);
        if (nat.get(serviceChain('default/b:http', 'tcp'))?.length === 2 && /-A OUTPUT .*-j BRAMBLE-SERVICES/.test(text)) return;
        await realClock.sleep(100);
      }
      assert.fail('the periodic full resync must restore the flushed chain and the deleted jump within 10 s');
    });

    test('cleanup leaves no Bramble chain or jump, and the foreign rules', async () => {
      await proxy.cleanup();
      const text = await allSaved(ns!, backend);
      assert.doesNotMatch(text, /BRAMBLE-/);
      await foreignSurvives();
    });
  });
}

describe('iptables backend detection in network namespaces', { skip: (!isRoot || modes.length < 2) && 'needs root and both iptables variants' }, () => {
  const made: Netns[] = [];
  after(async () => {
    for (const n of made) await n.destroy();
  });

  test('a namespace whose rules are in legacy tables is detected as legacy, one with nft rules as nft', async () => {
    const legacy = await makeNetns('dl');
    made.push(legacy);
    for (let i = 0; i < 3; i++) await must(legacy.runner, 'iptables-legacy', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(1000 + i), '-j', 'ACCEPT']);
    const a = await detectIptablesBackend(legacy.runner);
    assert.equal(a.mode, 'legacy', a.reason);
    assert.equal(a.restore, 'iptables-legacy-restore');
    const nft = await makeNetns('dn');
    made.push(nft);
    await must(nft.runner, 'iptables-nft', ['-t', 'nat', '-N', 'KUBE-SERVICES']);
    const b = await detectIptablesBackend(nft.runner);
    assert.equal(b.mode, 'nft', b.reason);
  });
});

// ---------------------------------------------------------------- real traffic

/** A TCP and UDP server in `ns` that answers every connection (datagram) with the client's address. */
function startEchoAddressServer(ns: Netns, port: number): Promise<ChildProcess> {
  const script = `const u=require('dgram').createSocket('udp4');u.on('message',(m,r)=>u.send(r.address,r.port,r.address));u.bind(${port});`
    + `require('net').createServer((s)=>{s.end(s.remoteAddress.replace(/^::ffff:/,''))}).listen(${port},'0.0.0.0',()=>console.log('listening'))`;
  const child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the echo server must start listening within 10 s')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`the echo server exited with ${code}`)));
  });
}

/** Connects from `ns` to ip:port; the answer, or "ERR <code>". */
async function fetchFrom(ns: Netns, ip: string, port: number, proto: 'tcp' | 'udp' = 'tcp'): Promise<string> {
  const script = proto === 'tcp'
    ? `const s=require('net').connect(${port},'${ip}');let b='';s.setTimeout(3000,()=>{console.log('ERR timeout');process.exit()});s.on('data',(d)=>b+=d);s.on('end',()=>{console.log(b);process.exit()});s.on('error',(e)=>{console.log('ERR '+e.code);process.exit()})`
    : `const s=require('dgram').createSocket('udp4');s.on('message',(m)=>{console.log(String(m));process.exit()});s.send('hi',${port},'${ip}');setTimeout(()=>{console.log('ERR timeout');process.exit()},3000)`;
  return (await must(ns.runner, process.execPath, ['-e', script])).trim();
}

describe('Service traffic through the rules', { skip: (!isRoot || modes.length === 0) && 'needs root and iptables' }, () => {
  const backend = backendFor(modes.includes('nft') ? 'nft' : 'legacy', true, 'test');
  let board: Netns | undefined;
  let server: Netns | undefined;
  let client: Netns | undefined;
  let outside: Netns | undefined;
  const outsideIp = '192.168.77.20';
  const children: ChildProcess[] = [];
  let proxy: ServiceProxy | undefined;
  const boardAddress = '192.168.77.10';
  const serverIp = '10.42.1.5';
  const clientIp = '10.42.1.6';

  before(async () => {
    board = await makeNetns('board');
    server = await makeNetns('pod');
    client = await makeNetns('cli');
    outside = await makeNetns('lan');
    const b = board.runner;
    // The board: a bridge for its "Pods" (as the CNI bridge), a LAN address, forwarding on.
    await must(b, 'sysctl', ['-w', 'net.ipv4.ip_forward=1']);
    await must(b, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await must(b, 'ip', ['addr', 'add', '10.42.1.1/24', 'dev', 'br0']);
    await must(b, 'ip', ['link', 'set', 'br0', 'up']);
    // The LAN: a veth pair to a namespace standing for a laptop outside the cluster.
    await must(b, 'ip', ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside.path]);
    await must(b, 'ip', ['addr', 'add', `${boardAddress}/24`, 'dev', 'lan0']);
    await must(b, 'ip', ['link', 'set', 'lan0', 'up']);
    await must(outside.runner, 'ip', ['addr', 'add', `${outsideIp}/24`, 'dev', 'eth0']);
    await must(outside.runner, 'ip', ['link', 'set', 'eth0', 'up']);
    await must(b, 'ip', ['route', 'add', 'default', 'dev', 'lan0']);
    for (const [pod, ip, tag] of [[server, serverIp, 's'], [client, clientIp, 'c']] as const) {
      await must(b, 'ip', ['link', 'add', `v${tag}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.path]);
      await must(b, 'ip', ['link', 'set', `v${tag}`, 'master', 'br0', 'up']);
      await must(pod.runner, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await must(pod.runner, 'ip', ['link', 'set', 'eth0', 'up']);
      await must(pod.runner, 'ip', ['route', 'add', 'default', 'via', '10.42.1.1']);
    }
    children.push(await startEchoAddressServer(server, 8080));
    proxy = proxyFor(board, backend);
    await proxy.start();
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await proxy?.cleanup().catch(() => undefined);
    for (const n of [outside, client, server, board]) await n?.destroy();
  });

  const snapshot = (ready: string[], policy: 'Cluster' | 'Local' = 'Cluster', readyNode = 'board-a') => makeSnapshot(
    [
      svc('web', '10.43.0.50', { type: 'NodePort', externalTrafficPolicy: policy, ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }] }),
      makeService('echo', { clusterIP: '10.43.0.51', ports: [{ name: 'echo', port: 5000, targetPort: 8080, protocol: 'UDP' }] }),
    ],
    [
      makeEndpoints('web', [{ ready: ready.map((ip) => ({ ip, nodeName: readyNode })), ports: [{ name: 'http', port: 8080 }] }]),
      makeEndpoints('echo', [{ ready: [serverIp], ports: [{ name: 'echo', port: 8080, protocol: 'UDP' }] }]),
    ],
    { node: { name: 'board-a', addresses: [boardAddress], isLoadBalancerNode: true } },
  );

  test('a Pod reaches a ClusterIP, DNATed to the endpoint, and the server sees the Pod\'s own address', async () => {
    await apply(proxy!, snapshot([serverIp]));
    assert.equal(await fetchFrom(client!, '10.43.0.50', 80), clientIp);
  });

  test('the board itself reaches the ClusterIP, masqueraded to its bridge address', async () => {
    assert.equal(await fetchFrom(board!, '10.43.0.50', 80), '10.42.1.1');
  });

  test('the NodePort answers on the board\'s address', async () => {
    assert.equal(await fetchFrom(board!, boardAddress, 30080), '10.42.1.1');
    assert.equal(await fetchFrom(client!, boardAddress, 30080), '10.42.1.1', 'pod traffic to a node port is masqueraded (Cluster policy)');
  });

  test('a UDP ClusterIP is DNATed too', async () => {
    assert.equal(await fetchFrom(client!, '10.43.0.51', 5000, 'udp'), clientIp);
  });

  test('a NodePort from outside the cluster is masqueraded with the Cluster policy and keeps its source with Local', async () => {
    assert.equal(await fetchFrom(outside!, boardAddress, 30080), '10.42.1.1');
    await apply(proxy!, snapshot([serverIp], 'Local'));
    assert.equal(await fetchFrom(outside!, boardAddress, 30080), outsideIp);
    await apply(proxy!, snapshot([serverIp], 'Local', 'board-b'));
    assert.equal(await fetchFrom(outside!, boardAddress, 30080), 'ERR timeout', 'no endpoint on this board: dropped');
    assert.equal(await fetchFrom(client!, '10.43.0.50', 80), clientIp, 'the ClusterIP still reaches every endpoint');
    await apply(proxy!, snapshot([serverIp]));
  });

  test('an established connection through a ClusterIP survives a restarted agent\'s full resync', async () => {
    // A server that keeps its connections and echoes, and a client that holds one
    // open: it answers once, waits for the go file, then must be answered again.
    const dir = `/tmp/bramble-hold-${randomBytes(4).toString('hex')}`;
    const echo = spawn('nsenter', [`--net=${server!.path}`, process.execPath, '-e',
      "require('net').createServer((s)=>s.pipe(s)).listen(8081,'0.0.0.0',()=>console.log('listening'))"], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(echo);
    await new Promise<void>((resolve) => echo.stdout!.once('data', () => resolve()));
    const hold = (ready: string[]) => {
      const base = snapshot(ready);
      return {
        ...base,
        services: [...base.services, makeService('hold', { clusterIP: '10.43.0.52', ports: [{ name: 'hold', port: 81, targetPort: 8081 }] })],
        endpoints: [...base.endpoints, makeEndpoints('hold', [{ ready: [serverIp], ports: [{ name: 'hold', port: 8081 }] }])],
      };
    };
    await apply(proxy!, hold([serverIp]));
    const script = `const fs=require('fs');fs.mkdirSync('${dir}',{recursive:true});const s=require('net').connect(81,'10.43.0.52');let n=0;`
      + `s.on('data',(d)=>{n++;if(n===1){fs.writeFileSync('${dir}/connected','');const t=setInterval(()=>{if(fs.existsSync('${dir}/go')){clearInterval(t);s.write('b')}},20)}else{console.log('again '+d);process.exit()}});`
      + `s.on('error',(e)=>{console.log('ERR '+e.code);process.exit()});s.on('end',()=>{console.log('ERR closed');process.exit()});s.write('a');setTimeout(()=>{console.log('ERR timeout');process.exit()},20000)`;
    const client$ = must(client!.runner, process.execPath, ['-e', script]);
    try {
      await waitUntil(() => existsSync(`${dir}/connected`), 'the client to be connected');
      // The agent restarts: a new proxy, whose first sync is a full one over the same tables.
      await proxy!.stop();
      proxy = proxyFor(board!, backend);
      await proxy.start();
      await apply(proxy, hold([serverIp]));
      await writeFile(`${dir}/go`, '');
      assert.equal((await client$).trim(), 'again b');
    } finally {
      await rm(dir, { recursive: true, force: true });
      echo.kill('SIGKILL');
    }
    await apply(proxy!, snapshot([serverIp]));
  });

  test('without ready endpoints the ClusterIP refuses at once instead of hanging', async () => {
    await apply(proxy!, snapshot([]));
    assert.equal(await fetchFrom(client!, '10.43.0.50', 80), 'ERR ECONNREFUSED');
    await apply(proxy!, snapshot([serverIp]));
    assert.equal(await fetchFrom(client!, '10.43.0.50', 80), clientIp);
  });
});
