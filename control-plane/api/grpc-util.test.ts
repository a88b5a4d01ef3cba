import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { BrambleError, fromServiceError, wellFormed } from '../../proto/util/errors.js';
import { loadProto } from '../../proto/load.js';
import { silentLogger } from '../../proto/util/log.js';
import { unary } from './grpc-util.js';

test('a handler refusing a non-ASCII value answers over a real gRPC connection and the client reads the value as written', async (t) => {
  const server = new grpc.Server();
  const { Cluster } = loadProto().bramble.v1;
  const message = 'label "café crème 😀 \ud800" is not valid';
  const details = [{ path: 'metadata.labels["ключ"]', message: 'must be "ascii": current value is "café crème"', document: 2 }];
  server.addService(Cluster.service, {
    Version: unary({ logger: silentLogger() }, 'Version', async () => {
      throw new BrambleError('VALIDATION_FAILED', message, details);
    }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  const client = new Cluster(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
    client.Version({}, { deadline: Date.now() + 5000 }, (e) => (e ? resolve(e) : reject(new Error('the call succeeded')))),
  );
  const back = fromServiceError(err);
  assert.equal(back.code, 'VALIDATION_FAILED');
  assert.equal(back.message, wellFormed(message));
  assert.deepEqual(back.details, details);
  // Clients that only read the status line still get readable text.
  assert.match(err.details, /café crème 😀/);
});
