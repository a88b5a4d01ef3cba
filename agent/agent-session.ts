// The agent's conversation with the control plane: heartbeats, the stream of
// assigned Pods, status reports, and the tunnel on which the control plane asks
// for logs, figures and image imports. Every stream reconnects with back-off;
// while the control plane is away the board keeps running what it last knew
// (edge autonomy) and reports again once it is back. With several control-plane
// members, a member that is away or does not lead moves the connection to the
// next one (node-connection.ts), and every stream is opened again there.
//
// Nothing the control plane sends may take the agent down: every message is
// checked before it is used, a bad one is logged (without its content, which
// may be a Secret) and skipped, or answered with an error frame on the tunnel,
// and no handler lets an exception escape into the stream's event emitter.
import type * as grpc from '@grpc/grpc-js';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import type { AssignmentEvent__Output, HeartbeatRequest, PodEventReport, PodFigures, TunnelDown__Output, TunnelUp } from '../proto/types.js';
import type { Clock, Timer } from '../proto/util/clock.js';
import { backoffDelay } from '../proto/util/work-queue.js';
import type { Logger } from '../proto/util/log.js';
import type { KObject, Pod, PodStatus } from '../proto/model.js';
import { keyOf } from '../proto/model.js';
import { BrambleError } from '../proto/util/errors.js';
import { parseAssignmentEvent } from './assignment-event.js';
import { TunnelExecs, type ExecBackend } from './tunnel-exec.js';
import { fixedConnection, type Connection } from './node-connection.js';

export interface DesiredState {
  pods: Pod[];
  configMaps: KObject[];
  secrets: KObject[];
}

export interface SessionDeps {
  /** The hash of the CA bundle the control plane trusts, from each heartbeat's answer. */
  onCaBundle?(sha256: string): void;
  /** The control plane, moved between members on failures; or one fixed client. */
  connection?: Connection;
  client?: NodeClient;
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
  logs(req: { namespace: string; pod: string; container: string; follow: boolean; tailLines: number; previous?: boolean }, signal: AbortSignal): AsyncIterable<Buffer>;
  importImage(chunks: AsyncIterable<Buffer>): Promise<string[]>;
  podFigures(): Promise<PodFigures[]>;
  /** Runs `bramble exec` commands; absent: execs are refused. */
  exec?: ExecBackend;
}

const RECONNECT = { baseMs: 500, maxMs: 30_000 };
/** A heartbeat unanswered this long means the member is away: a blackholed address must not hold the agent for minutes. */
const HEARTBEAT_DEADLINE_MS = 10_000;
/** Largest data frame sent up the tunnel: far below the server's message limit whatever a handler yields. */
export const TUNNEL_FRAME_BYTES = 64 * 1024;
/** Image bytes received but not yet written to disk before the tunnel stops reading (back-pressure). */
export const IMAGE_BUFFER_BYTES = 8 * 1024 * 1024;
/** Finished image requests remembered, so the rest of a failed upload's chunks do not start new imports. */
const FINISHED_IMAGES_KEPT = 64;
/** Bad messages of one kind logged at warn per minute; more are counted and logged at debug. */
const BAD_INPUT_WARNINGS_PER_MINUTE = 5;

type TunnelCall = grpc.ClientDuplexStream<TunnelUp, TunnelDown__Output>;

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
  private readonly badInput = new Map<string, { windowStart: number; warned: number; suppressed: number }>();
  private readonly conn: Connection;
  private readonly retryTimers: { watch?: Timer; tunnel?: Timer } = {};
  private unsubscribeMove: () => void = () => undefined;

  constructor(private readonly deps: SessionDeps) {
    if (deps.connection) this.conn = deps.connection;
    else if (deps.client) this.conn = fixedConnection(deps.client);
    else throw new Error('an agent session needs a connection or a client');
  }

  start(): void {
    this.unsubscribeMove = this.conn.onMove((_address, sameMember) => this.moved(sameMember));
    void this.beat();
    this.heartbeatTimer = this.deps.clock.setInterval(() => void this.beat(), this.deps.heartbeatIntervalMs);
    this.watch();
    this.openTunnel();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribeMove();
    this.heartbeatTimer?.cancel();
    this.statusTimer?.cancel();
    this.retryTimers.watch?.cancel();
    this.retryTimers.tunnel?.cancel();
    this.watchCall?.cancel();
    this.tunnelCall?.cancel();
  }

  /**
   * The connection moved to another member: every stream is opened there now, and a
   * heartbeat tells it this board is up. The streams on the old member are dropped;
   * the Pods are not touched (the new assignments replace the old ones only once synced).
   */
  private moved(sameMember: boolean): void {
    if (this.stopped) return;
    // On the same member (one address) a stream still open there stays; one that ended is opened again.
    if (!sameMember || !this.watchCall) {
      this.retryTimers.watch?.cancel();
      this.watchFailures = 0;
      const watch = this.watchCall;
      this.watchCall = undefined;
      watch?.cancel();
      this.watch();
    }
    if (!sameMember || !this.tunnelCall) {
      this.retryTimers.tunnel?.cancel();
      this.tunnelFailures = 0;
      const tunnel = this.tunnelCall;
      this.tunnelCall = undefined;
      tunnel?.cancel();
      this.openTunnel();
    }
    void this.beat();
    if (this.pendingStatus.size > 0) void this.flushStatus();
  }

  /** Sends one batch of events (pod-events.ts batches and retries); rejects when not delivered. */
  recordEvents(events: PodEventReport[]): Promise<void> {
    if (this.stopped || !this.connected) return Promise.reject(new Error('the control plane is not reachable'));
    const gen = this.conn.generation();
    return new Promise<void>((resolve, reject) =>
      this.conn.client().RecordEvents({ nodeName: this.deps.nodeName, events }, (err) => {
        if (!err) return resolve();
        this.conn.failed(gen, err);
        reject(err);
      }),
    );
  }

  /** Queues the Pod's latest status; only the newest per Pod is sent. */
  reportStatus(pod: Pod, status: PodStatus, finalized = false): void {
    this.pendingStatus.set(pod.metadata.uid ?? keyOf(pod), { pod, status, finalized });
    void this.flushStatus();
  }

  private async flushStatus(): Promise<void> {
    for (const [key, item] of [...this.pendingStatus]) {
      if (this.stopped) return;
      const gen = this.conn.generation();
      try {
        await new Promise<void>((resolve, reject) =>
          this.conn.client().UpdatePodStatus(
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
        // A move flushes again on the next member.
        if (this.conn.failed(gen, err)) return;
        this.statusTimer?.cancel();
        this.statusTimer = this.deps.clock.setTimeout(() => void this.flushStatus(), 2_000);
        return;
      }
    }
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const gen = this.conn.generation();
    try {
      const req = await this.deps.heartbeat();
      const res = await new Promise<{ servers?: unknown; caBundleSha256?: string } | undefined>((resolve, reject) =>
        this.conn.client().Heartbeat(req, { deadline: this.deps.clock.now() + HEARTBEAT_DEADLINE_MS }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      if (this.stopped) return;
      if (!this.connected) this.deps.logger.info('control plane reachable');
      this.connected = true;
      this.conn.succeeded(gen);
      if (res?.servers !== undefined) this.conn.learn(res.servers);
      if (res?.caBundleSha256) this.deps.onCaBundle?.(res.caBundleSha256);
      if (this.pendingStatus.size > 0) void this.flushStatus();
    } catch (err) {
      if (this.connected) this.deps.logger.warn({ err: String(err) }, 'heartbeat failed: control plane unreachable, pods keep running');
      this.connected = false;
      // A member away or not leading: the connection moves and the move beats again at once.
      this.conn.failed(gen, err);
    }
  }

  /** A stream ended: a move reopens it on the next member (see moved()); anything else is retried here with back-off. */
  private retry(kind: 'watch' | 'tunnel', gen: number, err: unknown, fn: () => void): void {
    if (this.stopped) return;
    if (this.conn.failed(gen, err)) {
      // Ended: the move opens it again.
      if (kind === 'watch') this.watchCall = undefined;
      else this.tunnelCall = undefined;
      return;
    }
    const failures = kind === 'watch' ? ++this.watchFailures : ++this.tunnelFailures;
    this.retryTimers[kind]?.cancel();
    this.retryTimers[kind] = this.deps.clock.setTimeout(fn, backoffDelay(failures, RECONNECT));
  }

  private watch(): void {
    if (this.stopped) return;
    const pods = new Map<string, Pod>();
    const configMaps = new Map<string, KObject>();
    const secrets = new Map<string, KObject>();
    let synced = false;
    const emit = (): void =>
      this.deps.onDesired({ pods: [...pods.values()], configMaps: [...configMaps.values()], secrets: [...secrets.values()] }, true);
    const gen = this.conn.generation();
    const call = this.conn.client().WatchAssignments({ nodeName: this.deps.nodeName });
    this.watchCall = call;
    call.on('data', (ev: AssignmentEvent__Output) => {
      this.watchFailures = 0;
      this.conn.succeeded(gen);
      let change: ReturnType<typeof parseAssignmentEvent>;
      try {
        change = parseAssignmentEvent(ev);
      } catch (e) {
        // The Pod keeps its last good version: skipping one event is better than acting on garbage.
        this.skipBadInput('assignment event', e);
        return;
      }
      try {
        if (change.type === 'SYNCED') {
          synced = true;
          emit();
          return;
        }
        const obj = change.object;
        const map = change.kind === 'Pod' ? pods : change.kind === 'ConfigMap' ? configMaps : secrets;
        if (change.type === 'DELETED') map.delete(keyOf(obj));
        else map.set(keyOf(obj), obj as Pod);
        if (synced) emit();
      } catch (e) {
        this.deps.logger.error({ err: errorText(e) }, 'assignment could not be applied; skipped');
      }
    });
    let ended = false;
    const again = (err: unknown): void => {
      if (ended) return;
      ended = true;
      // Dropped by a move: its successor is already open.
      if (this.watchCall !== call) return;
      const why = err instanceof Error ? err.message : 'end';
      // One line per outage, not one per retry: a board may wait hours for its control plane.
      if (!this.stopped) this.deps.logger[this.watchFailures === 0 ? 'info' : 'debug']({ why }, 'assignment stream ended; reconnecting');
      this.retry('watch', gen, err, () => this.watch());
    };
    call.on('error', (e) => again(e));
    call.on('end', () => again(undefined));
  }

  private openTunnel(): void {
    if (this.stopped) return;
    const gen = this.conn.generation();
    const call = this.conn.client().Tunnel();
    this.tunnelCall = call;
    const execs = new TunnelExecs({ send: (m) => send(call, m), backend: this.deps.tunnel.exec, logger: this.deps.logger });
    const state: TunnelState = { call, aborts: new Map(), images: new Map(), finishedImages: [], paused: false, closed: false, execs };
    send(call, { nodeName: this.deps.nodeName });
    call.on('data', (msg: TunnelDown__Output) => {
      this.tunnelFailures = 0;
      this.conn.succeeded(gen);
      try {
        this.onTunnelMessage(state, msg);
      } catch (e) {
        // Only a bug gets here; the request is answered so the person asking is not left waiting.
        this.deps.logger.error({ err: errorText(e) }, 'tunnel request failed');
        if (isRequestId(msg?.requestId)) send(call, { requestId: msg.requestId, error: errorText(e), done: true });
      }
    });
    let ended = false;
    const again = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      state.closed = true;
      for (const ac of state.aborts.values()) ac.abort();
      state.execs.closeAll();
      for (const img of state.images.values()) img.channel.fail(new Error('the tunnel closed before the image was complete'));
      // Dropped by a move: its successor is already open.
      if (this.tunnelCall !== call) return;
      this.retry('tunnel', gen, err, () => this.openTunnel());
    };
    call.on('error', (e) => again(e));
    call.on('end', () => again());
    call.on('close', () => again());
  }

  private onTunnelMessage(state: TunnelState, msg: TunnelDown__Output): void {
    const { call } = state;
    const id = msg.requestId;
    if (!isRequestId(id)) {
      this.skipBadInput('tunnel request', new Error(`requestId must be a whole number from 1: current value is ${String(id).slice(0, 40)}`));
      return;
    }
    const fail = (message: string): void => {
      this.skipBadInput('tunnel request', new Error(message));
      send(call, { requestId: id, error: message, done: true });
    };
    if (msg.cancel) {
      if (state.execs.cancel(id)) return;
      const ac = state.aborts.get(id);
      // A cancel may cross the answer's last frame: nothing left to stop is normal.
      if (ac) ac.abort();
      else this.deps.logger.debug({ requestId: id }, 'cancel for no open request');
      return;
    }
    if (msg.exec) {
      if (msg.exec.start && (state.aborts.has(id) || state.images.has(id))) return fail(`request id ${id} is already in use by an open request`);
      state.execs.onRequest(id, msg.exec);
      return;
    }
    if (msg.request === 'execOutputAcked') {
      state.execs.onOutputAcked(id, Number(msg.execOutputAcked));
      return;
    }
    if (msg.logs) {
      if (state.aborts.has(id) || state.execs.has(id) || state.images.has(id)) return fail(`request id ${id} is already in use by an open request`);
      const req = msg.logs;
      const tailLines = Number.isSafeInteger(req.tailLines) ? req.tailLines : -1;
      const ac = new AbortController();
      state.aborts.set(id, ac);
      void this.answer(state, id, ac.signal, () => this.deps.tunnel.logs({
        namespace: String(req.namespace ?? ''), pod: String(req.pod ?? ''), container: String(req.container ?? ''), follow: req.follow === true, tailLines, previous: req.previous === true,
      }, ac.signal)).finally(() => state.aborts.delete(id));
      return;
    }
    if (msg.top) {
      void Promise.resolve()
        .then(() => this.deps.tunnel.podFigures())
        .then(
          (pods) => send(call, { requestId: id, pods, done: true }),
          (e: unknown) => send(call, { requestId: id, error: errorText(e), done: true }),
        );
      return;
    }
    if (msg.image) {
      const data = Buffer.isBuffer(msg.image.data) ? msg.image.data : Buffer.alloc(0);
      const open = state.images.get(id);
      if (open) {
        // After the first chunk, an empty one marks the end of the image.
        open.channel.push(data.length > 0 ? data : null);
        this.pauseForImages(state);
        return;
      }
      if (state.finishedImages.includes(id)) {
        this.deps.logger.debug({ requestId: id }, 'image chunk for a finished import dropped');
        return;
      }
      this.startImport(state, id, data);
      return;
    }
    fail('a tunnel request must be logs, image, cancel, top or exec: this one is none of them');
  }

  private startImport(state: TunnelState, id: number, first: Buffer): void {
    const { call } = state;
    const channel = chunkChannel(() => this.resumeForImages(state));
    state.images.set(id, { channel });
    if (first.length > 0) channel.push(first);
    void Promise.resolve()
      .then(() => this.deps.tunnel.importImage(channel.iterable))
      .then(
        (names) => send(call, { requestId: id, data: Buffer.from(JSON.stringify(names)), done: true }),
        (e: unknown) => {
          this.deps.logger.warn({ requestId: id, err: errorText(e) }, 'image import failed');
          send(call, { requestId: id, error: errorText(e), done: true });
        },
      )
      .finally(() => {
        state.images.delete(id);
        state.finishedImages.push(id);
        if (state.finishedImages.length > FINISHED_IMAGES_KEPT) state.finishedImages.shift();
        // Chunks nobody will read again must neither hold memory nor keep the tunnel paused.
        channel.fail(new Error('import finished'));
        this.resumeForImages(state);
      });
  }

  /** Stops reading the tunnel while images arrive faster than they are written; the server's sends then wait. */
  private pauseForImages(state: TunnelState): void {
    if (state.paused || bufferedImageBytes(state) <= IMAGE_BUFFER_BYTES) return;
    state.paused = true;
    state.call.pause();
  }

  private resumeForImages(state: TunnelState): void {
    if (!state.paused || bufferedImageBytes(state) > IMAGE_BUFFER_BYTES / 2) return;
    state.paused = false;
    state.call.resume();
  }

  /**
   * Streams a handler's answer as data frames then done (or one error frame). A frame
   * the stream cannot take yet is waited for, so a slow control plane slows the log
   * read down instead of buffering the whole log in the agent.
   */
  private async answer(state: TunnelState, id: number, signal: AbortSignal, data: () => AsyncIterable<Buffer>): Promise<void> {
    const { call } = state;
    try {
      for await (const chunk of data()) {
        if (signal.aborted || state.closed) return;
        for (let off = 0; off < chunk.length; off += TUNNEL_FRAME_BYTES) {
          if (!send(call, { requestId: id, data: chunk.subarray(off, off + TUNNEL_FRAME_BYTES) })) await drained(call, signal);
          if (signal.aborted || state.closed) return;
        }
      }
      send(call, { requestId: id, done: true });
    } catch (e) {
      if (!(e instanceof BrambleError)) this.deps.logger.warn({ requestId: id, err: errorText(e) }, 'tunnel request failed');
      send(call, { requestId: id, error: errorText(e), done: true });
    }
  }

  /** One warn line per bad message, at most a few a minute per kind, so a flood cannot fill the board's disk with logs. */
  private skipBadInput(what: string, e: unknown): void {
    const now = this.deps.clock.now();
    let s = this.badInput.get(what);
    if (!s || now - s.windowStart >= 60_000) {
      const suppressed = s?.suppressed ?? 0;
      s = { windowStart: now, warned: 0, suppressed: 0 };
      this.badInput.set(what, s);
      if (suppressed > 0) this.deps.logger.warn({ what, count: suppressed }, 'more bad messages were skipped in the last minute');
    }
    if (s.warned < BAD_INPUT_WARNINGS_PER_MINUTE) {
      s.warned++;
      this.deps.logger.warn({ err: errorText(e) }, `bad ${what} from the control plane skipped`);
    } else {
      s.suppressed++;
      this.deps.logger.debug({ err: errorText(e) }, `bad ${what} from the control plane skipped`);
    }
  }
}

interface TunnelState {
  call: TunnelCall;
  aborts: Map<number, AbortController>;
  images: Map<number, { channel: ChunkChannel }>;
  finishedImages: number[];
  paused: boolean;
  closed: boolean;
  execs: TunnelExecs;
}

function bufferedImageBytes(state: TunnelState): number {
  let n = 0;
  for (const img of state.images.values()) n += img.channel.bufferedBytes();
  return n;
}

function isRequestId(id: unknown): id is number {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Writes one frame; false when the stream wants the writer to wait for 'drain'. A closed stream takes nothing and says so. */
function send(call: TunnelCall, msg: TunnelUp): boolean {
  try {
    return call.write(msg);
  } catch {
    return true;
  }
}

/** Resolves once the stream drains, closes or fails, or the request is cancelled. */
function drained(call: TunnelCall, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      call.off('error', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
    call.on('error', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface ChunkChannel {
  push(b: Buffer | null): void;
  /** Ends the iterable with this error and drops what is queued. */
  fail(e: Error): void;
  bufferedBytes(): number;
  iterable: AsyncIterable<Buffer>;
}

/** A push-driven async iterable: null ends it. `onTake` is called after the reader takes a chunk. */
function chunkChannel(onTake: () => void = () => undefined): ChunkChannel {
  const items: (Buffer | null)[] = [];
  let bytes = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    push(b) {
      if (failure) return;
      items.push(b);
      bytes += b?.length ?? 0;
      poke();
    },
    fail(e) {
      if (failure) return;
      failure = e;
      items.length = 0;
      bytes = 0;
      poke();
    },
    bufferedBytes: () => bytes,
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (failure) throw failure;
          if (items.length === 0) {
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          const b = items.shift()!;
          bytes -= b?.length ?? 0;
          onTake();
          if (b === null) return;
          yield b;
        }
      },
    },
  };
}
