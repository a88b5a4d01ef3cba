import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLevelStore } from './store-level.js';
import { waitFor } from '../../test/support/store-contract.js';

// Compiled (dist/) the child is plain JavaScript; from source it runs through tsx.
const compiled = import.meta.url.endsWith('.js');
const child = fileURLToPath(new URL(`../../test/support/store-writer-child.${compiled ? 'js' : 'ts'}`, import.meta.url));

test('every write acknowledged before a kill -9 is there after reopening', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bramble-store-kill-'));
  const proc = spawn(process.execPath, [...(compiled ? [] : ['--import', 'tsx']), child, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const acks: { revision: number; name: string }[] = [];
    let stderr = '';
    let buffered = '';
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    proc.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const m = /^ack (\d+) (\S+)$/.exec(line);
        if (m) acks.push({ revision: Number(m[1]), name: m[2]! });
      }
    });
    const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
    await waitFor(() => acks.length >= 300 || proc.exitCode !== null, 'the child to acknowledge 300 writes', 30_000);
    assert.equal(proc.exitCode, null, `the child exited early: ${stderr}`);
    proc.kill('SIGKILL');
    await exited;
    assert.equal(proc.signalCode, 'SIGKILL');

    const store = await openLevelStore({ dataDir });
    try {
      const maxAcked = Math.max(...acks.map((a) => a.revision));
      assert.ok(store.revision() >= maxAcked, `revision ${store.revision()} is behind the acknowledged ${maxAcked}`);
      const missing = acks.filter((a) => store.get('ConfigMap', 'default', a.name)?.metadata.resourceVersion !== String(a.revision));
      assert.deepEqual(missing, []);
      assert.equal(store.objectCount(), store.revision(), 'one object per committed create');
      const more = await store.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after', namespace: 'default' } } }] });
      assert.equal(more.revision, store.objectCount());
    } finally {
      await store.close();
    }
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});
