import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine, progressStep } from './cli-image.js';

const MI = 1024 * 1024;

describe('image import progress', () => {
  test('reports each 10% step once, in order, ending at 100%', () => {
    const total = 100 * MI;
    const shown: number[] = [];
    let last = 0;
    for (let sent = MI; sent <= total; sent += MI) {
      const step = progressStep(sent, total, last);
      if (step !== undefined) {
        shown.push(step);
        last = step;
      }
    }
    assert.deepEqual(shown, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  test('skips the steps a large chunk jumps over, reporting only the latest', () => {
    assert.equal(progressStep(35 * MI, 100 * MI, 10), 30);
    assert.equal(progressStep(12 * MI, 100 * MI, 10), undefined);
  });

  test('reports nothing for an empty file', () => {
    assert.equal(progressStep(0, 0, 0), undefined);
  });

  test('a progress line gives the share and the sizes in MiB', () => {
    assert.equal(progressLine(40, 40 * MI, 100 * MI), 'sent 40% (40.0 of 100.0 MiB)\n');
  });
});
