// The jumps from the built-in chains into Bramble's base chains. The built-in chains
// belong to the board (and to Docker, firewalld, k3s…): Bramble never declares them in
// a restore (which would flush them); it looks for its own jump rules in what
// iptables-save printed (the check kube-proxy's EnsureRule makes with `iptables -C`)
// and inserts the missing ones at the top with `-I` lines inside the same
// `iptables-restore --noflush` that writes its chains. That is one process instead of
// two per jump, which matters with the legacy backend where every `iptables` call
// reads and rewrites the whole table. Cleanup deletes, by position, exactly the rules
// of built-in chains that jump into a BRAMBLE- chain, and nothing else.
import { CHAIN_PREFIX, FILTER_EXTERNAL_SERVICES, FILTER_FORWARD, FILTER_SERVICES, NAT_POSTROUTING, NAT_SERVICES } from './service-rules-names.js';
import type { TableName } from './service-rules-restore.js';

export interface JumpRule {
  table: TableName;
  chain: string;
  comment: string;
  /** Matches before the comment (conntrack state). */
  match: string[];
  target: string;
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', match: [], comment: 'bramble service portals', target: NAT_SERVICES },
  { table: 'nat', chain: 'OUTPUT', match: [], comment: 'bramble service portals', target: NAT_SERVICES },
  { table: 'nat', chain: 'POSTROUTING', match: [], comment: 'bramble postrouting rules', target: NAT_POSTROUTING },
  { table: 'filter', chain: 'INPUT', match: NEW, comment: 'bramble externally-visible service portals', target: FILTER_EXTERNAL_SERVICES },
  { table: 'filter', chain: 'FORWARD', match: NEW, comment: 'bramble service portals', target: FILTER_SERVICES },
  { table: 'filter', chain: 'FORWARD', match: NEW, comment: 'bramble externally-visible service portals', target: FILTER_EXTERNAL_SERVICES },
  { table: 'filter', chain: 'FORWARD', match: [], comment: 'bramble forwarding rules', target: FILTER_FORWARD },
  { table: 'filter', chain: 'OUTPUT', match: NEW, comment: 'bramble service portals', target: FILTER_SERVICES },
];

const BUILT_IN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/** The rule spec as arguments (for `iptables -A CHAIN …` in tests and tools). */
export function jumpArgs(j: JumpRule): string[] {
  return [...j.match, '-m', 'comment', '--comment', j.comment, '-j', j.target];
}

/** The restore-input line inserting the jump at the top of its chain. */
export function jumpInsertLine(j: JumpRule): string {
  return `-I ${j.chain} ${[...j.match, '-m', 'comment', '--comment', `"${j.comment}"`, '-j', j.target].join(' ')}`;
}

function isJumpLine(line: string, j: JumpRule): boolean {
  if (!line.startsWith(`-A ${j.chain} `) || !line.endsWith(` -j ${j.target}`)) return false;
  return line.includes(`--comment "${j.comment}"`) || line.includes(`--comment ${j.comment} `);
}

/** `-I` lines, per table, for the jumps the saved tables lack. */
export function missingJumpLines(saved: Record<TableName, string>): Record<TableName, string[]> {
  const out: Record<TableName, string[]> = { filter: [], nat: [] };
  // The built-in chains' rules only, each table split once: a periodic full sync reads
  // back 11,000 Bramble rules at scale, which eight splits and scans would go through eight times.
  const builtIn: Record<TableName, string[]> = { filter: [], nat: [] };
  for (const table of ['filter', 'nat'] as const) {
    for (const line of saved[table].split('\n')) {
      if (line.startsWith('-A ') && BUILT_IN.has(line.slice(3).split(' ', 1)[0]!)) builtIn[table].push(line);
    }
  }
  for (const j of JUMP_RULES) {
    if (!builtIn[j.table].some((l) => isJumpLine(l, j))) out[j.table].push(jumpInsertLine(j));
  }
  return out;
}

/**
 * `-D CHAIN N` lines deleting every rule of a built-in chain that jumps to a BRAMBLE-
 * chain (this version's jumps, an older version's, duplicates), highest position first
 * so earlier deletions do not renumber later ones.
 */
export function jumpDeleteLines(saveText: string): string[] {
  const position = new Map<string, number>();
  const found: { chain: string; n: number }[] = [];
  for (const line of saveText.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const chain = line.slice(3).split(' ')[0]!;
    const n = (position.get(chain) ?? 0) + 1;
    position.set(chain, n);
    if (BUILT_IN.has(chain) && new RegExp(` -j ${CHAIN_PREFIX}\\S+$`).test(line)) found.push({ chain, n });
  }
  return found.sort((a, b) => (a.chain === b.chain ? b.n - a.n : a.chain < b.chain ? -1 : 1)).map((f) => `-D ${f.chain} ${f.n}`);
}
