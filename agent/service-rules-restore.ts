// From a rule set to the text of one `iptables-restore --noflush`, whole or partial,
// and back from `iptables-save`. With --noflush, a chain declared in the input
// (`:CHAIN - [0:0]`) is flushed and refilled, a chain not declared is left as it is:
// so a partial sync declares only the chains whose rules changed (and leaves out a
// table with none), as kube-proxy does. Chains are never touched unless their name is
// Bramble's.
import { CHAIN_PREFIX, FILTER_BASE_CHAINS, NAT_BASE_CHAINS, isServiceChainName } from './service-rules-names.js';
import type { ServiceRuleSet } from './service-rules.js';

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

/** The chains a rule set writes, as restore text, before the stale chains and the jumps are known. */
export interface ChainsPlan {
  previous?: WrittenState;
  /** Per table: the declarations and the rules of the chains written, each joined. */
  text: Record<TableName, { declarations: string; rules: string }>;
  written: Record<TableName, string[]>;
  skipped: number;
  rulesWritten: number;
  rulesTotal: number;
  state: WrittenState;
}

/**
 * The bulk of a plan: with `previous` (a partial sync) only the chains whose rules
 * changed, without it every chain. A full sync makes it while iptables-save still runs,
 * and finishes it with what that read back (finishPlan).
 */
export function planChains(set: ServiceRuleSet, previous?: WrittenState): ChainsPlan {
  const written: Record<TableName, string[]> = { filter: [], nat: [] };
  const text = { filter: { declarations: '', rules: '' }, nat: { declarations: '', rules: '' } };
  let skipped = 0;
  let rulesWritten = 0;
  let rulesTotal = 0;
  for (const table of TABLES) {
    const prev = previous?.[table];
    const declarations: string[] = [];
    const rules: string[] = [];
    for (const [chain, lines] of set[table]) {
      rulesTotal += lines.length;
      if (prev && sameRules(prev.get(chain), lines)) {
        skipped++;
        continue;
      }
      written[table].push(chain);
      declarations.push(`:${chain} - [0:0]`);
      // One string per chain: joined once here rather than 11,000 lines spread into the text.
      if (lines.length > 0) rules.push(lines.join('\n'));
      rulesWritten += lines.length;
    }
    text[table] = { declarations: declarations.join('\n'), rules: rules.join('\n') };
  }
  // The rule set's own maps: nothing changes them after the build, and a copy of 4,000
  // entries per sync is garbage the restore then competes with.
  return { previous, text, written, skipped, rulesWritten, rulesTotal, state: { filter: set.filter, nat: set.nat } };
}

/**
 * Completes a plan: deletes the stale per-service chains (with `previous`, those the
 * previous sync wrote that this one does not; else those `existing`, read back with
 * iptables-save, holds beyond the new set) and adds `extraLines` (the missing jumps).
 */
export function finishPlan(
  chains: ChainsPlan,
  opts: { existing?: ExistingChains; extraLines?: Record<TableName, string[]> } = {},
): RestorePlan {
  const deleted: Record<TableName, string[]> = { filter: [], nat: [] };
  const out: string[] = [];
  for (const table of TABLES) {
    const rules = chains.state[table];
    const previous = chains.previous?.[table];
    const candidates = previous ? previous.keys() : (opts.existing?.[table].keys() ?? []);
    for (const chain of candidates) {
      if (isServiceChainName(chain) && !rules.has(chain)) deleted[table].push(chain);
    }
    // Every stale chain is declared (flushed) before any is deleted: they jump to one
    // another (EXT to SVC, SVC to SEP), and -X fails on a chain something still jumps to.
    const stale = [...deleted[table].map((c) => `:${c} - [0:0]`), ...deleted[table].map((c) => `-X ${c}`)];
    const extra = opts.extraLines?.[table] ?? [];
    const { declarations, rules: ruleText } = chains.text[table];
    // A partial sync leaves out a table it has nothing for: with the legacy backend every
    // table in the input is copied out of the kernel, even one that is not changed.
    if (previous && declarations === '' && stale.length === 0 && extra.length === 0) continue;
    out.push(`*${table}`);
    for (const part of [declarations, ruleText, stale.join('\n'), extra.join('\n')]) if (part) out.push(part);
    out.push('COMMIT');
  }
  const { written, skipped, rulesWritten, rulesTotal, state } = chains;
  return { text: out.length > 0 ? `${out.join('\n')}\n` : '', written, deleted, skipped, rulesWritten, rulesTotal, state };
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
  return finishPlan(planChains(set, opts.previous), opts);
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
