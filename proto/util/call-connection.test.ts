import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionOf, perConnection } from './call-connection.js';

// The shapes grpc-js 1.x gives a handler: ServerUnaryCall.call is the intercepting call,
// whose nextCall chain ends at the base call holding the HTTP/2 stream.
const sessionA = { id: 'a' };
const sessionB = { id: 'b' };
const direct = (session: object) => ({ call: { stream: { session } } });
const intercepted = (session: object) => ({ call: { nextCall: { nextCall: { stream: { session } } } } });

test('a call\'s connection is its HTTP/2 session, found through any interceptors', () => {
  assert.equal(connectionOf(direct(sessionA)), sessionA);
  assert.equal(connectionOf(intercepted(sessionB)), sessionB);
});

test('a call without that shape has no connection to key by', () => {
  for (const call of [undefined, null, {}, { call: {} }, { call: { stream: {} } }, { call: 'x' }, { call: { stream: { session: 'not an object' } } }]) {
    assert.equal(connectionOf(call), undefined, JSON.stringify(call));
  }
});

test('a per-connection value is worked out once per connection, and on every call without one', () => {
  const computed: string[] = [];
  const of = perConnection((call: { label: string }) => {
    computed.push(call.label);
    return call.label;
  });
  assert.equal(of({ ...direct(sessionA), label: 'first on a' }), 'first on a');
  assert.equal(of({ ...intercepted(sessionA), label: 'second on a' }), 'first on a', 'the same connection keeps its value');
  assert.equal(of({ ...direct(sessionB), label: 'first on b' }), 'first on b');
  assert.equal(of({ label: 'fake 1' }), 'fake 1');
  assert.equal(of({ label: 'fake 2' }), 'fake 2');
  assert.deepEqual(computed, ['first on a', 'first on b', 'fake 1', 'fake 2']);
});

test('a per-connection value of undefined is remembered too', () => {
  let calls = 0;
  const of = perConnection(() => { calls++; return undefined; });
  of(direct(sessionA));
  of(direct(sessionA));
  assert.equal(calls, 1);
});
