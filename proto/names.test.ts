import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBrambleError } from './util/errors.js';
import { nodeNameRule, parseHostPort, splitHostPort } from './names.js';

test('an address is host:port, [v6]:port or :port, with a port from 0 to 65535', () => {
  assert.deepEqual(parseHostPort('192.168.1.10:7443'), { host: '192.168.1.10', port: 7443 });
  assert.deepEqual(parseHostPort('[::1]:7443'), { host: '::1', port: 7443 });
  assert.deepEqual(parseHostPort(':7080'), { host: '0.0.0.0', port: 7080 });
  assert.deepEqual(parseHostPort('pi-1.local:0'), { host: 'pi-1.local', port: 0 });
  for (const bad of ['pi-1', 'pi-1:', 'pi-1:70000', '::1:7443', 'pi 1:7443', '[::1:7443', 'pi:12345678', '']) {
    assert.equal(parseHostPort(bad), undefined, bad);
  }
});

test('an address to dial needs a real port, and the error names what the address is for', () => {
  assert.throws(() => splitHostPort('pi-1:0', '--server', { dial: true }), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /^--server port must be 1-65535: current value is "pi-1:0"$/.test(e.message));
  assert.throws(() => splitHostPort('pi-1', 'the gRPC address'), (e) => isBrambleError(e, 'INVALID_ARGUMENT') && /^the gRPC address must be host:port/.test(e.message));
  assert.deepEqual(splitHostPort('0.0.0.0:0', 'the gRPC address'), { host: '0.0.0.0', port: 0 });
});

test('a node name is a DNS subdomain of at most 63 characters, because it is also the hostname label', () => {
  assert.equal(nodeNameRule('pi-4.attic'), undefined);
  assert.match(nodeNameRule('a'.repeat(64))!, /no more than 63 characters/);
  assert.match(nodeNameRule('Pi_4')!, /RFC 1123 subdomain/);
});
