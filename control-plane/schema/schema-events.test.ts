import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from './schema.js';
import { expectProblem, expectValid, set } from '../testing/schema-fixtures.js';

type Obj = Record<string, unknown>;

function event(): Obj {
  return {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'web-abc.1a2b', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-abc', uid: 'u1', apiVersion: 'v1' },
    reason: 'FailedScheduling', message: '0/0 nodes are available', type: 'Warning', count: 3,
    firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T00:05:00Z',
    source: { component: 'default-scheduler' }, reportingComponent: 'default-scheduler',
  };
}

describe('Event schema', () => {
  test('an Event as the recorder writes it is valid, and kept as it is', () => {
    expectValid(event());
    assert.equal((validateObject(event()) as Obj)['count'], 3);
  });

  test('the type must be Normal or Warning', () => {
    expectProblem(set(event(), 'type', 'Info'), 'type', 'Normal');
  });

  test('the reason is a CamelCase word of at most 128 characters', () => {
    expectProblem(set(event(), 'reason', 'failed scheduling'), 'reason', 'CamelCase');
    expectProblem(set(event(), 'reason', 'A'.repeat(129)), 'reason', 'no more than 128');
  });

  test('the message is at most 1024 characters', () => {
    expectProblem(set(event(), 'message', 'x'.repeat(1025)), 'message', '1024');
  });

  test('an unknown field is refused, at the top and inside involvedObject', () => {
    expectProblem(set(event(), 'severity', 'high'), 'severity', '');
    expectProblem(set(event(), 'involvedObject.colour', 'red'), 'involvedObject.colour', '');
  });

  test('the involved object needs a kind and a name', () => {
    expectProblem(set(event(), 'involvedObject.name', undefined), 'involvedObject.name', '');
  });

  test("the involved object is in the Event's namespace", () => {
    expectProblem(set(event(), 'involvedObject.namespace', 'prod'), 'involvedObject.namespace', 'must be the Event\'s namespace "default"');
  });

  test('the count is a positive integer and the last time is not before the first', () => {
    expectProblem(set(event(), 'count', 0), 'count', '');
    expectProblem(set(event(), 'lastTimestamp', '2025-12-31T00:00:00Z'), 'lastTimestamp', 'must not be before firstTimestamp');
  });
});
