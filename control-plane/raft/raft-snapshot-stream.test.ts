import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../../proto/util/errors.js';
import { peersPrefix, readPeersPrefix } from './raft-snapshot-stream.js';

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('latin1');
}

test('the members\' addresses are read off the front of a snapshot stream however it is chunked, leaving the rest intact', async () => {
  const peers = { a: 'a.lan:7443', b: 'b.lan:7443' };
  const whole = Buffer.concat([peersPrefix(peers), Buffer.from('BRMBLSNP...the store...', 'latin1')]);
  for (const size of [1, 3, 16, whole.length]) {
    const { peers: got, rest } = await readPeersPrefix(chunks(whole, size), 'test');
    assert.deepEqual(got, peers);
    assert.equal(await collect(rest), 'BRMBLSNP...the store...');
  }
});

test('a stream without the prefix, or cut inside it, or with addresses that are not a map, is refused with STORE_FAILED', async () => {
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.from('BRMBLSNP00000000', 'latin1'), /does not start with "BRMBLPRS"/],
    [peersPrefix({ a: 'x' }).subarray(0, 14), /is truncated: it ends after 14 bytes/],
    [peersPrefix({ a: 1 } as unknown as Record<string, string>), /not a map of member names to addresses/],
  ];
  for (const [bytes, message] of cases) {
    const err = await readPeersPrefix(chunks(bytes, 5), 'from b').then(() => undefined, (e: unknown) => e);
    assert.ok(isBrambleError(err, 'STORE_FAILED'), String(err));
    assert.match((err as Error).message, message);
  }
});
