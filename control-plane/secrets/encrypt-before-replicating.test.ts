import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { silentLogger } from '../../proto/util/log.js';
import type { KObject } from '../../proto/model.js';
import { openRaftStore } from '../raft/raft-store.js';
import { MemoryNetwork } from '../raft/raft-transport-memory.js';
import { openLevelStore } from '../store/store-level.js';
import { encryptBeforeReplicating, makesFirstMemberOfStore } from './encrypt-before-replicating.js';
import { encryptionOf } from './secret-cipher.js';

const PASSWORD = 'pw-3b7e91c04d2a68f5';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function legacyStore(dataDir: string): Promise<void> {
  const legacy = await openLevelStore({ dataDir });
  const secret: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'old', namespace: 'default', uid: 'u1' }, data: { v: b64(PASSWORD) } };
  const config: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default', uid: 'u2' }, data: { a: 'b' } };
  await legacy.propose({ ops: [{ type: 'put', object: secret }] });
  await legacy.propose({ ops: [{ type: 'put', object: config }] });
  await legacy.close();
}

/** The store as the first member opens it, and as its snapshot to a joiner would carry it. */
async function asFirstMember(dataDir: string) {
  const raft = await openRaftStore({ dataDir, id: 'cp1', transport: new MemoryNetwork().transport('cp1'), bootstrap: [{ id: 'cp1', address: '127.0.0.1:7443' }], clock: new FakeClock() });
  try {
    return { snapshot: raft.snapshot(), watchFromStart: () => raft.watch({ fromRevision: 1 }, () => undefined) };
  } finally {
    await raft.close();
  }
}

const holdsClear = (v: unknown): boolean => JSON.stringify(v).includes(b64(PASSWORD));

describe('encrypting a single server\'s store before it becomes the first member', () => {
  test('only --cluster-init on a data dir that has a store and is no member yet', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bramble-first-member-'));
    try {
      assert.equal(makesFirstMemberOfStore(dataDir, { init: true, isMember: false }), false, 'no store: a new cluster, nothing to encrypt');
      await legacyStore(dataDir);
      assert.equal(makesFirstMemberOfStore(dataDir, { init: true, isMember: false }), true);
      assert.equal(makesFirstMemberOfStore(dataDir, { init: true, isMember: true }), false, 'already a member: its Raft log decides');
      assert.equal(makesFirstMemberOfStore(dataDir, { init: false, isMember: false }), false, 'a single server encrypts on its own start');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('without it, the first member\'s snapshot carries the Secret in clear in its history (the defect)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bramble-first-member-'));
    try {
      await legacyStore(dataDir);
      const { snapshot } = await asFirstMember(dataDir);
      assert.ok(snapshot.events.some(holdsClear), 'the history holds the value in clear');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('the Secrets are encrypted and the history dropped: the snapshot holds no value in clear, and a watch from before relists', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bramble-first-member-'));
    try {
      await legacyStore(dataDir);
      assert.equal(await encryptBeforeReplicating({ dataDir, clock: new FakeClock(), logger: silentLogger() }), 1);
      const { snapshot, watchFromStart } = await asFirstMember(dataDir);
      assert.equal(holdsClear(snapshot), false, 'neither objects nor events hold the value in clear');
      assert.deepEqual(snapshot.events, [], 'the history up to the encryption is gone');
      assert.equal(snapshot.compactedRevision, snapshot.revision);
      const secret = snapshot.objects.find((o) => o.kind === 'Secret')!;
      assert.equal(encryptionOf(secret).state, 'encrypted');
      assert.deepEqual(snapshot.objects.find((o) => o.kind === 'ConfigMap')?.data, { a: 'b' }, 'the other objects are kept');
      assert.throws(watchFromStart, (e: unknown) => (e as { code?: string }).code === 'STORE_REVISION_TOO_OLD');
      // A second --cluster-init attempt (the first stopped before member.json) finds nothing to do.
      assert.equal(await encryptBeforeReplicating({ dataDir, clock: new FakeClock(), logger: silentLogger() }), 0);
      assert.equal((await asFirstMember(dataDir)).snapshot.revision, snapshot.revision, 'nothing written');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
