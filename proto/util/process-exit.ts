// How a daemon (`bramble server`, `bramble agent`) ends when it must: one clear
// log line with the reason, then a non-zero exit a supervisor can act on —
// never a half-alive process, never a silent restart loop.
//
// Policy:
// - An uncaught exception means some code's state is unknown: log one `fatal`
//   line (the reason in msg, the stack in `err`) and exit 70 (EX_SOFTWARE). Going
//   on could write wrong state to the store or run the wrong Pods.
// - An unhandled promise rejection is a forgotten `catch` on work that has
//   already failed on its own: log one `error` line, count it (the line
//   carries the running count in `unhandledRejections`), and carry on. Node's
//   default (crash) would take the control plane down for one lost error.
// - A store that cannot write (the disk is full, read-only or failing) ends the
//   server with exit 74 (EX_IOERR) after one `fatal` line; a store that cannot
//   be read at start-up ends it with 74 too, so a supervisor can be told not to
//   restart into the same failure (systemd: RestartPreventExitStatus=74).
import { realClock, type Clock } from './clock.js';
import type { Logger } from './log.js';

/** An uncaught exception: internal software error (sysexits EX_SOFTWARE). */
export const EXIT_UNCAUGHT = 70;
/** The store cannot be read or written (sysexits EX_IOERR). */
export const EXIT_STORE_FAILED = 74;

/** The part of `process` the handlers use, so tests can hand in their own. */
export interface ProcessLike {
  on(event: 'uncaughtException', fn: (err: Error) => void): unknown;
  on(event: 'unhandledRejection', fn: (reason: unknown) => void): unknown;
}

export interface LastResort {
  /** Unhandled rejections seen so far. */
  unhandledRejections(): number;
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

export function installLastResortHandlers(opts: {
  logger: Logger;
  proc?: ProcessLike;
  exit?: (code: number) => void;
}): LastResort {
  const proc = opts.proc ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let rejections = 0;
  let dying = false;
  proc.on('uncaughtException', (err) => {
    // A second throw while exiting would only repeat the story.
    if (dying) return;
    dying = true;
    opts.logger.fatal({ err, exitCode: EXIT_UNCAUGHT }, `uncaught exception, exiting: ${describe(err)}`);
    exit(EXIT_UNCAUGHT);
  });
  proc.on('unhandledRejection', (reason) => {
    rejections++;
    opts.logger.error({ err: reason, unhandledRejections: rejections }, `unhandled promise rejection, continuing: ${describe(reason)}`);
  });
  return { unhandledRejections: () => rejections };
}

/**
 * Runs `close`, then exits with `code`; exits anyway when closing fails or takes
 * longer than `deadlineMs` (a stuck stream must not keep a stopping daemon alive).
 */
export function closeThenExit(opts: {
  logger: Logger;
  what: string;
  code: number;
  close: () => Promise<void>;
  deadlineMs: number;
  clock?: Clock;
  exit?: (code: number) => void;
}): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  // Real time by default: a fake clock in a test must not keep a dying process alive.
  const clock = opts.clock ?? realClock;
  const deadline = clock.setTimeout(() => {
    opts.logger.error({ ms: opts.deadlineMs }, `the ${opts.what} did not close in time; exiting anyway`);
    exit(opts.code === 0 ? 1 : opts.code);
  }, opts.deadlineMs);
  opts.close().then(
    () => {
      deadline.cancel();
      exit(opts.code);
    },
    (e: unknown) => {
      deadline.cancel();
      opts.logger.error({ err: e }, `closing the ${opts.what} failed`);
      exit(opts.code === 0 ? 1 : opts.code);
    },
  );
}
