// The jumps from the built-in chains into Bramble's base chains. The built-in chains
// belong to the board (and to Docker, firewalld, k3s…): Bramble never flushes or
// rewrites them, it only checks for its own jump rule (`iptables -C`) and inserts it
// at the top when missing (`-I`), as kube-proxy's EnsureRule(Prepend) does; cleanup
// deletes exactly these rules (`-D`) and nothing else.
import { BrambleError } from '../proto/util/errors.js';
import type { CommandRunner } from './exec-runner.js';
import { FILTER_EXTERNAL_SERVICES, FILTER_FORWARD, FILTER_SERVICES, NAT_POSTROUTING, NAT_SERVICES } from './service-rules-names.js';
import type { TableName } from './service-rules-restore.js';

export interface JumpRule {
  table: TableName;
  chain: string;
  /** The rule spec after `-A CHAIN`. */
  args: string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];
const comment = (text: string): string[] => ['-m', 'comment', '--comment', text];

export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', args: [...comment('bramble service portals'), '-j', NAT_SERVICES] },
  { table: 'nat', chain: 'OUTPUT', args: [...comment('bramble service portals'), '-j', NAT_SERVICES] },
  { table: 'nat', chain: 'POSTROUTING', args: [...comment('bramble postrouting rules'), '-j', NAT_POSTROUTING] },
  { table: 'filter', chain: 'INPUT', args: [...NEW, ...comment('bramble externally-visible service portals'), '-j', FILTER_EXTERNAL_SERVICES] },
  { table: 'filter', chain: 'FORWARD', args: [...NEW, ...comment('bramble service portals'), '-j', FILTER_SERVICES] },
  { table: 'filter', chain: 'FORWARD', args: [...NEW, ...comment('bramble externally-visible service portals'), '-j', FILTER_EXTERNAL_SERVICES] },
  { table: 'filter', chain: 'FORWARD', args: [...comment('bramble forwarding rules'), '-j', FILTER_FORWARD] },
  { table: 'filter', chain: 'OUTPUT', args: [...NEW, ...comment('bramble service portals'), '-j', FILTER_SERVICES] },
];

const TIMEOUT_MS = 10_000;
/** Wait for the xtables lock (legacy) instead of failing while another program holds it. */
const WAIT = ['-w', '5'];

async function exists(runner: CommandRunner, iptables: string, j: JumpRule): Promise<boolean> {
  const r = await runner.run(iptables, [...WAIT, '-t', j.table, '-C', j.chain, ...j.args], { timeoutMs: TIMEOUT_MS });
  return r.exitCode === 0;
}

/** Inserts every missing jump; returns how many were inserted. Needs the base chains to exist. */
export async function ensureJumps(runner: CommandRunner, iptables: string): Promise<number> {
  let inserted = 0;
  for (const j of JUMP_RULES) {
    if (await exists(runner, iptables, j)) continue;
    const r = await runner.run(iptables, [...WAIT, '-t', j.table, '-I', j.chain, ...j.args], { timeoutMs: TIMEOUT_MS });
    if (r.exitCode !== 0) {
      throw new BrambleError('RUNTIME_FAILED', `the jump from ${j.table}/${j.chain} to ${j.args.at(-1)} must be insertable: ${iptables} -I exited with ${r.exitCode}: ${r.stderr.trim()}`);
    }
    inserted++;
  }
  return inserted;
}

/** Deletes every copy of Bramble's jumps (a crash between -C and -I can leave two); returns how many. */
export async function deleteJumps(runner: CommandRunner, iptables: string): Promise<number> {
  let deleted = 0;
  for (const j of JUMP_RULES) {
    for (let i = 0; i < 10 && (await exists(runner, iptables, j)); i++) {
      const r = await runner.run(iptables, [...WAIT, '-t', j.table, '-D', j.chain, ...j.args], { timeoutMs: TIMEOUT_MS });
      if (r.exitCode !== 0) break;
      deleted++;
    }
  }
  return deleted;
}
