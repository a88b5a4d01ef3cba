// The agent-facing CLI end to end, without containerd: a real `bramble server
// --disable-agent` process and the compiled CLI. Join tokens round trip, `bramble
// agent` refuses bad tokens with the join error, and top, logs and delete --force
// behave on a cluster that has no running board.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { freePort, runBramble, startServerProcess, type ServerProcess, explain, tempDir } from './support/server-process.js';

const TOKEN_RE = /^B10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/;

function tokenId(token: string): string {
  return token.split('::')[1]!.split('.')[0]!;
}

describe('bramble agent, token, top, logs and delete --force against a server without agent', { concurrency: 4 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.close();
  });

  const bramble = (args: string[]) => runBramble(['--config', server.configPath, ...args]);
  // No containerd here: its preflight check is ignored so the join itself is what these tests see.
  const agent = async (t: { after(fn: () => Promise<void>): void }, args: string[], ignore = ['--ignore-check', 'containerd']) => {
    const dataDir = await tempDir(t, 'bramble-agent-test-');
    return runBramble(['agent', '--server', `127.0.0.1:${server.grpcPort}`, '--data-dir', dataDir, ...ignore, ...args]);
  };
  const createToken = async (): Promise<string> => {
    const r = await bramble(['token', 'create', '--ttl', '1h']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout.trim(), TOKEN_RE);
    return r.stdout.trim();
  };

  test('token create prints only the token, list shows it, delete removes it', async () => {
    const created = await bramble(['token', 'create', '--ttl', '2h', '--description', 'pi in the shed']);
    assert.equal(created.code, 0, explain(created));
    assert.ok(created.stdout.endsWith('\n') && !created.stdout.slice(0, -1).includes('\n'), 'one line: ' + explain(created));
    const token = created.stdout.trim();
    assert.match(token, TOKEN_RE);
    const id = tokenId(token);

    const table = await bramble(['token', 'list']);
    assert.equal(table.code, 0, explain(table));
    assert.match(table.stdout, /^ID\s+DESCRIPTION\s+EXPIRES\s+CREATED\n/);
    assert.match(table.stdout, new RegExp(`^${id}\\s+pi in the shed\\s+in \\d+m\\s+\\d+s ago$`, 'm'));
    assert.ok(!table.stdout.includes(token), 'the secret is never listed');

    const json = await bramble(['token', 'list', '-o', 'json']);
    const listed = JSON.parse(json.stdout) as { id: string; description: string; expires: string }[];
    const mine = listed.find((t) => t.id === id);
    assert.ok(mine, explain(json));
    assert.equal(mine.description, 'pi in the shed');
    assert.ok(Date.parse(mine.expires) > Date.now() + 60 * 60 * 1000, `expires in about 2h: ${mine.expires}`);

    const deleted = await bramble(['token', 'delete', id]);
    assert.equal(deleted.code, 0, explain(deleted));
    assert.equal(deleted.stdout, `token ${id} deleted\n`);
    const after = await bramble(['token', 'list', '-o', 'json']);
    assert.ok(!(JSON.parse(after.stdout) as { id: string }[]).some((t) => t.id === id), explain(after));

    const again = await bramble(['token', 'delete', id]);
    assert.equal(again.code, 1, explain(again));
    assert.match(again.stderr, /not found/);
  });

  test('token create refuses a duration it cannot read, naming the value', async () => {
    const r = await bramble(['token', 'create', '--ttl', '3 weeks']);
    assert.equal(r.code, 2, explain(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--ttl .*"3 weeks"/);
  });

  test('agent with a malformed token exits non-zero with the token error', async (t) => {
    const r = await agent(t, ['--token', 'not-a-token', '--node-name', 'malformed-1']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /join token must start with "B10"/);
  });

  test('agent with a token naming another CA exits non-zero with the CA mismatch', async (t) => {
    const token = await createToken();
    const wrongCa = `B10${'0'.repeat(64)}::${token.split('::')[1]}`;
    const r = await agent(t, ['--token', wrongCa, '--node-name', 'wrong-ca-1']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /cannot join the cluster at 127\.0\.0\.1:\d+: the server's CA .* does not match the token's/);
    const nodes = await bramble(['get', 'nodes', 'wrong-ca-1']);
    assert.equal(nodes.code, 1, 'no node was created: ' + explain(nodes));
  });

  test('agent with a deleted token is refused', async (t) => {
    const token = await createToken();
    const deleted = await bramble(['token', 'delete', tokenId(token)]);
    assert.equal(deleted.code, 0, explain(deleted));
    const r = await agent(t, ['--token', token, '--node-name', 'deleted-token-1']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, new RegExp(`cannot join the cluster .*join token "${tokenId(token)}" is not known`));
  });

  test('agent refuses to start on a fatal preflight finding, before it joins, naming the check and its fix', async (t) => {
    const token = await createToken();
    const socket = path.join(await tempDir(t, 'bramble-agent-noctr-'), 'none.sock');
    const r = await agent(t, ['--token', token, '--node-name', 'preflight-1', '--containerd-address', socket], []);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /the board fails its preflight check, so the agent does not start: containerd \(CONTAINERD_UNREACHABLE\): containerd is not reachable at \S+none\.sock \(ENOENT\); fix: systemctl enable --now containerd/);
    assert.match(r.stderr, /--ignore-check NAME/);
    const nodes = await bramble(['get', 'nodes', 'preflight-1']);
    assert.equal(nodes.code, 1, 'no node was created: ' + explain(nodes));
  });

  test('agent --ignore-check with a name that is no check is a usage error listing the checks', async (t) => {
    const r = await agent(t, ['--token', await createToken()], ['--ignore-check', 'contanerd']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /--ignore-check must name a check \(cgroup, containerd, .*\) or "all": current value is "contanerd"/);
  });

  test('agent with a bad --labels pair is a usage error naming the pair', async (t) => {
    const token = await createToken();
    const r = await agent(t, ['--token', token, '--labels', 'disk=ssd,attic']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /--labels .*"attic"/);
  });

  test('top nodes on a cluster without boards prints no rows and says why', async () => {
    const table = await bramble(['top', 'nodes']);
    assert.equal(table.code, 0, explain(table));
    assert.equal(table.stdout, '');
    assert.match(table.stderr, /No node figures yet/);
    const json = await bramble(['top', 'nodes', '-o', 'json']);
    assert.equal(json.code, 0, explain(json));
    assert.deepEqual(JSON.parse(json.stdout), []);
  });

  test('logs of a pod that does not exist fails with not found', async () => {
    const r = await bramble(['logs', 'no-such-pod', '-n', 'default']);
    assert.equal(r.code, 1, explain(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /pod "no-such-pod" not found/);
  });

  test('delete leaves a bound pod terminating until its board stops it; --force removes it at once', async (t) => {
    const dir = await tempDir(t, 'bramble-force-test-');
    const file = path.join(dir, 'pod.yaml');
    await fs.writeFile(
      file,
      'apiVersion: v1\nkind: Node\nmetadata:\n  name: silent-board\n---\n' +
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: bound-pod\nspec:\n  nodeName: silent-board\n  containers:\n    - name: main\n      image: busybox\n',
    );
    const applied = await bramble(['apply', '-f', file]);
    assert.equal(applied.code, 0, explain(applied));
    t.after(async () => {
      await bramble(['delete', 'node', 'silent-board', '--ignore-not-found']);
    });

    const graceful = await bramble(['delete', 'pod', 'bound-pod']);
    assert.equal(graceful.code, 0, explain(graceful));
    const terminating = await bramble(['get', 'pod', 'bound-pod']);
    assert.equal(terminating.code, 0, explain(terminating));
    assert.match(terminating.stdout, /bound-pod\s+\S+\s+Terminating/);

    const forced = await bramble(['delete', 'pod', 'bound-pod', '--force']);
    assert.equal(forced.code, 0, explain(forced));
    const gone = await bramble(['get', 'pod', 'bound-pod']);
    assert.equal(gone.code, 1, explain(gone));
    assert.match(gone.stderr, /not found/);
  });
});

describe('bramble server with its local agent', () => {
  test('fails to start when containerd is not there, naming the socket and --disable-agent', async (t) => {
    const dataDir = await tempDir(t, 'bramble-server-noctr-');
    const socket = path.join(dataDir, 'no-containerd.sock');
    const r = await runBramble([
      'server', '--data-dir', dataDir, '--grpc-addr', `127.0.0.1:${await freePort()}`, '--http-addr', `127.0.0.1:${await freePort()}`,
      '--containerd-address', socket,
    ]);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, new RegExp(`containerd is not reachable at ${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOENT\\)`));
    assert.match(r.stderr, /--disable-agent/);
    assert.match(r.stderr, /join token: .*token/);
  });

  test('refuses an --ignore-check that names no check before it starts anything', async (t) => {
    const dataDir = await tempDir(t, 'bramble-server-ignore-');
    const r = await runBramble([
      'server', '--data-dir', dataDir, '--grpc-addr', `127.0.0.1:${await freePort()}`, '--http-addr', `127.0.0.1:${await freePort()}`,
      '--ignore-check', 'clock', '--ignore-check', 'dsik',
    ]);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /--ignore-check must name a check \(.*disk.*\) or "all": current value is "dsik"/);
    assert.deepEqual(await fs.readdir(dataDir), [], 'nothing was written to the data dir');
  });
});
