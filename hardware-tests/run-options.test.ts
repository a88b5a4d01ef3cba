import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { notAPiMessage, parseRunArgs } from './run-options.js';

describe('hardware run options', () => {
  test('defaults: the report in hardware-report.json, 60 s of idle measurement', () => {
    assert.deepEqual(parseRunArgs([]), { out: 'hardware-report.json', idleSeconds: 60 });
    assert.deepEqual(parseRunArgs(['--out', '/tmp/pi1.json', '--idle-seconds', '300']), { out: '/tmp/pi1.json', idleSeconds: 300 });
  });

  test('a bad window or an unknown flag is a usage error naming it', () => {
    assert.throws(() => parseRunArgs(['--idle-seconds', '0']), { name: 'UsageError', message: /--idle-seconds must be .* from 1 to 3600: current value is "0"/ });
    assert.throws(() => parseRunArgs(['--idle-seconds', '1.5']), /current value is "1\.5"/);
    assert.throws(() => parseRunArgs(['--out', '']), /--out must name a file/);
    assert.throws(() => parseRunArgs(['--board', 'pi4']), { name: 'UsageError', message: /--board/ });
  });

  test('off a Pi the message says why and that nothing was checked', () => {
    assert.match(notAPiMessage(undefined), /not a Raspberry Pi \(it has no device tree model \(\/proc\/device-tree\/model, \/sys\/firmware\/devicetree\/base\/model\)\): no checks were run and no report was written/);
    assert.match(notAPiMessage({ model: 'Radxa ROCK Pi 4B', isRaspberryPi: false }), /its device tree names it "Radxa ROCK Pi 4B"/);
  });
});
