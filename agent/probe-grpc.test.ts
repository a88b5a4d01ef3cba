import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHealthCheckResponse, encodeHealthCheckRequest } from './probe-grpc.js';

describe('gRPC health messages', () => {
  test('a request carries the service name as field 1, and nothing for the whole server', () => {
    assert.deepEqual([...encodeHealthCheckRequest('a.B')], [0x0a, 3, 0x61, 0x2e, 0x42]);
    assert.equal(encodeHealthCheckRequest('').length, 0);
  });

  test('a response decodes to its serving status name, UNKNOWN when empty', () => {
    assert.equal(decodeHealthCheckResponse(Buffer.from([0x08, 1])), 'SERVING');
    assert.equal(decodeHealthCheckResponse(Buffer.from([0x08, 2])), 'NOT_SERVING');
    assert.equal(decodeHealthCheckResponse(Buffer.alloc(0)), 'UNKNOWN');
    // Unknown fields are skipped, as protobuf readers do.
    assert.equal(decodeHealthCheckResponse(Buffer.from([0x12, 1, 0x41, 0x08, 1])), 'SERVING');
  });

  test('a truncated answer is refused', () => {
    assert.throws(() => decodeHealthCheckResponse(Buffer.from([0x08, 0x80])), /truncated varint/);
  });
});
