// The control plane reaches a board only through the stream the board's agent
// opened (Node.Tunnel), so boards behind NAT work. This registry multiplexes
// requests (logs, image import, figures, execs) over that stream by request id.
import type { ExecRequest, ExecResponse__Output, ExecStart, TunnelDown, TunnelUp__Output } from '../../proto/types.js';
import { BrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';

/** The server side of one agent's Tunnel stream. */
export interface TunnelStream {
  write(msg: TunnelDown): void;
  end(): void;
}

type Frame = { data: Buffer } | { done: true } | { error: string };

interface PendingRequest {
  push(frame: Frame): void;
}

/** What the control plane hears of one exec from the agent. */
export interface ExecListener {
  /** stdout, stderr, or the exit (the last call for this exec). */
  output(msg: ExecResponse__Output): void;
  /** The command took this many more stdin bytes. */
  stdinAcked(bytes: number): void;
  /** The exec ended without an exit code: the agent refused it, failed, or went away. */
  failed(err: BrambleError): void;
}

/** The control plane's handle on one exec running on a board. */
export interface ExecChannel {
  /** Stdin, its end, or a resize. */
  send(req: ExecRequest): void;
  /** The client took this many more output bytes: the agent may send as many more. */
  ackOutput(bytes: number): void;
  /** The client went away: the agent kills the command. Idempotent, and a no-op after the exit. */
  cancel(): void;
}

class AgentTunnel {
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly execs = new Map<number, ExecListener>();

  constructor(readonly nodeName: string, readonly stream: TunnelStream) {}

  /**
   * Sends a request and yields the answer's data frames until the agent says
   * done. `cancel` tells the agent to stop (a `logs -f` whose client went away).
   */
  request(build: (id: number) => TunnelDown): AsyncIterable<Buffer> & { cancel(): void } {
    const id = this.nextId++;
    const answer = this.collect(id);
    this.stream.write(build(id));
    return {
      [Symbol.asyncIterator]: () => answer.iterator(),
      cancel: () => {
        if (answer.end()) this.stream.write({ requestId: id, cancel: {} });
      },
    };
  }

  /** Sends one more frame of an open request (image chunks after the first). */
  send(msg: TunnelDown): void {
    this.stream.write(msg);
  }

  /**
   * Starts an exec on the board. At most LIMITS.maxExecsPerNode run at once per
   * node: each costs the board a ctr process.
   */
  openExec(start: ExecStart, listener: ExecListener): ExecChannel {
    if (this.execs.size >= LIMITS.maxExecsPerNode) {
      throw new BrambleError('RATE_LIMITED', `node "${this.nodeName}" must run no more than ${LIMITS.maxExecsPerNode} execs at a time: ${this.execs.size} are open; wait for one to end`);
    }
    const id = this.nextId++;
    this.execs.set(id, listener);
    this.stream.write({ requestId: id, exec: { start } });
    const open = (): boolean => this.execs.get(id) === listener;
    return {
      send: (req) => { if (open()) this.stream.write({ requestId: id, exec: req }); },
      ackOutput: (bytes) => { if (open() && bytes > 0) this.stream.write({ requestId: id, execOutputAcked: bytes }); },
      cancel: () => {
        if (!open()) return;
        this.execs.delete(id);
        this.stream.write({ requestId: id, cancel: {} });
      },
    };
  }

  /** Execs open on this node now. */
  execCount(): number {
    return this.execs.size;
  }

  onFrame(msg: TunnelUp__Output): void {
    const exec = this.execs.get(msg.requestId);
    if (exec) {
      this.onExecFrame(msg.requestId, exec, msg);
      return;
    }
    const p = this.pending.get(msg.requestId);
    if (!p) return;
    if (msg.data && msg.data.length > 0) p.push({ data: msg.data });
    if (msg.error) p.push({ error: msg.error });
    else if (msg.done) p.push({ done: true });
  }

  private onExecFrame(id: number, exec: ExecListener, msg: TunnelUp__Output): void {
    if (msg.execStdinAcked && msg.execStdinAcked > 0) exec.stdinAcked(msg.execStdinAcked);
    const out = msg.exec;
    if (out?.exit) {
      this.execs.delete(id);
      exec.output(out);
      return;
    }
    if (out && (out.stdout?.length || out.stderr?.length)) exec.output(out);
    if (msg.error || msg.done) {
      this.execs.delete(id);
      exec.failed(new BrambleError('RUNTIME_FAILED', `node "${this.nodeName}": ${msg.error || 'the exec ended without an exit code'}`));
    }
  }

  /** The agent went away: every open request ends with an error. */
  close(): void {
    for (const p of this.pending.values()) p.push({ error: 'the agent disconnected' });
    this.pending.clear();
    const execs = [...this.execs.values()];
    this.execs.clear();
    for (const e of execs) e.failed(new BrambleError('NODE_UNREACHABLE', `node "${this.nodeName}" disconnected while the command was running`));
  }

  private collect(id: number): { iterator(): AsyncGenerator<Buffer>; end(): boolean } {
    const frames: Frame[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    this.pending.set(id, {
      push: (f) => {
        frames.push(f);
        wake?.();
      },
    });
    const end = (): boolean => {
      if (finished) return false;
      finished = true;
      this.pending.delete(id);
      wake?.();
      return true;
    };
    const nodeName = this.nodeName;
    async function* iterator(): AsyncGenerator<Buffer> {
      try {
        for (;;) {
          const f = frames.shift();
          if (!f) {
            if (finished) return;
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
            continue;
          }
          if ('data' in f) yield f.data;
          else if ('error' in f) throw new BrambleError('NODE_UNREACHABLE', `node "${nodeName}": ${f.error}`);
          else return;
        }
      } finally {
        end();
      }
    }
    return { iterator, end };
  }
}

export type { AgentTunnel };

export class TunnelRegistry {
  private readonly tunnels = new Map<string, AgentTunnel>();

  /** Registers the agent's stream; an older stream of the same node is replaced. */
  attach(nodeName: string, stream: TunnelStream): AgentTunnel {
    this.tunnels.get(nodeName)?.close();
    const t = new AgentTunnel(nodeName, stream);
    this.tunnels.set(nodeName, t);
    return t;
  }

  detach(tunnel: AgentTunnel): void {
    if (this.tunnels.get(tunnel.nodeName) === tunnel) this.tunnels.delete(tunnel.nodeName);
    tunnel.close();
  }

  get(nodeName: string): AgentTunnel {
    const t = this.tunnels.get(nodeName);
    if (!t) throw new BrambleError('NODE_UNREACHABLE', `no agent connected for node "${nodeName}": is the board up and joined?`);
    return t;
  }

  /** The node's tunnel, if its agent is connected now. */
  find(nodeName: string): AgentTunnel | undefined {
    return this.tunnels.get(nodeName);
  }

  connected(): string[] {
    return [...this.tunnels.keys()].sort();
  }
}
