// The preflight against this machine for real: a private containerd, the CNI
// plugins in /usr/lib/cni, runc and iptables as installed, and `bramble check`
// run inside a board's network namespace, whose forwarding sysctl is its own.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBoard, pickFreeBoardIndex, type Board } from '../test/support/board.js';
import { startContainerd, type RunningContainerd } from '../test/support/containerd.js';
import { brambleBin, type CliResult } from '../test/support/server-process.js';
import { realClock } from '../proto/util/clock.js';
import type { Finding } from './preflight.js';
import { checkBoard } from './preflight-checks.js';
import { realHostProbe } from './preflight-probe.js';

/** `bramble check ...args` run inside the board's network namespace (nsenter keeps /sys and /proc's mounts). */
function checkInBoard(board: Board, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${board.netnsPath}`, brambleBin(), 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = realClock.setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      timer.cancel();
      resolve({ code, stdout, stderr });
    });
  });
}

describe('preflight on this machine', () => {
  let dir: string;
  let containerd: RunningContainerd;
  let board: Board;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bpf-'));
    board = await createBoard(`pf${process.pid % 10000}`, await pickFreeBoardIndex());
    containerd = await startContainerd({ dir: join(dir, 'ctd'), netnsPath: board.netnsPath });
  });
  after(async () => {
    await containerd?.stop();
    await board?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const byCheck = (findings: Finding[]) => new Map(findings.map((f) => [f.check, f]));

  test('a machine with containerd, runc, the CNI plugins and iptables has no fatal finding', async () => {
    const findings = byCheck(await checkBoard(realHostProbe, { containerdAddress: containerd.address, cniPath: '/usr/lib/cni', dataDir: join(dir, 'agent'), now: realClock.now() }));
    assert.deepEqual([...findings.values()].filter((f) => f.status === 'fatal'), []);
    assert.match(findings.get('containerd')!.detail, new RegExp(`^containerd \\S+ answers at ${containerd.address}$`));
    assert.match(findings.get('runc')!.detail, /^runc version /);
    assert.equal(findings.get('cni-plugins')!.code, 'CNI_PLUGINS_OK');
    assert.match(findings.get('iptables')!.code, /^IPTABLES_(NFT|LEGACY)$/);
    assert.match(findings.get('cgroup')!.code, /^CGROUP_V[12]$/);
    assert.equal(findings.get('clock')!.code, 'CLOCK_OK');
    assert.match(findings.get('disk')!.detail, new RegExp(`MiB free on the file system of ${dir}$`), 'the nearest existing parent of the data dir');
    assert.match(findings.get('page-size')!.code, /^PAGE_SIZE_/);
  });

  test('a socket nobody listens on and an empty CNI directory are fatal findings', async () => {
    const findings = byCheck(await checkBoard(realHostProbe, { containerdAddress: join(dir, 'none.sock'), cniPath: dir, dataDir: dir, now: realClock.now() }));
    assert.deepEqual([findings.get('containerd')!.code, findings.get('containerd')!.detail], ['CONTAINERD_UNREACHABLE', `containerd is not reachable at ${join(dir, 'none.sock')} (ENOENT)`]);
    assert.deepEqual([findings.get('cni-plugins')!.code, findings.get('cni-plugins')!.detail], ['CNI_PLUGINS_MISSING', `not in ${dir} (or not executable): bridge, host-local, portmap`]);
  });

  test('bramble check in a board reads that board\'s own forwarding sysctl, prints JSON, exits 0 when nothing is fatal', async () => {
    const run = async (forward: '0' | '1'): Promise<Finding[]> => {
      const set = await board.runner.run('sysctl', ['-w', `net.ipv4.ip_forward=${forward}`], { timeoutMs: 10_000 });
      assert.equal(set.exitCode, 0, set.stderr);
      const r = await checkInBoard(board, ['--containerd-address', containerd.address, '--data-dir', dir, '-o', 'json']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      return JSON.parse(r.stdout) as Finding[];
    };
    assert.equal(byCheck(await run('1')).get('forwarding')!.code, 'FORWARDING_ON');
    assert.equal(byCheck(await run('0')).get('forwarding')!.code, 'FORWARDING_SET_BY_AGENT');
  });

  test('bramble check prints a table with the fix and exits 1 on a fatal finding', async () => {
    const r = await checkInBoard(board, ['--containerd-address', join(dir, 'none.sock'), '--data-dir', dir]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^CHECK\s+STATUS\s+CODE\s+DETAIL\s+FIX\n/);
    assert.match(r.stdout, /^containerd\s+fatal\s+CONTAINERD_UNREACHABLE\s+containerd is not reachable at .*none\.sock \(ENOENT\)\s+systemctl enable --now containerd/m);
    assert.match(r.stdout, /^runc\s+ok\s+RUNC_OK\s+runc version \S+\s+-$/m);
    assert.match(r.stderr, /1 fatal finding\(s\): the agent will not start on this board until they are fixed/);
  });
});
