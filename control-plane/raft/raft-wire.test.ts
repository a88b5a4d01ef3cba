import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadProto } from '../../proto/load.js';
import type { RaftBatch, RaftBatch__Output, RaftMessage } from '../../proto/types.js';
import { fuzzParams } from '../../test/support/fuzz.js';
import { encodeConfChange, message, type Entry, type Message, type MessageType } from './raft-types.js';
import { fromWire, splitForWire, toWire, WIRE_MESSAGE_TYPES } from './raft-wire.js';
import { RAFT_WIRE_LIMITS } from './raft-wire-limits.js';

const send = loadProto().bramble.v1.Raft.service.Send;

/** Through the same protobuf code the server's handler sees its input from. */
function overTheWire(m: Message): unknown {
  const bytes = send.requestSerialize({ messages: [toWire(m).wire] } satisfies RaftBatch);
  return send.requestDeserialize(bytes).messages[0];
}

function decodeOk(raw: unknown, snapshot = false): Message {
  const d = fromWire(raw, { snapshot });
  if (!d.ok) assert.fail(`refused: ${d.problem}`);
  return d.message;
}

function problemOf(raw: unknown, snapshot = false): string {
  const d = fromWire(raw, { snapshot });
  assert.equal(d.ok, false, 'must be refused');
  return (d as { problem: string }).problem;
}

const wireOf = (m: Message): unknown => overTheWire(m);

/** A wire message as the protobuf decoder gives it, with one field changed. */
function rawWith(m: Message, change: Record<string, unknown>): Record<string, unknown> {
  return { ...(overTheWire(m) as Record<string, unknown>), ...change };
}

const heartbeat = message({ type: 'MsgHeartbeat', from: 'pi-1', to: 'pi-2', term: 3, commit: 7, context: 'ri-1' });
const append = (entries: Partial<Entry>[], extra: Partial<Message> = {}): Message => message({
  type: 'MsgApp', from: 'pi-1', to: 'pi-2', term: 5, index: 10, logTerm: 4, commit: 9,
  entries: entries.map((e, i) => ({ term: 5, index: 11 + i, type: 'normal', data: `{"op":${i}}`, ...e })),
  ...extra,
});

// ------------------------------------------------------------------ arbitraries

const nodeName = fc.constantFrom('pi-1', 'pi-2', 'pi-3', 'a', 'board.local', 'x'.repeat(63));
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const wellFormedText = fc.string({ unit: 'binary', maxLength: 64 }).filter((s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed());

/** Any message a correct core could send (MsgApp entries consistent with their index and term). */
const validMessage: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...[...WIRE_MESSAGE_TYPES]),
  from: nodeName,
  to: nodeName,
  term: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 10_000 }),
  index: safe,
  commit: safe,
  reject: fc.boolean(),
  rejectHint: safe,
  context: wellFormedText,
  entryData: fc.array(fc.tuple(wellFormedText, fc.boolean()), { maxLength: 6 }),
  termSteps: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 6, maxLength: 6 }),
  voters: fc.uniqueArray(nodeName, { maxLength: 3 }),
}).map((r) => {
  const type = r.type as MessageType;
  const m = message({ type, from: r.from, to: r.to, term: r.term, commit: r.commit, reject: r.reject, rejectHint: r.rejectHint, context: r.context });
  if (type === 'MsgApp' || type === 'MsgProp') {
    const index = Math.min(r.index, Number.MAX_SAFE_INTEGER - 10);
    m.index = type === 'MsgApp' ? index : 0;
    m.logTerm = type === 'MsgApp' && index > 0 ? Math.max(0, r.term - 3) : 0;
    let term = m.logTerm;
    m.entries = r.entryData.map(([text, conf], i) => {
      term = Math.min(r.term, term + r.termSteps[i]!);
      return type === 'MsgApp'
        ? { term, index: index + 1 + i, type: conf ? 'conf' : 'normal', data: conf ? encodeConfChange({ type: 'addLearner', node: 'pi-9', context: text }) : text }
        : { term: 0, index: 0, type: 'normal', data: text };
    });
  } else {
    m.index = r.index;
    m.logTerm = r.index === 0 ? 0 : Math.min(r.term, r.commit);
  }
  if (type === 'MsgSnap') {
    m.snapshot = { meta: { index: Math.max(1, r.index), term: r.term, confState: { voters: r.voters, learners: [] } }, data: '' };
  }
  return m;
});

/** Anything at all where a field's value should be. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined), fc.constant(null), fc.boolean(), fc.double(), fc.integer(), fc.bigInt(), fc.string(),
  fc.constant(Number.MAX_SAFE_INTEGER + 1), fc.constant(-1), fc.constant(NaN), fc.constant(Infinity),
  fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)), fc.constant(Buffer.from([0xff, 0xfe])),
  fc.constant('RAFT_MSG_APP'), fc.constant('RAFT_MSG_HUP'), fc.constant('RAFT_ENTRY_CONF'), fc.constant([]), fc.constant({}), fc.constant([{}]),
  fc.anything(),
);

// ------------------------------------------------------------------ tests

describe('Raft messages on the wire', () => {
  test('every message a correct core sends arrives through protobuf exactly as it left', () => {
    fc.assert(fc.property(validMessage, (m) => {
      const got = decodeOk(overTheWire(m), m.type === 'MsgSnap');
      assert.deepEqual(got, m);
    }), fuzzParams(500));
  });

  test('text keeps every character, a leading byte order mark and NUL included', () => {
    const data = '\uFEFF{"a":"\u0000é😀"}';
    const got = decodeOk(overTheWire(append([{ data }], { context: '\uFEFFctx' })));
    assert.equal(got.entries[0]!.data, data);
    assert.equal(got.context, '\uFEFFctx');
  });

  test('a message holding a lone surrogate is not sent: it would arrive as another character', () => {
    assert.throws(() => toWire(append([{ data: 'bad \ud800' }])), /lone surrogate/);
    assert.throws(() => toWire({ ...heartbeat, context: '\udc00' }), /lone surrogate/);
  });

  test('messages local to a host are refused from the network, whatever else they hold', () => {
    for (const type of ['RAFT_MSG_HUP', 'RAFT_MSG_BEAT', 'RAFT_MSG_UNREACHABLE', 'RAFT_MSG_SNAP_STATUS', 'RAFT_MSG_CHECK_QUORUM', 19, 'MsgHeartbeat']) {
      assert.match(problemOf(rawWith(heartbeat, { type })), /^type must be a message between replicas/, String(type));
    }
  });

  test('a MsgSnap comes only through SendSnapshot, and SendSnapshot carries nothing else', () => {
    const snap = message({ type: 'MsgSnap', from: 'pi-1', to: 'pi-2', term: 2, snapshot: { meta: { index: 5, term: 2, confState: { voters: ['pi-1'], learners: [] } }, data: '' } });
    assert.match(problemOf(overTheWire(snap)), /must come through SendSnapshot/);
    assert.match(problemOf(overTheWire(heartbeat), true), /carries a MsgSnap only/);
    assert.match(problemOf(rawWith(snap, { snapshot: null }), true), /snapshot must be set/);
    assert.match(problemOf(rawWith(heartbeat, { snapshot: { index: 1, term: 1, confState: { voters: [], learners: [] } } })), /snapshot must be empty/);
    assert.match(problemOf(rawWith(snap, { snapshot: { index: 0, term: 1, confState: { voters: [], learners: [] } } }), true), /snapshot.index must be positive/);
    assert.match(problemOf(rawWith(snap, { snapshot: { index: 3, term: 1, confState: { voters: ['pi-1'], learners: ['pi-1'] } } }), true), /each member once/);
  });

  test('numbers must be integers from 0 to 2^53-1: a bigger uint64 is refused, not rounded', () => {
    const bytes = send.requestSerialize({ messages: [{ ...toWire(heartbeat).wire, term: '9007199254740993' }] });
    const raw = send.requestDeserialize(bytes).messages[0];
    assert.match(problemOf(raw), /^term must be an integer from 0 to 2\^53-1/);
    for (const field of ['term', 'logTerm', 'index', 'commit', 'rejectHint']) {
      for (const v of [-1, 1.5, NaN, '3', Number.MAX_SAFE_INTEGER + 1]) {
        assert.match(problemOf(rawWith(heartbeat, { [field]: v })), new RegExp(`^${field} must be an integer`), `${field}=${String(v)}`);
      }
    }
  });

  test('names must be node names, and from and to must be set', () => {
    for (const [field, v] of [['from', ''], ['to', ''], ['from', 'Pi_1'], ['to', 'x'.repeat(64)], ['from', 7], ['to', null]] as const) {
      assert.match(problemOf(rawWith(heartbeat, { [field]: v })), new RegExp(`^${field} `), `${field}=${String(v)}`);
    }
  });

  test('entries travel only in appends and proposals, consecutive after the index, in term order, no newer than the message', () => {
    assert.match(problemOf(rawWith(heartbeat, { entries: [{ term: 1, index: 1, type: 'RAFT_ENTRY_NORMAL', data: Buffer.from('x') }] })), /entries must be empty in a MsgHeartbeat/);
    assert.match(problemOf(wireOf(append([{}, { index: 13 }]))), /entries\[1\]\.index must be 12/);
    assert.match(problemOf(wireOf(append([{ term: 3 }]))), /entries\[0\]\.term must be at least 4/);
    assert.match(problemOf(wireOf(append([{ term: 5 }, { term: 4 }]))), /entries\[1\]\.term must be at least 5/);
    assert.match(problemOf(wireOf(append([{ term: 6 }]))), /must be at most the message term 5/);
    assert.match(problemOf(wireOf(append([], { index: 0, logTerm: 1 }))), /logTerm must be 0 at index 0/);
    assert.doesNotThrow(() => decodeOk(overTheWire(append([{ term: 4 }, { term: 5 }]))));
  });

  test('entry data and contexts must be UTF-8 within their limits, and conf entries must be conf changes', () => {
    const entry = (e: Record<string, unknown>) => rawWith(append([{}]), { entries: [{ term: 5, index: 11, type: 'RAFT_ENTRY_NORMAL', data: Buffer.from('x'), ...e }] });
    assert.match(problemOf(entry({ data: Buffer.from([0x7b, 0xc3, 0x28]) })), /entries\[0\]\.data must be UTF-8 text/);
    assert.match(problemOf(entry({ data: Buffer.alloc(RAFT_WIRE_LIMITS.maxEntryDataBytes + 1, 0x20) })), /must be at most \d+ bytes/);
    assert.match(problemOf(entry({ data: 'text' })), /data must be bytes/);
    assert.match(problemOf(entry({ type: 'RAFT_ENTRY_CONF', data: Buffer.from('{"type":"explode"}') })), /must be a conf change/);
    assert.match(problemOf(entry({ type: 5 })), /type must be RAFT_ENTRY_NORMAL or RAFT_ENTRY_CONF/);
    assert.match(problemOf(rawWith(heartbeat, { context: Buffer.alloc(RAFT_WIRE_LIMITS.maxContextBytes + 1, 0x61) })), /^context must be at most/);
    assert.match(problemOf(rawWith(heartbeat, { entries: Array.from({ length: RAFT_WIRE_LIMITS.maxEntriesPerMessage + 1 }, () => ({})) })), /^entries must have at most/);
  });

  test('an append too big for one gRPC message splits into appends that each follow the one before', () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({ term: i < 20 ? 4 : 5, data: 'y'.repeat(100_000 + i) }));
    const m = append(entries);
    const parts = splitForWire(toWire(m), RAFT_WIRE_LIMITS.targetBatchBytes);
    assert.ok(parts.length >= 4, `${parts.length} parts`);
    let index = m.index;
    let logTerm = m.logTerm;
    const got: Entry[] = [];
    for (const p of parts) {
      assert.ok(p.bytes <= RAFT_WIRE_LIMITS.targetBatchBytes, `part of ${p.bytes} bytes`);
      const d = decodeOk(send.requestDeserialize(send.requestSerialize({ messages: [p.wire] })).messages[0]);
      assert.equal(d.index, index);
      assert.equal(d.logTerm, logTerm);
      assert.equal(d.commit, m.commit);
      got.push(...d.entries);
      index = d.entries.at(-1)!.index;
      logTerm = d.entries.at(-1)!.term;
    }
    assert.deepEqual(got, m.entries);
    // Proposals split too, each part a proposal of its own.
    const prop = message({ type: 'MsgProp', from: 'pi-2', to: 'pi-1', entries: entries.map((e) => ({ term: 0, index: 0, type: 'normal' as const, data: e.data })) });
    const propParts = splitForWire(toWire(prop), RAFT_WIRE_LIMITS.targetBatchBytes);
    assert.ok(propParts.length >= 4);
    assert.deepEqual(propParts.flatMap((p) => decodeOk(send.requestDeserialize(send.requestSerialize({ messages: [p.wire] })).messages[0]).entries), prop.entries);
  });
});

describe('the Raft message decoder under random and adversarial input', () => {
  test('any bytes are either refused by protobuf or decoded without a throw into a message that survives a second trip', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      let batch: RaftBatch__Output;
      try {
        batch = send.requestDeserialize(Buffer.from(bytes));
      } catch {
        return; // grpc-js answers the call with an error; nothing reaches the handler
      }
      for (const raw of batch.messages ?? []) {
        for (const snapshot of [false, true]) {
          const d = fromWire(raw, { snapshot });
          if (d.ok) assert.deepEqual(decodeOk(overTheWire(d.message), snapshot), d.message);
        }
      }
    }), fuzzParams(3000));
  });

  test('valid encodings with bytes flipped, cut or appended never make the decoder throw, and what it accepts is valid', () => {
    const mutation = fc.record({ m: validMessage, at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), how: fc.constantFrom('flip', 'cut', 'append') });
    fc.assert(fc.property(mutation, ({ m, at, byte, how }) => {
      const bytes = Buffer.from(send.requestSerialize({ messages: [toWire(m).wire] }));
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      const mutated = how === 'flip' ? Buffer.from(bytes.map((b, j) => (j === i ? b ^ (byte || 1) : b)))
        : how === 'cut' ? bytes.subarray(0, i)
          : Buffer.concat([bytes, Buffer.from([byte, at & 0xff])]);
      let batch: RaftBatch__Output;
      try {
        batch = send.requestDeserialize(mutated);
      } catch {
        return;
      }
      for (const raw of batch.messages ?? []) {
        const d = fromWire(raw, { snapshot: m.type === 'MsgSnap' });
        if (d.ok) assert.deepEqual(decodeOk(overTheWire(d.message), m.type === 'MsgSnap'), d.message);
      }
    }), fuzzParams(3000));
  });

  test('any value in any field, or any value instead of a message, is refused or accepted without a throw', () => {
    const fields = ['type', 'from', 'to', 'term', 'logTerm', 'index', 'entries', 'commit', 'reject', 'rejectHint', 'snapshot', 'context'];
    const entryFields = ['term', 'index', 'type', 'data'];
    const arb = fc.record({
      m: validMessage,
      changes: fc.array(fc.tuple(fc.constantFrom(...fields), junk), { maxLength: 4 }),
      entryChanges: fc.array(fc.tuple(fc.constantFrom(...entryFields), junk), { maxLength: 3 }),
      whole: fc.option(junk, { freq: 10 }),
    });
    fc.assert(fc.property(arb, ({ m, changes, entryChanges, whole }) => {
      const raw = overTheWire(m) as Record<string, unknown> & { entries: Record<string, unknown>[] };
      for (const [k, v] of changes) raw[k] = v;
      if (Array.isArray(raw.entries) && raw.entries[0] && typeof raw.entries[0] === 'object') {
        for (const [k, v] of entryChanges) raw.entries[0][k] = v;
      }
      const input = whole ?? raw;
      for (const snapshot of [false, true]) {
        const d = fromWire(input, { snapshot });
        if (d.ok) assert.deepEqual(decodeOk(overTheWire(d.message), snapshot), d.message);
        else assert.equal(typeof d.problem, 'string');
      }
    }), fuzzParams(3000));
  });

  test('an object whose fields throw when read is refused, not thrown', () => {
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); } });
    const d = fromWire(hostile);
    assert.equal(d.ok, false);
    assert.match((d as { problem: string }).problem, /could not be read: boom/);
  });
});

// Keep the type import used (the wire shape the tests build by hand).
export type { RaftMessage };
