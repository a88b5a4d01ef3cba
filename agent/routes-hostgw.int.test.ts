// Host-gw routes with the real `ip` and sysctl, inside a network namespace the
// test makes (a veth pair into a second one stands for the LAN), so no route
// ever lands on the host.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { realClock } from '../proto/util/clock.js';
import type { NodeObject } from '../proto/model.js';
import { execRunner, nsenterRunner, type CommandRunner } from './exec-runner.js';
import { HostGwRoutes, IpRouteTable } from './routes-hostgw.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/sysctl');

const node = (name: string, podCIDR: string, ip: string): NodeObject => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { podCIDR }, status: { addresses: [{ type: 'InternalIP', address: ip }] },
} as NodeObject);

describe('host-gw routes in a network namespace', { skip: !canRun && 'needs root and iproute2' }, () => {
  const suffix = randomBytes(3).toString('hex');
  const ns = `bramble-rt-${suffix}`;
  const peer = `bramble-rtp-${suffix}`;
  let inNs: CommandRunner;
  const ip = async (args: string[]): Promise<string> => {
    const r = await inNs.run('ip', args, { timeoutMs: 10_000 });
    if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    inNs = nsenterRunner(`/var/run/netns/${ns}`);
    for (const n of [ns, peer]) assert.equal((await execRunner.run('ip', ['netns', 'add', n])).exitCode, 0);
    await ip(['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1', 'netns', peer]);
    await ip(['addr', 'add', '192.168.250.2/24', 'dev', 'lan0']);
    await ip(['link', 'set', 'lan0', 'up']);
    await execRunner.run('ip', ['-n', peer, 'link', 'set', 'lan1', 'up']);
    // Someone else's route to a pod CIDR, which must survive everything.
    await ip(['route', 'add', '10.42.9.0/24', 'via', '192.168.250.9', 'proto', 'static']);
  });

  after(async () => {
    for (const n of [ns, peer]) await execRunner.run('ip', ['netns', 'delete', n]).catch(() => undefined);
  });

  test('routes appear and go as nodes come and go, forwarding is on, foreign routes stay, cleanup takes ours away', async () => {
    const hostgw = new HostGwRoutes({ table: new IpRouteTable(inNs), nodeName: 'a', clock: realClock });
    await hostgw.update([
      node('a', '10.42.0.0/24', '192.168.250.2'),
      node('b', '10.42.1.0/24', '192.168.250.3'),
      node('c', '10.42.2.0/24', '192.168.250.4'),
      node('far', '10.42.3.0/24', '172.31.0.4'),
      node('clash', '10.42.9.0/24', '192.168.250.5'),
    ]);
    assert.equal((await ip(['-o', 'route', 'show', 'proto', '66'])).trim().split('\n').map((l) => l.trim()).join('\n'), [
      '10.42.1.0/24 via 192.168.250.3 dev lan0',
      '10.42.2.0/24 via 192.168.250.4 dev lan0',
    ].join('\n'));
    const fwd = await inNs.run('sysctl', ['-n', 'net.ipv4.ip_forward']);
    assert.equal(fwd.stdout.trim(), '1');

    await hostgw.update([node('b', '10.42.1.0/24', '192.168.250.6')]);
    assert.equal((await ip(['-o', 'route', 'show', 'proto', '66'])).trim(), '10.42.1.0/24 via 192.168.250.6 dev lan0');

    assert.equal(await hostgw.cleanup(), 1);
    assert.equal((await ip(['-o', 'route', 'show', 'proto', '66'])).trim(), '');
    assert.match(await ip(['-o', 'route', 'show']), /10\.42\.9\.0\/24 via 192\.168\.250\.9 dev lan0 proto static/);
  });
});
