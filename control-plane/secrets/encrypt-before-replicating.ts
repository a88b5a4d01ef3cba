// `bramble server --cluster-init` on a data dir a single server used: the store
// becomes the first member's, and whatever it holds goes to every member that
// joins (the leader's snapshot carries the objects and the retained watch
// history). A store written before Secrets were encrypted holds them in clear in
// that history; a single server's first encrypted start drops it (forgetHistory),
// which the Raft store cannot do without every replica dropping it at the same
// point of the log. So the single server's first start runs here, on the store
// as it still is, before it is a member: by the time a follower can join (a join
// needs the token registry, which only exists later), neither the snapshot nor the
// Raft log, which starts empty, holds a Secret in clear.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../proto/util/clock.js';
import type { Logger } from '../../proto/util/log.js';
import { openLevelStore, readStoreFormat, REPLICATED_FORMAT_VERSION } from '../store/store-level.js';
import { openEncryptedStore } from './secrets-encryption.js';

/** Whether this start turns a single server's store into the first member of a cluster. */
export function makesFirstMemberOfStore(dataDir: string, opts: { init: boolean; isMember: boolean }): boolean {
  return opts.init && !opts.isMember && existsSync(path.join(dataDir, 'store'));
}

/**
 * Opens the single server's store, encrypts the Secrets it holds in clear and drops the
 * history that held them (as a single server's start does), and closes it again. Returns
 * the Secrets encrypted. A store already encrypted is only read.
 */
export async function encryptBeforeReplicating(opts: { dataDir: string; clock: Clock; logger: Logger }): Promise<number> {
  // A start stopped after the store became a member's (raft-store-disk.ts converts it, after this
  // ran) and before the membership record was written: the Secrets were encrypted then.
  if (await readStoreFormat(opts.dataDir) === REPLICATED_FORMAT_VERSION) return 0;
  const store = await openLevelStore({ dataDir: opts.dataDir, clock: opts.clock, logger: opts.logger.child({ component: 'store' }) });
  try {
    const { encryptedAtStart } = await openEncryptedStore({ raw: store, dataDir: opts.dataDir, clock: opts.clock, logger: opts.logger.child({ component: 'secrets-encryption' }) });
    if (encryptedAtStart > 0) opts.logger.info({ secrets: encryptedAtStart }, 'encrypted the single server\'s Secrets and dropped their history before the store became the first member');
    return encryptedAtStart;
  } finally {
    await store.close();
  }
}
