// A "board" for end-to-end tests: a network namespace linked to the host by a
// veth pair, so several agents (each with its own containerd) run side by side
// on one machine. Everything a board's CNI bridge and iptables do stays inside it.
import { createHash, randomBytes } from 'node:crypto';
import { execRunner, nsenterRunner, type CommandRunner, type RunResult } from '../../agent/exec-runner.js';

export interface Board {
  name: string;
  netnsName: string;
  /** /var/run/netns/<netnsName>, for `nsenter --net=`. */
  netnsPath: string;
  /** The host's end, 10.200.<index>.1. */
  hostIp: string;
  /** The board's own address, 10.200.<index>.2. */
  boardIp: string;
  /** Runs commands inside the board's network namespace. */
  runner: CommandRunner;
  destroy(): Promise<void>;
}

async function must(runner: CommandRunner, file: string, args: string[]): Promise<RunResult> {
  const r = await runner.run(file, args, { timeoutMs: 15_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} must succeed: exited with ${r.exitCode}: ${r.stderr.trim()}`);
  return r;
}

/** A board index (third octet of 10.200.X.0/24) that no interface on the host uses yet. */
export async function pickFreeBoardIndex(): Promise<number> {
  const used = (await must(execRunner, 'ip', ['-4', '-o', 'addr', 'show'])).stdout;
  for (let attempt = 0; attempt < 200; attempt++) {
    const i = 10 + randomBytes(1)[0]! % 240;
    if (!used.includes(`10.200.${i}.`)) return i;
  }
  throw new Error('a free 10.200.X.0/24 board range must exist: all were taken');
}

export async function createBoard(name: string, index: number): Promise<Board> {
  if (!Number.isInteger(index) || index < 0 || index > 255) throw new Error(`board index must be 0-255: current value is ${index}`);
  const netnsName = `bramble-board-${name}`;
  const netnsPath = `/var/run/netns/${netnsName}`;
  // Interface names are limited to 15 bytes; a hash of the netns keeps them unique per board.
  const tag = createHash('sha256').update(netnsName).digest('hex').slice(0, 8);
  const hostIf = `bh${tag}`;
  const boardIf = `bb${tag}`;
  const hostIp = `10.200.${index}.1`;
  const boardIp = `10.200.${index}.2`;
  const inBoard = nsenterRunner(netnsPath);
  const destroy = async () => {
    await execRunner.run('ip', ['netns', 'delete', netnsName]).catch(() => undefined);
    // Deleting the netns takes the veth pair with it, unless a process still holds the netns.
    await execRunner.run('ip', ['link', 'delete', hostIf]).catch(() => undefined);
  };
  try {
    await must(execRunner, 'ip', ['netns', 'add', netnsName]);
    await must(execRunner, 'ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', boardIf]);
    await must(execRunner, 'ip', ['link', 'set', boardIf, 'netns', netnsName]);
    await must(execRunner, 'ip', ['addr', 'add', `${hostIp}/24`, 'dev', hostIf]);
    await must(execRunner, 'ip', ['link', 'set', hostIf, 'up']);
    await must(inBoard, 'ip', ['link', 'set', 'lo', 'up']);
    await must(inBoard, 'ip', ['addr', 'add', `${boardIp}/24`, 'dev', boardIf]);
    await must(inBoard, 'ip', ['link', 'set', boardIf, 'up']);
    await must(inBoard, 'ip', ['route', 'add', 'default', 'via', hostIp]);
  } catch (e) {
    await destroy();
    throw e;
  }
  return { name, netnsName, netnsPath, hostIp, boardIp, runner: inBoard, destroy };
}
