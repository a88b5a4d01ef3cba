import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../model.js';
import { findCondition, isConditionTrue, setCondition, withTransitionTime } from './conditions.js';

const EARLIER = '2026-01-01T00:00:00.000Z';
const NOW = '2026-01-02T00:00:00.000Z';

function frozen(conditions: Condition[]): readonly Condition[] {
  return Object.freeze(conditions.map((c) => Object.freeze({ ...c })));
}

test('findCondition finds the condition of a type and gives undefined for a missing type or list', () => {
  const conditions = frozen([{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'False' }]);
  assert.equal(findCondition(conditions, 'PodScheduled')?.status, 'False');
  assert.equal(findCondition(conditions, 'Initialized'), undefined);
  assert.equal(findCondition(undefined, 'Ready'), undefined);
});

test('isConditionTrue holds only for a present condition with status True', () => {
  assert.equal(isConditionTrue(frozen([{ type: 'Ready', status: 'True' }]), 'Ready'), true);
  assert.equal(isConditionTrue(frozen([{ type: 'Ready', status: 'Unknown' }]), 'Ready'), false);
  assert.equal(isConditionTrue(frozen([{ type: 'Other', status: 'True' }]), 'Ready'), false);
  assert.equal(isConditionTrue(undefined, 'Ready'), false);
});

test('a condition whose status did not change keeps its transition time while reason and message change', () => {
  const before = frozen([{ type: 'Ready', status: 'False', reason: 'A', message: 'a', lastTransitionTime: EARLIER }]);
  const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, NOW);
  assert.deepEqual(after, [{ type: 'Ready', status: 'False', reason: 'B', message: 'b', lastTransitionTime: EARLIER }]);
});

test('a condition whose status changed is dated now', () => {
  const before = frozen([{ type: 'Ready', status: 'True', lastTransitionTime: EARLIER }]);
  assert.equal(setCondition(before, { type: 'Ready', status: 'Unknown' }, NOW)[0]!.lastTransitionTime, NOW);
});

test('a new condition, or one that had no transition time, is dated now', () => {
  assert.deepEqual(setCondition(undefined, { type: 'Ready', status: 'True' }, NOW), [{ type: 'Ready', status: 'True', lastTransitionTime: NOW }]);
  assert.equal(withTransitionTime({ type: 'Ready', status: 'True' }, { type: 'Ready', status: 'True' }, NOW).lastTransitionTime, NOW);
});

test('a transition time carried by the next condition is ignored: only the previous one and now count', () => {
  const next: Condition = { type: 'Ready', status: 'True', lastTransitionTime: '1999-01-01T00:00:00.000Z' };
  assert.equal(withTransitionTime(next, undefined, NOW).lastTransitionTime, NOW);
  assert.equal(withTransitionTime(next, { type: 'Ready', status: 'True', lastTransitionTime: EARLIER }, NOW).lastTransitionTime, EARLIER);
});

test('setting a condition keeps the other conditions in order and puts the set one last', () => {
  const before = frozen([
    { type: 'A', status: 'True', lastTransitionTime: EARLIER },
    { type: 'Ready', status: 'True', lastTransitionTime: EARLIER },
    { type: 'B', status: 'False', lastTransitionTime: EARLIER },
  ]);
  assert.deepEqual(setCondition(before, { type: 'Ready', status: 'True' }, NOW).map((c) => c.type), ['A', 'B', 'Ready']);
});

test('setting a condition returns a new list and leaves the frozen input as it was', () => {
  const before = frozen([{ type: 'Ready', status: 'True', lastTransitionTime: EARLIER }]);
  const copy = structuredClone(before);
  const after = setCondition(before, { type: 'Ready', status: 'False' }, NOW);
  assert.notEqual(after, before);
  assert.deepEqual(before, copy);
});
