import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { BrambleError, ERROR_CODES, MAX_WIRE_PROBLEMS, fromServiceError, wellFormed, type ErrorCode, type FieldProblem } from './errors.js';

const runs = Number(process.env.FUZZ_RUNS ?? 300);
const codes = Object.keys(ERROR_CODES) as ErrorCode[];
/** Every plane, control characters and lone surrogates: what users and attackers type. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 5 }),
  fc.constantFrom('café crème', 'ünïcödé 😀', '\u0000\u0007\r\n', '%E0%A4%A', '\ud800', 'x\udc00y', ''),
);
const problem: fc.Arbitrary<FieldProblem> = fc.record(
  { path: anyText, message: anyText, document: fc.nat({ max: 500 }) },
  { requiredKeys: ['path', 'message'] },
);

test('an error with any characters becomes a gRPC status without throwing, and comes back intact', () => {
  fc.assert(
    fc.property(fc.constantFrom(...codes), anyText, fc.array(problem, { maxLength: 5 }), (code, message, details) => {
      const wire = new BrambleError(code, message, details).toServiceError();
      assert.equal(wire.code, ERROR_CODES[code]);
      // The status line is what grpc-js percent-encodes: it must be well formed.
      assert.doesNotThrow(() => encodeURI(wire.details));
      const back = fromServiceError({ code: wire.code, details: wire.details, metadata: wire.metadata });
      assert.equal(back.code, code);
      assert.equal(back.message, wellFormed(message));
      assert.deepEqual(back.details, details.map((d) => ({ ...d, path: wellFormed(d.path), message: wellFormed(d.message) })));
    }),
    { numRuns: runs },
  );
});

test('an error with thousands of problems is cut to a bounded list that says how many were left out', () => {
  const details = Array.from({ length: 5000 }, (_, i) => ({ path: `items[${i}].metadata.name`, message: 'x'.repeat(2000) }));
  const wire = new BrambleError('VALIDATION_FAILED', 'y'.repeat(100_000), details).toServiceError();
  const bytes = (wire.metadata.get('bramble-error-bin')[0] as Buffer).length;
  assert.ok(bytes < 64 * 1024, `binary metadata is ${bytes} bytes`);
  const back = fromServiceError(wire);
  assert.equal(back.details.length, MAX_WIRE_PROBLEMS + 1);
  assert.equal(back.details.at(-1)?.message, `and ${5000 - MAX_WIRE_PROBLEMS} more problems`);
  assert.ok(back.message.length < 100_000 && back.message.endsWith('more characters)'));
});

test('garbage in the error metadata from a peer falls back to the status and never throws', () => {
  for (const value of [Buffer.from('not json'), Buffer.from('{"code":"NOPE","message":"x"}'), Buffer.from('null'), Buffer.from([0xff, 0xfe])]) {
    const metadata = new grpc.Metadata();
    metadata.set('bramble-error-bin', value);
    const back = fromServiceError({ code: grpc.status.NOT_FOUND, details: 'gone', metadata });
    assert.equal(back.code, 'NOT_FOUND');
    assert.equal(back.message, 'gone');
  }
  assert.equal(fromServiceError(undefined).code, 'INTERNAL');
  assert.equal(fromServiceError({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'Received message larger than max' }).code, 'LIMIT_EXCEEDED');
});
