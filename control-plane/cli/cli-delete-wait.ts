// `bramble delete --cascade=foreground` waits, as kubectl does, until the owner is
// really gone: the server only marks it (deletionTimestamp + foregroundDeletion)
// and the garbage collector removes it once its dependents are gone. Polls with a
// deadline on the injected clock, and says how many dependents are left whenever
// that number changes, so a wait that does not end shows where it is stuck.
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { KINDS, type KObject, type KindInfo, type PropagationPolicy } from '../../proto/model.js';
import type { ClusterConnection } from './cli-client.js';
import type { CliIo } from './cli-context.js';
import { UsageError } from './cli-errors.js';

/** kubectl's values of --cascade, to the API's propagation policies. */
export const CASCADE_MODES = ['background', 'orphan', 'foreground'] as const;

const POLICY_OF: Record<(typeof CASCADE_MODES)[number], PropagationPolicy> = { background: 'Background', orphan: 'Orphan', foreground: 'Foreground' };

/** Throws a UsageError (exit 2) naming the allowed values. */
export function cascadePolicy(text: string | undefined): PropagationPolicy {
  if (text === undefined) return 'Background';
  const mode = CASCADE_MODES.find((m) => m === text);
  if (!mode) throw new UsageError(`--cascade must be one of ${CASCADE_MODES.join(', ')}: current value is "${text}"`);
  return POLICY_OF[mode];
}

export const FOREGROUND_POLL_MS = 500;
export const DEFAULT_FOREGROUND_TIMEOUT_MS = 5 * 60_000;

export interface WaitTarget {
  kind: KindInfo;
  namespace: string;
  name: string;
  /** The deleted object's uid: an object created again under its name is not it. */
  uid: string;
}

/** Objects that still name the owner in their ownerReferences (in its namespace, or everywhere for a cluster-scoped owner). */
async function countDependents(conn: ClusterConnection, t: WaitTarget): Promise<number> {
  let n = 0;
  for (const k of KINDS) {
    if (t.namespace !== '' && !k.namespaced) continue;
    const res = await conn.list({ kind: k.kind, namespace: t.namespace, labelSelector: '' });
    for (const text of res.objects) {
      const o = JSON.parse(text) as KObject;
      if ((o.metadata.ownerReferences ?? []).some((r) => r.uid === t.uid)) n++;
    }
  }
  return n;
}

/** Resolves once the object is gone; rejects with DEADLINE_EXCEEDED after timeoutMs (0: no deadline). */
export async function waitUntilDeleted(conn: ClusterConnection, io: CliIo, t: WaitTarget, timeoutMs: number): Promise<void> {
  const what = `${t.kind.kind.toLowerCase()}/${t.name}`;
  const deadline = timeoutMs > 0 ? io.clock.now() + timeoutMs : Infinity;
  let lastCount: number | undefined;
  for (;;) {
    try {
      const o = JSON.parse((await conn.get({ kind: t.kind.kind, namespace: t.namespace, name: t.name })).object) as KObject;
      if (o.metadata.uid !== t.uid) return;
    } catch (e) {
      if (isBrambleError(e, 'NOT_FOUND')) return;
      throw e;
    }
    const count = await countDependents(conn, t);
    if (count !== lastCount) {
      io.stderr.write(`waiting for ${what}: ${count} dependent(s) left\n`);
      lastCount = count;
    }
    if (io.clock.now() + FOREGROUND_POLL_MS > deadline) {
      throw new BrambleError('UNAVAILABLE',
        `${what} was still there after ${Math.round(timeoutMs / 1000)}s, with ${count} dependent(s) left: the garbage collector goes on deleting it; check again with \`bramble get ${t.kind.plural} ${t.name}\``);
    }
    await io.clock.sleep(FOREGROUND_POLL_MS);
  }
}
