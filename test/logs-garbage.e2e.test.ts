// What containers print cannot take a board down: a Pod on a real board (its own
// containerd, runc, CNI) writes random bytes, bytes that are not UTF-8 and a
// 10 MB line without a newline, and `bramble logs` (the real CLI, through the
// control plane and the agent's tunnel) must return exactly those bytes, whole
// and with --tail, while the agent keeps running and its Node stays Ready.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../proto/util/clock.js';
import type { KObject, NodeObject as Node } from '../proto/model.js';
import { startCluster, waitFor, type ClusterBoard, type TestCluster } from './support/cluster.js';
import { busyboxPod, isRunning, waitForPod } from './support/e2e-objects.js';
import { runBrambleBytes, type CliBytesResult } from './support/server-process.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');

const RANDOM_BYTES = 200_000;
const LONG_LINE_BYTES = 10 * 1024 * 1024;
/** printf's octal escapes: a lone 0xff and 0xfe, a broken two-byte sequence, stray continuation bytes. */
const INVALID_UTF8 = Buffer.from([0x0a, 0xff, 0xfe, 0xc3, 0x28, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x75, 0x74, 0x66, 0x2d, 0x38, 0x20, 0xa0, 0xa1, 0x0a]);
const INVALID_UTF8_PRINTF = "'\\n\\377\\376\\303\\050 not utf-8 \\240\\241\\n'";

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** VmHWM (peak resident set) of a process in MiB, from /proc. */
async function peakRssMiB(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024);
}

function isReady(node: Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe('container output that is not text', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let board: ClusterBoard;
  let hostDir: string;
  let expected: Buffer;
  let agentPid: number | undefined;

  before(async () => {
    // The random bytes come from a host file the container cats, so the test knows them exactly.
    hostDir = await mkdtemp(join(tmpdir(), 'bramble-garbage-'));
    const random = randomBytes(RANDOM_BYTES);
    await writeFile(join(hostDir, 'garbage.bin'), random);
    expected = Buffer.concat([random, INVALID_UTF8, Buffer.alloc(LONG_LINE_BYTES, 'x')]);
    cluster = await startCluster({ boards: [{ name: 'garbage' }] });
    board = cluster.boards[0]!;
    await waitFor('the board to be Ready', async () => (isReady(await cluster.get<Node>('node', board.nodeName)) ? true : undefined),
      { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    agentPid = board.agentPid;
  });

  after(async () => {
    try {
      await cluster?.close();
    } finally {
      if (hostDir) await rm(hostDir, { recursive: true, force: true });
    }
  });

  const logs = (args: string[]): Promise<CliBytesResult> =>
    runBrambleBytes(['--config', cluster.server.configPath, 'logs', ...args], { timeoutMs: 60_000 });

  test('bramble logs returns random bytes, invalid UTF-8 and a 10 MB line byte for byte, the agent stays up, and the pod deletes', async () => {
    const peakBefore = await peakRssMiB(agentPid);
    const started = realClock.now();
    await cluster.apply([busyboxPod('garbage', {
      // Everything on stdout: the shim copies stdout and stderr into one file side by side, so mixing them would interleave.
      command: ['sh', '-c', [
        'cat /g/garbage.bin',
        `printf ${INVALID_UTF8_PRINTF}`,
        `head -c ${LONG_LINE_BYTES} /dev/zero | busybox tr '\\000' x`,
        'exec sleep 3600',
      ].join('; ')],
      volumeMounts: [{ name: 'g', mountPath: '/g', readOnly: true }],
    }, { volumes: [{ name: 'g', hostPath: { path: hostDir, type: 'Directory' } }] })]);
    await waitForPod(cluster, 'garbage', 'to be Running', isRunning);

    let last = '';
    const whole = await waitFor('bramble logs garbage to return everything the container wrote', async () => {
      const r = await logs(['garbage']);
      last = `exit ${r.code}, ${r.stdout.length} bytes, stderr: ${r.stderr.slice(0, 500)}`;
      return r.code === 0 && r.stdout.length >= expected.length ? r.stdout : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500, describe: () => `last: ${last}\n${cluster.diagnostics()}` });
    const wrote = realClock.now();
    assert.equal(whole.length, expected.length, 'bramble logs must return as many bytes as the container wrote');
    assert.equal(sha(whole), sha(expected), 'bramble logs must return exactly the bytes the container wrote');

    const tail1 = await logs(['garbage', '--tail', '1']);
    assert.equal(tail1.code, 0, tail1.stderr);
    assert.equal(tail1.stdout.length, LONG_LINE_BYTES, '--tail 1 must return the last line, the 10 MB one without a newline');
    assert.equal(sha(tail1.stdout), sha(expected.subarray(expected.length - LONG_LINE_BYTES)));

    const tail2 = await logs(['garbage', '--tail', '2']);
    assert.equal(tail2.code, 0, tail2.stderr);
    assert.equal(sha(tail2.stdout), sha(expected.subarray(RANDOM_BYTES + 1)), '--tail 2 must return the invalid UTF-8 line and the long one');

    const huge = await logs(['garbage', '--tail', '9007199254740991']);
    assert.equal(huge.code, 0, huge.stderr);
    assert.equal(sha(huge.stdout), sha(expected), 'a tail longer than the log returns all of it');

    const zero = await logs(['garbage', '--tail', '0']);
    assert.equal(zero.code, 0, zero.stderr);
    assert.equal(zero.stdout.length, 0);
    const readAt = realClock.now();
    const peakAfter = await peakRssMiB(agentPid);

    assert.equal(board.agentPid, agentPid, `the agent process must still be the same one:\n${board.agentOutput().slice(-3000)}`);
    assert.ok(agentPid !== undefined);
    assert.ok(isReady(await cluster.get<Node>('node', board.nodeName)), 'the Node must stay Ready');
    assert.doesNotMatch(board.agentOutput(), /uncaught|unhandled|FATAL/i);

    const del = await cluster.bramble(['delete', 'pod', 'garbage']);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('pod garbage to disappear from bramble get pods', async () => {
      const r = await cluster.bramble(['get', 'pods', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const items = (JSON.parse(r.stdout) as { items: KObject[] }).items;
      return items.some((p) => p.metadata.name === 'garbage') ? undefined : true;
    }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
    assert.equal(board.agentPid, agentPid, 'the agent must outlive the pod');
    process.stdout.write(`# logs-garbage: pod start to full log ${wrote - started} ms, five logs reads ${readAt - wrote} ms, delete ${realClock.now() - readAt} ms; agent peak RSS ${peakBefore} MiB before, ${peakAfter} MiB after\n`);
  });
  test('an image import of garbage fails with an error naming it, and the agent keeps running', async () => {
    const file = join(hostDir, 'not-an-image.tar');
    await writeFile(file, randomBytes(3 * 1024 * 1024 + 7));
    // Twice: the second answer shows the tunnel still serves after a failed import.
    for (let i = 0; i < 2; i++) {
      const r = await cluster.bramble(['image', 'import', file, '--node', board.nodeName]);
      assert.notEqual(r.code, 0, `importing garbage must fail:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /ctr: /, `the error must be the board's import error:\n${r.stderr}`);
      assert.equal(board.agentPid, agentPid, `the agent process must still be the same one:\n${board.agentOutput().slice(-3000)}`);
    }
    assert.ok(isReady(await cluster.get<Node>('node', board.nodeName)), 'the Node must stay Ready');
  });
});
