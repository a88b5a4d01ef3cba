import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule, unschedulableMessage } from './scheduler.js';
import { makeNode, makePod, podsByNode } from '../testing/scheduler-fixtures.js';

describe('schedule', () => {
  test('the message counts refusals by reason, most frequent first, like Kubernetes', () => {
    const nodes = [
      makeNode('a', { memory: '128Mi' }),
      makeNode('b', { memory: '128Mi' }),
      makeNode('c', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    ];
    const result = schedule(makePod('p', { memory: '256Mi' }), nodes, new Map());
    assert.deepEqual(result, {
      unschedulable: '0/3 nodes are available: 2 Insufficient memory, 1 node(s) had untolerated taint {dedicated: gpu}.',
      reasons: { 'Insufficient memory': 2, 'node(s) had untolerated taint {dedicated: gpu}': 1 },
    });
  });

  test('equal counts are listed alphabetically and a cluster without nodes says so', () => {
    const m = new Map([['node(s) were unschedulable', 1], ['Insufficient cpu', 1], ['node(s) were not ready', 2]]);
    assert.equal(unschedulableMessage(4, m),
      '0/4 nodes are available: 2 node(s) were not ready, 1 Insufficient cpu, 1 node(s) were unschedulable.');
    assert.equal((schedule(makePod('p'), [], new Map()) as { unschedulable: string }).unschedulable,
      '0/0 nodes are available: no nodes have joined the cluster.');
  });

  test('the emptiest fitting node wins and ties go to the first name', () => {
    const nodes = [makeNode('b'), makeNode('a'), makeNode('c', { ready: false })];
    assert.deepEqual(schedule(makePod('p', { cpu: '1' }), nodes, new Map()), { nodeName: 'a' });
    const busy = podsByNode([makePod('x', { cpu: '2', memory: '1Gi', nodeName: 'a' })]);
    assert.deepEqual(schedule(makePod('p', { cpu: '1' }), nodes, busy), { nodeName: 'b' });
  });

  test('replicas of one owner spread over nodes even when another node is emptier', () => {
    const nodes = [makeNode('a'), makeNode('b')];
    const pods = podsByNode([
      makePod('r1', { ownerUid: 'rs', nodeName: 'a' }),
      makePod('other', { cpu: '100m', memory: '64Mi', nodeName: 'b' }),
    ]);
    assert.deepEqual(schedule(makePod('r2', { ownerUid: 'rs' }), nodes, pods), { nodeName: 'b' });
  });

  test('a Pod already naming a node is left there, and one naming a missing node gets a message', () => {
    const nodes = [makeNode('a')];
    assert.deepEqual(schedule(makePod('p', { nodeName: 'a' }), nodes, new Map()), { nodeName: 'a' });
    const r = schedule(makePod('p', { nodeName: 'pi-9' }), nodes, new Map());
    assert.ok('unschedulable' in r);
    assert.match(r.unschedulable, /spec\.nodeName names node "pi-9", which does not exist/);
  });
});
