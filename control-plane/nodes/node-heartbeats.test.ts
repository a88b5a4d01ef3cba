// The leader's memory of heartbeats: port conflicts and who is told when they change.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { NodeHeartbeats } from './node-heartbeats.js';

const conflict = { namespace: 'default', service: 'web', protocol: 'TCP', port: 80 };

describe('NodeHeartbeats port conflicts', () => {
  test('a listener hears a change of a node\'s conflicts, not a beat that repeats them, and hears a forgotten node', () => {
    const beats = new NodeHeartbeats(new FakeClock());
    const heard: string[] = [];
    const off = beats.onPortConflictsChange((n) => heard.push(n));
    beats.observe('pi-1', null, []);
    beats.observe('pi-1', null, [], [conflict]);
    beats.observe('pi-1', null, [], [{ ...conflict }]);
    beats.observe('pi-2', null, [], []);
    assert.deepEqual(heard, ['pi-1']);
    assert.deepEqual([...beats.portConflicts().keys()], ['pi-1'], 'nodes without conflicts are left out');
    beats.forget('pi-1');
    assert.deepEqual(heard, ['pi-1', 'pi-1']);
    assert.equal(beats.portConflicts().size, 0);
    off();
    beats.observe('pi-1', null, [], [conflict]);
    assert.equal(heard.length, 2, 'an unsubscribed listener hears nothing');
  });
});
