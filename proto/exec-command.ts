// The rules an exec'd command must follow, checked by the CLI before it sends,
// by the control plane at its boundary and again by the agent (which trusts no
// message): the same numbers from LIMITS everywhere.
import { BrambleError } from './util/errors.js';
import { LIMITS } from './limits.js';

/**
 * Bytes of stdin (control plane to board) and of output (board to control plane)
 * that may be in flight unacknowledged per exec: enough to keep a Pi's link busy,
 * small enough that eight execs hold a few MB at most.
 */
export const EXEC_WINDOW_BYTES = 1024 * 1024;

/** Largest terminal accepted: anything bigger is a bug or an attack, not a screen. */
export const MAX_TERMINAL_CELLS = 10_000;

export interface TerminalSizeLike {
  columns?: number;
  rows?: number;
}

/** Throws unless argv is a non-empty list of strings within the exec limits. */
export function checkExecCommand(argv: readonly unknown[]): asserts argv is string[] {
  if (argv.length === 0) {
    throw new BrambleError('INVALID_ARGUMENT', 'exec needs a command: current value is empty (give it after --, e.g. `bramble exec POD -- sh`)');
  }
  if (argv.length > LIMITS.maxExecArgs) {
    throw new BrambleError('LIMIT_EXCEEDED', `an exec'd command must have no more than ${LIMITS.maxExecArgs} arguments: current count is ${argv.length}`);
  }
  let total = 0;
  for (const [i, a] of argv.entries()) {
    if (typeof a !== 'string') throw new BrambleError('INVALID_ARGUMENT', `exec command argument ${i} must be a string: current type is ${typeof a}`);
    if (a.includes('\0')) throw new BrambleError('INVALID_ARGUMENT', `exec command argument ${i} must not contain a NUL character`);
    total += a.length;
  }
  if (argv[0] === '') throw new BrambleError('INVALID_ARGUMENT', 'exec command must name a program: its first argument is empty');
  if (total > LIMITS.maxExecCommandLength) {
    throw new BrambleError('LIMIT_EXCEEDED', `an exec'd command must be no more than ${LIMITS.maxExecCommandLength} characters in all: current length is ${total}`);
  }
}

/** Throws unless the size is a plausible terminal; an absent or zero size means "unknown". */
export function checkTerminalSize(size: TerminalSizeLike | null | undefined): void {
  if (!size) return;
  for (const [name, v] of [['columns', size.columns], ['rows', size.rows]] as const) {
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0 || v > MAX_TERMINAL_CELLS) {
      throw new BrambleError('INVALID_ARGUMENT', `terminal ${name} must be a whole number from 0 to ${MAX_TERMINAL_CELLS}: current value is ${v}`);
    }
  }
}

/** Throws unless one stdin chunk fits LIMITS.maxExecChunkBytes. */
export function checkExecChunk(bytes: number): void {
  if (bytes > LIMITS.maxExecChunkBytes) {
    throw new BrambleError('LIMIT_EXCEEDED', `an exec stdin chunk must be no more than ${LIMITS.maxExecChunkBytes} bytes: current size is ${bytes}`);
  }
}
