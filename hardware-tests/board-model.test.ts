import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kubernetesArchOfMachine, parseBoardModel } from './board-model.js';

describe('board model', () => {
  test('a Raspberry Pi 4 model string, NUL-terminated as the device tree has it, is a Pi of series 4', () => {
    assert.deepEqual(parseBoardModel('Raspberry Pi 4 Model B Rev 1.4\0'), { model: 'Raspberry Pi 4 Model B Rev 1.4', isRaspberryPi: true, series: '4' });
  });

  test('Pi 5, Zero 2 W, Compute Module 4 and the first Model B+ are Pis', () => {
    assert.equal(parseBoardModel('Raspberry Pi 5 Model B Rev 1.0\0')?.series, '5');
    assert.equal(parseBoardModel('Raspberry Pi Zero 2 W Rev 1.0\0')?.series, 'Zero 2 W');
    assert.equal(parseBoardModel('Raspberry Pi Compute Module 4 Rev 1.1\0')?.series, 'Compute Module 4');
    assert.equal(parseBoardModel('Raspberry Pi Model B Plus Rev 1.2\0')?.series, 'Model B');
  });

  test('another board with a device tree is not a Pi', () => {
    assert.deepEqual(parseBoardModel('Radxa ROCK Pi 4B\0'), { model: 'Radxa ROCK Pi 4B', isRaspberryPi: false });
    assert.equal(parseBoardModel('Orange Pi 5\0')?.isRaspberryPi, false);
  });

  test('no model file, or an empty one, is no board model at all', () => {
    assert.equal(parseBoardModel(undefined), undefined);
    assert.equal(parseBoardModel('\0'), undefined);
    assert.equal(parseBoardModel('  \n'), undefined);
  });

  test('uname -m names map to the architectures the agent reports', () => {
    assert.deepEqual(['aarch64', 'armv7l', 'armv6l', 'x86_64', 'riscv64'].map(kubernetesArchOfMachine), ['arm64', 'arm', 'arm', 'amd64', undefined]);
    assert.equal(kubernetesArchOfMachine('aarch64\n'), 'arm64');
  });
});
