// An interactive `ctr tasks exec`: the command's stdin, stdout and stderr are
// pipes the tunnel feeds and drains, unlike ContainerRuntime.exec (probes), which
// collects the output of a short command.
//
// A terminal (-t): ctr's --tty reads the size of, and puts into raw mode, its own
// stdin, which must then be a terminal. Node cannot open a pty without a native
// module, so ctr runs under util-linux `script` (bsdutils, Essential on Debian and
// Raspberry Pi OS), which gives it one: `script -qfec CMD /dev/null`. The inner
// shell makes that pty raw and sets the first size with stty, tells us its pty's name on fd 3 (so a
// resize is `stty -F PTY cols C rows R`, which makes the kernel send ctr the
// SIGWINCH it forwards to the container), then execs ctr.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../proto/util/clock.js';

export interface ExecTarget {
  /** containerd container id of the running container. */
  containerId: string;
  argv: string[];
  tty: boolean;
  size?: { columns: number; rows: number };
}

export interface ExecProcess {
  stdin: Writable;
  stdout: Readable;
  /** Empty with a terminal: everything arrives on stdout, as with kubectl -t. */
  stderr: Readable;
  /** The command's exit code, once it ended and its output was read (127/126 when it could not run). */
  exited: Promise<number>;
  resize(columns: number, rows: number): void;
  /** Kills the command in the container, then ctr. Idempotent. */
  kill(): void;
}

export type ExecSpawner = (target: ExecTarget) => ExecProcess;

export interface CtrExecOptions {
  address: string;
  namespace: string;
  clock: Clock;
  ctrPath?: string;
  scriptPath?: string;
  sttyPath?: string;
  /** How long ctr may take to exit after its command was killed, before it is killed too. */
  killGraceMs?: number;
}

/** Quotes one word for /bin/sh: inside single quotes nothing is special but the quote itself. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Output bytes kept to tell ctr's own failure ("ctr: ... executable file not found") from the command's. */
const TAIL_BYTES = 2048;

/**
 * The exit code kubectl users expect: ctr exits 1 when the program cannot be
 * started; 127 says "not found" and 126 "not executable", as a shell would.
 */
export function execExitCode(code: number, tail: string): number {
  if (code === 0 || !/(^|\n)ctr: /.test(tail)) return code;
  if (/executable file not found|no such file or directory/.test(tail)) return 127;
  if (/permission denied/.test(tail)) return 126;
  return code;
}

export function ctrExecArgs(opts: Pick<CtrExecOptions, 'address' | 'namespace'>, execId: string, target: ExecTarget): string[] {
  return ['--address', opts.address, '--namespace', opts.namespace, 'tasks', 'exec', '--exec-id', execId, ...(target.tty ? ['--tty'] : []), target.containerId, ...target.argv];
}

export function ctrExecSpawner(opts: CtrExecOptions): ExecSpawner {
  const ctr = opts.ctrPath ?? 'ctr';
  return (target) => {
    const execId = `bramble-exec-${randomBytes(6).toString('hex')}`;
    const args = ctrExecArgs(opts, execId, target);
    let child: ChildProcess;
    let ptyName: Promise<string | undefined> = Promise.resolve(undefined);
    if (!target.tty) {
      child = spawn(ctr, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } else {
      // Raw: the container's own pty does the echo, line editing and signals; this one only carries bytes.
      const size = target.size && target.size.columns > 0 && target.size.rows > 0 ? ` cols ${target.size.columns} rows ${target.size.rows}` : '';
      const inner = `stty raw -echo${size} 2>/dev/null; tty >&3; exec 3>&-; exec ${[ctr, ...args].map(shellQuote).join(' ')}`;
      child = spawn(opts.scriptPath ?? 'script', ['-q', '-f', '-e', '-c', inner, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        env: { ...process.env, SHELL: '/bin/sh' },
      });
      const fd3 = child.stdio[3] as Readable;
      ptyName = new Promise((resolve) => {
        let text = '';
        fd3.setEncoding('utf8');
        fd3.on('data', (d: string) => (text += d));
        fd3.on('error', () => resolve(undefined));
        fd3.on('close', () => resolve(/^\/dev\/pts\/\d+$/.test(text.trim()) ? text.trim() : undefined));
      });
    }
    let tail = '';
    const keep = (d: Buffer): void => {
      tail = (tail + d.toString('latin1')).slice(-TAIL_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.stdin!.on('error', () => undefined);
    const exited = new Promise<number>((resolve) => {
      child.once('error', (e) => {
        tail += `\nctr: ${e.message}`;
        resolve(127);
      });
      child.once('close', (code, signal) => resolve(execExitCode(code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : 1), tail)));
    });
    let killed = false;
    return {
      stdin: child.stdin!,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited,
      resize: (columns, rows) => {
        void ptyName.then((pty) => {
          if (!pty || killed) return;
          execFile(opts.sttyPath ?? 'stty', ['-F', pty, 'cols', String(columns), 'rows', String(rows)], () => undefined);
        });
      },
      kill: () => {
        if (killed) return;
        killed = true;
        // Killing ctr alone leaves the command running in the container.
        execFile(ctr, ['--address', opts.address, '--namespace', opts.namespace, 'tasks', 'kill', '--exec-id', execId, '--signal', 'SIGKILL', target.containerId], () => undefined);
        const timer = opts.clock.setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs ?? 2_000);
        void exited.then(() => timer.cancel());
      },
    };
  };
}
