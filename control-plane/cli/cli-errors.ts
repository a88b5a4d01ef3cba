// How the CLI reports failures to people: one line for the summary, one line
// per field problem, never a stack trace. The exit code tells scripts whether
// they called the command wrongly (2) or the command failed (1).
import { BrambleError, UsageError, type FieldProblem } from '../../proto/util/errors.js';

/** Exit code for a command that ran and failed (server, validation, conflict). */
export const EXIT_FAILURE = 1;
/** Exit code for a command called wrongly (missing argument, unknown kind, bad flag value). */
export const EXIT_USAGE = 2;

export { UsageError };

export interface ErrorSink {
  write(text: string): unknown;
}

export interface ReportOptions {
  /**
   * Names document `index` of a multi-document request for people, e.g.
   * "web.yaml document 2 (deployment/web)". Without it: "document <index+1>".
   */
  describeDocument?: (index: number) => string;
  /**
   * Replaces the server's summary when the error lists field problems: the
   * server's message repeats them, the caller knows what they mean (nothing applied).
   */
  summaryWithProblems?: (problems: number) => string;
}

/**
 * What reaches the terminal: every character as the user wrote it, except
 * control characters (an ESC in a rejected name could rewrite the screen),
 * which are shown as \u escapes. Newlines and tabs stay.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function problemLine(p: FieldProblem, opts: ReportOptions): string {
  const where: string[] = [];
  if (p.document !== undefined) {
    where.push(opts.describeDocument ? opts.describeDocument(p.document) : `document ${p.document + 1}`);
  }
  if (p.path !== '') where.push(p.path);
  return where.length > 0 ? `  ${where.join(': ')}: ${p.message}` : `  ${p.message}`;
}

/** The lines printed for an error, without the trailing newline. */
export function formatError(e: unknown, opts: ReportOptions = {}): string[] {
  return rawLines(e, opts).map(printable);
}

function rawLines(e: unknown, opts: ReportOptions): string[] {
  if (e instanceof UsageError) return [`error: ${e.message}`];
  if (e instanceof BrambleError) {
    const summary = e.details.length > 0 && opts.summaryWithProblems ? opts.summaryWithProblems(e.details.length) : e.message;
    return [`error: ${summary}`, ...e.details.map((p) => problemLine(p, opts))];
  }
  const message = e instanceof Error ? e.message : String(e);
  return [`error: ${message}`];
}

export function exitCodeFor(e: unknown): number {
  return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** Prints the error to `stderr` and returns the exit code the process should end with. */
export function reportError(e: unknown, stderr: ErrorSink, opts: ReportOptions = {}): number {
  stderr.write(formatError(e, opts).join('\n') + '\n');
  return exitCodeFor(e);
}
