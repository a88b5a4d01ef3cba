// From a rule set to the text of one `iptables-restore --noflush`, whole or partial,
// and back from `iptables-save`. With --noflush, a chain declared in the input
// (`:CHAIN - [0:0]`) is flushed and refilled, a chain not declared is left as it is:
// so a partial sync declares the base chains (always rewritten) and only the
// per-service chains whose rules changed, as kube-proxy does. Chains are never
// touched unless their name is Bramble's.
import { CHAIN_PREFIX, FILTER_BASE_CHAINS, NAT_BASE_CHAINS, isServiceChainName } from './service-rules-names.js';
import type { ServiceRuleSet, TableRules } from './service-rules.js';

export type TableName = 'filter' | 'nat';
export const TABLES: readonly TableName[] = ['filter', 'nat'];

/** What the last successful restore left in each table: chain → its rules. */
export type WrittenState = Record<TableName, Map<string, readonly string[]>>;

function sameRules(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (a === b) return true;
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bramble chains found in the tables (from iptables-save): chain → its rule lines. */
export type ExistingChains = Record<TableName, Map<string, string[]>>;

export interface RestorePlan {
  /** Empty when a partial sync has nothing to change. */
  text: string;
  /** Chains declared (flushed and rewritten), per table. */
  written: Record<TableName, string[]>;
  /** Stale per-service chains deleted with -X, per table. */
  deleted: Record<TableName, string[]>;
  /** Chains left out because their rules did not change (partial syncs). */
  skipped: number;
  /** `-A` lines in the input. */
  rulesWritten: number;
  /** `-A` lines of the whole rule set (what the tables hold afterwards). */
  rulesTotal: number;
  /** The state to remember once the restore succeeded. */
  state: WrittenState;
}

const BASE: Record<TableName, readonly string[]> = { filter: FILTER_BASE_CHAINS, nat: NAT_BASE_CHAINS };

export function emptyExisting(): ExistingChains {
  return { filter: new Map(), nat: new Map() };
}

/**
 * Plans one restore. With `previous` (a partial sync) only changed per-service chains
 * are written and chains the previous sync wrote but this one does not are deleted;
 * without it (a full sync) every chain is written and stale chains are those `existing`
 * (read back with iptables-save) holds beyond the new set.
 */
export function planRestore(
  set: ServiceRuleSet,
  opts: { previous?: WrittenState; existing?: ExistingChains; extraLines?: Record<TableName, string[]> } = {},
): RestorePlan {
  const written: Record<TableName, string[]> = { filter: [], nat: [] };
  const deleted: Record<TableName, string[]> = { filter: [], nat: [] };
  // The rule set's own maps: nothing changes them after the build, and a copy of 4,000
  // entries per sync is garbage the restore then competes with.
  const state: WrittenState = { filter: set.filter, nat: set.nat };
  const out: string[] = [];
  let skipped = 0;
  let rulesWritten = 0;
  let rulesTotal = 0;
  for (const table of TABLES) {
    const rules: TableRules = set[table];
    const previous = opts.previous?.[table];
    const chainLines: string[] = [];
    const ruleLines: string[] = [];
    for (const [chain, lines] of rules) {
      rulesTotal += lines.length;
      if (previous && sameRules(previous.get(chain), lines)) {
        skipped++;
        continue;
      }
      written[table].push(chain);
      chainLines.push(`:${chain} - [0:0]`);
      // One string per chain: joined once here rather than 11,000 lines spread into `out`.
      if (lines.length > 0) ruleLines.push(lines.join('\n'));
      rulesWritten += lines.length;
    }
    const candidates = previous ? previous.keys() : (opts.existing?.[table].keys() ?? []);
    for (const chain of candidates) {
      if (!isServiceChainName(chain) || rules.has(chain)) continue;
      deleted[table].push(chain);
      // Declaring it flushes it, so the -X below finds it empty and unreferenced.
      chainLines.push(`:${chain} - [0:0]`);
      ruleLines.push(`-X ${chain}`);
    }
    const extra = opts.extraLines?.[table] ?? [];
    // A partial sync leaves out a table it has nothing for: with the legacy backend every
    // table in the input is copied out of the kernel, even one that is not changed.
    if (previous && chainLines.length === 0 && extra.length === 0) continue;
    out.push(`*${table}`);
    if (chainLines.length > 0) out.push(chainLines.join('\n'));
    if (ruleLines.length > 0) out.push(ruleLines.join('\n'));
    if (extra.length > 0) out.push(extra.join('\n'));
    out.push('COMMIT');
  }
  return { text: out.length > 0 ? `${out.join('\n')}\n` : '', written, deleted, skipped, rulesWritten, rulesTotal, state };
}

/** The whole rule set as one restore input: what the golden files hold. */
export function renderRestore(set: ServiceRuleSet): string {
  return planRestore(set).text;
}

/**
 * The restore input for `bramble agent --cleanup`: deletes the jumps into Bramble's
 * chains (`jumpDeletes`, lines for the built-in chains), then flushes and deletes
 * every Bramble chain found.
 */
export function planCleanup(existing: ExistingChains, jumpDeletes: Record<TableName, string[]> = { filter: [], nat: [] }): string {
  const out: string[] = [];
  for (const table of TABLES) {
    const chains = [...existing[table].keys()];
    if (chains.length === 0 && jumpDeletes[table].length === 0) continue;
    out.push(`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...jumpDeletes[table], ...chains.map((c) => `-X ${c}`), 'COMMIT');
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * The filter and nat sections of a whole `iptables-save` (every table): each from its
 * `*TABLE` line to its COMMIT. A table the kernel has not loaded yet (legacy, in a fresh
 * namespace) is not printed at all, and reads as empty.
 */
export function splitSavedTables(saveText: string): Record<TableName, string> {
  const out: Record<TableName, string> = { filter: '', nat: '' };
  const text = `\n${saveText}`;
  for (const table of TABLES) {
    const at = text.indexOf(`\n*${table}\n`);
    if (at < 0) continue;
    const end = text.indexOf('\nCOMMIT', at);
    out[table] = text.slice(at + 1, end < 0 ? text.length : end + '\nCOMMIT'.length);
  }
  return out;
}

/** The Bramble chains of one table's `iptables-save -t TABLE` output, with their rules as iptables prints them. */
export function parseSavedChains(saveText: string): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  // The name is the word after ":" or "-A ": cut out, not split (a read-back of 11,000
  // rules would make an array of every rule's words).
  const word = (line: string, from: number): string => {
    const end = line.indexOf(' ', from);
    return end < 0 ? line.slice(from) : line.slice(from, end);
  };
  for (const line of saveText.split('\n')) {
    if (line.startsWith(`:${CHAIN_PREFIX}`)) {
      const name = word(line, 1);
      if (!chains.has(name)) chains.set(name, []);
    } else if (line.startsWith(`-A ${CHAIN_PREFIX}`)) {
      const name = word(line, 3);
      let rules = chains.get(name);
      if (!rules) chains.set(name, (rules = []));
      rules.push(line);
    }
  }
  return chains;
}

/** Base chains that are missing from what was read back: a sign of drift worth logging. */
export function missingBaseChains(existing: ExistingChains): string[] {
  return TABLES.flatMap((t) => BASE[t].filter((c) => !existing[t].has(c)).map((c) => `${t}/${c}`));
}
