// Concurrent streams per client. Every open watch, log follow, assignment feed,
// tunnel or image import holds memory and a timer or two on the control plane;
// one client (one certificate, or one address when it has none) may hold at
// most LIMITS.maxStreamsPerClient at a time, so a buggy script cannot starve a
// 1 GB board. HTTP/2's own per-connection limit does not stop many connections.
import { BrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';

export class StreamLimiter {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number = LIMITS.maxStreamsPerClient) {}

  /** Counts one more stream for `client`; the returned function releases it (once, however often called). */
  acquire(client: string, method: string): () => void {
    const n = this.open.get(client) ?? 0;
    if (n >= this.max) {
      throw new BrambleError('RATE_LIMITED', `${method}: ${client} must hold no more than ${this.max} open streams: close some (watches, logs -f) first`);
    }
    this.open.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left <= 0) this.open.delete(client);
      else this.open.set(client, left);
    };
  }

  count(client: string): number {
    return this.open.get(client) ?? 0;
  }
}
