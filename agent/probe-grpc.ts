// gRPC probes: the standard health protocol (grpc.health.v1.Health/Check) over
// plaintext HTTP/2 to the Pod, as the kubelet does. The two messages have one
// field each, so they are encoded here by hand rather than loading a .proto.
import * as grpc from '@grpc/grpc-js';

export const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by wire number. */
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

export interface GrpcProbeRequest {
  host: string;
  port: number;
  /** Empty: the server's overall health. */
  service: string;
  timeoutMs: number;
}

/** HealthCheckRequest { string service = 1; } */
export function encodeHealthCheckRequest(service: string): Buffer {
  const bytes = Buffer.from(service, 'utf8');
  if (bytes.length === 0) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: the status name, UNKNOWN when absent. */
export function decodeHealthCheckResponse(buf: Buffer): string {
  let status = 0;
  let i = 0;
  while (i < buf.length) {
    const [key, next] = readVarint(buf, i);
    i = next;
    const wire = key & 7;
    if (wire === 0) {
      const [v, after] = readVarint(buf, i);
      i = after;
      if (key >>> 3 === 1) status = v;
    } else if (wire === 2) {
      const [len, after] = readVarint(buf, i);
      i = after + len;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else throw new Error(`health check answer is not a HealthCheckResponse: wire type ${wire}`);
  }
  return SERVING_STATUS[status] ?? `UNKNOWN(${status})`;
}

/** Asks the server once; resolves with the serving status, rejects when the call fails. */
export function grpcHealthCheck(req: GrpcProbeRequest): Promise<{ status: string }> {
  const host = req.host.includes(':') ? `[${req.host}]` : req.host;
  const client = new grpc.Client(`${host}:${req.port}`, grpc.credentials.createInsecure());
  return new Promise<{ status: string }>((resolve, reject) => {
    client.makeUnaryRequest(
      HEALTH_CHECK_METHOD,
      (service: string) => encodeHealthCheckRequest(service),
      (buf: Buffer) => decodeHealthCheckResponse(buf),
      req.service,
      new grpc.Metadata(),
      // gRPC deadlines are wall-clock instants; the probe's own timeout runs on the injected clock.
      { deadline: Date.now() + req.timeoutMs },
      (err, status) => {
        if (err) reject(new Error(`gRPC health check failed: ${err.details || err.message}`));
        else resolve({ status: status ?? 'UNKNOWN' });
      },
    );
  }).finally(() => client.close());
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function readVarint(buf: Buffer, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (let i = at; i < buf.length && shift < 35; i++) {
    const b = buf[i]!;
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v >>> 0, i + 1];
    shift += 7;
  }
  throw new Error('health check answer is not a HealthCheckResponse: truncated varint');
}
