import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BrambleError } from '../../proto/util/errors.js';
import type { KObject } from '../../proto/model.js';
import type { Op } from './store.js';
import { snapshotProblem, StoreState, type StoreSnapshot } from './store-state.js';
import {
  decodeSnapshot, encodeSnapshot, readSnapshot, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC, verifySnapshot, MAX_RECORD_BYTES,
} from './store-snapshot.js';
import { createHash } from 'node:crypto';

const META = { createdAt: '2026-12-02T06:00:00.000Z', server: 'pi-1' };
const SOURCE = '/backups/test.snap';

function configMap(name: string, namespace = 'default', data: Record<string, string> = { k: 'v' }): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { app: 'x' } }, data };
}

/** A state built by the state machine itself, so the snapshot is one the store could hold. */
function stateWith(commands: Op[][], retainEvents = 10): StoreState {
  const state = new StoreState(retainEvents);
  for (const ops of commands) {
    try {
      state.commit(state.propose({ ops }));
    } catch {
      // A refused command (a delete of a missing key) changes nothing, as in the store.
    }
  }
  return state;
}

function sample(): StoreSnapshot {
  return stateWith([
    [{ type: 'put', object: configMap('a') }],
    [{ type: 'put', object: configMap('b', 'other') }, { type: 'put', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } } }],
    [{ type: 'put', object: { ...configMap('a'), metadata: { ...configMap('a').metadata, labels: { app: 'y' } } } }],
    [{ type: 'delete', kind: 'ConfigMap', namespace: 'other', name: 'b' }],
    [{ type: 'put', object: configMap('c', 'default', { 'é': 'café ☕' }) }],
  ], 3).snapshot();
}

async function bytesOf(s: StoreSnapshot): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of encodeSnapshot(s, META)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The bytes as a stream cut in pieces of `size`. */
async function* pieces(b: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function decodeError(b: Buffer, size?: number): Promise<BrambleError> {
  try {
    await verifySnapshot(pieces(b, size), { source: SOURCE });
  } catch (e) {
    assert.ok(e instanceof BrambleError, `not a BrambleError: ${String(e)}`);
    assert.equal(e.code, 'STORE_FAILED');
    assert.ok(e.message.includes(SOURCE), `the error names the file: ${e.message}`);
    return e;
  }
  assert.fail('the snapshot was accepted');
}

/** Re-frames a snapshot with a new checksum, so that only the change under test is wrong. */
function withChecksum(b: Buffer): Buffer {
  const body = b.subarray(0, b.length - 37);
  const trailer = Buffer.alloc(37);
  trailer[0] = 0x54;
  trailer.writeUInt32BE(32, 1);
  createHash('sha256').update(body).digest().copy(trailer, 5);
  return Buffer.concat([body, trailer]);
}

describe('the store snapshot format', () => {
  test('a snapshot reads back as the same objects, events and revisions, with its header', async () => {
    const s = sample();
    const b = await bytesOf(s);
    const { snapshot, summary } = await readSnapshot(pieces(b), { source: SOURCE });
    assert.deepEqual(snapshot, JSON.parse(JSON.stringify(s)));
    assert.equal(snapshotProblem(snapshot), undefined);
    assert.deepEqual(summary.header, { revision: 5, compactedRevision: s.compactedRevision, objectCount: 3, eventCount: s.events.length, ...META });
    assert.equal(summary.bytes, b.length);
    assert.equal(summary.sha256, b.subarray(b.length - 32).toString('hex'));
    assert.ok(s.compactedRevision > 0, 'the sample has compacted events, so the test covers compactedRevision');
    assert.ok(b.subarray(0, 8).equals(SNAPSHOT_MAGIC));
  });

  test('an empty store makes a snapshot that reads back empty', async () => {
    const { snapshot, summary } = await readSnapshot(pieces(await bytesOf(new StoreState().snapshot())), { source: SOURCE });
    assert.deepEqual(snapshot, { revision: 0, compactedRevision: 0, objects: [], events: [] });
    assert.equal(summary.header.objectCount, 0);
  });

  test('any history of the state machine round-trips, whatever the chunking', async () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), ns: fc.constantFrom('x', 'y'), v: fc.string({ unit: 'grapheme', maxLength: 20 }) })
        .map(({ name, ns, v }): Op => ({ type: 'put', object: configMap(name, ns, { v }) })),
      fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), ns: fc.constantFrom('x', 'y') })
        .map(({ name, ns }): Op => ({ type: 'delete', kind: 'ConfigMap', namespace: ns, name })),
    );
    await fc.assert(fc.asyncProperty(
      fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { maxLength: 30 }), fc.nat(12), fc.integer({ min: 1, max: 5000 }),
      async (commands, retain, chunk) => {
        const s = stateWith(commands, retain).snapshot();
        const { snapshot } = await readSnapshot(pieces(await bytesOf(s), chunk), { source: SOURCE });
        assert.deepEqual(snapshot, JSON.parse(JSON.stringify(s)));
        // What a restore rebuilds is the state it came from.
        const restored = StoreState.restore(snapshot, retain);
        assert.equal(restored.revision(), s.revision);
        assert.equal(restored.oldestResumableRevision(), s.events.length === 0 ? s.revision : s.compactedRevision);
        assert.deepEqual(restored.snapshot(), snapshot);
      },
    ), { numRuns: 150 });
  });

  test('a snapshot of the state holds only what is committed, and later commits leave it as it was', () => {
    const state = stateWith([[{ type: 'put', object: configMap('a') }]]);
    const pending = state.propose({ ops: [{ type: 'put', object: configMap('b') }] });
    const s = state.snapshot();
    assert.equal(s.revision, 1);
    assert.deepEqual(s.objects.map((o) => o.metadata.name), ['a']);
    state.commit(pending);
    state.commit(state.propose({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'a' }] }));
    assert.equal(s.revision, 1);
    assert.deepEqual(s.objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`), ['a@1']);
    assert.deepEqual(s.events.map((e) => e.revision), [1]);
    assert.ok(Object.isFrozen(s.objects[0]));
  });

  test('a flipped byte anywhere is refused with an error naming the file', async () => {
    const b = await bytesOf(sample());
    for (let i = 0; i < b.length; i++) {
      const bad = Buffer.from(b);
      bad[i] = bad[i]! ^ 0x20;
      await decodeError(bad, 1 + (i % 50));
    }
  });

  test('a snapshot cut short anywhere is refused as truncated', async () => {
    const b = await bytesOf(sample());
    for (let n = 1; n < b.length; n++) {
      const e = await decodeError(b.subarray(0, n), 1 + (n % 13));
      assert.match(e.message, /is truncated: it ends after \d+ bytes/, `cut at ${n}: ${e.message}`);
    }
    assert.match((await decodeError(Buffer.alloc(0))).message, /is empty: it is not a Bramble store snapshot/);
  });

  test('a file of another kind is refused for its magic number', async () => {
    const e = await decodeError(Buffer.from('apiVersion: v1\nkind: ConfigMap\n'));
    assert.equal(e.message, `${SOURCE} is not a Bramble store snapshot: it starts with "apiVersi" instead of "BRMBLSNP"`);
  });

  test('another format version is refused, saying which', async () => {
    const b = await bytesOf(sample());
    b.writeUInt32BE(SNAPSHOT_FORMAT_VERSION + 1, 8);
    const e = await decodeError(b);
    assert.equal(e.message, `the snapshot ${SOURCE} has format version 2; this bramble reads version 1 (a newer bramble wrote it: restore it with that one)`);
  });

  test('a checksum that does not match is refused with both sums', async () => {
    const b = await bytesOf(sample());
    b[b.length - 1] = b[b.length - 1]! ^ 1;
    const e = await decodeError(b);
    assert.match(e.message, /its SHA-256 checksum does not match its contents \(the trailer holds [0-9a-f]{64}, the bytes before it hash to [0-9a-f]{64}\)/);
  });

  test('bytes after the trailer are refused', async () => {
    const b = await bytesOf(sample());
    const e = await decodeError(Buffer.concat([b, Buffer.from('x')]));
    assert.match(e.message, /there are bytes after the trailer \(at byte \d+\)/);
  });

  test('a record the store would not accept is refused even with a good checksum', async () => {
    const noKind = { revision: 1, compactedRevision: 0, objects: [{ metadata: { name: 'a', resourceVersion: '1' } } as unknown as KObject], events: [] };
    assert.match((await decodeError(await bytesOf(noKind))).message, /object 1 of 1: a stored object has no kind \(at byte \d+\)/);

    const future = { revision: 1, compactedRevision: 0, objects: [{ ...configMap('a'), metadata: { name: 'a', resourceVersion: '9' } }], events: [] };
    assert.match((await decodeError(await bytesOf(future))).message, /which is not a revision up to the store's 1/);

    const twice = stateWith([[{ type: 'put', object: configMap('a') }]]).snapshot();
    twice.objects = [twice.objects[0]!, twice.objects[0]!];
    assert.match((await decodeError(await bytesOf(twice))).message, /object 2 of 2 is ConfigMap default\/a, which an earlier record holds already/);

    const gap = stateWith([[{ type: 'put', object: configMap('a') }], [{ type: 'put', object: configMap('b') }]]).snapshot();
    gap.events = gap.events.slice(1);
    assert.match((await decodeError(await bytesOf(gap))).message, /event 1 of 1: the events of revision 1 are missing/);

    const b = await bytesOf(sample());
    // The first object record's payload starts with '{': make it not JSON, and re-sum.
    const at = b.indexOf(Buffer.from('O'), 12 + 5 + b.readUInt32BE(13));
    const bad = Buffer.from(b);
    bad[at + 5] = 0x21;
    assert.match((await decodeError(withChecksum(bad))).message, /object 1 of 3 is not valid JSON/);
  });

  test('a record claiming more bytes than any record holds is refused before it is buffered', async () => {
    const b = await bytesOf(sample());
    const at = 12 + 5 + b.readUInt32BE(13);
    const bad = Buffer.from(b);
    bad.writeUInt32BE(MAX_RECORD_BYTES + 1, at + 1);
    assert.match((await decodeError(bad)).message, new RegExp(`an object record claims ${MAX_RECORD_BYTES + 1} bytes, more than the ${MAX_RECORD_BYTES} a record may hold \\(at byte ${at}\\)`));
    const unknown = Buffer.from(b);
    unknown[at] = 0x5a;
    assert.match((await decodeError(unknown)).message, /a record of unknown type 0x5a is where object 1 of 3 should be/);
  });

  test('a header whose counts disagree with the records is refused', async () => {
    const b = await bytesOf(sample());
    const headerLength = b.readUInt32BE(13);
    const header = JSON.parse(b.subarray(17, 17 + headerLength).toString()) as Record<string, unknown>;
    const reframe = (h: Record<string, unknown>): Buffer => {
      const payload = Buffer.from(JSON.stringify(h));
      const frame = Buffer.alloc(5);
      frame[0] = 0x48;
      frame.writeUInt32BE(payload.length, 1);
      return withChecksum(Buffer.concat([b.subarray(0, 12), frame, payload, b.subarray(17 + headerLength)]));
    };
    assert.match((await decodeError(reframe({ ...header, objectCount: 4 }))).message, /an event record is where object 4 of 4 should be/);
    assert.match((await decodeError(reframe({ ...header, objectCount: 2 }))).message, /an object record is where event 1 of \d should be/);
    assert.match((await decodeError(reframe({ ...header, eventCount: 99 }))).message, /the trailer is where event \d of 99 should be/);
    assert.match((await decodeError(reframe({ ...header, revision: -1 }))).message, /the header the revision record holds -1, not a revision/);
    assert.match((await decodeError(reframe({ ...header, server: 7 }))).message, /the header has server 7, not a name/);
  });

  test('the decoder stops its source when it refuses a snapshot or is abandoned', async () => {
    const b = await bytesOf(sample());
    let stopped = 0;
    async function* tracked(bytes: Buffer): AsyncGenerator<Buffer> {
      try {
        yield* pieces(bytes, 10);
      } finally {
        stopped++;
      }
    }
    const bad = Buffer.from(b);
    bad[30] = bad[30]! ^ 1;
    await assert.rejects(verifySnapshot(tracked(bad), { source: SOURCE }));
    const records = decodeSnapshot(tracked(b), { source: SOURCE });
    await records.next();
    await records.return(undefined as never);
    assert.equal(stopped, 2);
  });

  test('10,000 objects stream in chunks of about 64 KiB, never one buffer of the whole', async () => {
    const s = stateWith(Array.from({ length: 100 }, (_, i) =>
      Array.from({ length: 100 }, (_, j): Op => ({ type: 'put', object: configMap(`cm-${i}-${j}`, `ns-${i % 7}`, { payload: 'x'.repeat(200) }) }))), 1000).snapshot();
    let largest = 0;
    let total = 0;
    const chunks: Buffer[] = [];
    for await (const c of encodeSnapshot(s, META)) {
      largest = Math.max(largest, c.length);
      total += c.length;
      chunks.push(c);
    }
    assert.ok(total > 2_000_000, `the snapshot is ${total} bytes`);
    assert.ok(largest < 80 * 1024, `the largest chunk is ${largest} bytes`);
    let objects = 0;
    for await (const r of decodeSnapshot(pieces(Buffer.concat(chunks), 64 * 1024), { source: SOURCE })) if (r.type === 'object') objects++;
    assert.equal(objects, 10_000);
  });
});
