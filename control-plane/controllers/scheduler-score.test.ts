import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeUsage, podRequests } from './scheduler-filters.js';
import { countSiblings, leastRequestedScore, spreadKey, spreadScore } from './scheduler-score.js';
import { makeNode, makePod } from '../testing/scheduler-fixtures.js';

describe('scheduler scores', () => {
  test('least requested averages the free cpu and memory fractions after placing the pod', () => {
    const node = makeNode('a', { cpu: '1', memory: '1Gi' });
    const usage = nodeUsage(node, [makePod('x', { cpu: '250m', memory: '512Mi', nodeName: 'a' })]);
    // cpu: (1000-250-250)/1000 = 0.5; memory: (1024-512-256)/1024 = 0.25
    assert.equal(leastRequestedScore(podRequests(makePod('p', { cpu: '250m', memory: '256Mi' })), usage), 37.5);
    const empty = nodeUsage(node, []);
    assert.ok(leastRequestedScore(podRequests(makePod('p', { cpu: '250m', memory: '256Mi' })), empty) > 37.5);
  });

  test('a pod that requests nothing still counts as a small pod when scoring', () => {
    const usage = nodeUsage(makeNode('a', { cpu: '1', memory: '1Gi' }), []);
    assert.ok(leastRequestedScore(podRequests(makePod('p')), usage) < 100);
  });

  test('siblings are pods of the same first owner, or with the same labels when there is no owner', () => {
    const a = makePod('a', { ownerUid: 'rs-1', labels: { app: 'x' } });
    const b = makePod('b', { ownerUid: 'rs-1', labels: { app: 'y' } });
    const c = makePod('c', { ownerUid: 'rs-2', labels: { app: 'x' } });
    assert.equal(spreadKey(a), spreadKey(b));
    assert.notEqual(spreadKey(a), spreadKey(c));
    assert.equal(spreadKey(makePod('d', { labels: { app: 'x', tier: 'web' } })), spreadKey(makePod('e', { labels: { tier: 'web', app: 'x' } })));
    assert.equal(countSiblings(spreadKey(a), [b, c, makePod('f', { ownerUid: 'rs-1', phase: 'Failed' })]), 1);
    assert.equal(countSiblings(spreadKey(makePod('lonely')), [makePod('other')]), 0);
  });

  test('the spread score is full for the node with fewest siblings and zero for the most', () => {
    assert.equal(spreadScore(0, 0), 100);
    assert.equal(spreadScore(0, 4), 100);
    assert.equal(spreadScore(2, 4), 50);
    assert.equal(spreadScore(4, 4), 0);
  });
});
