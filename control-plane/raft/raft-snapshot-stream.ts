// What a snapshot stream between replicas carries besides the store's state: the
// members' addresses as of the snapshot's index. The conf changes that carried them
// may be compacted away, and the MsgSnap itself carries only the names (its meta),
// so a member that joins by a snapshot would otherwise know its peers by name only.
//
//   magic   8 bytes  "BRMBLPRS"
//   length  4 bytes  unsigned big-endian
//   peers   length bytes of JSON: {name: "host:port"}
//   ...     the store snapshot (store-snapshot.ts) as it is
import { BrambleError } from '../../proto/util/errors.js';
import type { NodeId } from './raft-types.js';

const MAGIC = Buffer.from('BRMBLPRS', 'latin1');
const PREFIX_BYTES = MAGIC.length + 4;
/** Thousands of members' addresses; anything larger is not ours. */
const MAX_PEERS_BYTES = 1024 * 1024;

export function peersPrefix(peers: Record<NodeId, string>): Buffer {
  const json = Buffer.from(JSON.stringify(peers), 'utf8');
  const head = Buffer.allocUnsafe(PREFIX_BYTES);
  MAGIC.copy(head, 0);
  head.writeUInt32BE(json.length, MAGIC.length);
  return Buffer.concat([head, json]);
}

/** Reads the peers prefix off `body`; the rest of the stream follows, unread. Throws STORE_FAILED on a bad prefix. */
export async function readPeersPrefix(
  body: AsyncIterable<Uint8Array>, source: string,
): Promise<{ peers: Record<NodeId, string>; rest: AsyncIterable<Uint8Array> }> {
  const it = body[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  const fill = async (n: number): Promise<void> => {
    while (buf.length < n) {
      const r = await it.next();
      if (r.done) throw new BrambleError('STORE_FAILED', `the snapshot ${source} is truncated: it ends after ${buf.length} bytes, inside the members' addresses`);
      buf = Buffer.concat([buf, Buffer.from(r.value)]);
    }
  };
  await fill(PREFIX_BYTES);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BrambleError('STORE_FAILED', `the snapshot ${source} does not start with "${MAGIC.toString('latin1')}": it is not a replica's snapshot stream`);
  }
  const length = buf.readUInt32BE(MAGIC.length);
  if (length > MAX_PEERS_BYTES) {
    throw new BrambleError('STORE_FAILED', `the snapshot ${source} claims ${length} bytes of members' addresses, more than ${MAX_PEERS_BYTES}`);
  }
  await fill(PREFIX_BYTES + length);
  let peers: unknown;
  try {
    peers = JSON.parse(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + length).toString('utf8'));
  } catch (e) {
    throw new BrambleError('STORE_FAILED', `the members' addresses in the snapshot ${source} are not valid JSON (${(e as Error).message})`);
  }
  if (!peers || typeof peers !== 'object' || Array.isArray(peers) || Object.values(peers).some((a) => typeof a !== 'string')) {
    throw new BrambleError('STORE_FAILED', `the members' addresses in the snapshot ${source} are not a map of member names to addresses`);
  }
  const left = buf.subarray(PREFIX_BYTES + length);
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (left.length > 0) yield left;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  return { peers: peers as Record<NodeId, string>, rest: rest() };
}
