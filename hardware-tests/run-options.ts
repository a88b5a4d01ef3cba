// The hardware run's flags, and what it says on a machine that is not a
// Raspberry Pi: pure, so both are unit tested without a board.
import { parseArgs } from 'node:util';
import { UsageError } from '../proto/util/errors.js';
import { MODEL_PATHS, type BoardModel } from './board-model.js';

export interface RunOptions {
  /** Where the JSON report is written. */
  out: string;
  /** How long the control plane and the agent are watched while idle. */
  idleSeconds: number;
}

export const DEFAULT_REPORT = 'hardware-report.json';
export const DEFAULT_IDLE_SECONDS = 60;

export const USAGE = `usage: npm run test:hardware -- [--out FILE] [--idle-seconds N]
  --out FILE          where the JSON report is written (default ${DEFAULT_REPORT})
  --idle-seconds N    how long the idle figures are measured (default ${DEFAULT_IDLE_SECONDS})
`;

export function parseRunArgs(argv: string[]): RunOptions {
  let values: { out?: string; 'idle-seconds'?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { out: { type: 'string' }, 'idle-seconds': { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  }
  const idle = values['idle-seconds'] ?? String(DEFAULT_IDLE_SECONDS);
  if (!/^\d+$/.test(idle) || Number(idle) < 1 || Number(idle) > 3600) {
    throw new UsageError(`--idle-seconds must be a whole number of seconds from 1 to 3600: current value is "${idle}"`);
  }
  const out = values.out ?? DEFAULT_REPORT;
  if (out === '') throw new UsageError('--out must name a file: current value is ""');
  return { out, idleSeconds: Number(idle) };
}

/** The whole output on a machine that is not a Pi: it claims nothing about it. */
export function notAPiMessage(model: BoardModel | undefined): string {
  const why = model ? `its device tree names it "${model.model}"` : `it has no device tree model (${MODEL_PATHS.join(', ')})`;
  return `bramble hardware tests: this machine is not a Raspberry Pi (${why}): no checks were run and no report was written.\n`;
}
