// Which iptables backend the board's other software uses: nf_tables or legacy. Rules
// written to the other backend would still be evaluated by the kernel but would be
// invisible to `iptables -L`, and ordering against the other software's rules would
// be lost, so Bramble joins the backend that holds rules already — the choice
// kube-proxy's iptables-wrapper makes: the side that has KUBE-/BRAMBLE- chains, else
// the one with more rules, else what plain `iptables --version` says.
import type { CommandRunner } from './exec-runner.js';

export type IptablesMode = 'nft' | 'legacy';

export interface IptablesBackend {
  mode: IptablesMode;
  /** Binaries for this backend (e.g. iptables-nft, iptables-nft-restore, iptables-nft-save). */
  iptables: string;
  restore: string;
  save: string;
  /** Why this backend: for the agent's start-up log. */
  reason: string;
}

interface SaveCount {
  available: boolean;
  ownChains: number;
  rules: number;
}

/** iptables-nft 1.8.3 could loop forever in some cases: every probe has a deadline (iptables-wrapper uses 5 s). */
const PROBE_TIMEOUT_MS = 5_000;

export function countSaveOutput(text: string): Omit<SaveCount, 'available'> {
  let ownChains = 0;
  let rules = 0;
  for (const line of text.split('\n')) {
    if (/^:(KUBE|BRAMBLE)-/.test(line)) ownChains++;
    else if (line.startsWith('-')) rules++;
  }
  return { ownChains, rules };
}

async function probe(runner: CommandRunner, file: string): Promise<SaveCount> {
  try {
    const r = await runner.run(file, [], { timeoutMs: PROBE_TIMEOUT_MS });
    // Non-zero: not installed (nsenter says 127) or unusable here (no kernel support).
    if (r.exitCode !== 0) return { available: false, ownChains: 0, rules: 0 };
    return { available: true, ...countSaveOutput(r.stdout) };
  } catch {
    // Not installed (or hung): this variant cannot be the one in use.
    return { available: false, ownChains: 0, rules: 0 };
  }
}

export function backendFor(mode: IptablesMode, variantBinaries: boolean, reason: string): IptablesBackend {
  if (!variantBinaries) return { mode, iptables: 'iptables', restore: 'iptables-restore', save: 'iptables-save', reason };
  const s = mode === 'nft' ? 'nft' : 'legacy';
  return { mode, iptables: `iptables-${s}`, restore: `iptables-${s}-restore`, save: `iptables-${s}-save`, reason };
}

/** The mode plain `iptables` runs in: "iptables v1.8.9 (nf_tables)"; before 1.8 it was always legacy. */
export function modeFromVersion(versionText: string): IptablesMode {
  return /nf_tables/.test(versionText) ? 'nft' : 'legacy';
}

export async function detectIptablesBackend(runner: CommandRunner): Promise<IptablesBackend> {
  const [legacy, nft] = await Promise.all([probe(runner, 'iptables-legacy-save'), probe(runner, 'iptables-nft-save')]);
  if (legacy.available && nft.available) {
    if (legacy.ownChains !== nft.ownChains) {
      const mode: IptablesMode = legacy.ownChains > nft.ownChains ? 'legacy' : 'nft';
      return backendFor(mode, true, `KUBE-/BRAMBLE- chains: legacy ${legacy.ownChains}, nft ${nft.ownChains}`);
    }
    if (legacy.rules !== nft.rules) {
      const mode: IptablesMode = legacy.rules > nft.rules ? 'legacy' : 'nft';
      return backendFor(mode, true, `rules: legacy ${legacy.rules}, nft ${nft.rules}`);
    }
  } else if (legacy.available !== nft.available) {
    return backendFor(legacy.available ? 'legacy' : 'nft', true, `only iptables-${legacy.available ? 'legacy' : 'nft'} is installed`);
  }
  let version = '';
  try {
    const r = await runner.run('iptables', ['--version'], { timeoutMs: PROBE_TIMEOUT_MS });
    version = `${r.stdout}${r.stderr}`.trim();
  } catch {
    // No plain iptables: legacy is the historical default.
  }
  const mode = modeFromVersion(version);
  const tie = legacy.available ? `rules: legacy ${legacy.rules}, nft ${nft.rules}; ` : '';
  return backendFor(mode, legacy.available && nft.available, `${tie}iptables --version says "${version || 'nothing'}"`);
}
