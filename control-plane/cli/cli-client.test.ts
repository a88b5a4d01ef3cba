import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { BrambleError } from '../../proto/util/errors.js';
import { channelOptions, mapCallError, type CallFailureContext } from './cli-client.js';

const CTX: CallFailureContext = { address: '127.0.0.1:7443', configPath: '/etc/bramble/admin.conf', deadlineMs: 15_000, connected: false };

function grpcError(code: grpc.status, details: string, metadata = new grpc.Metadata()): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

describe('mapCallError', () => {
  test('a refused connection names the address and suggests starting the server', () => {
    const e = mapCallError(
      grpcError(grpc.status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7443. Resolution note: '),
      CTX,
    );
    assert.equal(e.code, 'UNAVAILABLE');
    assert.equal(e.message, 'cannot reach the Bramble server at 127.0.0.1:7443 (connection refused): is `bramble server` running?');
  });

  test('UNAUTHENTICATED names the config file whose credentials were refused', () => {
    const e = mapCallError(grpcError(grpc.status.UNAUTHENTICATED, 'no client certificate'), CTX);
    assert.equal(e.code, 'UNAUTHENTICATED');
    assert.match(e.message, /^the server refused the credentials in \/etc\/bramble\/admin\.conf/);
  });

  test('a server certificate from another CA is reported as such, not as unreachable', () => {
    const e = mapCallError(grpcError(grpc.status.UNAVAILABLE, 'No connection established. Last error: self-signed certificate in certificate chain'), CTX);
    assert.equal(e.code, 'CA_MISMATCH');
    assert.match(e.message, /CA in \/etc\/bramble\/admin\.conf did not sign/);
  });

  test('a deadline before any connection is "cannot reach", after one it is "did not answer"', () => {
    const before = mapCallError(grpcError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'), CTX);
    assert.match(before.message, /cannot reach the Bramble server at 127\.0\.0\.1:7443 \(no connection within 15s\)/);
    const afterConnect = mapCallError(grpcError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'), { ...CTX, connected: true });
    assert.equal(afterConnect.message, 'the Bramble server at 127.0.0.1:7443 did not answer within 15s');
  });

  test('errors the server raised keep their stable code and field problems', () => {
    const sent = new BrambleError('VALIDATION_FAILED', 'invalid', [{ path: 'spec.replicas', message: 'must be an integer', document: 0 }]);
    const wire = sent.toServiceError();
    const e = mapCallError(grpcError(wire.code, wire.details, wire.metadata), CTX);
    assert.equal(e.code, 'VALIDATION_FAILED');
    assert.deepEqual(e.details, sent.details);
  });
});

describe('channelOptions', () => {
  test('an IP address gets a TLS server name override, a host name does not', () => {
    assert.equal(channelOptions('127.0.0.1:7443')['grpc.ssl_target_name_override'], 'bramble');
    assert.equal(channelOptions('[::1]:7443')['grpc.ssl_target_name_override'], 'bramble');
    assert.equal(channelOptions('pi-1.local:7443')['grpc.ssl_target_name_override'], undefined);
  });
});
