import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { withIdleTimeout } from './cli-store-snapshot.js';

describe('store snapshot save', () => {
  test('a server that stops sending is given up on after the idle timeout, and one that keeps sending is not', async () => {
    const clock = new FakeClock();
    let release: () => void = () => undefined;
    async function* stalls(): AsyncGenerator<Buffer> {
      yield Buffer.from('a');
      await new Promise<void>((r) => { release = r; });
      yield Buffer.from('b');
    }
    const got: string[] = [];
    const reading = (async () => { for await (const b of withIdleTimeout(stalls(), clock, 60_000, 'the server at pi:7443')) got.push(b.toString()); })();
    const outcome = reading.then(() => 'finished', (e: unknown) => e);
    await clock.advance(59_999);
    assert.deepEqual(got, ['a']);
    await clock.advance(1);
    const e = await outcome;
    assert.ok(isBrambleError(e, 'UNAVAILABLE') && e.message === 'the server at pi:7443 sent nothing for 60s: giving up', String(e));
    release();

    async function* steady(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(50_000);
        yield Buffer.from(String(i));
      }
    }
    const all: string[] = [];
    const done = (async () => { for await (const b of withIdleTimeout(steady(), clock, 60_000, 's')) all.push(b.toString()); })();
    for (let i = 0; i < 3; i++) await clock.advance(50_000);
    await done;
    assert.deepEqual(all, ['0', '1', '2']);
    assert.equal(clock.pendingCount, 0);
  });
});
