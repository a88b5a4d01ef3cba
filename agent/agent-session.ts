// The agent's conversation with the control plane: heartbeats, the stream of
// assigned Pods, status reports, and the tunnel on which the control plane asks
// for logs, figures and image imports. Every stream reconnects with back-off;
// while the control plane is away the board keeps running what it last knew
// (edge autonomy) and reports again once it is back.
import type * as grpc from '@grpc/grpc-js';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import type { AssignmentEvent__Output, HeartbeatRequest, PodFigures, TunnelDown__Output, TunnelUp } from '../proto/types.js';
import type { Clock, Timer } from '../proto/clock.js';
import { backoffDelay } from '../proto/work-queue.js';
import type { Logger } from '../proto/log.js';
import type { KObject, Pod, PodStatus } from '../proto/model.js';
import { keyOf } from '../proto/model.js';

export interface DesiredState {
  pods: Pod[];
  configMaps: KObject[];
  secrets: KObject[];
}

export interface SessionDeps {
  client: NodeClient;
  nodeName: string;
  clock: Clock;
  logger: Logger;
  heartbeatIntervalMs: number;
  /** Builds the heartbeat from live figures (stats + pod figures). */
  heartbeat(): Promise<HeartbeatRequest>;
  /** Called with the whole assigned set whenever it changes; synced once the control plane's view is complete. */
  onDesired(state: DesiredState, synced: boolean): void;
  /** Answers the control plane's requests that only the board can answer. */
  tunnel: TunnelHandlers;
}

export interface TunnelHandlers {
  logs(req: { namespace: string; pod: string; container: string; follow: boolean; tailLines: number }, signal: AbortSignal): AsyncIterable<Buffer>;
  importImage(chunks: AsyncIterable<Buffer>): Promise<string[]>;
  podFigures(): Promise<PodFigures[]>;
}

const RECONNECT = { baseMs: 500, maxMs: 30_000 };

export class AgentSession {
  private stopped = false;
  private heartbeatTimer: Timer | undefined;
  private watchCall: grpc.ClientReadableStream<AssignmentEvent__Output> | undefined;
  private tunnelCall: grpc.ClientDuplexStream<TunnelUp, TunnelDown__Output> | undefined;
  private watchFailures = 0;
  private tunnelFailures = 0;
  private readonly pendingStatus = new Map<string, { pod: Pod; status: PodStatus; finalized: boolean }>();
  private statusTimer: Timer | undefined;
  /** Set once the first heartbeat got through: the control plane is reachable. */
  connected = false;

  constructor(private readonly deps: SessionDeps) {}

  start(): void {
    void this.beat();
    this.heartbeatTimer = this.deps.clock.setInterval(() => void this.beat(), this.deps.heartbeatIntervalMs);
    this.watch();
    this.openTunnel();
  }

  stop(): void {
    this.stopped = true;
    this.heartbeatTimer?.cancel();
    this.statusTimer?.cancel();
    this.watchCall?.cancel();
    this.tunnelCall?.cancel();
  }

  /** Queues the Pod's latest status; only the newest per Pod is sent. */
  reportStatus(pod: Pod, status: PodStatus, finalized = false): void {
    this.pendingStatus.set(pod.metadata.uid ?? keyOf(pod), { pod, status, finalized });
    void this.flushStatus();
  }

  private async flushStatus(): Promise<void> {
    for (const [key, item] of [...this.pendingStatus]) {
      if (this.stopped) return;
      try {
        await new Promise<void>((resolve, reject) =>
          this.deps.client.UpdatePodStatus(
            {
              namespace: item.pod.metadata.namespace,
              name: item.pod.metadata.name,
              uid: item.pod.metadata.uid,
              status: JSON.stringify(item.status),
              finalized: item.finalized,
            },
            (err) => (err ? reject(err) : resolve()),
          ),
        );
        if (this.pendingStatus.get(key) === item) this.pendingStatus.delete(key);
      } catch (err) {
        this.deps.logger.debug({ err: String(err) }, 'pod status not delivered; will retry');
        this.statusTimer?.cancel();
        this.statusTimer = this.deps.clock.setTimeout(() => void this.flushStatus(), 2_000);
        return;
      }
    }
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    try {
      const req = await this.deps.heartbeat();
      await new Promise<void>((resolve, reject) =>
        this.deps.client.Heartbeat(req, (err) => (err ? reject(err) : resolve())),
      );
      if (!this.connected) this.deps.logger.info('control plane reachable');
      this.connected = true;
      if (this.pendingStatus.size > 0) void this.flushStatus();
    } catch (err) {
      if (this.connected) this.deps.logger.warn({ err: String(err) }, 'heartbeat failed: control plane unreachable, pods keep running');
      this.connected = false;
    }
  }

  private retry(kind: 'watch' | 'tunnel', fn: () => void): void {
    if (this.stopped) return;
    const failures = kind === 'watch' ? ++this.watchFailures : ++this.tunnelFailures;
    this.deps.clock.setTimeout(fn, backoffDelay(failures, RECONNECT));
  }

  private watch(): void {
    const pods = new Map<string, Pod>();
    const configMaps = new Map<string, KObject>();
    const secrets = new Map<string, KObject>();
    let synced = false;
    const emit = (): void =>
      this.deps.onDesired({ pods: [...pods.values()], configMaps: [...configMaps.values()], secrets: [...secrets.values()] }, true);
    const call = this.deps.client.WatchAssignments({ nodeName: this.deps.nodeName });
    this.watchCall = call;
    call.on('data', (ev: AssignmentEvent__Output) => {
      this.watchFailures = 0;
      if (ev.type === 'SYNCED') {
        synced = true;
        emit();
        return;
      }
      const obj = JSON.parse(ev.object) as KObject;
      const map = obj.kind === 'Pod' ? pods : obj.kind === 'ConfigMap' ? configMaps : secrets;
      if (ev.type === 'DELETED') map.delete(keyOf(obj));
      else map.set(keyOf(obj), obj as Pod);
      if (synced) emit();
    });
    let ended = false;
    const again = (why: string): void => {
      if (ended) return;
      ended = true;
      // One line per outage, not one per retry: a board may wait hours for its control plane.
      if (!this.stopped) this.deps.logger[this.watchFailures === 0 ? 'info' : 'debug']({ why }, 'assignment stream ended; reconnecting');
      this.retry('watch', () => this.watch());
    };
    call.on('error', (e) => again(e.message));
    call.on('end', () => again('end'));
  }

  private openTunnel(): void {
    const call = this.deps.client.Tunnel();
    this.tunnelCall = call;
    call.write({ nodeName: this.deps.nodeName });
    const aborts = new Map<number, AbortController>();
    const images = new Map<number, { push(b: Buffer | null): void }>();
    call.on('data', (msg: TunnelDown__Output) => {
      this.tunnelFailures = 0;
      const id = msg.requestId;
      if (msg.cancel) {
        aborts.get(id)?.abort();
        return;
      }
      if (msg.logs) {
        const ac = new AbortController();
        aborts.set(id, ac);
        void this.answer(call, id, this.deps.tunnel.logs(msg.logs, ac.signal)).finally(() => aborts.delete(id));
      } else if (msg.top) {
        void this.deps.tunnel.podFigures().then(
          (pods) => call.write({ requestId: id, pods, done: true }),
          (e: unknown) => call.write({ requestId: id, error: String(e), done: true }),
        );
      } else if (msg.image) {
        const sink = images.get(id);
        if (!sink) {
          const chunks = chunkChannel();
          images.set(id, chunks);
          if (msg.image.data.length > 0) chunks.push(msg.image.data);
          void this.deps.tunnel.importImage(chunks.iterable).then(
            (names) => call.write({ requestId: id, data: Buffer.from(JSON.stringify(names)), done: true }),
            (e: unknown) => call.write({ requestId: id, error: e instanceof Error ? e.message : String(e), done: true }),
          ).finally(() => images.delete(id));
          return;
        }
        // After the first chunk, an empty one marks the end of the image.
        sink.push(msg.image.data.length > 0 ? msg.image.data : null);
      }
    });
    let ended = false;
    const again = (): void => {
      if (ended) return;
      ended = true;
      for (const ac of aborts.values()) ac.abort();
      this.retry('tunnel', () => this.openTunnel());
    };
    call.on('error', again);
    call.on('end', again);
  }

  private async answer(call: grpc.ClientDuplexStream<TunnelUp, TunnelDown__Output>, id: number, data: AsyncIterable<Buffer>): Promise<void> {
    try {
      for await (const chunk of data) call.write({ requestId: id, data: chunk });
      call.write({ requestId: id, done: true });
    } catch (e) {
      call.write({ requestId: id, error: e instanceof Error ? e.message : String(e), done: true });
    }
  }
}

/** A push-driven async iterable: null ends it. */
function chunkChannel(): { push(b: Buffer | null): void; iterable: AsyncIterable<Buffer> } {
  const items: (Buffer | null)[] = [];
  let wake: (() => void) | undefined;
  return {
    push(b) {
      items.push(b);
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (items.length === 0) await new Promise<void>((r) => (wake = r));
          const b = items.shift();
          if (b === undefined) continue;
          if (b === null) return;
          yield b;
        }
      },
    },
  };
}
