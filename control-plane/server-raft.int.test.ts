// Three real `bramble server` processes on loopback as one replicated control
// plane: the first starts it (--cluster-init), two join with its token, a write
// sent to a follower is forwarded to the leader, a leader killed with SIGKILL is
// replaced and loses no acknowledged write, the killed member comes back whole,
// and a leader stopped with SIGTERM hands leadership over before it goes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../test/support/server-process.js';

interface MemberRow { name: string; role: string; appliedIndex: number; address: string; error?: string }

describe('a replicated control plane of three servers', () => {
  const servers = new Map<string, ServerProcess>();
  let dir: string;

  const bramble = (via: string, ...args: string[]) => runBramble(['--config', servers.get(via)!.configPath, ...args]);
  const status = async (via: string): Promise<{ leader: string; members: MemberRow[] }> => {
    const r = await bramble(via, 'cluster', 'status', '-o', 'json');
    assert.equal(r.code, 0, explain(r));
    return JSON.parse(r.stdout) as { leader: string; members: MemberRow[] };
  };
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
  const apply = async (via: string, name: string, value: string): Promise<void> => {
    const file = path.join(dir, `${name}-${value}.yaml`);
    await fs.writeFile(file, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`);
    const r = await bramble(via, 'apply', '-f', file);
    assert.equal(r.code, 0, explain(r));
  };
  const valueOn = async (via: string, name: string): Promise<string | undefined> => {
    const r = await bramble(via, '--server', `127.0.0.1:${servers.get(via)!.grpcPort}`, 'get', 'configmap', name, '--consistency', 'serializable', '-o', 'json');
    return r.code === 0 ? (JSON.parse(r.stdout) as { data: { v: string } }).data.v : undefined;
  };
  const leaderName = async (via: string): Promise<string> => eventually('a leader', async () => (await status(via)).leader || undefined);

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-raft-int-'));
    // Info lines say whether leadership was handed over; the test runner's default level hides them.
    const env = { ...process.env, BRAMBLE_LOG_LEVEL: 'info' };
    const first = await startServerProcess({ env, extraArgs: ['--cluster-init', '--node-name', 'cp1'] });
    servers.set('cp1', first);
    for (const name of ['cp2', 'cp3']) {
      servers.set(name, await startServerProcess({
        env,
        extraArgs: ['--join', `127.0.0.1:${first.grpcPort}`, '--token-file', path.join(first.dataDir, 'token'), '--node-name', name],
      }));
    }
  });
  after(async () => {
    await Promise.all([...servers.values()].map((s) => s.close()));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test('two servers join the first as voters, and every member lists all three', async () => {
    const st = await eventually('three voters', async () => {
      const s = await status('cp3');
      return s.members.length === 3 && s.members.every((m) => m.role === 'leader' || m.role === 'follower') ? s : undefined;
    });
    assert.deepEqual(st.members.map((m) => m.name), ['cp1', 'cp2', 'cp3']);
    assert.equal(st.leader, 'cp1');
    const conf = await fs.readFile(servers.get('cp3')!.configPath, 'utf8');
    for (const name of ['cp1', 'cp2', 'cp3']) assert.match(conf, new RegExp(`127\\.0\\.0\\.1:${servers.get(name)!.grpcPort}`), `admin.conf of cp3 names ${name}`);
  });

  test('a copied admin.conf that names one member learns every member from cluster status', async () => {
    const copy = path.join(dir, 'laptop.conf');
    // As a laptop's copy made before cp2 and cp3 joined: cp1 alone.
    const text = (await fs.readFile(servers.get('cp1')!.configPath, 'utf8')).replace(/^servers:\n(?:\s+- .*\n)+/m, '');
    assert.doesNotMatch(text, new RegExp(`:${servers.get('cp2')!.grpcPort}`), 'the copy names cp1 only');
    await fs.writeFile(copy, text, { mode: 0o600 });
    const r = await runBramble(['--config', copy, 'cluster', 'status']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stderr, /now lists the members' addresses/);
    const learned = await fs.readFile(copy, 'utf8');
    for (const name of ['cp1', 'cp2', 'cp3']) assert.match(learned, new RegExp(`127\\.0\\.0\\.1:${servers.get(name)!.grpcPort}`), `the copy names ${name}`);
    const again = await runBramble(['--config', copy, 'cluster', 'status']);
    assert.doesNotMatch(again.stderr, /now lists/, 'nothing to learn the second time');
  });

  test('a copied admin.conf that names one member learns every member from an ordinary get, and is not written again', async () => {
    const copy = path.join(dir, 'laptop-get.conf');
    // A follower this time: any member's answers name them all.
    const text = (await fs.readFile(servers.get('cp2')!.configPath, 'utf8')).replace(/^servers:\n(?:\s+- .*\n)+/m, '');
    assert.doesNotMatch(text, new RegExp(`:${servers.get('cp3')!.grpcPort}\\b`), 'the copy names cp2 only');
    await fs.writeFile(copy, text, { mode: 0o600 });
    const r = await runBramble(['--config', copy, 'get', 'namespaces']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stderr, /now lists the members' addresses/);
    const learned = await fs.readFile(copy, 'utf8');
    for (const name of ['cp1', 'cp2', 'cp3']) assert.match(learned, new RegExp(`127\\.0\\.0\\.1:${servers.get(name)!.grpcPort}`), `the copy names ${name}`);
    const written = await fs.stat(copy);
    const again = await runBramble(['--config', copy, 'get', 'configmaps', 'no-such-map']);
    assert.notEqual(again.code, 0, 'a missing object is an error, and its answer still names the members');
    assert.doesNotMatch(again.stderr, /now lists/, 'nothing to learn the second time');
    assert.deepEqual([(await fs.stat(copy)).ino, (await fs.stat(copy)).mtimeMs], [written.ino, written.mtimeMs], 'the file is not rewritten when the members match');
    // --server pins one member: nothing is learned or written through it.
    const pinned = path.join(dir, 'laptop-pinned.conf');
    await fs.writeFile(pinned, text, { mode: 0o600 });
    const viaServer = await runBramble(['--config', pinned, '--server', `127.0.0.1:${servers.get('cp2')!.grpcPort}`, 'get', 'namespaces']);
    assert.equal(viaServer.code, 0, explain(viaServer));
    assert.equal(await fs.readFile(pinned, 'utf8'), text);
  });

  test('a write sent to a follower is forwarded to the leader and reaches every member', async () => {
    const leader = await leaderName('cp1');
    const follower = ['cp1', 'cp2', 'cp3'].find((n) => n !== leader)!;
    await apply(follower, 'forwarded', 'one');
    // A command far above a name's field limit (1,024 characters), as a Node or a Deployment is.
    const big = 'x'.repeat(20_000);
    const file = path.join(dir, 'forwarded-big.yaml');
    await fs.writeFile(file, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: forwarded-big}\ndata: {v: "${big}"}\n`);
    const r = await bramble(follower, '--server', `127.0.0.1:${servers.get(follower)!.grpcPort}`, 'apply', '-f', file);
    assert.equal(r.code, 0, explain(r));
    for (const name of ['cp1', 'cp2', 'cp3']) {
      await eventually(`the write on ${name}`, async () => ((await valueOn(name, 'forwarded')) === 'one' ? true : undefined));
      await eventually(`the big write on ${name}`, async () => ((await valueOn(name, 'forwarded-big')) === big ? true : undefined));
    }
  });

  test('a linearizable read on any member sees a write acknowledged just before through another', async () => {
    for (const [writer, reader] of [['cp1', 'cp2'], ['cp2', 'cp3'], ['cp3', 'cp1']] as const) {
      await apply(writer, 'fresh', writer);
      const r = await bramble(reader, '--server', `127.0.0.1:${servers.get(reader)!.grpcPort}`, 'get', 'configmap', 'fresh', '-o', 'json');
      assert.equal(r.code, 0, explain(r));
      assert.equal((JSON.parse(r.stdout) as { data: { v: string } }).data.v, writer, `${reader} answered with the write made through ${writer}`);
    }
  });

  test('a Secret written through one member is read in clear on every other: the joiners got the encryption keys', async () => {
    const file = path.join(dir, 'secret.yaml');
    await fs.writeFile(file, 'apiVersion: v1\nkind: Secret\nmetadata: {name: shared}\nstringData: {password: hunter2}\n');
    const r = await bramble('cp2', 'apply', '-f', file);
    assert.equal(r.code, 0, explain(r));
    for (const name of ['cp1', 'cp3']) {
      const got = await eventually(`the Secret on ${name}`, async () => {
        const g = await bramble(name, '--server', `127.0.0.1:${servers.get(name)!.grpcPort}`, 'get', 'secret', 'shared', '-o', 'json');
        return g.code === 0 ? (JSON.parse(g.stdout) as { data: Record<string, string> }) : undefined;
      });
      assert.equal(Buffer.from(got.data.password!, 'base64').toString(), 'hunter2');
    }
  });

  test('a key rotation through a follower reaches every member: each ends with the one new key and reads the Secret in clear', async () => {
    const keyFileOf = async (name: string) => JSON.parse(await fs.readFile(path.join(servers.get(name)!.dataDir, 'cred', 'encryption-keys.json'), 'utf8')) as { active: string; keys: { id: string }[] };
    const before = (await keyFileOf('cp1')).active;
    const leader = await leaderName('cp1');
    const follower = ['cp1', 'cp2', 'cp3'].find((n) => n !== leader)!;
    const rotate = await bramble(follower, '--server', `127.0.0.1:${servers.get(follower)!.grpcPort}`, 'secrets-encryption', 'rotate', '-o', 'json');
    assert.equal(rotate.code, 0, explain(rotate));
    const report = JSON.parse(rotate.stdout) as { activeKeyId: string; removedKeyIds: string[]; failures: string[] };
    assert.notEqual(report.activeKeyId, before);
    assert.deepEqual([report.removedKeyIds, report.failures], [[before], []]);
    for (const name of ['cp1', 'cp2', 'cp3']) {
      const file = await keyFileOf(name);
      assert.deepEqual([file.active, file.keys.map((k) => k.id)], [report.activeKeyId, [report.activeKeyId]], `the key file of ${name}`);
      const g = await bramble(name, '--server', `127.0.0.1:${servers.get(name)!.grpcPort}`, 'get', 'secret', 'shared', '-o', 'json');
      assert.equal(g.code, 0, explain(g));
      assert.equal(Buffer.from((JSON.parse(g.stdout) as { data: Record<string, string> }).data.password!, 'base64').toString(), 'hunter2', `${name} reads the Secret`);
    }
  });

  test('a leader killed with SIGKILL is replaced, and no acknowledged write is lost', async () => {
    const old = await leaderName('cp2');
    await apply(old, 'before-kill', 'acked');
    await servers.get(old)!.kill();
    const rest = ['cp1', 'cp2', 'cp3'].filter((n) => n !== old);
    const next = await eventually('a new leader', async () => {
      const s = await status(rest[0]!);
      return s.leader && s.leader !== old ? s.leader : undefined;
    });
    assert.notEqual(next, old);
    await apply(rest[1]!, 'after-kill', 'new');
    for (const name of rest) assert.equal(await valueOn(name, 'before-kill'), 'acked', `${name} kept the write acknowledged before the kill`);

    await servers.get(old)!.restart();
    await eventually(`${old} caught up`, async () => ((await valueOn(old, 'after-kill')) === 'new' ? true : undefined));
    const st = await eventually('all members at one applied index', async () => {
      const s = await status(old);
      return s.members.every((m) => m.appliedIndex === s.members[0]!.appliedIndex && !m.error) ? s : undefined;
    });
    assert.equal(st.members.length, 3);
  });

  test('a leader stopped with SIGTERM hands leadership over before it goes', async () => {
    const old = await leaderName('cp3');
    const stopped = await servers.get(old)!.stop();
    assert.equal(stopped.code, 0);
    assert.match(servers.get(old)!.output(), /"handedOver":true/);
    const rest = ['cp1', 'cp2', 'cp3'].filter((n) => n !== old);
    const next = await leaderName(rest[0]!);
    assert.notEqual(next, old);
    await apply(rest[0]!, 'after-term', 'ok');
    await servers.get(old)!.restart();
  });
});
