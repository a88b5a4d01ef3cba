// The report that opened issue 6: a ConfigMap whose label value is "café crème"
// made `bramble server` exit. A real server process and the real CLI: the user
// gets the validation error with the value as written, and the server lives on.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { explain, runBramble, startServerProcess, type ServerProcess } from '../../test/support/server-process.js';

describe('errors with any characters reach the CLI from a real server', () => {
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    server = await startServerProcess();
    dir = await fs.mkdtemp(path.join(server.dataDir, 'manifests-'));
  });
  after(async () => {
    await server?.close();
  });

  async function healthy(): Promise<void> {
    assert.equal(server.pid !== undefined && (await fetch(`http://127.0.0.1:${server.httpPort}/healthz`)).status, 200, server.output());
  }

  const cases: [string, string, RegExp][] = [
    ['a label value with accents', 'metadata:\n  name: menu\n  labels:\n    dish: café crème\n', /metadata\.labels\.dish: .*current value is "café crème"/],
    ['a name in Cyrillic and an emoji', 'metadata:\n  name: "меню-😀"\n', /metadata\.name: .*current value is "меню-😀"/],
    ['a lone surrogate in a data key', 'metadata:\n  name: menu\ndata:\n  "k\\ud800": v\n', /data\["k\\ud800"\]|data.*key/],
    ['a control character in a label key', 'metadata:\n  name: menu\n  labels:\n    "a\\u0007b": x\n', /metadata\.labels/],
  ];

  for (const [what, body, expected] of cases) {
    test(`apply with ${what} is refused with the field and the value as written, and the server keeps running`, async () => {
      const file = path.join(dir, 'cm.yaml');
      await fs.writeFile(file, `apiVersion: v1\nkind: ConfigMap\n${body}`);
      const r = await runBramble(['--config', server.configPath, 'apply', '-f', file]);
      assert.equal(r.code, 1, explain(r));
      assert.match(r.stderr, /nothing was applied/, explain(r));
      assert.match(r.stderr, expected, explain(r));
      assert.doesNotMatch(r.stderr, /cannot reach|\n\s+at /, explain(r));
      await healthy();
    });
  }

  test('get of a name with any characters is NOT_FOUND with the name as written', async () => {
    const r = await runBramble(['--config', server.configPath, 'get', 'configmap', 'café-😀']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /configmap "café-😀" not found/, explain(r));
    await healthy();
  });
});
