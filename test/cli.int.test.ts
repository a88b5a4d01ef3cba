// The `bramble` CLI end to end: a real `bramble server` process and the compiled
// CLI (bin/bramble.js) as child processes, each server on its own temp data dir.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KObject } from '../proto/model.js';
import { readClientConfig, writeClientConfig } from '../control-plane/pki/client-config.js';
import { ensureClusterPki } from '../control-plane/pki/pki-ca.js';
import { freePort, runBramble, startServerProcess, type ServerProcess, explain, tempDir } from './support/server-process.js';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: busybox:latest
          command: [sleep, "3600"]
`;

function configMap(name: string, data: Record<string, string>, extra = ''): string {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}data:\n${lines.join('\n')}\n`;
}

// The tests use distinct object names, so they share one server and run a few at a time.
describe('bramble CLI against a running server', { concurrency: 4 }, () => {
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    server = await startServerProcess();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-cli-test-'));
  });
  after(async () => {
    await server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const bramble = (args: string[], input?: string) => runBramble(['--config', server.configPath, ...args], { input });
  const manifest = async (name: string, text: string): Promise<string> => {
    const file = path.join(dir, name);
    await fs.writeFile(file, text);
    return file;
  };
  const getJson = async (args: string[]): Promise<KObject> => {
    const r = await bramble(['get', ...args, '-o', 'json']);
    assert.equal(r.code, 0, explain(r));
    return JSON.parse(r.stdout) as KObject;
  };

  test('apply creates objects, get lists and shows them, delete removes them', async () => {
    const file = await manifest('web.yaml', `${DEPLOYMENT}---\n${configMap('web-config', { greeting: 'hello' })}`);
    const applied = await bramble(['apply', '-f', file]);
    assert.equal(applied.code, 0, explain(applied));
    assert.equal(applied.stdout, 'deployment/web created\nconfigmap/web-config created\n');

    const table = await bramble(['get', 'deploy']);
    assert.equal(table.code, 0, explain(table));
    assert.deepEqual(table.stdout.split('\n')[0]!.split(/\s+/), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    assert.match(table.stdout, /^web\s+\d\/2\s+\d+\s+\d+\s+\d+s$/m);

    const one = await getJson(['deployments', 'web']);
    assert.equal(one.metadata.name, 'web');
    assert.equal(one.metadata.namespace, 'default');
    assert.ok(one.metadata.resourceVersion, 'the stored object has a resourceVersion');

    const names = await bramble(['get', 'cm', '-o', 'name', '-l', 'app!=nothing']);
    assert.equal(names.code, 0, explain(names));
    assert.match(names.stdout, /^configmap\/web-config$/m);

    const deleted = await bramble(['delete', '-f', file]);
    assert.equal(deleted.code, 0, explain(deleted));
    assert.equal(deleted.stdout, 'deployment/web deleted\nconfigmap/web-config deleted\n');

    const gone = await bramble(['get', 'deployment', 'web']);
    assert.equal(gone.code, 1, explain(gone));
    assert.match(gone.stderr, /not found/);
  });

  test('an empty namespace prints "No resources found" on stderr', async () => {
    const r = await bramble(['get', 'pods', '-n', 'empty-ns']);
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'No resources found in empty-ns namespace.\n');
  });

  test('get -o json of a list is a v1 List and -A adds a NAMESPACE column', async () => {
    const file = await manifest('list.yaml', configMap('list-a', { a: '1' }));
    assert.equal((await bramble(['apply', '-f', file])).code, 0);
    const list = await getJson(['configmaps']);
    assert.equal(list.kind, 'List');
    assert.ok((list.items as KObject[]).some((o) => o.metadata.name === 'list-a'));
    const all = await bramble(['get', 'cm', '-A']);
    assert.equal(all.code, 0, explain(all));
    assert.deepEqual(all.stdout.split('\n')[0]!.split(/\s+/), ['NAMESPACE', 'NAME', 'DATA', 'AGE']);
    assert.match(all.stdout, /^default\s+list-a\s+1\s+/m);
  });

  test('applying the same manifest twice reports "unchanged" and keeps the resourceVersion', async () => {
    const file = await manifest('twice.yaml', configMap('twice', { k: 'v' }));
    const first = await bramble(['apply', '-f', file]);
    assert.equal(first.stdout, 'configmap/twice created\n', explain(first));
    const before = (await getJson(['cm', 'twice'])).metadata.resourceVersion;
    const second = await bramble(['apply', '-f', file]);
    assert.equal(second.code, 0, explain(second));
    assert.equal(second.stdout, 'configmap/twice unchanged\n');
    assert.equal((await getJson(['cm', 'twice'])).metadata.resourceVersion, before);

    const changed = await bramble(['apply', '-f', await manifest('twice.yaml', configMap('twice', { k: 'w' }))]);
    assert.equal(changed.stdout, 'configmap/twice configured\n', explain(changed));
  });

  test('get -o yaml piped into apply -f - changes nothing', async () => {
    assert.equal((await bramble(['apply', '-f', await manifest('rt.yaml', DEPLOYMENT.replace('name: web\n', 'name: roundtrip\n'))])).code, 0);
    const yaml = await bramble(['get', 'deploy', 'roundtrip', '-o', 'yaml']);
    assert.equal(yaml.code, 0, explain(yaml));
    assert.equal((parseYaml(yaml.stdout) as KObject).kind, 'Deployment');
    const again = await bramble(['apply', '-f', '-'], yaml.stdout);
    assert.equal(again.code, 0, explain(again));
    assert.equal(again.stdout, 'deployment/roundtrip unchanged\n');
  });

  test('--dry-run reports what would happen and writes nothing', async () => {
    const r = await bramble(['apply', '--dry-run', '-f', await manifest('dry.yaml', configMap('dry', { a: 'b' }))]);
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout, 'configmap/dry created (dry run)\n');
    assert.equal((await bramble(['get', 'cm', 'dry'])).code, 1);
  });

  test('an unknown kind on the command line is a usage error (exit 2) listing the kinds', async () => {
    const r = await bramble(['get', 'gizmos']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /unknown kind "gizmos"/);
    assert.match(r.stderr, /deployments \(deployment, deploy\)/);
  });

  test('a missing argument is a usage error (exit 2)', async () => {
    const r = await bramble(['get']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /missing required argument 'kind'/);
  });

  const badCases: { name: string; text: string; patterns: RegExp[] }[] = [
    { name: 'an unknown kind in a manifest', text: 'apiVersion: v1\nkind: Gizmo\nmetadata:\n  name: g\n', patterns: [/kind/, /Gizmo/] },
    { name: 'an unknown field', text: DEPLOYMENT.replace('replicas: 2', 'replcas: 2'), patterns: [/spec\.replcas/, /unknown field/] },
    { name: 'a field of the wrong type', text: DEPLOYMENT.replace('replicas: 2', 'replicas: three'), patterns: [/spec\.replicas/, /"three"/] },
    {
      name: 'a missing required field',
      text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: no-template\nspec:\n  replicas: 1\n',
      patterns: [/spec\.template/, /required/],
    },
    { name: 'a name that is not a DNS-1123 name', text: configMap('Web_1', { a: 'b' }), patterns: [/metadata\.name/, /Web_1/] },
  ];
  for (const c of badCases) {
    test(`${c.name} fails with exit 1 and names the field`, async () => {
      const file = `bad-${badCases.indexOf(c)}.yaml`;
      const r = await bramble(['apply', '-f', await manifest(file, c.text)]);
      assert.equal(r.code, 1, explain(r));
      assert.equal(r.stdout, '');
      for (const p of c.patterns) assert.match(r.stderr, p);
      assert.match(r.stderr, new RegExp(`${file.replace('.', '\\.')} document 1`));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  test('a multi-document file with one bad document writes nothing at all', async () => {
    const text = [configMap('all-or-nothing-a', { a: '1' }), configMap('all-or-nothing-b', { b: '2' }), DEPLOYMENT.replace('replicas: 2', 'replcas: 2')].join('---\n');
    const r = await bramble(['apply', '-f', await manifest('multi.yaml', text)]);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /multi\.yaml document 3 \(deployment\/web\): spec\.replcas/);
    for (const name of ['all-or-nothing-a', 'all-or-nothing-b']) {
      const got = await bramble(['get', 'cm', name]);
      assert.equal(got.code, 1, `${name} must not exist\n${explain(got)}`);
    }
  });

  test('applying a stale resourceVersion is a conflict', async () => {
    assert.equal((await bramble(['apply', '-f', await manifest('c1.yaml', configMap('contended', { v: '1' }))])).code, 0);
    const stale = await getJson(['cm', 'contended']);
    assert.equal((await bramble(['apply', '-f', await manifest('c2.yaml', configMap('contended', { v: '2' }))])).code, 0);
    const r = await bramble(['apply', '-f', '-'], JSON.stringify({ ...stale, data: { v: '3' } }));
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /changed since it was read/);
    assert.deepEqual((await getJson(['cm', 'contended'])).data, { v: '2' });
  });

  test('delete of a missing object fails unless --ignore-not-found', async () => {
    const r = await bramble(['delete', 'cm', 'never-existed']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /never-existed/);
    const ignored = await bramble(['delete', 'cm', 'never-existed', '--ignore-not-found']);
    assert.equal(ignored.code, 0, explain(ignored));
    assert.equal(ignored.stdout, '');
  });

  test('describe shows metadata and spec, and a Secret only as byte counts', async () => {
    const secret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  labels: {app: db}\ntype: Opaque\nstringData:\n  password: hunter22\n`;
    assert.equal((await bramble(['apply', '-f', await manifest('secret.yaml', secret)])).code, 0);
    const r = await bramble(['describe', 'secret', 'db']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^Name:\s+db$/m);
    assert.match(r.stdout, /^Labels:\s+app=db$/m);
    assert.match(r.stdout, /password:\s+8 bytes/);
    assert.doesNotMatch(r.stdout, /hunter22|aHVudGVyMjI/);
  });

  test('version prints the client and the server version', async () => {
    const r = await bramble(['version', '-o', 'json']);
    assert.equal(r.code, 0, explain(r));
    const v = JSON.parse(r.stdout) as { clientVersion: { version: string }; serverVersion?: { version: string } };
    assert.match(v.clientVersion.version, /^\d+\.\d+\.\d+/);
    assert.equal(v.serverVersion?.version, v.clientVersion.version);
  });

  test('bramble --help lists the subcommands and every subcommand has its own --help', async () => {
    const help = await runBramble(['--help']);
    assert.equal(help.code, 0, explain(help));
    for (const cmd of ['server', 'apply', 'get', 'delete', 'describe', 'version']) assert.match(help.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'));
    const getHelp = await runBramble(['get', '--help']);
    assert.equal(getHelp.code, 0, explain(getHelp));
    assert.match(getHelp.stdout, /Usage: bramble get \[options\] <kind> \[name\]/);
    assert.match(getHelp.stdout, /--all-namespaces/);
  });

  test('a client certificate from another CA is refused with a message naming the config', async (t) => {
    const other = await tempDir(t, 'bramble-other-ca-');
    const otherPki = await ensureClusterPki(other, {});
    const issued = await otherPki.issueClientCert('admin', 'bramble:admins');
    const real = await readClientConfig(server.configPath);
    const forged = path.join(other, 'forged.conf');
    await writeClientConfig(forged, { server: real.server, ca: real.ca, cert: issued.certPem, key: issued.keyPem });
    const r = await runBramble(['--config', forged, 'get', 'pods']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, new RegExp(`refused the credentials in ${forged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  test('a missing client config is an error that says what was tried', async (t) => {
    const empty = await tempDir(t, 'bramble-no-config-');
    const r = await runBramble(['--config', path.join(empty, 'nope.conf'), 'get', 'pods']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /nope\.conf/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('an unreachable server is named in the error, and version still prints the client version', async (t) => {
    const d = await tempDir(t, 'bramble-unreachable-');
    const real = await readClientConfig(server.configPath);
    const port = await freePort();
    const conf = path.join(d, 'unreachable.conf');
    await writeClientConfig(conf, { ...real, server: `127.0.0.1:${port}` });
    const r = await runBramble(['--config', conf, 'get', 'pods']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, new RegExp(`cannot reach the Bramble server at 127\\.0\\.0\\.1:${port} \\(connection refused\\)`));
    const v = await runBramble(['--config', conf, 'version']);
    assert.equal(v.code, 1, explain(v));
    assert.match(v.stdout, /^Client Version: \d+\.\d+\.\d+/);
    assert.match(v.stderr, /cannot reach the Bramble server/);
  });
});

describe('bramble server durability', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.close();
  });

  test('an acknowledged apply survives kill -9 and a restart on the same data dir', async () => {
    const bramble = (args: string[], input?: string) => runBramble(['--config', server.configPath, ...args], { input });
    const applied = await bramble(['apply', '-f', '-'], configMap('durable', { survives: 'kill -9' }));
    assert.equal(applied.code, 0, explain(applied));
    await server.kill();
    await server.restart();
    const got = await bramble(['get', 'cm', 'durable', '-o', 'json']);
    assert.equal(got.code, 0, explain(got));
    assert.deepEqual((JSON.parse(got.stdout) as KObject).data, { survives: 'kill -9' });
  });

  test('SIGTERM stops the server cleanly with exit code 0', async () => {
    const pid = server.pid;
    assert.ok(pid, 'the server is running');
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, server.output());
  });
});
