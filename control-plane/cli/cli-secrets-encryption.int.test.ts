// `bramble secrets-encryption status|rotate` from the compiled CLI against a real
// `bramble server` process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../../test/support/server-process.js';

const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: api
stringData:
  key: cli-secret-value-93b1
`;

describe('bramble secrets-encryption', () => {
  let server: ServerProcess;
  const bramble = (args: string[], input?: string) => runBramble(['--config', server.configPath, ...args], { input });

  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.close();
  });

  test('status shows the active key and its Secrets, rotate moves them to a new key, and the Secret reads the same', async () => {
    const applied = await bramble(['apply', '-f', '-'], SECRET);
    assert.equal(applied.code, 0, explain(applied));
    const st = await bramble(['secrets-encryption', 'status', '-o', 'json']);
    assert.equal(st.code, 0, explain(st));
    const status = JSON.parse(st.stdout) as { activeKeyId: string; keys: { id: string; active: boolean; secrets: number }[]; plaintextSecrets: number; totalSecrets: number };
    assert.deepEqual(status.keys, [{ id: status.activeKeyId, active: true, secrets: 1 }]);
    assert.equal(status.plaintextSecrets, 0);
    assert.equal(status.totalSecrets, 1);

    const text = await bramble(['secrets-encryption', 'status']);
    assert.equal(text.code, 0, explain(text));
    assert.match(text.stdout, /^Encryption Status: Enabled/);
    assert.match(text.stdout, new RegExp(`\\*\\s+${status.activeKeyId}\\s+1`));

    const rotated = await bramble(['secrets-encryption', 'rotate']);
    assert.equal(rotated.code, 0, explain(rotated));
    assert.match(rotated.stdout, new RegExp(`rotated the Secrets encryption key: ${status.activeKeyId} -> aesgcm-`));
    assert.match(rotated.stdout, /re-encrypted 1 Secret\(s\)/);
    assert.match(rotated.stdout, new RegExp(`removed unused key\\(s\\): ${status.activeKeyId}`));

    const after = JSON.parse((await bramble(['secrets-encryption', 'status', '-o', 'json'])).stdout) as typeof status;
    assert.notEqual(after.activeKeyId, status.activeKeyId);
    assert.deepEqual(after.keys, [{ id: after.activeKeyId, active: true, secrets: 1 }]);
    const got = await bramble(['get', 'secret', 'api', '-o', 'json']);
    assert.equal(got.code, 0, explain(got));
    const data = (JSON.parse(got.stdout) as { data: Record<string, string> }).data;
    assert.equal(Buffer.from(data.key!, 'base64').toString(), 'cli-secret-value-93b1');
    assert.ok(!server.output().includes('cli-secret-value-93b1') && !server.output().includes(Buffer.from('cli-secret-value-93b1').toString('base64')), 'the value reached the log');
  });

  test('--help of both subcommands says what they do', async () => {
    const help = await bramble(['secrets-encryption', 'rotate', '--help']);
    assert.equal(help.code, 0, explain(help));
    assert.match(help.stdout, /re-encrypt every Secret/);
    assert.match(help.stdout, /--keep-old-keys/);
    const group = await bramble(['secrets-encryption', '--help']);
    assert.match(group.stdout, /status/);
    assert.match(group.stdout, /encryption-keys\.json/);
  });
});
