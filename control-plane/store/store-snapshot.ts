// The snapshot format: the store's state at one revision (StoreSnapshot) as a
// stream of bytes, for `bramble store snapshot save|restore`, scheduled backups
// and (later) a leader sending its state to a lagging replica. Encoder and
// decoder take and give byte streams, never files, and never hold the whole
// snapshot as one string or buffer:
//
//   magic    8 bytes  "BRMBLSNP"
//   version  4 bytes  unsigned big-endian, SNAPSHOT_FORMAT_VERSION
//   records  each: tag (1 byte) | payload length (4 bytes, big-endian) | payload
//            'H' once, first: the header as JSON (revision, compactedRevision,
//                objectCount, eventCount, createdAt, server)
//            'O' objectCount times: one stored object as JSON, in key order
//            'E' eventCount times: one retained event as JSON, in revision order
//            'T' once, last: the SHA-256 (32 bytes) of every byte before its tag
//
// Length-prefixed records make a truncation visible at once (a record or the
// trailer is missing) and let a reader refuse an absurd length before buffering
// it. The decoder checks every record as openLevelStore checks what it reads back
// (SnapshotChecker in store-state.ts), so a snapshot it accepts is one the store
// restores; anything else fails with STORE_FAILED naming the source and the
// fault. Records are handed out as they are read: a consumer that writes them
// somewhere must treat them as tentative until the iteration ends without error,
// which is when the checksum has been compared.
import { createHash, type Hash } from 'node:crypto';
import { BrambleError } from '../../proto/util/errors.js';
import { jsonShapeProblem, type JsonLimits } from '../../proto/util/untrusted-json.js';
import { objectKey, type KObject } from '../../proto/model.js';
import type { StoreEvent } from './store.js';
import { describeKey, SnapshotChecker, type StoreSnapshot } from './store-state.js';

export const SNAPSHOT_MAGIC = Buffer.from('BRMBLSNP', 'latin1');
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Far above the largest object the API stores (1 MiB) and the largest request (4 MiB). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
/** Chunks the encoder yields: big enough for few writes, small enough to stream. */
const CHUNK_BYTES = 64 * 1024;
const PREFIX_BYTES = SNAPSHOT_MAGIC.length + 4;
const FRAME_BYTES = 5;
const CHECKSUM_BYTES = 32;

const TAG_HEADER = 0x48; // 'H'
const TAG_OBJECT = 0x4f; // 'O'
const TAG_EVENT = 0x45; // 'E'
const TAG_TRAILER = 0x54; // 'T'

/**
 * Records are JSON our own store wrote, but read back they are untrusted: what
 * follows (freezing, LevelDB, the API) recurses, so depth is bounded. Strings are
 * not: an encrypted Secret is one long string.
 */
const RECORD_LIMITS: JsonLimits = { maxBytes: MAX_RECORD_BYTES, maxDepth: 64, maxStringLength: MAX_RECORD_BYTES };

export interface SnapshotHeader {
  revision: number;
  compactedRevision: number;
  objectCount: number;
  eventCount: number;
  /** When the snapshot was taken, ISO 8601. */
  createdAt: string;
  /** The server (member) that took it. */
  server: string;
}

export type SnapshotRecord =
  | { type: 'header'; header: SnapshotHeader }
  | { type: 'object'; object: KObject }
  | { type: 'event'; event: StoreEvent };

export interface SnapshotSummary {
  header: SnapshotHeader;
  /** Bytes of the whole snapshot, trailer included. */
  bytes: number;
  /** The SHA-256 in the trailer, hex. */
  sha256: string;
}

function frame(tag: number, payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(FRAME_BYTES);
  head[0] = tag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function jsonRecord(tag: number, value: unknown, what: string): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  if (payload.length > MAX_RECORD_BYTES) {
    throw new BrambleError('LIMIT_EXCEEDED', `${what} is ${payload.length} bytes as JSON, more than a snapshot record holds (${MAX_RECORD_BYTES})`);
  }
  return frame(tag, payload);
}

/**
 * The bytes of a snapshot, in chunks of about 64 KiB. The objects and events are
 * serialized as the consumer pulls, so a slow consumer (a file, a gRPC stream
 * with back-pressure) holds only a chunk at a time.
 */
export async function* encodeSnapshot(snapshot: StoreSnapshot, meta: { createdAt: string; server: string }): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  const header: SnapshotHeader = {
    revision: snapshot.revision,
    compactedRevision: snapshot.compactedRevision,
    objectCount: snapshot.objects.length,
    eventCount: snapshot.events.length,
    createdAt: meta.createdAt,
    server: meta.server,
  };
  const version = Buffer.allocUnsafe(4);
  version.writeUInt32BE(SNAPSHOT_FORMAT_VERSION);
  let parts: Buffer[] = [SNAPSHOT_MAGIC, version, jsonRecord(TAG_HEADER, header, 'the header')];
  let size = parts.reduce((n, p) => n + p.length, 0);
  const take = (): Buffer => {
    const chunk = Buffer.concat(parts, size);
    hash.update(chunk);
    parts = [];
    size = 0;
    return chunk;
  };
  const add = (b: Buffer): boolean => {
    parts.push(b);
    size += b.length;
    return size >= CHUNK_BYTES;
  };
  for (const o of snapshot.objects) {
    if (add(jsonRecord(TAG_OBJECT, o, describeKey(o.kind, o.metadata.namespace, o.metadata.name)))) yield take();
  }
  for (const e of snapshot.events) {
    if (add(jsonRecord(TAG_EVENT, e, `the event of revision ${e.revision}`))) yield take();
  }
  const last = take();
  yield Buffer.concat([last, frame(TAG_TRAILER, hash.digest())]);
}

/** Reads exact byte counts from a stream of chunks, without joining more than it hands out. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes handed out so far: the offset of the next one. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array | string>) {}

  /** Exactly n bytes, or fewer only at the end of the input. */
  async take(n: number): Promise<Buffer> {
    while (this.buffered < n && !this.done) {
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const b = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      if (b.length === 0) continue;
      this.chunks.push(b);
      this.buffered += b.length;
    }
    const out = Buffer.allocUnsafe(Math.min(n, this.buffered));
    let filled = 0;
    while (filled < out.length) {
      const head = this.chunks[0]!;
      const used = Math.min(head.length, out.length - filled);
      head.copy(out, filled, 0, used);
      filled += used;
      if (used === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(used);
    }
    this.buffered -= out.length;
    this.offset += out.length;
    return out;
  }

  /** Whether any byte is left. */
  async atEnd(): Promise<boolean> {
    if (this.buffered > 0) return false;
    const b = await this.take(1);
    if (b.length === 0) return true;
    this.chunks.unshift(b);
    this.buffered += 1;
    this.offset -= 1;
    return false;
  }
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function tagName(tag: number): string {
  switch (tag) {
    case TAG_HEADER: return 'the header';
    case TAG_OBJECT: return 'an object record';
    case TAG_EVENT: return 'an event record';
    case TAG_TRAILER: return 'the trailer';
    default: return `a record of unknown type 0x${tag.toString(16).padStart(2, '0')}`;
  }
}

function headerProblem(h: unknown): string | undefined {
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return 'is not a JSON object';
  const r = h as Record<string, unknown>;
  for (const field of ['objectCount', 'eventCount'] as const) {
    if (!isCount(r[field])) return `has ${field} ${JSON.stringify(r[field])}, not a count`;
  }
  if (typeof r.createdAt !== 'string' || Number.isNaN(Date.parse(r.createdAt))) return `has createdAt ${JSON.stringify(r.createdAt)}, not a time`;
  if (typeof r.server !== 'string') return `has server ${JSON.stringify(r.server)}, not a name`;
  return undefined;
}

/**
 * Reads a snapshot from a stream of bytes (a file's, a gRPC stream's), yielding
 * the header, then every object, then every event, each checked as the store
 * checks what it reads back. Returns the summary once the trailer's checksum
 * matches and nothing follows it; throws STORE_FAILED naming `source` otherwise.
 */
export async function* decodeSnapshot(
  input: AsyncIterable<Uint8Array | string>,
  opts: { source: string },
): AsyncGenerator<SnapshotRecord, SnapshotSummary> {
  const { source } = opts;
  const iterator = input[Symbol.asyncIterator]();
  const reader = new ByteReader(iterator);
  const hash: Hash = createHash('sha256');
  const corrupt = (what: string, at = reader.offset): BrambleError =>
    new BrambleError('STORE_FAILED', `the snapshot ${source} is corrupt: ${what} (at byte ${at})`);
  const truncated = (what: string): BrambleError =>
    new BrambleError('STORE_FAILED', `the snapshot ${source} is truncated: it ends after ${reader.offset} bytes, ${what}`);
  try {
    const prefix = await reader.take(PREFIX_BYTES);
    hash.update(prefix);
    if (prefix.length === 0) throw new BrambleError('STORE_FAILED', `${source} is empty: it is not a Bramble store snapshot`);
    const magic = prefix.subarray(0, SNAPSHOT_MAGIC.length);
    if (!magic.equals(SNAPSHOT_MAGIC.subarray(0, magic.length))) {
      throw new BrambleError('STORE_FAILED',
        `${source} is not a Bramble store snapshot: it starts with ${JSON.stringify(magic.toString('latin1'))} instead of "${SNAPSHOT_MAGIC.toString('latin1')}"`);
    }
    if (magic.length < SNAPSHOT_MAGIC.length) throw truncated('inside the magic number');
    if (prefix.length < PREFIX_BYTES) throw truncated('inside the format version');
    const version = prefix.readUInt32BE(SNAPSHOT_MAGIC.length);
    if (version !== SNAPSHOT_FORMAT_VERSION) {
      throw new BrambleError('STORE_FAILED',
        `the snapshot ${source} has format version ${version}; this bramble reads version ${SNAPSHOT_FORMAT_VERSION}${version > SNAPSHOT_FORMAT_VERSION ? ' (a newer bramble wrote it: restore it with that one)' : ''}`);
    }

    /** The next record with its payload; the trailer's bytes stay out of the checksum. */
    const nextRecord = async (expected: string): Promise<{ tag: number; payload: Buffer; at: number }> => {
      const at = reader.offset;
      const head = await reader.take(FRAME_BYTES);
      if (head.length < FRAME_BYTES) throw truncated(head.length === 0 ? `before ${expected}` : `inside the frame of ${expected}`);
      const tag = head[0]!;
      const length = head.readUInt32BE(1);
      const limit = tag === TAG_TRAILER ? CHECKSUM_BYTES : tag === TAG_HEADER ? MAX_HEADER_BYTES : MAX_RECORD_BYTES;
      if (length > limit || (tag === TAG_TRAILER && length !== CHECKSUM_BYTES)) {
        throw corrupt(`${tagName(tag)} claims ${length} bytes, ${tag === TAG_TRAILER ? `not the ${CHECKSUM_BYTES} of a SHA-256` : `more than the ${limit} a record may hold`}`, at);
      }
      const payload = await reader.take(length);
      if (payload.length < length) throw truncated(`inside ${tagName(tag)} that started at byte ${at} (${payload.length} of its ${length} bytes)`);
      if (tag !== TAG_TRAILER) {
        hash.update(head);
        hash.update(payload);
      }
      return { tag, payload, at };
    };
    const parse = (payload: Buffer, what: string, at: number): unknown => {
      let value: unknown;
      try {
        value = JSON.parse(payload.toString('utf8'));
      } catch (e) {
        throw corrupt(`${what} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, at);
      }
      const shape = jsonShapeProblem(value, RECORD_LIMITS);
      if (shape) throw corrupt(`${what}${shape.path ? ` at ${shape.path}` : ''} ${shape.message}`, at);
      return value;
    };
    const expect = async (tag: number, what: string): Promise<{ payload: Buffer; at: number }> => {
      const r = await nextRecord(what);
      if (r.tag !== tag) throw corrupt(`${tagName(r.tag)} is where ${what} should be`, r.at);
      return r;
    };

    const h = await expect(TAG_HEADER, 'the header');
    const raw = parse(h.payload, 'the header', h.at) as Record<string, unknown>;
    const check = new SnapshotChecker();
    const problem = headerProblem(raw) ?? check.revisions(raw.revision, raw.compactedRevision);
    if (problem) throw corrupt(`the header ${problem}`, h.at);
    const header = raw as unknown as SnapshotHeader;
    yield { type: 'header', header: { ...header } };

    const keys = new Set<string>();
    for (let i = 0; i < header.objectCount; i++) {
      const what = `object ${i + 1} of ${header.objectCount}`;
      const r = await expect(TAG_OBJECT, what);
      const object = parse(r.payload, what, r.at);
      const bad = check.object(object);
      if (bad) throw corrupt(`${what}: ${bad}`, r.at);
      const o = object as KObject;
      const key = objectKey(o.kind, o.metadata.namespace, o.metadata.name);
      if (keys.has(key)) throw corrupt(`${what} is ${describeKey(o.kind, o.metadata.namespace, o.metadata.name)}, which an earlier record holds already`, r.at);
      keys.add(key);
      yield { type: 'object', object: o };
    }
    for (let i = 0; i < header.eventCount; i++) {
      const what = `event ${i + 1} of ${header.eventCount}`;
      const r = await expect(TAG_EVENT, what);
      const event = parse(r.payload, what, r.at);
      const bad = check.event(event);
      if (bad) throw corrupt(`${what}: ${bad}`, r.at);
      yield { type: 'event', event: event as StoreEvent };
    }
    const end = check.end();
    if (end) throw corrupt(`after the last event: ${end}`);

    const t = await expect(TAG_TRAILER, 'the trailer');
    const computed = hash.digest();
    if (!t.payload.equals(computed)) {
      throw corrupt(`its SHA-256 checksum does not match its contents (the trailer holds ${t.payload.toString('hex')}, the bytes before it hash to ${computed.toString('hex')})`, t.at);
    }
    if (!(await reader.atEnd())) throw corrupt('there are bytes after the trailer');
    return { header, bytes: reader.offset, sha256: computed.toString('hex') };
  } finally {
    // Stop the source (close the file, cancel the stream) whether we finished, failed or were abandoned.
    await iterator.return?.();
  }
}

/** Checks a whole snapshot without keeping its records. */
export async function verifySnapshot(input: AsyncIterable<Uint8Array | string>, opts: { source: string }): Promise<SnapshotSummary> {
  const records = decodeSnapshot(input, opts);
  for (;;) {
    const r = await records.next();
    if (r.done) return r.value;
  }
}

/** Reads a whole snapshot into memory, as the store holds it anyway, with its summary. */
export async function readSnapshot(
  input: AsyncIterable<Uint8Array | string>,
  opts: { source: string },
): Promise<{ snapshot: StoreSnapshot; summary: SnapshotSummary }> {
  const records = decodeSnapshot(input, opts);
  const objects: KObject[] = [];
  const events: StoreEvent[] = [];
  let header: SnapshotHeader | undefined;
  for (;;) {
    const r = await records.next();
    if (r.done) {
      const h = header ?? r.value.header;
      return { snapshot: { revision: h.revision, compactedRevision: h.compactedRevision, objects, events }, summary: r.value };
    }
    const rec = r.value;
    if (rec.type === 'header') header = rec.header;
    else if (rec.type === 'object') objects.push(rec.object);
    else events.push(rec.event);
  }
}
