// `bramble certificate rotate-ca` on three real `bramble server` processes on
// loopback, as one replicated control plane, with no restart: a member that is
// down stops the rotation (named) before anything uses the new CA; once all are
// up, a rotation through a follower reaches every member, the cluster keeps
// replicating through the overlap, an agent (its join and renewal code run in
// this process) renews onto the new CA from the heartbeat's bundle, and when the
// overlap ends every member serves from the new CA, elects a new leader when the
// old one dies, and takes a write through a follower.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import { readClientConfig } from './pki/client-config.js';
import { loadProto } from '../proto/load.js';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import { realClock } from '../proto/util/clock.js';
import { silentLogger } from '../proto/util/log.js';
import { agentChannelOptions, ensureJoined } from '../agent/agent-join.js';
import { nodeChannelCredentials, type NodeCredentials } from '../agent/join-tls.js';
import { NodeConnection } from '../agent/node-connection.js';
import { caBundleSha256, nodeCertRenewable } from '../agent/node-cert-renewal.js';
import { ServerList } from '../agent/server-list.js';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../test/support/server-process.js';

interface MemberRow { name: string; role: string; address: string }

/** The CA's subject CN of the certificate a member serves now, read over a TLS handshake. */
function servingIssuer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: 'bramble' }, () => {
      const issuer = s.getPeerCertificate().issuer.CN;
      s.end();
      resolve(Array.isArray(issuer) ? issuer.join(',') : issuer ?? '');
    });
    s.once('error', reject);
  });
}

function heartbeat(client: NodeClient, nodeName: string): Promise<string> {
  return new Promise((resolve, reject) => client.Heartbeat(
    { nodeName, pods: [], portConflicts: [], addresses: [], labels: {} },
    { deadline: Date.now() + 5000 },
    (err, r) => (err || !r ? reject(err) : resolve(r.caBundleSha256)),
  ));
}

const cnOf = (pem: string): string => /CN=([^\n,]+)/.exec(new X509Certificate(pem).subject)![1]!;
const hashOf = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

describe('cluster CA rotation on a running replicated control plane', () => {
  const servers = new Map<string, ServerProcess>();
  const names = ['cp1', 'cp2', 'cp3'];
  let dir: string;

  const bramble = (via: string, ...args: string[]) => runBramble(['--config', servers.get(via)!.configPath, '--server', `127.0.0.1:${servers.get(via)!.grpcPort}`, ...args]);
  const eventually = async <T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> => {
    const deadline = Date.now() + ms;
    let last: unknown;
    for (;;) {
      try {
        const v = await check();
        if (v !== undefined) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms: ${last instanceof Error ? last.message : String(last ?? 'never')}`);
      await delay(200);
    }
  };
  const status = async (via: string): Promise<{ leader: string; members: MemberRow[] }> => {
    const r = await bramble(via, 'cluster', 'status', '-o', 'json');
    assert.equal(r.code, 0, explain(r));
    return JSON.parse(r.stdout) as { leader: string; members: MemberRow[] };
  };
  const healthy = (via: string, count: number) => eventually(`${count} healthy members seen from ${via}`, async () => {
    const s = await status(via);
    return s.leader !== '' && s.members.filter((m) => m.role === 'leader' || m.role === 'follower').length === count ? s : undefined;
  });
  const writeThrough = async (via: string, name: string, value: string, readers: string[]): Promise<void> => {
    const file = path.join(dir, `${name}-${value}.yaml`);
    await fs.writeFile(file, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`);
    const r = await bramble(via, 'apply', '-f', file);
    assert.equal(r.code, 0, explain(r));
    for (const reader of readers) {
      await eventually(`the write through ${via} on ${reader}`, async () => {
        const g = await bramble(reader, 'get', 'configmap', name, '--consistency', 'serializable', '-o', 'json');
        return g.code === 0 && (JSON.parse(g.stdout) as { data: { v: string } }).data.v === value ? true : undefined;
      });
    }
  };
  const file = (name: string, rel: string) => fs.readFile(path.join(servers.get(name)!.dataDir, rel), 'utf8');
  let oldCa: string;
  // An agent's node identity, joined before the rotation (the agent's own join and renewal code, in process).
  const agentDir = () => path.join(dir, 'agent');
  let agentCreds: NodeCredentials;
  const Node = loadProto().bramble.v1.Node;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-ca-rotation-int-'));
    const env = { ...process.env, BRAMBLE_LOG_LEVEL: 'info' };
    const first = await startServerProcess({ env, extraArgs: ['--cluster-init', '--node-name', 'cp1'] });
    servers.set('cp1', first);
    for (const name of ['cp2', 'cp3']) {
      servers.set(name, await startServerProcess({
        env, extraArgs: ['--join', `127.0.0.1:${first.grpcPort}`, '--token-file', path.join(first.dataDir, 'token'), '--node-name', name],
      }));
    }
    await healthy('cp1', 3);
    oldCa = await file('cp1', 'tls/ca.crt');
    agentCreds = (await ensureJoined({
      server: `127.0.0.1:${first.grpcPort}`, token: (await file('cp1', 'token')).trim(), nodeName: 'pi-ca', dataDir: agentDir(), logger: silentLogger(),
    })).credentials;
  });
  after(async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test('a member that is down stops the rotation, named, before anything uses the new CA', async () => {
    await servers.get('cp3')!.kill();
    const r = await runBramble(['--config', servers.get('cp1')!.configPath, 'certificate', 'rotate-ca', '--data-dir', servers.get('cp1')!.dataDir, '--overlap', '1']);
    assert.equal(r.code === 0, false, explain(r));
    assert.match(r.stderr, /rotate-ca needs every member of the control plane, and these could not take the new CA: cp3 \(127\.0\.0\.1:\d+\)/);
    assert.match(r.stderr, /Nothing uses the new CA/);
    for (const name of ['cp1', 'cp2']) {
      assert.equal(await file(name, 'tls/ca.crt'), oldCa, `${name} keeps its CA`);
      await assert.rejects(file(name, 'tls/ca-rotation.json'), /ENOENT/, `${name} records no rotation`);
      assert.ok(new X509Certificate((await readClientConfig(servers.get(name)!.configPath)).cert).verify(new X509Certificate(oldCa).publicKey));
    }
    await servers.get('cp3')!.restart();
    await healthy('cp3', 3);
  });

  test('a rotation through a follower reaches every member without a restart, and the overlap ends on the new CA', async () => {
    const pids = names.map((n) => servers.get(n)!.pid);
    const oldCn = cnOf(oldCa);
    const leader = (await status('cp1')).leader;
    const follower = names.find((n) => n !== leader)!;
    const tokenBefore = await file('cp1', 'token');
    // 0.0006 days: an overlap of 52 s, room for the checks below on a loaded machine; then the test waits it out.
    const r = await bramble(follower, 'certificate', 'rotate-ca', '--data-dir', servers.get(follower)!.dataDir, '--overlap', '0.0006');
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /Rotated the cluster CA on every member \((cp\d, ){2}cp\d\), without a restart/);
    const newCa = await file(follower, 'tls/ca.crt');
    assert.notEqual(newCa, oldCa);
    assert.match(r.stdout, new RegExp(`new CA sha256 ${hashOf(newCa)}; the previous one \\(sha256 ${hashOf(oldCa)}\\)`));
    const previousUntil = Date.parse(/still serves until (\S+)\./.exec(r.stdout)![1]!);

    for (const name of names) {
      assert.equal(await file(name, 'tls/ca.crt'), newCa, `${name} signs with the new CA`);
      assert.equal(await file(name, 'tls/ca-previous.crt'), oldCa, `${name} keeps the previous CA for the overlap`);
      // During the overlap the serving certificate is the previous CA's: agents that trust only it still connect.
      assert.equal(await servingIssuer(servers.get(name)!.grpcPort), oldCn, `${name} still serves from the previous CA`);
      const cfg = await eventually(`admin.conf of ${name} from the new CA`, async () => {
        const c = await readClientConfig(servers.get(name)!.configPath);
        return new X509Certificate(c.cert).verify(new X509Certificate(newCa).publicKey) ? c : undefined;
      });
      assert.equal(cfg.ca, newCa + oldCa, `${name}'s admin.conf trusts both`);
      assert.equal(cfg.servers?.length, 3, `${name}'s admin.conf still lists every member`);
      assert.equal((await fs.stat(servers.get(name)!.configPath)).mode & 0o777, 0o600);
    }
    // Replicas now dial each other with replica certificates from the new CA.
    await healthy('cp2', 3);
    await writeThrough(follower, 'during-overlap', 'one', names);

    // The agent that trusts only the previous CA still reaches the leader, hears of the bundle, and renews onto the new CA.
    const leaderAddress = `127.0.0.1:${servers.get(leader)!.grpcPort}`;
    const old = agentCreds;
    const oldClient = new Node(leaderAddress, nodeChannelCredentials(old), agentChannelOptions(leaderAddress));
    const connection = new NodeConnection({
      servers: new ServerList([leaderAddress]), clock: realClock, logger: silentLogger(),
      dial: (a) => new Node(a, nodeChannelCredentials(agentCreds), agentChannelOptions(a)),
    });
    try {
      const bundleHash = await heartbeat(oldClient, 'pi-ca');
      assert.equal(bundleHash, caBundleSha256(newCa + oldCa), 'the heartbeat names the bundle of both');
      assert.notEqual(bundleHash, caBundleSha256(old.caPem));
      await nodeCertRenewable({ nodeName: 'pi-ca', dataDir: agentDir(), connection, clock: realClock, current: () => agentCreds, install: (n) => { agentCreds = n; } }).renew();
      assert.ok(new X509Certificate(agentCreds.certPem).verify(new X509Certificate(newCa).publicKey), 'the node certificate is from the new CA');
      assert.equal(caBundleSha256(agentCreds.caPem), bundleHash, 'the agent holds the bundle');
      assert.ok(Date.now() < previousUntil, 'the checks above ran inside the overlap');
    } finally {
      oldClient.close();
      connection.close();
    }

    for (const name of names) {
      await eventually(`${name} serving from the new CA once the overlap ends`, async () => ((await servingIssuer(servers.get(name)!.grpcPort)) === cnOf(newCa) ? true : undefined), 60_000);
      const token = await eventually(`${name}'s token file naming the new CA`, async () => {
        const t = await file(name, 'token');
        return t.includes(hashOf(newCa)) ? t : undefined;
      });
      if (name === 'cp1') assert.notEqual(token, tokenBefore);
    }
    // admin.conf drops the previous CA once it is no longer trusted.
    for (const name of names) {
      await eventually(`${name}'s admin.conf trusting the new CA alone`, async () => ((await readClientConfig(servers.get(name)!.configPath)).ca === newCa ? true : undefined));
    }
    assert.deepEqual(names.map((n) => servers.get(n)!.pid), pids, 'no member was restarted');

    // After the overlap the renewed agent still gets in, and is told the new CA alone.
    const leaderNow = (await healthy('cp1', 3)).leader;
    const at = `127.0.0.1:${servers.get(leaderNow)!.grpcPort}`;
    const renewedClient = new Node(at, nodeChannelCredentials(agentCreds), agentChannelOptions(at));
    try {
      assert.equal(await heartbeat(renewedClient, 'pi-ca'), caBundleSha256(newCa));
    } finally {
      renewedClient.close();
    }

    const after = await healthy('cp1', 3);
    const follower2 = names.find((n) => n !== after.leader)!;
    await writeThrough(follower2, 'after-overlap', 'two', names);

    // The old leader dies: the other two elect one over their new-CA replica certificates.
    await servers.get(after.leader)!.kill();
    const rest = names.filter((n) => n !== after.leader);
    const elected = await eventually('a new leader', async () => {
      const s = await status(rest[0]!);
      return s.leader !== '' && s.leader !== after.leader ? s.leader : undefined;
    });
    const survivor = rest.find((n) => n !== elected)!;
    await writeThrough(survivor, 'after-election', 'three', rest);
  });
});
