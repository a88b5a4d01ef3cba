import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KINDS, type EventObject, type KObject } from '../../proto/model.js';
import { UsageError } from './cli-errors.js';
import { describeEvents, eventsAbout, matchesFields, parseFieldSelector, sortEvents } from './cli-events.js';
import { printObjects } from './cli-print.js';

const NOW = Date.parse('2026-01-01T01:00:00Z');

function ev(name: string, o: Partial<EventObject> & { at: string }): EventObject {
  return {
    apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-abc', uid: 'u1' },
    reason: 'FailedScheduling', message: '0/0 nodes are available', type: 'Warning', count: 1,
    firstTimestamp: o.at, lastTimestamp: o.at, source: { component: 'default-scheduler' }, ...o,
  };
}

describe('parseFieldSelector', () => {
  test('reads terms joined by commas, with =, == and !=', () => {
    assert.deepEqual(parseFieldSelector('involvedObject.name=web, involvedObject.kind==Pod,type!=Normal', 'Event'), [
      { field: 'involvedObject.name', op: '=', value: 'web' },
      { field: 'involvedObject.kind', op: '=', value: 'Pod' },
      { field: 'type', op: '!=', value: 'Normal' },
    ]);
  });

  test('an unknown field is a usage error listing the fields of the kind', () => {
    assert.throws(() => parseFieldSelector('involvedObject.colour=red', 'Event'), (e: unknown) =>
      e instanceof UsageError && /"involvedObject.colour" is not a field of Event .*involvedObject.name/.test(e.message));
    assert.throws(() => parseFieldSelector('reason=Started', 'Pod'), /"reason" is not a field of Pod .*metadata.name, metadata.namespace/);
  });

  test('a term without an operator is a usage error naming it', () => {
    assert.throws(() => parseFieldSelector('type', 'Event'), /current value has "type"/);
  });

  test('matches on nested fields, and source on the component', () => {
    const e = ev('a', { at: '2026-01-01T00:00:00Z' });
    assert.ok(matchesFields(e, parseFieldSelector('involvedObject.name=web-abc,type=Warning,source=default-scheduler', 'Event')));
    assert.ok(!matchesFields(e, parseFieldSelector('reason!=FailedScheduling', 'Event')));
    assert.ok(matchesFields(e, parseFieldSelector('involvedObject.fieldPath=', 'Event')), 'an absent field is the empty string');
  });
});

describe('event printing', () => {
  test('get events shows LAST SEEN TYPE REASON OBJECT MESSAGE, oldest first', () => {
    const events = sortEvents([
      ev('b', { at: '2026-01-01T00:59:00Z', reason: 'Scheduled', type: 'Normal', message: 'Successfully assigned default/web-abc to pi-1' }),
      ev('a', { at: '2026-01-01T00:50:00Z' }),
    ]);
    const kind = KINDS.find((k) => k.kind === 'Event')!;
    const out = printObjects({ kind, objects: events, output: 'table', allNamespaces: false, namespace: 'default', single: false, now: NOW }).stdout;
    assert.equal(out, [
      'LAST SEEN   TYPE      REASON             OBJECT        MESSAGE',
      '10m         Warning   FailedScheduling   pod/web-abc   0/0 nodes are available',
      '60s         Normal    Scheduled          pod/web-abc   Successfully assigned default/web-abc to pi-1',
      '',
    ].join('\n'));
  });

  test('describe ends with the events about the object, a repeat shown with its count', () => {
    const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-abc', namespace: 'default', uid: 'u1' } };
    const events = [
      ev('a', { at: '2026-01-01T00:58:00Z', count: 3, firstTimestamp: '2026-01-01T00:50:00Z' }),
      ev('other', { at: '2026-01-01T00:58:00Z', involvedObject: { kind: 'Pod', name: 'web-xyz' } }),
      ev('older-namesake', { at: '2026-01-01T00:58:00Z', involvedObject: { kind: 'Pod', name: 'web-abc', uid: 'u0' } }),
    ];
    assert.equal(describeEvents(eventsAbout(pod, events), NOW), [
      'Events:',
      '  Type     Reason            Age               From               Message',
      '  ----     ------            ----              ----               -------',
      '  Warning  FailedScheduling  2m (x3 over 10m)  default-scheduler  0/0 nodes are available',
      '',
    ].join('\n'));
  });

  test('describe says <none> when there are no events', () => {
    assert.equal(describeEvents([], NOW), 'Events:  <none>\n');
  });
});
