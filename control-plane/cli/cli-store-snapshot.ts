// `bramble store snapshot save FILE` and `bramble store snapshot restore FILE
// --data-dir DIR`. Save asks the server for its store at one revision and
// writes it through FILE.tmp (fsynced, checked, renamed). Restore is offline:
// it checks FILE whole, then makes DIR's store from it (store-restore.ts).
// The store modules are loaded only here, so other commands do not pay for LevelDB.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BrambleError } from '../../proto/util/errors.js';
import type { Clock, Timer } from '../../proto/util/clock.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';

/** A server that sends nothing for this long is given up on, rather than waited for for ever. */
export const SNAPSHOT_IDLE_TIMEOUT_MS = 60_000;

/** The chunks of `source`, failing with UNAVAILABLE when none comes for `idleMs`. */
export async function* withIdleTimeout(source: AsyncIterable<Buffer>, clock: Clock, idleMs: number, what: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new BrambleError('UNAVAILABLE', `${what} sent nothing for ${idleMs / 1000}s: giving up`)), idleMs);
    });
    try {
      const next = await Promise.race([it.next(), timeout]);
      if (next.done) return;
      yield next.value;
    } finally {
      timer?.cancel();
    }
  }
}

export interface SnapshotSaveInput {
  file?: string;
  force: boolean;
}

export async function runSnapshotSave(ctx: CommandContext, input: SnapshotSaveInput): Promise<number> {
  if (!input.file) throw new UsageError('store snapshot save needs the FILE to write');
  const file = path.resolve(input.file);
  const { writeSnapshotFile } = await import('../store/store-snapshot-file.js');
  if (!input.force && existsSync(file)) {
    throw new BrambleError('ALREADY_EXISTS', `${file} already exists: choose another file name, or pass --force to replace it`);
  }
  const summary = await withCluster(ctx.connect, async (conn) => {
    const stream = conn.snapshotStore();
    let done = false;
    try {
      const s = await writeSnapshotFile(file, withIdleTimeout(stream, ctx.io.clock, SNAPSHOT_IDLE_TIMEOUT_MS, `the server at ${conn.address}`), { force: input.force });
      done = true;
      return s;
    } finally {
      // A failed write (disk full) stops the server's stream too.
      if (!done) stream.cancel();
    }
  });
  const h = summary.header;
  ctx.io.stdout.write(`saved ${file}: revision ${h.revision}, ${h.objectCount} objects, ${h.eventCount} events, ${summary.bytes} bytes, sha256 ${summary.sha256}\n`);
  return 0;
}

export interface SnapshotRestoreInput {
  file?: string;
  dataDir?: string;
  force: boolean;
  encryptionKeys?: string;
}

export async function runSnapshotRestore(ctx: CommandContext, input: SnapshotRestoreInput): Promise<number> {
  if (!input.file) throw new UsageError('store snapshot restore needs the FILE to restore');
  if (!input.dataDir) throw new UsageError('store snapshot restore needs --data-dir DIR: the data dir of the server to create');
  const { restoreSnapshot, ENCRYPTION_KEYS_FILE } = await import('../store/store-restore.js');
  const r = await restoreSnapshot({ file: input.file, dataDir: input.dataDir, force: input.force, encryptionKeys: input.encryptionKeys, clock: ctx.io.clock });
  const dataDir = path.resolve(input.dataDir);
  const h = r.summary.header;
  const out = (line: string): void => { ctx.io.stdout.write(`${line}\n`); };
  out(`checked ${path.resolve(input.file)}: revision ${h.revision}, ${h.objectCount} objects, ${h.eventCount} events, ${r.summary.bytes} bytes, taken ${h.createdAt} on ${h.server}`);
  out(`restored into ${r.storeDir} (revision ${h.revision}, compacted revision ${h.compactedRevision})`);
  if (r.movedAside) out(`the store that was there is kept in ${r.movedAside}`);
  if (r.membershipMovedAside) out(`the data dir was a member of a replicated control plane (kept in ${r.membershipMovedAside}): it now starts as a single server; add --cluster-init to make it the first member of a new cluster`);
  if (r.keysCopiedTo) out(`encryption keys copied to ${r.keysCopiedTo} (mode 0600)${r.keysMovedAside ? `; the keys that were there are kept in ${r.keysMovedAside}` : ''}`);
  if (!r.hasKeys && r.secrets > 0) {
    out(`warning: the snapshot holds ${r.secrets} Secret${r.secrets === 1 ? '' : 's'}, encrypted at rest: the server cannot read them without the keys of the cluster it came from; ` +
      `restore again with --encryption-keys FILE (the ${ENCRYPTION_KEYS_FILE} of that data dir; snapshots never hold the keys, so keep them with your backups, separately)`);
  }
  if (r.hasPki) {
    out(`${path.join(dataDir, 'tls')} holds the cluster CA: agents that joined it reconnect as they were`);
  } else {
    out(`${dataDir} has no PKI: the server makes a new cluster CA at its first start, so every agent must join again (bramble token create, then bramble agent --token)`);
  }
  out(`start it with: bramble server --data-dir ${dataDir}`);
  return 0;
}
