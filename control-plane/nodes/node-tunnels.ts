// The control plane reaches a board only through the stream the board's agent
// opened (Node.Tunnel), so boards behind NAT work. This registry multiplexes
// requests (logs, image import, figures) over that stream by request id.
import type { TunnelDown, TunnelUp__Output } from '../../proto/types.js';
import { BrambleError } from '../../proto/util/errors.js';

/** The server side of one agent's Tunnel stream. */
export interface TunnelStream {
  write(msg: TunnelDown): void;
  end(): void;
}

type Frame = { data: Buffer } | { done: true } | { error: string };

interface PendingRequest {
  push(frame: Frame): void;
}

class AgentTunnel {
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();

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

  onFrame(msg: TunnelUp__Output): void {
    const p = this.pending.get(msg.requestId);
    if (!p) return;
    if (msg.data && msg.data.length > 0) p.push({ data: msg.data });
    if (msg.error) p.push({ error: msg.error });
    else if (msg.done) p.push({ done: true });
  }

  /** The agent went away: every open request ends with an error. */
  close(): void {
    for (const p of this.pending.values()) p.push({ error: 'the agent disconnected' });
    this.pending.clear();
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

  connected(): string[] {
    return [...this.tunnels.keys()].sort();
  }
}
