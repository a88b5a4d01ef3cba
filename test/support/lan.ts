// Boards on one home LAN, for end-to-end tests of traffic between boards: a
// bridge in a network namespace of its own (so no host firewall sees the
// bridged frames), one veth port per board, and one port for the host, all in
// one 10.200.X.0/24. Boards reach each other directly (host-gw routes need
// that) and the host reaches every board's address (NodePorts, hostPorts).
// destroy() removes the LAN namespace, which takes every port with it.
import { createHash } from 'node:crypto';
import { execRunner, nsenterRunner, type CommandRunner, type RunResult } from '../../agent/exec-runner.js';
import type { Board } from './board.js';

export interface Lan {
  netnsName: string;
  /** The host's address on the LAN, 10.200.X.1: the boards' default gateway. */
  hostIp: string;
  /** e.g. "10.200.37.0/24". */
  cidr: string;
  /** A new board on the LAN, at 10.200.X.(10 + n) for the n-th board. */
  addBoard(name: string): Promise<Board>;
  destroy(): Promise<void>;
}

async function must(runner: CommandRunner, file: string, args: string[]): Promise<RunResult> {
  const r = await runner.run(file, args, { timeoutMs: 15_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} must succeed: exited with ${r.exitCode}: ${r.stderr.trim()}`);
  return r;
}

function tagOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** `index` is the third octet of the LAN's 10.200.X.0/24 (see pickFreeBoardIndex). */
export async function createLan(name: string, index: number): Promise<Lan> {
  if (!Number.isInteger(index) || index < 0 || index > 255) throw new Error(`LAN index must be 0-255: current value is ${index}`);
  const netnsName = `bramble-lan-${name}`;
  const inLan = nsenterRunner(`/var/run/netns/${netnsName}`);
  const tag = tagOf(netnsName);
  const hostIf = `hl${tag}`;
  const prefix = `10.200.${index}`;
  const hostIp = `${prefix}.1`;
  const boards: Board[] = [];
  const destroy = async (): Promise<void> => {
    for (const b of boards.splice(0)) await b.destroy().catch(() => undefined);
    await execRunner.run('ip', ['netns', 'delete', netnsName]).catch(() => undefined);
    await execRunner.run('ip', ['link', 'delete', hostIf]).catch(() => undefined);
  };
  try {
    await must(execRunner, 'ip', ['netns', 'add', netnsName]);
    await must(inLan, 'ip', ['link', 'add', 'lan0', 'type', 'bridge']);
    await must(inLan, 'ip', ['link', 'set', 'lan0', 'up']);
    await must(execRunner, 'ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', `lh${tag}`, 'netns', netnsName]);
    await must(inLan, 'ip', ['link', 'set', `lh${tag}`, 'master', 'lan0', 'up']);
    await must(execRunner, 'ip', ['addr', 'add', `${hostIp}/24`, 'dev', hostIf]);
    await must(execRunner, 'ip', ['link', 'set', hostIf, 'up']);
  } catch (e) {
    await destroy();
    throw e;
  }

  const addBoard = async (boardName: string): Promise<Board> => {
    const n = boards.length;
    if (n > 200) throw new Error('a LAN holds at most 200 boards');
    const boardNetns = `bramble-board-${boardName}`;
    const netnsPath = `/var/run/netns/${boardNetns}`;
    const inBoard = nsenterRunner(netnsPath);
    const btag = tagOf(boardNetns);
    const boardIf = `bb${btag}`;
    const boardIp = `${prefix}.${10 + n}`;
    const board: Board = {
      name: boardName, netnsName: boardNetns, netnsPath, hostIp, boardIp, runner: inBoard,
      // The LAN port goes with the board's netns (its veth peer is deleted with it).
      destroy: async () => {
        await execRunner.run('ip', ['netns', 'delete', boardNetns]).catch(() => undefined);
        await inLan.run('ip', ['link', 'delete', `lb${btag}`]).catch(() => undefined);
      },
    };
    try {
      await must(execRunner, 'ip', ['netns', 'add', boardNetns]);
      await must(inLan, 'ip', ['link', 'add', `lb${btag}`, 'type', 'veth', 'peer', 'name', boardIf, 'netns', boardNetns]);
      await must(inLan, 'ip', ['link', 'set', `lb${btag}`, 'master', 'lan0', 'up']);
      await must(inBoard, 'ip', ['link', 'set', 'lo', 'up']);
      await must(inBoard, 'ip', ['addr', 'add', `${boardIp}/24`, 'dev', boardIf]);
      await must(inBoard, 'ip', ['link', 'set', boardIf, 'up']);
      await must(inBoard, 'ip', ['route', 'add', 'default', 'via', hostIp]);
    } catch (e) {
      await board.destroy();
      throw e;
    }
    boards.push(board);
    return board;
  };

  return { netnsName, hostIp, cidr: `${prefix}.0/24`, addBoard, destroy };
}
