// The Pod network across boards, end to end: two boards on one LAN, each with
// its own containerd and agent. A Pod on board A reaches a Pod on board B by
// Pod IP through host-gw routes, and B sees A's Pod IP as the source (no
// masquerade); a hostPort answers on its board's address from the host; a Pod
// has its hostname and /etc/hosts; a hostNetwork Pod runs in its board's
// network. A stopped agent leaves its routes (edge autonomy), and
// `bramble agent --cleanup` leaves no Bramble route, bridge or Pod netns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execRunner } from '../agent/exec-runner.js';
import { podNetnsName } from '../agent/network-cni.js';
import type { NodeObject, Pod } from '../proto/model.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, waitForBoardReady, waitForPod } from './support/e2e-objects.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge') && existsSync('/usr/lib/cni/portmap');

// A CGI that answers with the address the request came from.
const SERVER = [
  'mkdir -p /www/cgi-bin',
  'printf \'#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\necho "from $REMOTE_ADDR"\\n\' > /www/cgi-bin/ip',
  'busybox chmod +x /www/cgi-bin/ip',
  'exec httpd -f -p 8080 -h /www',
].join(' && ');

describe('the Pod network across boards', { skip: !canRun && 'needs root, containerd and the CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let a: ClusterBoard;
  let b: ClusterBoard;
  const pods = new Map<string, Pod>();

  const exec = async (pod: string, argv: string[]): Promise<string> => {
    const r = await cluster.bramble(['exec', pod, '--', ...argv]);
    assert.equal(r.code, 0, `exec ${argv.join(' ')} in ${pod}: ${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const inBoard = async (board: ClusterBoard, file: string, args: string[]) => board.board.runner.run(file, args, { timeoutMs: 10_000 });

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'a' }, { name: 'b' }], lan: true });
    a = cluster.board('a');
    b = cluster.board('b');
    await Promise.all([waitForBoardReady(cluster, a.nodeName), waitForBoardReady(cluster, b.nodeName)]);
    await cluster.apply([
      busyboxPod('server', { command: ['sh', '-c', SERVER] }, { nodeName: b.nodeName }),
      busyboxPod('client', { command: ['sleep', '3600'] }, { nodeName: a.nodeName, hostname: 'web-0', subdomain: 'web' }),
      busyboxPod('hostport', { command: ['httpd', '-f', '-p', '8080', '-h', '/var/www'], ports: [{ containerPort: 8080, hostPort: 18080 }] }, { nodeName: a.nodeName }),
      busyboxPod('hostnet', { command: ['sleep', '3600'] }, { nodeName: b.nodeName, hostNetwork: true }),
    ]);
    for (const name of ['server', 'client', 'hostport', 'hostnet']) pods.set(name, await waitForPod(cluster, name, 'to be Running', isRunning));
  });

  after(async () => {
    await cluster?.close();
  });

  test('each board has a host-gw route to the other board\'s pod CIDR via its LAN address', async () => {
    const nodeA = (await cluster.get<NodeObject>('node', a.nodeName))!;
    const nodeB = (await cluster.get<NodeObject>('node', b.nodeName))!;
    for (const [board, other, otherIp] of [[a, nodeB, b.board.boardIp], [b, nodeA, a.board.boardIp]] as const) {
      await waitFor(`a route on ${board.nodeName} to ${other.spec?.podCIDR}`, async () => {
        const r = await inBoard(board, 'ip', ['-o', 'route', 'show', 'proto', '66']);
        return r.stdout.includes(`${other.spec?.podCIDR} via ${otherIp} `) ? true : undefined;
      }, { timeoutMs: 30_000, describe: () => cluster.diagnostics() });
    }
  });

  test('a Pod on board A fetches a page from a Pod on board B by Pod IP, and B sees A\'s Pod IP as the source', async () => {
    const server = pods.get('server')!.status!.podIP!;
    const client = pods.get('client')!.status!.podIP!;
    const body = await waitFor('the server to answer across boards', async () => {
      // Not wget -T: Debian's busybox wget crashes with it.
      const r = await cluster.bramble(['exec', 'client', '--', 'timeout', '5', 'wget', '-q', '-O', '-', `http://${server}:8080/cgi-bin/ip`]);
      return r.code === 0 ? r.stdout : undefined;
    }, { timeoutMs: 30_000, describe: () => cluster.diagnostics() });
    // httpd listens on IPv6 too, so it writes the IPv4 client as [::ffff:a.b.c.d].
    assert.match(body.trim(), new RegExp(`^from (\\[::ffff:)?${client.replace(/\./g, '\\.')}\\]?$`));
  });

  test('a hostPort answers on its board\'s address from the host', async () => {
    const body = await waitFor('the hostPort to answer', async () => {
      const res = await fetch(`http://${a.board.boardIp}:18080/`, { signal: AbortSignal.timeout(3000) });
      return res.ok ? await res.text() : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(body, 'hello from bramble busybox\n');
  });

  test('the Pod\'s hostname is spec.hostname, and /etc/hosts maps its IP to its FQDN', async () => {
    const ip = pods.get('client')!.status!.podIP!;
    assert.equal((await exec('client', ['hostname'])).trim(), 'web-0');
    assert.match(await exec('client', ['cat', '/etc/hosts']), new RegExp(`^${ip.replace(/\./g, '\\.')}\\tweb-0\\.web\\.default\\.svc\\.cluster\\.local\\tweb-0$`, 'm'));
    assert.equal((await exec('server', ['hostname'])).trim(), 'server');
  });

  test('a hostNetwork Pod runs in its board\'s network, with the board\'s address as its IP', async () => {
    assert.equal(pods.get('hostnet')!.status!.podIP, b.board.boardIp);
    assert.match(await exec('hostnet', ['ip', '-4', 'addr']), new RegExp(b.board.boardIp.replace(/\./g, '\\.')));
  });

  test('a stopped agent leaves its routes; --cleanup removes the routes, the bridge and the Pod netns', async () => {
    const uids = [...pods.values()].map((p) => p.metadata.uid!);
    for (const board of [a, b]) {
      await board.stopAgent('SIGTERM');
      assert.notEqual((await inBoard(board, 'ip', ['-o', 'route', 'show', 'proto', '66'])).stdout.trim(), '', 'routes stay while Pods run on');
      const r = await cluster.runAgent(board, ['--cleanup', '--data-dir', board.dataDir], 60_000);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /removed 1 route\(s\), \d pod sandbox\(es\) and the bridge/);
      assert.equal((await inBoard(board, 'ip', ['-o', 'route', 'show', 'proto', '66'])).stdout.trim(), '');
      assert.notEqual((await inBoard(board, 'ip', ['link', 'show', 'bramble0'])).exitCode, 0, 'the bridge is gone');
      assert.doesNotMatch((await inBoard(board, 'iptables', ['-t', 'nat', '-S'])).stdout, /CNI-/);
    }
    const netns = (await execRunner.run('ip', ['netns', 'list'])).stdout;
    for (const uid of uids) assert.ok(!netns.includes(podNetnsName(uid)), `netns of pod ${uid} is gone`);
  });
});
