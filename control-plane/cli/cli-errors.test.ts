import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BrambleError } from '../../proto/util/errors.js';
import { EXIT_FAILURE, EXIT_USAGE, formatError, reportError, UsageError } from './cli-errors.js';

function capture(): { sink: { write(s: string): void }; text(): string } {
  let out = '';
  return { sink: { write: (s: string) => void (out += s) }, text: () => out };
}

describe('reportError', () => {
  test('prints one summary line and one line per field problem, and exits 1', () => {
    const err = new BrambleError('VALIDATION_FAILED', '2 problems in 2 objects', [
      { document: 0, path: 'spec.replcas', message: 'unknown field "replcas"' },
      { document: 1, path: 'metadata.name', message: 'must be a DNS-1123 name: current value is "Web_1"' },
    ]);
    const out = capture();
    const code = reportError(err, out.sink);
    assert.equal(code, EXIT_FAILURE);
    assert.equal(
      out.text(),
      [
        'error: 2 problems in 2 objects',
        '  document 1: spec.replcas: unknown field "replcas"',
        '  document 2: metadata.name: must be a DNS-1123 name: current value is "Web_1"',
        '',
      ].join('\n'),
    );
  });

  test('names documents with the caller\'s description when it has one', () => {
    const err = new BrambleError('VALIDATION_FAILED', 'invalid', [{ document: 1, path: 'spec', message: 'required' }]);
    const lines = formatError(err, { describeDocument: (i) => `web.yaml document ${i + 1} (deployment/web)` });
    assert.deepEqual(lines, ['error: invalid', '  web.yaml document 2 (deployment/web): spec: required']);
  });

  test('a problem without a path or document prints only its message', () => {
    const lines = formatError(new BrambleError('INVALID_ARGUMENT', 'bad', [{ path: '', message: 'no objects' }]));
    assert.deepEqual(lines, ['error: bad', '  no objects']);
  });

  test('usage errors exit 2', () => {
    const out = capture();
    assert.equal(reportError(new UsageError('unknown kind "gizmo"'), out.sink), EXIT_USAGE);
    assert.equal(out.text(), 'error: unknown kind "gizmo"\n');
  });

  test('unexpected errors print their message without a stack trace', () => {
    const out = capture();
    assert.equal(reportError(new TypeError('boom'), out.sink), EXIT_FAILURE);
    assert.equal(out.text(), 'error: boom\n');
    assert.doesNotMatch(out.text(), /\bat\b.*\(/);
  });
});

describe('summaries of field problems', () => {
  test('the caller may replace the server\'s summary when problems follow', () => {
    const err = new BrambleError('VALIDATION_FAILED', 'documents[0]: deployment "web" is invalid: spec.replcas: unknown field', [
      { document: 0, path: 'spec.replcas', message: 'unknown field "replcas"' },
    ]);
    const lines = formatError(err, { summaryWithProblems: (n) => `${n} problem in the manifests; nothing was applied:` });
    assert.deepEqual(lines, ['error: 1 problem in the manifests; nothing was applied:', '  document 1: spec.replcas: unknown field "replcas"']);
  });
});

describe('formatError', () => {
  test('shows accents, scripts and emoji as written and control characters as escapes', () => {
    const err = new BrambleError('NOT_FOUND', 'configmap "café-😀\u001b[2J" not found', [{ path: 'data["ключ"]', message: 'bad\u0007 value\u009b' }]);
    assert.deepEqual(formatError(err), [
      'error: configmap "café-😀\\u001b[2J" not found',
      '  data["ключ"]: bad\\u0007 value\\u009b',
    ]);
  });
});
