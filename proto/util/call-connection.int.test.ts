// Against real grpc-js: the shape connectionOf reads must be where this grpc-js keeps it,
// or every per-connection memo quietly works per call again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { connectionOf } from './call-connection.js';

const identity = (b: Buffer): Buffer => b;
const service = {
  Echo: { path: '/bramble.test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
} satisfies grpc.ServiceDefinition;

test('calls on one grpc-js connection share a connection object, and another client\'s connection is another', async () => {
  const seen: Array<object | undefined> = [];
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => { seen.push(connectionOf(call)); cb(null, Buffer.alloc(0)); },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const one = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const two = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const echo = (c: grpc.Client): Promise<void> => new Promise((resolve, reject) => {
    (c as unknown as { Echo(req: Buffer, cb: (e: Error | null) => void): void }).Echo(Buffer.alloc(0), (e) => (e ? reject(e) : resolve()));
  });
  try {
    await echo(one);
    await echo(one);
    await echo(two);
    assert.equal(seen.length, 3);
    assert.ok(seen[0] && typeof seen[0] === 'object', 'the connection is found on a real call');
    assert.equal(seen[1], seen[0], 'the same connection for two calls of one client');
    assert.notEqual(seen[2], seen[0], 'another client connects on its own');
  } finally {
    one.close();
    two.close();
    server.forceShutdown();
  }
});
