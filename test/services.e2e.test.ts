// Services across boards, end to end: two boards on one LAN, each with its own
// containerd and agent. A client Pod reaches a 3-replica Deployment spread over
// both boards through its ClusterIP and by its DNS names, and every replica
// answers; a headless Service resolves to the Pod IPs; a NodePort and a
// LoadBalancer port answer on both boards' addresses from the host; a replica
// that turns not-ready gets no traffic until it is ready again; scaling and
// deleting change the rules; a UDP Service carries DNS queries; a LoadBalancer
// port a process on one board already holds is left to it (that board leaves the
// ingress, with a PortInUse condition and event); and once every Service is gone
// and the agents cleaned up, no Bramble chain is left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Endpoints, KObject, NodeObject, Pod, Service } from '../proto/model.js';
import { startCluster, TEST_IMAGE, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, waitForBoardReady, waitForPod } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge') && existsSync('/usr/sbin/iptables');

// A CGI that answers with the Pod's name (its hostname) for wget in a Pod, the same
// as a static page for the host's fetch (undici refuses busybox CGI's bare-LF
// headers), and a readiness file the test can take away.
const WEB = [
  'mkdir -p /www/cgi-bin',
  'printf \'#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\nhostname\\n\' > /www/cgi-bin/who',
  'busybox chmod +x /www/cgi-bin/who',
  'hostname > /www/index.html',
  'touch /tmp/ready',
  'exec httpd -f -p 8080 -h /www',
].join(' && ');

const NODE_PORT = 30480;
const LB_PORT = 8480;
const TAKEN_PORT = 8481;

function web(replicas: number): KObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', WEB],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
          }],
        },
      },
    },
  };
}

function service(name: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

describe('Services across boards', { skip: !canRun && 'needs root, containerd, iptables and the CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let a: ClusterBoard;
  let b: ClusterBoard;

  const sh = async (pod: string, script: string): Promise<{ code: number; out: string }> => {
    const r = await cluster.bramble(['exec', pod, '--', 'sh', '-c', script]);
    return { code: r.code ?? -1, out: r.stdout };
  };
  /** Pod names answering `n` requests to `url` from the client, one per line. */
  const who = async (url: string, n: number): Promise<string[]> => {
    const r = await sh('client', `for i in $(seq ${n}); do timeout 3 wget -q -O - ${url} || echo FAILED; done`);
    return r.out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  };
  const webPods = async (): Promise<Pod[]> => {
    const r = await cluster.bramble(['get', 'pods', '-l', 'app=web', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return ((JSON.parse(r.stdout) as { items?: Pod[] }).items ?? []).filter((p) => !p.metadata.deletionTimestamp);
  };
  const endpoints = async (name: string): Promise<Endpoints | undefined> => cluster.get<Endpoints>('endpoints', name);
  const readyIps = (ep: Endpoints | undefined): string[] => (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((x) => x.ip)).sort();
  const natRules = async (board: ClusterBoard): Promise<string> => (await board.board.runner.run('iptables-save', ['-t', 'nat'], { timeoutMs: 10_000 })).stdout;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'sa' }, { name: 'sb' }], lan: true });
    a = cluster.board('sa');
    b = cluster.board('sb');
    await Promise.all([waitForBoardReady(cluster, a.nodeName), waitForBoardReady(cluster, b.nodeName)]);
    await cluster.apply([
      web(3),
      service('web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] }),
      service('web-headless', { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 8080 }] }),
      service('web-np', { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] }),
      service('web-lb', { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: LB_PORT, targetPort: 8080 }] }),
      busyboxPod('client', { command: ['sleep', '3600'] }, { nodeName: a.nodeName }),
    ]);
    await waitForPod(cluster, 'client', 'to be Running', isRunning);
    await waitFor('3 ready web endpoints', async () => (readyIps(await endpoints('web')).length === 3 ? true : undefined), { timeoutMs: 90_000, describe: () => cluster.diagnostics() });
  });

  after(async () => {
    await cluster?.close();
  });

  test('the replicas are spread over both boards and every one answers through the ClusterIP within 60 requests', async () => {
    const pods = await webPods();
    assert.deepEqual(new Set(pods.map((p) => p.spec.nodeName)), new Set([a.nodeName, b.nodeName]));
    const svc = (await cluster.get<Service>('service', 'web'))!;
    assert.match(svc.spec.clusterIP ?? '', /^10\.43\./);
    const answers = await who(`http://${svc.spec.clusterIP}/cgi-bin/who`, 60);
    assert.deepEqual(new Set(answers), new Set(pods.map((p) => p.metadata.name)), `answers: ${answers.join(' ')}`);
  });

  test('the Service answers by the names web, web.default and web.default.svc.cluster.local', async () => {
    for (const name of ['web', 'web.default', 'web.default.svc.cluster.local']) {
      const answers = await who(`http://${name}/cgi-bin/who`, 3);
      assert.ok(answers.length === 3 && answers.every((x) => x.startsWith('web-')), `${name}: ${answers.join(' ')}`);
    }
  });

  test('a headless Service resolves to the ready Pod IPs', async () => {
    const ips = (await webPods()).map((p) => p.status!.podIP!);
    const r = await sh('client', 'nslookup web-headless.default.svc.cluster.local');
    for (const ip of ips) assert.ok(r.out.includes(ip), `nslookup must list ${ip}:\n${r.out}`);
  });

  test('the NodePort and the LoadBalancer port answer on both boards\' addresses from the host', async () => {
    const lb = await waitFor('the LoadBalancer ingress to list both boards', async () => {
      const s = await cluster.get<Service>('service', 'web-lb');
      const ips = (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).sort();
      return ips.length === 2 ? ips : undefined;
    }, { timeoutMs: 30_000 });
    assert.deepEqual(lb, [a.board.boardIp, b.board.boardIp].sort());
    for (const board of [a, b]) {
      for (const port of [NODE_PORT, LB_PORT]) {
        let last = '';
        const body = await waitFor(`port ${port} on ${board.board.boardIp}`, async () => {
          const res = await fetch(`http://${board.board.boardIp}:${port}/`, { signal: AbortSignal.timeout(3000) }).catch((e: unknown) => {
            last = String((e as Error).cause ?? e);
            return undefined;
          });
          if (res && !res.ok) last = `HTTP ${res.status}`;
          return res?.ok ? (await res.text()).trim() : undefined;
        }, { timeoutMs: 30_000, describe: () => `last failure: ${last}` });
        assert.match(body, /^web-/);
      }
    }
  });

  test('a replica that turns not-ready gets no traffic, and gets it back once ready', async () => {
    const [victim] = await webPods();
    const name = victim!.metadata.name;
    const ip = victim!.status!.podIP!;
    assert.equal((await cluster.bramble(['exec', name, '--', 'rm', '/tmp/ready'])).code, 0);
    await waitFor(`${name} to be a not-ready endpoint`, async () => {
      const ep = await endpoints('web');
      return !readyIps(ep).includes(ip) && ep?.subsets?.some((s) => s.notReadyAddresses?.some((x) => x.ip === ip)) ? true : undefined;
    }, { timeoutMs: 30_000 });
    // The rules follow the Endpoints within a sync; the requests after that must all miss it.
    await waitFor('the rules to drop the not-ready replica', async () => ((await who('http://web/cgi-bin/who', 10)).includes(name) ? undefined : true), { timeoutMs: 20_000 });
    const answers = await who('http://web/cgi-bin/who', 30);
    assert.ok(!answers.includes(name), `the not-ready ${name} answered: ${answers.join(' ')}`);
    assert.equal((await cluster.bramble(['exec', name, '--', 'touch', '/tmp/ready'])).code, 0);
    await waitFor(`${name} to answer again`, async () => ((await who('http://web/cgi-bin/who', 20)).includes(name) ? true : undefined), { timeoutMs: 60_000 });
  });

  test('a UDP Service without a selector carries DNS queries to the Endpoints written for it, on the other board', async () => {
    // Busybox has no UDP server, so the endpoint is board B's own cluster resolver (on its
    // bridge gateway), written by hand as Endpoints: the Service's port 53 DNATed across boards.
    const node = (await cluster.get<NodeObject>('node', b.nodeName))!;
    const gateway = node.spec.podCIDR!.replace(/\.0\/\d+$/, '.1');
    await cluster.apply([
      service('dns-b', { ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] }),
      { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'dns-b', namespace: 'default' }, subsets: [{ addresses: [{ ip: gateway }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }] },
    ]);
    const dnsB = (await cluster.get<Service>('service', 'dns-b'))!.spec.clusterIP!;
    const webIp = (await cluster.get<Service>('service', 'web'))!.spec.clusterIP!;
    const out = await waitFor('an answer through the UDP Service', async () => {
      const r = await sh('client', `nslookup web.default.svc.cluster.local ${dnsB}`);
      return r.code === 0 && r.out.includes(webIp) ? r.out : undefined;
    }, { timeoutMs: 30_000 });
    assert.match(out, new RegExp(`Server:\\s+${dnsB.replace(/\./g, '\\.')}`));
  });

  test('scaling to one replica leaves one endpoint and one answer; deleting the Service removes its rules on every board', async () => {
    assert.equal((await cluster.bramble(['scale', 'deploy/web', '--replicas', '1'])).code, 0);
    await waitFor('one web endpoint', async () => (readyIps(await endpoints('web')).length === 1 ? true : undefined), { timeoutMs: 60_000 });
    const [left] = await webPods();
    await waitFor('only the last replica to answer', async () => {
      const answers = await who('http://web/cgi-bin/who', 10);
      return answers.length === 10 && answers.every((x) => x === left!.metadata.name) ? true : undefined;
    }, { timeoutMs: 30_000 });
    const ip = (await cluster.get<Service>('service', 'web'))!.spec.clusterIP!;
    assert.equal((await cluster.bramble(['delete', 'service', 'web'])).code, 0);
    for (const board of [a, b]) {
      await waitFor(`the rules for ${ip} to go from ${board.nodeName}`, async () => (!(await natRules(board)).includes(`-d ${ip}/32`) ? true : undefined), { timeoutMs: 20_000 });
    }
  });

  test('a LoadBalancer port a process on board A holds stays that process\'s: only board B is in the ingress, and the Service says PortInUse', async () => {
    // A plain process in board A's network namespace, on every address, as a board's own web server would be.
    const held = spawn('nsenter', [`--net=${a.board.netnsPath}`, process.execPath, '-e',
      `require('node:http').createServer((q, s) => s.end('board-process\\n')).listen(${TAKEN_PORT}, '0.0.0.0')`], { stdio: 'ignore' });
    try {
      await waitFor('the board process to listen', async () => {
        const res = await fetch(`http://${a.board.boardIp}:${TAKEN_PORT}/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return res?.ok && (await res.text()).trim() === 'board-process' ? true : undefined;
      }, { timeoutMs: 15_000 });
      await cluster.apply([service('web-taken', { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: TAKEN_PORT, targetPort: 8080 }] })]);
      const svc = await waitFor('the ingress to list only board B and the condition to say PortInUse', async () => {
        const s = await cluster.get<Service>('service', 'web-taken');
        const ips = (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
        const c = s?.status?.conditions?.find((x) => x.type === 'LoadBalancerPortsAvailable');
        return ips.length === 1 && ips[0] === b.board.boardIp && c?.status === 'False' ? s : undefined;
      }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
      const c = svc!.status!.conditions!.find((x) => x.type === 'LoadBalancerPortsAvailable')!;
      assert.equal(c.reason, 'PortInUse');
      assert.match(c.message ?? '', new RegExp(`TCP/${TAKEN_PORT} is in use on node ${a.nodeName}\\b`));
      const events = await waitFor('a PortInUse event', async () => {
        const r = await cluster.bramble(['get', 'events']);
        return r.code === 0 && r.stdout.includes('PortInUse') ? r.stdout : undefined;
      }, { timeoutMs: 20_000 });
      assert.match(events, /Warning\s+PortInUse/);
      assert.doesNotMatch(await natRules(a), /default\/web-taken loadbalancer IP/, 'no LoadBalancer rule on board A');
      const own = await fetch(`http://${a.board.boardIp}:${TAKEN_PORT}/`, { signal: AbortSignal.timeout(3000) });
      assert.equal((await own.text()).trim(), 'board-process', 'the process on board A still answers on its port');
      const viaB = await waitFor('the LoadBalancer port on board B', async () => {
        const res = await fetch(`http://${b.board.boardIp}:${TAKEN_PORT}/`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
        return res?.ok ? (await res.text()).trim() : undefined;
      }, { timeoutMs: 30_000 });
      assert.match(viaB, /^web-/);
      assert.match(await natRules(b), /default\/web-taken loadbalancer IP/, 'but one on board B');
    } finally {
      held.kill('SIGTERM');
      await cluster.bramble(['delete', 'service', 'web-taken']).catch(() => undefined);
    }
  });

  test('with every Service gone only the empty base chains are left, and --cleanup removes them too', async () => {
    for (const name of ['web-headless', 'web-np', 'web-lb', 'dns-b']) assert.equal((await cluster.bramble(['delete', 'service', name])).code, 0);
    for (const board of [a, b]) {
      await waitFor(`no per-Service chain on ${board.nodeName}`, async () => (/BRAMBLE-(SVC|SEP|EXT|SVL)-/.test(await natRules(board)) ? undefined : true), { timeoutMs: 20_000 });
    }
    for (const board of [a, b]) {
      await board.stopAgent('SIGTERM');
      const r = await cluster.runAgent(board, ['--cleanup', '--data-dir', board.dataDir], 60_000);
      assert.equal(r.code, 0, r.output);
      for (const table of ['nat', 'filter']) {
        const rules = (await board.board.runner.run('iptables-save', ['-t', table], { timeoutMs: 10_000 })).stdout;
        assert.doesNotMatch(rules, /BRAMBLE-/, `${table} on ${board.nodeName} after --cleanup`);
      }
      assert.equal((await board.board.runner.run('ip', ['-o', 'route', 'show', 'proto', '66'], { timeoutMs: 10_000 })).stdout.trim(), '');
    }
  });
});
