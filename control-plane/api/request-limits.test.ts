import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import { checkRequestFields } from './request-limits.js';

const limited = (path: string) => (e: unknown) => isBrambleError(e, 'LIMIT_EXCEEDED') && e.details[0]?.path === path;

test('a name-like field over the limit is refused naming the field, nested ones and map keys too', () => {
  const long = 'x'.repeat(LIMITS.maxFieldLength + 1);
  checkRequestFields('Get', { kind: 'pod', namespace: 'default', name: 'x'.repeat(LIMITS.maxFieldLength) });
  assert.throws(() => checkRequestFields('Get', { kind: 'pod', name: long }), limited('name'));
  assert.throws(() => checkRequestFields('Heartbeat', { info: { osImage: long } }), limited('info.osImage'));
  assert.throws(() => checkRequestFields('Heartbeat', { addresses: [{ type: 'InternalIP', address: long }] }), limited('addresses[0].address'));
  assert.throws(() => checkRequestFields('Heartbeat', { labels: { [long]: 'v' } }), limited('labels'));
});

test('document fields are left to their parsers, except that a CSR is bounded here', () => {
  checkRequestFields('Apply', { objects: ['x'.repeat(100_000)], dryRun: false });
  checkRequestFields('UpdatePodStatus', { status: 'x'.repeat(100_000) });
  checkRequestFields('ImportImage', { node: 'pi', data: Buffer.alloc(1_000_000) });
  checkRequestFields('Apply', { objects: Array(LIMITS.maxObjectsPerApply + 1).fill('x'.repeat(LIMITS.maxFieldLength + 1)) });
  assert.throws(() => checkRequestFields('Join', { csrPem: 'x'.repeat(20_000) }), limited('csrPem'));
});
