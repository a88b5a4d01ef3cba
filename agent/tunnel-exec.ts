// The agent's side of Cluster.Exec: the execs open on one tunnel, by request id.
// A start finds the container (only of a Pod assigned here) and spawns the
// command; stdin chunks, its end and resizes follow; output goes up in frames
// under a window the control plane acknowledges, so a slow client pauses the
// command's output instead of filling the board's memory. A cancel, or the
// tunnel closing, kills the command: no exec outlives the one who asked for it.
import type { ExecRequest__Output, TunnelUp } from '../proto/types.js';
import { checkExecChunk, checkExecCommand, checkTerminalSize, EXEC_WINDOW_BYTES } from '../proto/exec-command.js';
import { LIMITS } from '../proto/limits.js';
import type { Logger } from '../proto/util/log.js';
import type { ExecProcess, ExecSpawner } from './exec-stream.js';

/** Largest output frame, as the tunnel's other answers. */
const FRAME_BYTES = 64 * 1024;

export interface ExecContainerRef {
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
}

export interface ExecBackend {
  /** The containerd id of the running container, or a throw saying why there is none. */
  resolve(ref: ExecContainerRef): Promise<string>;
  spawn: ExecSpawner;
}

export interface TunnelExecsDeps {
  /** Writes one frame up the tunnel. */
  send(msg: TunnelUp): unknown;
  /** Absent: this agent cannot exec, and says so. */
  backend?: ExecBackend;
  logger: Logger;
  windowBytes?: number;
}

interface Session {
  proc?: ExecProcess;
  /** Stdin that arrived before the process was spawned (at most a window: the control plane waits for acks). */
  early: (Buffer | null)[];
  unacked: number;
  paused: boolean;
  over: boolean;
  tty: boolean;
  stdin: boolean;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class TunnelExecs {
  private readonly sessions = new Map<number, Session>();
  private readonly window: number;

  constructor(private readonly deps: TunnelExecsDeps) {
    this.window = deps.windowBytes ?? EXEC_WINDOW_BYTES;
  }

  has(id: number): boolean {
    return this.sessions.has(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A start, stdin, stdin end or resize for exec `id`. Never throws: a bad message ends that exec with an error frame. */
  onRequest(id: number, req: ExecRequest__Output): void {
    try {
      if (req.start) {
        this.start(id, req);
        return;
      }
      const s = this.sessions.get(id);
      // Stdin may cross the exit on the wire: nothing left to feed is normal.
      if (!s || s.over) return;
      if (req.request === 'stdin' && Buffer.isBuffer(req.stdin)) {
        checkExecChunk(req.stdin.length);
        if (!s.stdin) throw new Error('stdin arrived for an exec started without stdin');
        if (req.stdin.length > 0) this.writeStdin(id, s, req.stdin);
      } else if (req.stdinEof) {
        if (s.proc) this.endStdin(s);
        else s.early.push(null);
      } else if (req.resize) {
        checkTerminalSize(req.resize);
        if (s.tty && s.proc && req.resize.columns > 0 && req.resize.rows > 0) s.proc.resize(req.resize.columns, req.resize.rows);
      } else {
        throw new Error('an exec message must be start, stdin, stdin_eof or resize: this one is none of them');
      }
    } catch (e) {
      this.fail(id, errorText(e));
    }
  }

  /** The control plane passed `bytes` more output on to its client. */
  onOutputAcked(id: number, bytes: number): void {
    const s = this.sessions.get(id);
    if (!s?.proc || !Number.isSafeInteger(bytes) || bytes <= 0) return;
    s.unacked = Math.max(0, s.unacked - bytes);
    if (s.paused && s.unacked <= this.window / 2) {
      s.paused = false;
      s.proc.stdout.resume();
      s.proc.stderr.resume();
    }
  }

  /** The client went away: kill the command, send nothing more. Returns whether `id` was an exec. */
  cancel(id: number): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    this.end(id, s);
    return true;
  }

  /** The tunnel closed: every exec is killed. */
  closeAll(): void {
    for (const [id, s] of [...this.sessions]) this.end(id, s);
  }

  private start(id: number, req: ExecRequest__Output): void {
    const start = req.start!;
    if (this.sessions.has(id)) throw new Error(`request id ${id} is already in use by an open exec`);
    if (this.sessions.size >= LIMITS.maxExecsPerNode) {
      throw new Error(`this node runs no more than ${LIMITS.maxExecsPerNode} execs at a time: ${this.sessions.size} are open`);
    }
    checkExecCommand(start.command);
    checkTerminalSize(start.size);
    const backend = this.deps.backend;
    if (!backend) throw new Error('this agent cannot exec: it was started without a container runtime');
    const s: Session = { early: [], unacked: 0, paused: false, over: false, tty: start.tty === true, stdin: start.stdin === true };
    this.sessions.set(id, s);
    const ref = { namespace: String(start.namespace ?? ''), pod: String(start.pod ?? ''), podUid: String(start.podUid ?? ''), container: String(start.container ?? '') };
    void backend.resolve(ref).then(
      (containerId) => {
        if (s.over) return;
        const size = start.size && start.size.columns > 0 && start.size.rows > 0 ? { columns: start.size.columns, rows: start.size.rows } : undefined;
        const proc = backend.spawn({ containerId, argv: [...start.command], tty: s.tty, size });
        s.proc = proc;
        this.pump(id, s, proc.stdout, 'stdout');
        this.pump(id, s, proc.stderr, 'stderr');
        proc.stdin.on('error', () => undefined);
        // Without -i the command reads an empty stdin; a terminal stays open so a shell does not see EOF and quit.
        if (!s.stdin && !s.tty) proc.stdin.end();
        for (const b of s.early.splice(0)) {
          if (b === null) this.endStdin(s);
          else this.writeStdin(id, s, b);
        }
        void proc.exited.then((exitCode) => {
          if (s.over) return;
          this.sessions.delete(id);
          s.over = true;
          this.deps.send({ requestId: id, exec: { exit: { exitCode } }, done: true });
        });
      },
      (e: unknown) => this.fail(id, errorText(e)),
    );
  }

  private writeStdin(id: number, s: Session, data: Buffer): void {
    if (!s.proc) {
      s.early.push(data);
      return;
    }
    if (!s.proc.stdin.writable) return;
    s.proc.stdin.write(data, () => {
      if (!s.over) this.deps.send({ requestId: id, execStdinAcked: data.length });
    });
  }

  private endStdin(s: Session): void {
    if (s.proc?.stdin.writable) s.proc.stdin.end();
  }

  private pump(id: number, s: Session, from: NodeJS.ReadableStream, which: 'stdout' | 'stderr'): void {
    from.on('data', (chunk: Buffer) => {
      if (s.over) return;
      for (let off = 0; off < chunk.length; off += FRAME_BYTES) {
        const part = chunk.subarray(off, off + FRAME_BYTES);
        this.deps.send({ requestId: id, exec: which === 'stdout' ? { stdout: part } : { stderr: part } });
      }
      s.unacked += chunk.length;
      if (!s.paused && s.unacked > this.window) {
        s.paused = true;
        s.proc?.stdout.pause();
        s.proc?.stderr.pause();
      }
    });
    from.on('error', () => undefined);
  }

  private fail(id: number, message: string): void {
    const s = this.sessions.get(id);
    if (s) this.end(id, s);
    this.deps.logger.info({ requestId: id, err: message }, 'exec refused or failed');
    this.deps.send({ requestId: id, error: message, done: true });
  }

  private end(id: number, s: Session): void {
    this.sessions.delete(id);
    if (s.over) return;
    s.over = true;
    s.proc?.kill();
  }
}
