import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGracePeriod, parseTolerationSeconds } from './cli-server.js';

describe('server node failure flags', () => {
  test('--node-monitor-grace-period takes a duration of at least 1s, in ms', () => {
    assert.equal(parseGracePeriod('--node-monitor-grace-period', '40s'), 40_000);
    assert.equal(parseGracePeriod('--node-monitor-grace-period', '2m'), 120_000);
    assert.equal(parseGracePeriod('--node-monitor-grace-period', undefined), undefined);
    assert.throws(() => parseGracePeriod('--node-monitor-grace-period', '0'), { message: '--node-monitor-grace-period must be at least 1s: current value is "0"' });
    assert.throws(() => parseGracePeriod('--node-monitor-grace-period', 'soon'), /--node-monitor-grace-period must be a duration such as 30s/);
  });

  test('default toleration seconds are whole numbers, 0 or more', () => {
    assert.equal(parseTolerationSeconds('--default-unreachable-toleration-seconds', '60'), 60);
    assert.equal(parseTolerationSeconds('--default-unreachable-toleration-seconds', '0'), 0);
    assert.throws(() => parseTolerationSeconds('--default-unreachable-toleration-seconds', '-5'), {
      message: '--default-unreachable-toleration-seconds must be a whole number of seconds, 0 or more: current value is "-5"',
    });
    assert.throws(() => parseTolerationSeconds('--default-not-ready-toleration-seconds', '1m'), /--default-not-ready-toleration-seconds must be a whole number of seconds/);
  });
});
