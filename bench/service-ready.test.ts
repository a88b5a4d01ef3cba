import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { firstAnswerFrom, parseProbeLine, splitSamples, type ProbeAnswer, type ReadySample } from './service-ready.js';

describe('parseProbeLine', () => {
  test('a probe line gives the send and receive times and the answering Pod', () => {
    assert.deepEqual(parseProbeLine('1796180172123 1796180172127 web-a\n'), { sentMs: 1796180172123, doneMs: 1796180172127, answer: 'web-a' });
  });

  test('a failed request keeps its ERR reason as the answer', () => {
    assert.equal(parseProbeLine('1 2 ERR:ECONNREFUSED')?.answer, 'ERR:ECONNREFUSED');
  });

  test('anything that is not a probe line is ignored', () => {
    for (const line of ['', 'web-a', '12 web-a', '1 2 web a', 'x 2 web-a']) assert.equal(parseProbeLine(line), undefined, line);
  });
});

describe('firstAnswerFrom', () => {
  const answers: ProbeAnswer[] = [
    { sentMs: 100, doneMs: 103, answer: 'web-a' },
    { sentMs: 110, doneMs: 113, answer: 'web-base' },
    { sentMs: 120, doneMs: 123, answer: 'ERR:ECONNRESET' },
    { sentMs: 130, doneMs: 133, answer: 'web-a' },
    { sentMs: 140, doneMs: 143, answer: 'web-a' },
  ];

  test('answers sent before the flip do not count, and the request before the first answer bounds when the rules changed', () => {
    assert.deepEqual(firstAnswerFrom(answers, 'web-a', 105), { first: answers[3], previousSentMs: 120 });
  });

  test('a request sent exactly at the flip counts', () => {
    assert.deepEqual(firstAnswerFrom(answers, 'web-a', 100), { first: answers[0], previousSentMs: 100 });
  });

  test('a Pod that has not answered since the flip has no first answer', () => {
    assert.equal(firstAnswerFrom(answers, 'web-b', 0), undefined);
    assert.equal(firstAnswerFrom(answers, 'web-a', 141), undefined);
  });
});

describe('splitSamples', () => {
  const sample = (readySeen: number, endpoints: number, answer: number): ReadySample => ({
    pod: 'web-a', sameBoardAsClient: true, readyTransitionMs: readySeen - 10, readySeenMs: readySeen,
    endpointsSeenMs: endpoints, firstAnswerSentMs: answer, previousSentMs: answer - 8,
  });

  test('the legs from Ready to Endpoints and from Endpoints to the answer add up to Ready to the answer', () => {
    const s = splitSamples([sample(1000, 1020, 1100), sample(2000, 2050, 2300)]);
    assert.equal(s.readyToEndpoints.max, 50);
    assert.equal(s.endpointsToAnswer.max, 250);
    assert.equal(s.readyToAnswer.max, 300);
    assert.equal(s.readyToAnswer.p50, 100);
    assert.equal(s.transitionToReadySeen.p50, 10);
    assert.equal(s.transitionToAnswer.max, 310);
    assert.equal(s.resolution.p99, 8);
    assert.equal(s.readyToAnswer.samples, 2);
  });
});
