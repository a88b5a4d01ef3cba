import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../proto/util/errors.js';
import { CONTROLLER_NAMES, selectControllers } from './controller-selection.js';

test('--controllers reads as kube-controller-manager: all, some, or all but some', () => {
  assert.deepEqual([...selectControllers('*')], [...CONTROLLER_NAMES]);
  assert.deepEqual([...selectControllers('*,-replicaset,-deployment,-daemonset,-job,-cronjob,-taint-eviction,-event-ttl,-garbage-collector,-endpoints,-service-lb')], ['scheduler', 'node-lifecycle']);
  assert.deepEqual([...selectControllers('scheduler')], ['scheduler']);
  assert.deepEqual([...selectControllers('')], []);
  assert.ok(selectControllers('*').has('job'));
  assert.deepEqual([...selectControllers('job')], ['job']);
});

test('an unknown controller is a usage error that lists the known ones', () => {
  assert.throws(() => selectControllers('*,-cronjobs'), (e) => e instanceof UsageError && /current value has "cronjobs"/.test(e.message) && /replicaset/.test(e.message));
});
