// `bramble exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]`, as kubectl
// exec: the command runs in the Pod's container on its board, through the
// control plane and the board's tunnel. -i forwards this process's stdin; -t
// gives the command a terminal (this terminal goes raw, and its resizes follow).
// The CLI exits with the command's exit code, saying "command terminated with
// exit code N" when it is not 0, as kubectl does.
import type { ReadStream, WriteStream } from 'node:tty';
import { checkExecCommand } from '../../proto/exec-command.js';
import { LIMITS } from '../../proto/limits.js';
import { BrambleError } from '../../proto/util/errors.js';
import { DEFAULT_NAMESPACE } from '../../proto/model.js';
import { withCluster, type ExecStream } from './cli-client.js';
import type { CommandContext, TextSink } from './cli-context.js';
import { UsageError } from './cli-errors.js';

export interface ExecInput {
  /** POD, or pod/POD as kubectl accepts. */
  pod: string;
  command: string[];
  container?: string;
  namespace?: string;
  stdin: boolean;
  tty: boolean;
}

/** The local terminal, when stdin is one. */
export interface LocalTerminal {
  columns: number;
  rows: number;
  setRaw(on: boolean): void;
  /** Calls `fn` on every SIGWINCH with the new size; returns the unsubscribe. */
  onResize(fn: (columns: number, rows: number) => void): () => void;
}

export interface ExecIo {
  stdout: TextSink;
  stderr: TextSink;
  stdin: NodeJS.ReadableStream;
  /** Absent when stdin is not a terminal. */
  terminal?: LocalTerminal;
}

/** Exit code when the person interrupted the exec (Ctrl-C without a terminal), as a shell reports SIGINT. */
export const EXIT_INTERRUPTED = 130;

/** kubectl's own message when -t cannot be honoured. */
export const NO_TTY_WARNING = 'Unable to use a TTY - input is not a terminal or the right kind of file';

/** The Pod's name from POD or pod/POD; other kinds (deploy/NAME) are refused by name. */
export function execPodName(arg: string): string {
  const slash = arg.indexOf('/');
  if (slash < 0) {
    if (arg === '') throw new UsageError('exec needs a pod name: use `bramble exec POD -- COMMAND [ARGS...]`');
    return arg;
  }
  const kind = arg.slice(0, slash).toLowerCase();
  const name = arg.slice(slash + 1);
  if (!['pod', 'pods', 'po'].includes(kind)) throw new UsageError(`exec runs in a pod: "${arg}" names a ${kind}; give the pod's name`);
  if (name === '') throw new UsageError(`"${arg}" names no pod: use pod/NAME`);
  return name;
}

/** Checks the command before anything is sent; the same rules as the server's. */
export function checkCommand(command: string[]): void {
  if (command.length === 0) throw new UsageError('exec needs a command after the pod: use `bramble exec POD -- COMMAND [ARGS...]`');
  try {
    checkExecCommand(command);
  } catch (e) {
    if (e instanceof BrambleError) throw new UsageError(e.message);
    throw e;
  }
}

/** Splits a chunk into pieces the server takes (LIMITS.maxExecChunkBytes each). */
export function* stdinPieces(chunk: Buffer): Generator<Buffer> {
  for (let off = 0; off < chunk.length; off += LIMITS.maxExecChunkBytes) yield chunk.subarray(off, off + LIMITS.maxExecChunkBytes);
}

/**
 * Runs one exec over an open stream: sends the start, forwards stdin and resizes,
 * writes the output, and returns the command's exit code.
 */
export async function runExecSession(stream: ExecStream, io: ExecIo, input: ExecInput & { namespace: string }, interrupt: AbortSignal): Promise<number> {
  const tty = input.tty && io.terminal !== undefined;
  if (input.tty && !tty) io.stderr.write(`${NO_TTY_WARNING}\n`);
  const size = tty ? { columns: io.terminal!.columns, rows: io.terminal!.rows } : null;
  await stream.send({
    start: { namespace: input.namespace, pod: input.pod, container: input.container ?? '', command: input.command, stdin: input.stdin, tty, size },
  });
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
    stream.cancel();
  };
  if (interrupt.aborted) onInterrupt();
  interrupt.addEventListener('abort', onInterrupt, { once: true });
  const raw = tty && input.stdin;
  if (raw) io.terminal!.setRaw(true);
  const unsubscribe = tty ? io.terminal!.onResize((columns, rows) => void stream.send({ resize: { columns, rows } })) : () => undefined;
  let stopStdin = (): void => undefined;
  if (input.stdin) stopStdin = pumpStdin(io.stdin, stream);
  else if (!tty) stream.end();
  let exitCode: number | undefined;
  try {
    for await (const r of stream.responses) {
      if (r.stdout?.length) io.stdout.write(r.stdout);
      else if (r.stderr?.length) io.stderr.write(r.stderr);
      else if (r.exit) exitCode = r.exit.exitCode;
    }
  } finally {
    interrupt.removeEventListener('abort', onInterrupt);
    unsubscribe();
    stopStdin();
    if (raw) io.terminal!.setRaw(false);
  }
  if (interrupted) return EXIT_INTERRUPTED;
  if (exitCode === undefined) throw new BrambleError('UNAVAILABLE', 'the exec ended without the command\'s exit code: the connection was lost');
  if (exitCode !== 0) io.stderr.write(`command terminated with exit code ${exitCode}\n`);
  return exitCode;
}

/** Forwards stdin in pieces the server takes, waiting when the stream is full; EOF ends the command's stdin. */
function pumpStdin(stdin: NodeJS.ReadableStream, stream: ExecStream): () => void {
  let stopped = false;
  const onData = (chunk: Buffer | string): void => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    stdin.pause();
    void (async () => {
      for (const piece of stdinPieces(b)) await stream.send({ stdin: piece });
      if (!stopped) stdin.resume();
    })();
  };
  const onEnd = (): void => {
    void stream.send({ stdinEof: {} }).then(() => stream.end());
  };
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.resume();
  return () => {
    stopped = true;
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
    // Reading a terminal or pipe keeps the process alive after the command is over.
    (stdin as Partial<ReadStream>).destroy?.();
  };
}

/** This process's terminal, when stdin and stdout are one. */
export function processTerminal(stdin: NodeJS.ReadableStream, stdout: TextSink): LocalTerminal | undefined {
  const input = stdin as Partial<ReadStream>;
  const output = stdout as Partial<WriteStream>;
  if (!input.isTTY || typeof input.setRawMode !== 'function') return undefined;
  const size = (): [number, number] => [output.columns ?? 80, output.rows ?? 24];
  return {
    get columns() { return size()[0]; },
    get rows() { return size()[1]; },
    setRaw: (on) => input.setRawMode!(on),
    onResize: (fn) => {
      const handler = (): void => fn(...size());
      process.on('SIGWINCH', handler);
      return () => process.off('SIGWINCH', handler);
    },
  };
}

export async function runExec(ctx: CommandContext, input: ExecInput, interrupt: AbortSignal): Promise<number> {
  const pod = execPodName(input.pod);
  checkCommand(input.command);
  if (input.container !== undefined && input.container === '') throw new UsageError('-c needs a container name: current value is empty');
  const io: ExecIo = { stdout: ctx.io.stdout, stderr: ctx.io.stderr, stdin: ctx.io.stdin, terminal: processTerminal(ctx.io.stdin, ctx.io.stdout) };
  return withCluster(ctx.connect, (conn) =>
    runExecSession(conn.exec(), io, { ...input, pod, namespace: input.namespace ?? DEFAULT_NAMESPACE }, interrupt));
}
