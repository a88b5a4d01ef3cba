// One table of stable error codes, shared by the control plane, the agent and the CLI.
// The code travels in gRPC trailing metadata ("bramble-error-code"), the gRPC status
// tells clients how to react, and the message names the rule and the value.
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
  RUNTIME_FAILED: GrpcStatus.INTERNAL,
  INTERNAL: GrpcStatus.INTERNAL,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_METADATA_KEY = 'bramble-error-code';
/** Validation problems travel as JSON in this metadata key so the CLI can print each one. */
export const ERROR_DETAILS_METADATA_KEY = 'bramble-error-details';

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

  /** The shape grpc-js expects as a callback error or `call.emit('error', ...)`. */
  toServiceError(): { code: GrpcStatus; details: string; metadata: Metadata } {
    const metadata = new Metadata();
    metadata.set(ERROR_CODE_METADATA_KEY, this.code);
    if (this.details.length > 0) metadata.set(ERROR_DETAILS_METADATA_KEY, JSON.stringify(this.details));
    return { code: this.grpcStatus, details: this.message, metadata };
  }
}

export function isBrambleError(e: unknown, code?: ErrorCode): e is BrambleError {
  return e instanceof BrambleError && (code === undefined || e.code === code);
}

/** Rebuilds a BrambleError from a gRPC error received by a client. */
export function fromServiceError(e: unknown): BrambleError {
  if (e instanceof BrambleError) return e;
  const err = e as { code?: number; details?: string; message?: string; metadata?: Metadata };
  const codeValue = err.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  const detailsValue = err.metadata?.get(ERROR_DETAILS_METADATA_KEY)[0];
  let details: FieldProblem[] = [];
  if (typeof detailsValue === 'string') {
    try { details = JSON.parse(detailsValue) as FieldProblem[]; } catch { details = []; }
  }
  if (typeof codeValue === 'string' && codeValue in ERROR_CODES) {
    return new BrambleError(codeValue as ErrorCode, err.details ?? err.message ?? 'error', details);
  }
  const byStatus: Partial<Record<number, ErrorCode>> = {
    [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
    [GrpcStatus.PERMISSION_DENIED]: 'FORBIDDEN',
    [GrpcStatus.UNAVAILABLE]: 'UNAVAILABLE',
    [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
    [GrpcStatus.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  };
  const code = (err.code !== undefined && byStatus[err.code]) || 'INTERNAL';
  return new BrambleError(code, err.details || err.message || String(e));
}
