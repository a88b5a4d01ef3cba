// Cluster.Exec: `bramble exec`, relayed between the CLI's stream and the board's
// tunnel. The first message names the Pod and the command; it is checked here
// (the Pod exists, runs on a connected node, has that container running) so a
// mistake fails before the board is asked. Then stdin goes down and output comes
// up, each way under a window of unacknowledged bytes: a command that does not
// read its stdin slows the client down instead of filling the control plane's
// memory, and a client that does not read its output slows the command down.
import type * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { ExecRequest__Output, ExecResponse, ExecResponse__Output, ExecStart, ExecStart__Output } from '../../proto/types.js';
import { checkExecChunk, checkExecCommand, checkTerminalSize, EXEC_WINDOW_BYTES } from '../../proto/exec-command.js';
import { BrambleError } from '../../proto/util/errors.js';
import { DEFAULT_NAMESPACE, type Pod } from '../../proto/model.js';
import { LIMITS } from '../../proto/limits.js';
import { describeObject, notFoundError } from './api-apply.js';
import { acquireStream, asBrambleError, sendFailure, statusName, type HandlerContext } from './grpc-util.js';
import type { ExecChannel, ExecListener, TunnelRegistry } from '../nodes/node-tunnels.js';
import type { Store } from '../store/store.js';
import type { CallWithAuth } from '../pki/auth.js';

/** kubectl's annotation naming the container `exec` and `logs` use when none is given. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
}

/** A checked exec, ready to start on its board. */
export interface PreparedExec {
  /** What the agent is sent: the Pod's uid and the container's name filled in. */
  start: ExecStart;
  open(listener: ExecListener): ExecChannel;
}

/** Checks the start message against the store and the tunnels (the exec handler's first step). */
export function prepareExec(store: Store, tunnels: TunnelRegistry, start: ExecStart__Output): PreparedExec {
  const { nodeName, start: checked } = resolveExecStart(store, tunnels, start);
  const tunnel = tunnels.get(nodeName);
  return { start: checked, open: (listener) => tunnel.openExec(checked, listener) };
}

function resolveExecStart(store: Store, tunnels: TunnelRegistry, start: ExecStart__Output): { nodeName: string; start: ExecStart } {
  for (const [field, value] of [['namespace', start.namespace], ['pod', start.pod], ['container', start.container]] as const) {
    if (value.length > LIMITS.maxFieldLength) {
      throw new BrambleError('LIMIT_EXCEEDED', `Exec: start.${field} must be no more than ${LIMITS.maxFieldLength} characters: current length is ${value.length}`);
    }
  }
  if (!start.pod) throw new BrambleError('INVALID_ARGUMENT', 'exec needs a pod name: current value is empty');
  checkExecCommand(start.command);
  checkTerminalSize(start.size);
  const namespace = start.namespace || DEFAULT_NAMESPACE;
  const pod = store.get('Pod', namespace, start.pod) as Pod | undefined;
  if (!pod) throw notFoundError('Pod', namespace, start.pod);
  const what = describeObject('Pod', namespace, start.pod);
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Succeeded' || phase === 'Failed') {
    throw new BrambleError('INVALID_ARGUMENT', `cannot exec into a container in a completed pod: ${what} has phase ${phase}`);
  }
  const nodeName = pod.spec.nodeName;
  if (!nodeName) throw new BrambleError('UNAVAILABLE', `${what} is not running: it is not scheduled to a node yet`);
  const names = pod.spec.containers.map((c) => c.name);
  const initNames = (pod.spec.initContainers ?? []).map((c) => c.name);
  const preferred = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  const container = start.container || (preferred && names.includes(preferred) ? preferred : names[0] ?? '');
  // As in Kubernetes, a running init container (a sidecar, or one still at work while
  // the Pod is Pending) can be exec'd into by name; only app containers are chosen by default.
  const init = !names.includes(container);
  if (init && !initNames.includes(container)) {
    const inits = initNames.length > 0 ? `; its init containers are ${initNames.join(', ')}` : '';
    throw new BrambleError('NOT_FOUND', `container ${shown(container)} is not in ${what}: its containers are ${names.join(', ')}${inits}`);
  }
  if (!init && phase !== 'Running') throw new BrambleError('UNAVAILABLE', `${what} is not running: its phase is ${phase}`);
  const statuses = init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
  const state = statuses?.find((c) => c.name === container)?.state;
  if (state && !state.running) {
    const why = state.waiting ? `it is waiting (${state.waiting.reason})` : state.terminated ? `it has terminated (exit code ${state.terminated.exitCode})` : 'its state is unknown';
    throw new BrambleError('UNAVAILABLE', `${init ? 'init container' : 'container'} "${container}" of ${what} is not running: ${why}`);
  }
  if (!pod.metadata.uid) throw new BrambleError('INTERNAL', `${what} has no uid`);
  if (!tunnels.find(nodeName)) {
    throw new BrambleError('NODE_UNREACHABLE', `node "${nodeName}" is not connected: its agent has no tunnel open to the control plane, so ${what} cannot be reached (is the board up?)`);
  }
  return {
    nodeName,
    start: {
      namespace, pod: start.pod, container, command: [...start.command], stdin: start.stdin, tty: start.tty,
      size: start.size ? { columns: start.size.columns, rows: start.size.rows } : null, podUid: pod.metadata.uid,
    },
  };
}

/** The part of a server stream the relay writes to and pauses. */
export interface ExecClientSide {
  write(msg: ExecResponse, callback: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/**
 * One exec's traffic between the client and the board. `done` resolves when the
 * command's exit has been written to the client and rejects when the exec failed.
 */
export class ExecRelay {
  readonly done: Promise<void>;
  private channel: ExecChannel | undefined;
  private stdinInFlight = 0;
  private paused = false;
  private stdinClosed = false;
  private finished = false;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };

  constructor(
    private readonly client: ExecClientSide,
    private readonly start: ExecStart,
    open: (listener: ExecListener) => ExecChannel,
    private readonly windowBytes = EXEC_WINDOW_BYTES,
  ) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.channel = open({
      output: (msg) => this.onOutput(msg),
      stdinAcked: (n) => this.onStdinAcked(n),
      failed: (err) => this.finish(err),
    });
    // Without -i the command's stdin is empty: nothing will be sent.
    if (!start.stdin) this.stdinClosed = true;
  }

  /** A message after the start. A bad one ends the exec with its error. */
  onClientMessage(msg: ExecRequest__Output): void {
    if (this.finished) return;
    if (msg.start) throw new BrambleError('INVALID_ARGUMENT', 'Exec takes one start message: a second one arrived');
    if (msg.stdin !== undefined && msg.request === 'stdin') {
      if (!this.start.stdin) throw new BrambleError('INVALID_ARGUMENT', 'Exec stdin arrived but the start message did not ask for stdin (use -i)');
      if (this.stdinClosed) throw new BrambleError('INVALID_ARGUMENT', 'Exec stdin arrived after its end');
      checkExecChunk(msg.stdin.length);
      if (msg.stdin.length === 0) return;
      this.stdinInFlight += msg.stdin.length;
      this.channel?.send({ stdin: msg.stdin });
      if (this.stdinInFlight > this.windowBytes && !this.paused) {
        this.paused = true;
        this.client.pause();
      }
      return;
    }
    if (msg.stdinEof) {
      this.closeStdin();
      return;
    }
    if (msg.resize) {
      checkTerminalSize(msg.resize);
      // Only a terminal has a size; kubectl sends resizes regardless, so they are dropped, not refused.
      if (this.start.tty) this.channel?.send({ resize: { columns: msg.resize.columns, rows: msg.resize.rows } });
      return;
    }
    throw new BrambleError('INVALID_ARGUMENT', 'an Exec message must be start, stdin, stdin_eof or resize: this one is none of them');
  }

  /** The client half-closed its stream: it sends nothing more, so stdin ends. */
  onClientEnd(): void {
    this.closeStdin();
  }

  /** The client went away or the exec failed here: the board kills the command. */
  cancel(): void {
    this.channel?.cancel();
    this.finish();
  }

  private closeStdin(): void {
    if (this.stdinClosed || this.finished) return;
    this.stdinClosed = true;
    this.channel?.send({ stdinEof: {} });
  }

  private onStdinAcked(n: number): void {
    this.stdinInFlight = Math.max(0, this.stdinInFlight - n);
    if (this.paused && this.stdinInFlight <= this.windowBytes / 2) {
      this.paused = false;
      this.client.resume();
    }
  }

  private onOutput(msg: ExecResponse__Output): void {
    if (this.finished) return;
    if (msg.exit) {
      this.client.write({ exit: { exitCode: msg.exit.exitCode } }, () => undefined);
      this.finish();
      return;
    }
    const data = msg.stdout?.length ? { stdout: msg.stdout } : msg.stderr?.length ? { stderr: msg.stderr } : undefined;
    if (!data) return;
    const n = (data.stdout ?? data.stderr)!.length;
    this.client.write(data, () => this.channel?.ackOutput(n));
  }

  private finish(err?: BrambleError): void {
    if (this.finished) return;
    this.finished = true;
    if (this.paused) this.client.resume();
    if (err) this.settle.reject(err);
    else this.settle.resolve();
  }
}

export interface ExecHandlerDeps {
  /** prepareExec against the server's store and tunnels. */
  prepare(start: ExecStart__Output): PreparedExec;
  authorize(call: CallWithAuth): void;
}

type ExecCall = grpc.ServerDuplexStream<ExecRequest__Output, ExecResponse>;

/** The gRPC handler of Cluster.Exec. */
export function execHandler(ctx: HandlerContext, deps: ExecHandlerDeps): grpc.handleBidiStreamingCall<ExecRequest__Output, ExecResponse> {
  return (call: ExecCall) => {
    const startedAt = performance.now();
    let release: () => void = () => undefined;
    let relay: ExecRelay | undefined;
    let over = false;
    const record = (code: string, err?: BrambleError): void => {
      const seconds = (performance.now() - startedAt) / 1000;
      ctx.metrics?.observeGrpc('Exec', code, seconds);
      if (err && err.code === 'INTERNAL') ctx.logger.error({ method: 'Exec', code, err }, 'grpc call failed');
      else if (err) ctx.logger.info({ method: 'Exec', code, errorCode: err.code }, 'grpc call refused');
      else ctx.logger.debug({ method: 'Exec', code, ms: Math.round(seconds * 1000) }, 'grpc call');
    };
    const fail = (e: unknown): void => {
      if (over) return;
      over = true;
      relay?.cancel();
      release();
      const err = asBrambleError(e, 'Exec');
      record(statusName(err.grpcStatus), err);
      if (!call.cancelled) sendFailure((se) => call.emit('error', se), err, ctx, 'Exec');
    };
    const succeed = (): void => {
      if (over) return;
      over = true;
      release();
      record('OK');
      call.end();
    };
    const gone = (): void => {
      if (over) return;
      over = true;
      relay?.cancel();
      release();
      record('CANCELLED');
    };
    call.on('cancelled', gone);
    call.on('error', gone);
    call.on('close', () => {
      // A client that vanished without a status still must not leave the command running.
      if (!over) gone();
    });
    try {
      deps.authorize(call);
      release = acquireStream(ctx, call, 'Exec');
    } catch (e) {
      fail(e);
      return;
    }
    call.on('data', (msg: ExecRequest__Output) => {
      if (over) return;
      try {
        if (relay) {
          relay.onClientMessage(msg);
          return;
        }
        if (!msg.start) throw new BrambleError('INVALID_ARGUMENT', 'the first Exec message must be start: it names the pod and the command');
        const prepared = deps.prepare(msg.start);
        relay = new ExecRelay(call, prepared.start, prepared.open);
        relay.done.then(succeed, fail);
      } catch (e) {
        fail(e);
      }
    });
    call.on('end', () => {
      if (over) return;
      if (relay) relay.onClientEnd();
      else fail(new BrambleError('INVALID_ARGUMENT', 'the first Exec message must be start: the stream ended without one'));
    });
  };
}
