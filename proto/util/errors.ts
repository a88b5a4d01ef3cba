// One table of stable error codes, shared by the control plane, the agent and the CLI.
// The code travels in gRPC trailing metadata ("bramble-error-code", and with the
// message and field problems in "bramble-error-bin"), the gRPC status tells
// clients how to react, and the message names the rule and the value.
import { status as GrpcStatus, Metadata } from '@grpc/grpc-js';

export const ERROR_CODES = {
  VALIDATION_FAILED: GrpcStatus.INVALID_ARGUMENT,
  MANIFEST_PARSE_FAILED: GrpcStatus.INVALID_ARGUMENT,
  UNKNOWN_KIND: GrpcStatus.INVALID_ARGUMENT,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  CONFLICT: GrpcStatus.ABORTED,
  STORE_REVISION_TOO_OLD: GrpcStatus.OUT_OF_RANGE,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  FORBIDDEN: GrpcStatus.PERMISSION_DENIED,
  TOKEN_INVALID: GrpcStatus.UNAUTHENTICATED,
  CA_MISMATCH: GrpcStatus.UNAUTHENTICATED,
  NODE_NAME_TAKEN: GrpcStatus.ALREADY_EXISTS,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  NODE_UNREACHABLE: GrpcStatus.UNAVAILABLE,
  /** A request (or manifest) is over one of the limits in proto/limits.ts. */
  LIMIT_EXCEEDED: GrpcStatus.RESOURCE_EXHAUSTED,
  /** Too many attempts from one source (failed joins) or too many open streams. */
  RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
  /** The store cannot be read or written (corrupt files, a disk that refuses writes). */
  STORE_FAILED: GrpcStatus.UNAVAILABLE,
  /**
   * This member does not lead (or knows no leader yet) and did not propose the write:
   * sending it to the leader, or again after the election, is safe.
   */
  NOT_LEADER: GrpcStatus.UNAVAILABLE,
  /** The request is well formed but this server is in no state to do it (a membership change on a standalone server). */
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  RUNTIME_FAILED: GrpcStatus.INTERNAL,
  INTERNAL: GrpcStatus.INTERNAL,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The code alone, in ASCII metadata: it is always a key of ERROR_CODES, so always printable. */
export const ERROR_CODE_METADATA_KEY = 'bramble-error-code';
/**
 * The whole error (code, message, field problems) as UTF-8 JSON in binary
 * metadata. ASCII metadata allows only printable ASCII and grpc-js throws while
 * sending anything else, so a rejected "café" once took the server down; `-bin`
 * values are base64 on the wire and carry any character.
 */
export const ERROR_BIN_METADATA_KEY = 'bramble-error-bin';

/** Longest message sent in the status line; the full text travels in the binary metadata. */
const MAX_STATUS_MESSAGE = 1000;
/** Longest message kept in the binary metadata: trailers must stay well under HTTP/2 header limits. */
const MAX_WIRE_MESSAGE = 4000;
const MAX_WIRE_PROBLEM_TEXT = 500;
/** Field problems sent with one error; the rest are counted in a last problem. */
export const MAX_WIRE_PROBLEMS = 100;

/** The field of a NOT_LEADER error whose message is the leader's HOST:PORT: agents go there next. */
export const LEADER_ADDRESS_FIELD = 'leader';

/** One problem with one field of one object: `path` like "spec.replicas". */
export interface FieldProblem {
  path: string;
  message: string;
  /** Which document of a multi-document request, when there are several. */
  document?: number;
}

export class BrambleError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'BrambleError';
  }

  get grpcStatus(): GrpcStatus {
    return ERROR_CODES[this.code];
  }

  /**
   * The shape grpc-js expects as a callback error or `call.emit('error', ...)`.
   * Never throws, whatever characters the message and problems hold: the
   * status line is made well-formed (grpc-js percent-encodes it with encodeURI,
   * which throws on a lone surrogate) and the full error goes in binary metadata.
   */
  toServiceError(): { code: GrpcStatus; details: string; metadata: Metadata } {
    const metadata = new Metadata();
    metadata.set(ERROR_CODE_METADATA_KEY, this.code);
    metadata.set(ERROR_BIN_METADATA_KEY, Buffer.from(JSON.stringify(wireError(this)), 'utf8'));
    return { code: this.grpcStatus, details: clip(wellFormed(this.message), MAX_STATUS_MESSAGE), metadata };
  }
}

/** A string that encodeURI and UTF-8 encoders accept: lone surrogates become U+FFFD. */
export function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATE_ALL, '\uFFFD') : s;
}

/** A UTF-16 surrogate without its pair: in a `u` regex a pair is one code point, so only lone ones are \p{Cs}. */
export const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_ALL = /\p{Cs}/gu;

function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  // Never cut a surrogate pair in two.
  return `${wellFormed(s.slice(0, max))}... (${s.length - max} more characters)`;
}

interface WireError {
  code: ErrorCode;
  message: string;
  details: FieldProblem[];
}

/** What travels in ERROR_BIN_METADATA_KEY: bounded, so a thousand bad objects cannot overflow the trailers. */
function wireError(e: BrambleError): WireError {
  const details = e.details.slice(0, MAX_WIRE_PROBLEMS).map((p) => {
    const out: FieldProblem = { path: clip(wellFormed(p.path), MAX_WIRE_PROBLEM_TEXT), message: clip(wellFormed(p.message), MAX_WIRE_PROBLEM_TEXT) };
    if (p.document !== undefined) out.document = p.document;
    return out;
  });
  const more = e.details.length - details.length;
  if (more > 0) details.push({ path: '', message: `and ${more} more problem${more === 1 ? '' : 's'}` });
  return { code: e.code, message: clip(wellFormed(e.message), MAX_WIRE_MESSAGE), details };
}

function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, v);
}

/** Reads ERROR_BIN_METADATA_KEY defensively: a peer may send anything. */
function readWireError(value: unknown): WireError | undefined {
  if (!Buffer.isBuffer(value)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const w = parsed as Record<string, unknown>;
  if (!isErrorCode(w['code']) || typeof w['message'] !== 'string') return undefined;
  const details: FieldProblem[] = [];
  for (const d of Array.isArray(w['details']) ? w['details'] : []) {
    if (typeof d !== 'object' || d === null) continue;
    const r = d as Record<string, unknown>;
    if (typeof r['path'] !== 'string' || typeof r['message'] !== 'string') continue;
    const p: FieldProblem = { path: r['path'], message: r['message'] };
    if (typeof r['document'] === 'number' && Number.isInteger(r['document'])) p.document = r['document'];
    details.push(p);
  }
  return { code: w['code'], message: w['message'], details };
}

/** Whether a gRPC error came from a Bramble handler (rather than from the transport). */
export function hasBrambleCode(e: unknown): boolean {
  const md = (e as { metadata?: unknown } | null)?.metadata;
  return md instanceof Metadata && md.get(ERROR_CODE_METADATA_KEY).length > 0;
}

/**
 * A mistake in how a command was called (a flag, an argument): the CLI prints
 * it like commander's own usage errors and exits 2. Here, not in the CLI,
 * because the agent's entry point checks its own flags.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isBrambleError(e: unknown, code?: ErrorCode): e is BrambleError {
  return e instanceof BrambleError && (code === undefined || e.code === code);
}

/** Rebuilds a BrambleError from a gRPC error received by a client. */
export function fromServiceError(e: unknown): BrambleError {
  if (e instanceof BrambleError) return e;
  const err = (e ?? {}) as { code?: number; details?: string; message?: string; metadata?: Metadata };
  const metadata = err.metadata instanceof Metadata ? err.metadata : undefined;
  const wire = readWireError(metadata?.get(ERROR_BIN_METADATA_KEY)[0]);
  if (wire) return new BrambleError(wire.code, wire.message, wire.details);
  const codeValue = metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  if (isErrorCode(codeValue)) return new BrambleError(codeValue, err.details || err.message || 'error');
  const byStatus: Partial<Record<number, ErrorCode>> = {
    [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
    [GrpcStatus.PERMISSION_DENIED]: 'FORBIDDEN',
    [GrpcStatus.UNAVAILABLE]: 'UNAVAILABLE',
    [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
    [GrpcStatus.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
    // grpc-js itself refuses messages over grpc.max_receive_message_length with this status.
    [GrpcStatus.RESOURCE_EXHAUSTED]: 'LIMIT_EXCEEDED',
  };
  const code = (err.code !== undefined && byStatus[err.code]) || 'INTERNAL';
  return new BrambleError(code, err.details || err.message || String(e));
}
