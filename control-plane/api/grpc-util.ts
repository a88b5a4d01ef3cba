// Wrappers for gRPC handlers: BrambleErrors become gRPC statuses with the stable
// code in metadata, every call is timed and counted, and one log line names the
// method and the outcome. Payloads never reach the log (they may hold Secrets).
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { BrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { Metrics } from '../http/metrics.js';
import type { StreamLimiter } from './stream-limiter.js';
import { checkRequestFields } from './request-limits.js';

export interface HandlerContext {
  logger: Logger;
  metrics?: Metrics;
  /** Bounds the streams one client holds open; the key names the client. */
  streams?: { limiter: StreamLimiter; clientOf(call: StreamCall): string };
}

export type StreamCall = { getPeer(): string; getAuthContext: grpc.ServerUnaryCall<unknown, unknown>['getAuthContext'] };

/** Counts a stream against its client's budget (throws RATE_LIMITED when full); release when it is over. */
export function acquireStream(ctx: HandlerContext, call: StreamCall & { once(event: string, fn: () => void): unknown }, method: string): () => void {
  if (!ctx.streams) return () => undefined;
  const release = ctx.streams.limiter.acquire(ctx.streams.clientOf(call), method);
  // Whichever way the stream ends; release is idempotent.
  call.once('cancelled', release);
  call.once('close', release);
  call.once('finish', release);
  return release;
}

/** Any thrown value as a BrambleError; unexpected errors become INTERNAL. */
export function asBrambleError(e: unknown, method: string): BrambleError {
  if (e instanceof BrambleError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new BrambleError('INTERNAL', `${method} failed unexpectedly: ${message}`);
}

export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}

function finish(ctx: HandlerContext, method: string, started: number, err?: BrambleError, cause?: unknown): void {
  const seconds = (performance.now() - started) / 1000;
  const code = err ? statusName(err.grpcStatus) : 'OK';
  ctx.metrics?.observeGrpc(method, code, seconds);
  const line = { method, code, ms: Math.round(seconds * 1000) };
  if (!err) ctx.logger.debug(line, 'grpc call');
  else if (err.code === 'INTERNAL') ctx.logger.error({ ...line, err: cause }, 'grpc call failed');
  else ctx.logger.info({ ...line, errorCode: err.code }, 'grpc call refused');
}

/** Runs a handler now; one that throws synchronously is answered like one that rejects. */
function invoke<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Sends a failure. grpc-js may throw while it writes the trailers (it did for
 * non-ASCII metadata); a throw here would escape into a promise callback and
 * take the process down, so the fallback is a plain INTERNAL status.
 */
export function sendFailure(send: (e: grpc.ServiceError | ReturnType<BrambleError['toServiceError']>) => void, err: BrambleError, ctx: HandlerContext, method: string): void {
  try {
    send(err.toServiceError());
  } catch (e) {
    ctx.logger.error({ method, err: e }, 'grpc error could not be sent; sending INTERNAL instead');
    try {
      send(new BrambleError('INTERNAL', `${method} failed and its error could not be sent`).toServiceError());
    } catch {
      // The call is gone (cancelled or already answered): nothing left to tell the client.
    }
  }
}

/** Times and logs one call that answers once, and turns its failure into a gRPC status. Durations use the monotonic clock: they measure, not decide. */
function answer<Res>(ctx: HandlerContext, method: string, result: Promise<Res>, callback: grpc.sendUnaryData<Res>): void {
  const started = performance.now();
  result.then(
    (res) => {
      finish(ctx, method, started);
      callback(null, res);
    },
    (e: unknown) => {
      const err = asBrambleError(e, method);
      finish(ctx, method, started, err, e);
      sendFailure((se) => callback(se as grpc.ServiceError), err, ctx, method);
    },
  );
}

export function unary<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) =>
    answer(ctx, method, invoke(() => {
      checkRequestFields(method, call.request);
      return fn(call.request, call);
    }), callback);
}

/**
 * A server-streaming handler. `fn` writes to the call and resolves when the
 * stream is over (ended by it, or cancelled by the client); a rejection ends
 * the stream with that error.
 */
export function serverStream<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (call: grpc.ServerWritableStream<Req, Res>) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const started = performance.now();
    let release: () => void = () => undefined;
    invoke(() => {
      checkRequestFields(method, call.request);
      release = acquireStream(ctx, call, method);
      return fn(call);
    }).finally(() => release()).then(
      () => {
        if (call.cancelled) {
          ctx.metrics?.observeGrpc(method, 'CANCELLED', (performance.now() - started) / 1000);
          ctx.logger.debug({ method, code: 'CANCELLED' }, 'grpc stream ended by the client');
          return;
        }
        finish(ctx, method, started);
        call.end();
      },
      (e: unknown) => {
        const err = asBrambleError(e, method);
        finish(ctx, method, started, err, e);
        if (!call.cancelled) sendFailure((se) => call.emit('error', se), err, ctx, method);
      },
    );
  };
}

/** A client-streaming handler from an async function of the incoming stream. */
export function clientStream<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (call: grpc.ServerReadableStream<Req, Res>) => Promise<Res>,
): grpc.handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    let release: () => void = () => undefined;
    const result = invoke(() => {
      release = acquireStream(ctx, call, method);
      return fn(call);
    });
    answer(ctx, method, result.finally(() => release()), callback);
  };
}
