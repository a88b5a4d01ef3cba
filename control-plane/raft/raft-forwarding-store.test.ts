import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { Command, CommitResult } from '../store/store.js';
import { forwardingStore } from './raft-forwarding-store.js';
import { NotLeaderError } from './raft-leadership.js';
import type { RaftStore } from './raft-store.js';

const CMD: Command = { ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'x' }] };
const OK: CommitResult = { revision: 9, objects: [] };

/** A follower that believes `leader` leads; the test moves it. */
function follower(state: { leader: string }): RaftStore {
  return {
    propose: async () => { throw new NotLeaderError('a', state.leader); },
    node: { status: () => ({ peers: { a: 'a:1', b: 'b:1', c: 'c:1' } }) },
  } as unknown as RaftStore;
}

/** Runs `p` while moving the fake clock, so the store's waits between attempts end. */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  const settled = p.finally(() => { done = true; });
  settled.catch(() => undefined); // awaited below, once the loop ends
  while (!done) {
    await new Promise((r) => setImmediate(r));
    clock.advance(100);
  }
  return settled;
}

test('a write on a follower goes to the leader it names', async () => {
  const sent: string[] = [];
  const store = forwardingStore(follower({ leader: 'b' }), { clock: new FakeClock(0), forward: async (address) => { sent.push(address); return OK; } });
  assert.deepEqual(await store.propose(CMD), OK);
  assert.deepEqual(sent, ['b:1']);
});

test('a leader that cannot be reached and never got the write is left for the next leader', async () => {
  const clock = new FakeClock(0);
  const state = { leader: 'b' };
  const sent: string[] = [];
  const store = forwardingStore(follower(state), {
    clock,
    forward: async (address) => {
      sent.push(address);
      if (address === 'b:1') {
        // The election ends while the write waits: the follower names the new leader.
        if (sent.length >= 3) state.leader = 'c';
        throw new BrambleError('NOT_LEADER', 'the control-plane member at b:1 cannot be reached and did not get the request');
      }
      return OK;
    },
  });
  assert.deepEqual(await drive(clock, store.propose(CMD)), OK);
  assert.equal(sent.at(-1), 'c:1');
  assert.ok(sent.filter((a) => a === 'c:1').length === 1, 'the write reached the new leader once');
});

test('a forward whose outcome is unknown is never sent again', async () => {
  const sent: string[] = [];
  const store = forwardingStore(follower({ leader: 'b' }), {
    clock: new FakeClock(0),
    forward: async (address) => { sent.push(address); throw new BrambleError('UNAVAILABLE', 'the write was not applied within 10000 ms; it may still commit'); },
  });
  await assert.rejects(store.propose(CMD), (e: unknown) => isBrambleError(e, 'UNAVAILABLE') && /may still commit/.test(e.message));
  assert.deepEqual(sent, ['b:1']);
});

test('with no leader for longer than the wait, the write is refused as unavailable', async () => {
  const clock = new FakeClock(0);
  const store = forwardingStore(follower({ leader: '' }), { clock, leaderWaitMs: 1000, forward: async () => OK });
  await assert.rejects(drive(clock, store.propose(CMD)), (e: unknown) => isBrambleError(e, 'UNAVAILABLE') && /no leader took the write within 1000 ms/.test(e.message));
});
