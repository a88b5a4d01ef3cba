// The emulated ARM check: Bramble's server and agent run on Node.js for arm64
// (and 32-bit ARM) under qemu-user, with classic-level's ARM prebuild behind the
// real LevelDB store, and the agent reports the board's architecture. Proof that
// no x86-only dependency crept in, on a machine with no ARM board.
// The server and the agent run bin/bramble.js unchanged: a `node` shim first on
// their PATH (emulated-node.ts) runs it under qemu. The CLI stays native. The
// agent talks to a native containerd on a simulated board (test/support/cluster.ts);
// no container runs, as an ARM image would need binfmt_misc on the host.
// Fails (does not skip) when qemu or the cache from scripts/fetch-arm-runtimes.sh
// is missing: BRAMBLE_SKIP_EMULATED_ARM=1 turns it off.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ARCH_LABEL, type KObject, type NodeObject } from '../proto/model.js';
import { startCluster, waitFor, type TestCluster } from '../test/support/cluster.js';
import { emulatedNode, missingParts, optedOut, writeNodeShim, type EmulatedArch, type EmulatedNode } from './emulated-node.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');
const cacheDir = process.env.BRAMBLE_ARM_CACHE || undefined;
// Emulation is slow (the server needs about 10 s to answer /readyz on 2 loaded cores).
const START_TIMEOUT_MS = 120_000;

/** The program a process runs and its arguments, as the host kernel sees them. */
async function processImage(pid: number | undefined): Promise<{ exe: string; argv: string[] }> {
  if (pid === undefined) throw new Error('the process must be running: it has no pid');
  const [exe, cmdline] = await Promise.all([readlink(`/proc/${pid}/exe`), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
  return { exe, argv: cmdline.split('\0').filter(Boolean) };
}

function assertEmulated(what: string, image: { exe: string; argv: string[] }, n: EmulatedNode): void {
  assert.equal(image.exe, n.qemu, `the ${what} must run under ${n.qemu}: it runs ${image.exe} (${image.argv.join(' ')})`);
  assert.ok(image.argv.includes(n.node), `the ${what} must run ${n.node}: its command line is ${image.argv.join(' ')}`);
}

function readyCondition(node: NodeObject | undefined): string | undefined {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

for (const arch of ['arm64', 'armhf'] as EmulatedArch[]) {
  const n = emulatedNode(arch, cacheDir);
  const skip = optedOut(process.env) ?? (!canRun && 'needs root, containerd and the CNI plugins (scripts/install-test-deps.sh)');

  describe(`Bramble on ${arch} Node.js under qemu-user`, { skip, timeout: 240_000 }, () => {
    test(`the server and an agent run emulated, the agent reports ${n.kubernetesArch} and the store keeps what it was given`, async (t) => {
      const missing = missingParts(n, existsSync);
      assert.deepEqual(missing, [], `the emulated ${arch} check needs (set BRAMBLE_SKIP_EMULATED_ARM=1 to turn it off):\n${missing.join('\n')}`);
      const shimDir = await mkdtemp(path.join(tmpdir(), `bramble-${arch}-node-`));
      t.after(() => rm(shimDir, { recursive: true, force: true }));
      await writeNodeShim(shimDir, n);

      const started = Date.now();
      let cluster: TestCluster | undefined;
      t.after(async () => {
        await cluster?.close();
      });
      cluster = await startCluster({
        boards: [{ name: arch }],
        env: { PATH: `${shimDir}:${process.env.PATH ?? '/usr/bin:/bin'}` },
        serverReadyTimeoutMs: START_TIMEOUT_MS,
      });
      const c = cluster;
      const board = c.boards[0]!;
      assertEmulated('server', await processImage(c.server.pid), n);

      const node = await waitFor(`node ${board.nodeName} Ready`, async () => {
        const got = await c.get<NodeObject>('node', board.nodeName);
        return readyCondition(got) === 'True' ? got : undefined;
      }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 500, describe: () => c.diagnostics() });
      t.diagnostic(`${arch}: server and agent up, node Ready, after ${Date.now() - started} ms`);
      assertEmulated('agent', await processImage(board.agentPid), n);
      assert.equal(node.status?.nodeInfo?.architecture, n.kubernetesArch, `the agent must report ${n.kubernetesArch}: ${JSON.stringify(node.status?.nodeInfo)}`);
      assert.equal(node.metadata.labels?.[ARCH_LABEL], n.kubernetesArch);

      // Written through the emulated server into LevelDB (classic-level's ARM prebuild), then read back after a restart.
      const marker = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `written-on-${arch}`, namespace: 'default' }, data: { arch: n.kubernetesArch } };
      await c.apply([marker]);
      assert.deepEqual((await c.get<KObject & { data?: Record<string, string> }>('configmap', marker.metadata.name))?.data, marker.data);
      await c.server.restart();
      assertEmulated('restarted server', await processImage(c.server.pid), n);
      const reread = await c.get<KObject & { data?: Record<string, string> }>('configmap', marker.metadata.name);
      assert.deepEqual(reread?.data, marker.data, 'the ConfigMap must be read back from the store after the restart');
      const again = await waitFor(`node ${board.nodeName} still listed after the restart`, () => c.get<NodeObject>('node', board.nodeName), {
        timeoutMs: START_TIMEOUT_MS, describe: () => c.diagnostics(),
      });
      assert.equal(again.status?.nodeInfo?.architecture, n.kubernetesArch);
      t.diagnostic(`${arch}: whole check ${Date.now() - started} ms`);
    });
  });
}
