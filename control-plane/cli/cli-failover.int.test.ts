// The CLI with a config that lists several control-plane members: a member that
// cannot be reached is skipped for the next one, --server pins one member, and
// when none answers the error names every address tried.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { explain, freePort, runBramble, startServerProcess, type ServerProcess } from '../../test/support/server-process.js';
import { readClientConfig, writeClientConfig } from '../pki/client-config.js';

describe('the CLI fails over between the servers of its config', () => {
  let server: ServerProcess;
  let dir: string;
  let down: string;
  let live: string;

  before(async () => {
    server = await startServerProcess({ extraArgs: ['--controllers', 'scheduler'] });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-failover-test-'));
    // Nothing listens on a port the kernel just handed out and took back.
    down = `127.0.0.1:${await freePort()}`;
    live = `127.0.0.1:${server.grpcPort}`;
  });
  after(async () => {
    await server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const configWith = async (name: string, servers: string[]): Promise<string> => {
    const cfg = await readClientConfig(server.configPath);
    const file = path.join(dir, name);
    await writeClientConfig(file, { ...cfg, server: servers[0]!, servers });
    return file;
  };

  test('a first server that is down is skipped for the next one', async () => {
    const file = await configWith('down-first.conf', [down, live]);
    const r = await runBramble(['--config', file, 'get', 'namespaces', '-o', 'name']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /namespace\/default/);
  });

  test('--server talks to that member only, even when the config lists a live one', async () => {
    const file = await configWith('pinned.conf', [live]);
    const r = await runBramble(['--config', file, '--server', down, 'version']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, new RegExp(`cannot reach the Bramble server at ${down.replace(/\./g, '\\.')}`));
  });

  test('when no server answers, the error names every address tried', async () => {
    const other = `127.0.0.1:${await freePort()}`;
    const file = await configWith('all-down.conf', [down, other]);
    const r = await runBramble(['--config', file, 'version']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, new RegExp(other.replace(/\./g, '\\.')));
    assert.match(r.stderr, new RegExp(`also tried: ${down.replace(/\./g, '\\.')}`));
  });

  test('a malformed --server is a usage error', async () => {
    const r = await runBramble(['--config', server.configPath, '--server', 'nohost', 'version']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /--server must be HOST:PORT/);
  });
});
