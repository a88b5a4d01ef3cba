import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAX_SERVERS, ServerList, SERVERS_FILE, checkedServers, serverListFile, type ServerListStore } from './server-list.js';

function memoryStore(initial?: string[]): ServerListStore & { saved: string[][] } {
  const saved: string[][] = [];
  return {
    saved,
    load: async () => initial,
    save: async (servers) => void saved.push(servers),
  };
}

describe('ServerList', () => {
  test('starts at the first address given and moves round robin through the others', () => {
    const list = new ServerList(['a:1', 'b:1', 'c:1']);
    assert.equal(list.current(), 'a:1');
    assert.deepEqual(list.advance(), { address: 'b:1', delayMs: 0 });
    assert.deepEqual(list.advance(), { address: 'c:1', delayMs: 0 });
    // Back at the first: every member was tried once, so this move waits.
    const wrap = list.advance();
    assert.equal(wrap.address, 'a:1');
    assert.ok(wrap.delayMs > 0, `a full round must be followed by a pause: got ${wrap.delayMs}`);
  });

  test('the pause after each full round grows, and an answer resets it', () => {
    const list = new ServerList(['a:1', 'b:1']);
    const pauses: number[] = [];
    for (let i = 0; i < 8; i++) pauses.push(list.advance().delayMs);
    assert.deepEqual(pauses, [0, 500, 0, 1_000, 0, 2_000, 0, 4_000]);
    list.succeeded();
    assert.deepEqual([list.advance().delayMs, list.advance().delayMs], [0, 500]);
  });

  test('a single server waits between every attempt, as the agent always did', () => {
    const list = new ServerList(['a:1']);
    assert.deepEqual([list.advance(), list.advance()], [{ address: 'a:1', delayMs: 500 }, { address: 'a:1', delayMs: 1_000 }]);
  });

  test('members a server lists replace the learned ones, are kept beside those given, and are persisted', async () => {
    const store = memoryStore();
    const list = new ServerList(['a:1'], { store });
    assert.equal(await list.learn(['a:1', 'b:1', 'c:1']), true);
    assert.deepEqual(list.all(), ['a:1', 'b:1', 'c:1']);
    assert.equal(await list.learn(['a:1', 'd:1']), true);
    assert.deepEqual(list.all(), ['a:1', 'd:1']);
    assert.deepEqual(store.saved, [['a:1', 'b:1', 'c:1'], ['a:1', 'd:1']]);
    // The same list again, or an empty one (a server that does not know its peers), writes nothing.
    assert.equal(await list.learn(['a:1', 'd:1']), false);
    assert.equal(await list.learn([]), false);
    assert.deepEqual(store.saved.length, 2);
    // An address given on the command line is never forgotten.
    await list.learn(['x:1']);
    assert.deepEqual(list.all(), ['a:1', 'x:1']);
  });

  test('the move after a list change continues from the current member, or from the first when it is gone', async () => {
    const list = new ServerList(['a:1']);
    await list.learn(['a:1', 'b:1', 'c:1']);
    assert.equal(list.advance().address, 'b:1');
    await list.learn(['a:1', 'c:1']);
    assert.equal(list.advance().address, 'a:1');
  });

  test('bad addresses from a server are skipped, and the list is bounded', async () => {
    const list = new ServerList(['a:1']);
    await list.learn(['b:1', 'no-port', 'c:0', 42, 'b:1']);
    assert.deepEqual(list.all(), ['a:1', 'b:1']);
    assert.equal(await list.learn('a:1,b:1'), false);
    const many = Array.from({ length: MAX_SERVERS + 5 }, (_, i) => `10.0.0.${i}:7443`);
    const checked = checkedServers(many);
    assert.equal(checked.servers.length, MAX_SERVERS);
    assert.match(checked.problems.join(';'), /must hold no more than 16 servers: current count is 21/);
  });

  test('a list persisted before a restart is read at start, after the given addresses', async () => {
    const list = new ServerList(['a:1'], { store: memoryStore(['b:1', 'c:1']) });
    await list.loadPersisted();
    assert.deepEqual(list.all(), ['a:1', 'b:1', 'c:1']);
    assert.equal(list.current(), 'a:1');
    assert.equal(list.advance().address, 'b:1');
  });
});

describe('serverListFile', () => {
  test('writes servers.json atomically and reads it back; a missing file is no list', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-servers-'));
    try {
      const file = serverListFile(dir);
      assert.equal(await file.load(), undefined);
      await file.save(['a:1', 'b:1']);
      assert.deepEqual(JSON.parse(await readFile(path.join(dir, SERVERS_FILE), 'utf8')), { servers: ['a:1', 'b:1'] });
      assert.equal((await stat(path.join(dir, SERVERS_FILE))).mode & 0o777, 0o644);
      assert.deepEqual(await file.load(), ['a:1', 'b:1']);
      // A rebooted board reads what an earlier run learned.
      const list = new ServerList(['a:1'], { store: serverListFile(dir) });
      await list.loadPersisted();
      assert.deepEqual(list.all(), ['a:1', 'b:1']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a garbled or hand-edited file never stops the agent: the good addresses are kept, the rest ignored', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-servers-'));
    try {
      const at = path.join(dir, SERVERS_FILE);
      for (const [text, expected] of [
        ['{not json', undefined],
        ['null', []],
        ['{"servers": "a:1"}', []],
        ['{"servers": ["a:1", "bad", 7]}', ['a:1']],
      ] as const) {
        await writeFile(at, text);
        assert.deepEqual(await serverListFile(dir).load(), expected, text);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ServerList.redirect', () => {
  test('goes to the leader a member named, learning it when missing, and still pauses after a round of misses', () => {
    const list = new ServerList(['a:1']);
    assert.deepEqual(list.redirect('b:1'), { address: 'b:1', delayMs: 0 });
    assert.deepEqual(list.all(), ['a:1', 'b:1']);
    // b names a as the leader and a names b: the two misses make a round, so the next move waits.
    const back = list.redirect('a:1');
    assert.equal(back.address, 'a:1');
    assert.ok(back.delayMs > 0, `members naming each other must be followed by a pause: got ${back.delayMs}`);
  });

  test('a named address that cannot be dialled, or the current one, is a plain move to the next', () => {
    const list = new ServerList(['a:1', 'b:1']);
    assert.equal(list.redirect('not an address').address, 'b:1');
    assert.equal(list.redirect('b:1').address, 'a:1');
    assert.deepEqual(list.all(), ['a:1', 'b:1']);
  });
});
