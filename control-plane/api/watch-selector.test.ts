import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSelector, type KObject } from '../../proto/model.js';
import type { StoreEvent } from '../store/store.js';
import { selectedEventType } from './watch-selector.js';

function cm(labels?: Record<string, string>): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', ...(labels ? { labels } : {}) } };
}
const modified = (labels: Record<string, string> | undefined, previousLabels?: Record<string, string>): StoreEvent =>
  ({ type: 'MODIFIED', object: cm(labels), revision: 2, ...(previousLabels ? { previousLabels } : {}) });
const web = parseSelector('app=web');

describe('selectedEventType', () => {
  test('an object whose labels stop matching is sent as DELETED', () => {
    assert.equal(selectedEventType(modified({ app: 'db' }, { app: 'web' }), web), 'DELETED');
  });

  test('an object whose labels start matching is sent as ADDED', () => {
    assert.equal(selectedEventType(modified({ app: 'web' }, { app: 'db' }), web), 'ADDED');
    assert.equal(selectedEventType(modified({ app: 'web' }, {}), web), 'ADDED');
  });

  test('an object that matches before and after is sent as MODIFIED', () => {
    assert.equal(selectedEventType(modified({ app: 'web', tier: 'b' }, { app: 'web', tier: 'a' }), web), 'MODIFIED');
  });

  test('an object that matches neither before nor after is skipped', () => {
    assert.equal(selectedEventType(modified({ app: 'db' }, { app: 'cache' }), web), undefined);
  });

  test('an event without previousLabels means the labels did not change', () => {
    assert.equal(selectedEventType(modified({ app: 'web' }), web), 'MODIFIED');
    assert.equal(selectedEventType(modified({ app: 'db' }), web), undefined);
  });

  test('ADDED and DELETED pass only when the object matches', () => {
    assert.equal(selectedEventType({ type: 'ADDED', object: cm({ app: 'web' }), revision: 1 }, web), 'ADDED');
    assert.equal(selectedEventType({ type: 'ADDED', object: cm({ app: 'db' }), revision: 1 }, web), undefined);
    assert.equal(selectedEventType({ type: 'DELETED', object: cm({ app: 'web' }), revision: 3 }, web), 'DELETED');
    assert.equal(selectedEventType({ type: 'DELETED', object: cm(), revision: 3 }, web), undefined);
  });

  test('without a selector every event keeps its type', () => {
    assert.equal(selectedEventType(modified({ app: 'db' }, { app: 'web' }), []), 'MODIFIED');
  });

  test('set-based selectors see the previous labels too', () => {
    assert.equal(selectedEventType(modified({ tier: 'x' }, { tier: 'x', canary: 'true' }), parseSelector('!canary')), 'ADDED');
    assert.equal(selectedEventType(modified({ env: 'dev' }, { env: 'prod' }), parseSelector('env in (prod,staging)')), 'DELETED');
  });
});
