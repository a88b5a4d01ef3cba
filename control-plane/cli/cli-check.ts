// `bramble check`: the board's preflight (agent/preflight-checks.ts) on this
// machine, with no server: what the agent checks at start, each finding with
// its fix. Exits 1 when one is fatal, as the agent would refuse to start.
import { stringify as toYaml } from 'yaml';
import type { Finding } from '../../agent/main.js';
import type { CommandContext } from './cli-context.js';
import { renderTable, type Printed } from './cli-print.js';

export const CHECK_OUTPUT_FORMATS = ['json', 'yaml'] as const;
export type CheckOutput = 'table' | (typeof CHECK_OUTPUT_FORMATS)[number];

export function printFindings(findings: Finding[], output: CheckOutput): Printed {
  if (output === 'json') return { stdout: JSON.stringify(findings, null, 2) + '\n', stderr: '' };
  if (output === 'yaml') return { stdout: toYaml(findings), stderr: '' };
  const rows = [['CHECK', 'STATUS', 'CODE', 'DETAIL', 'FIX'], ...findings.map((f) => [f.check, f.status, f.code, f.detail, f.fix || '-'])];
  const fatal = findings.filter((f) => f.status === 'fatal').length;
  const warnings = findings.filter((f) => f.status === 'warning').length;
  const summary = fatal > 0
    ? `${fatal} fatal finding(s): the agent will not start on this board until they are fixed.\n`
    : warnings > 0 ? `${warnings} warning(s); nothing fatal: the agent can start.\n` : '';
  return { stdout: renderTable(rows), stderr: summary };
}

export interface CheckInput {
  containerdAddress?: string;
  cniPath?: string;
  dataDir?: string;
  output: CheckOutput;
}

export async function runCheck(ctx: CommandContext, input: CheckInput): Promise<number> {
  const { checkThisBoard } = await import('../../agent/main.js');
  const findings = await checkThisBoard({ containerdAddress: input.containerdAddress, cniPath: input.cniPath, dataDir: input.dataDir, now: ctx.io.clock.now() });
  const printed = printFindings(findings, input.output);
  if (printed.stdout) ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  return findings.some((f) => f.status === 'fatal') ? 1 : 0;
}
