// `bramble cordon|uncordon|drain NODE`, as kubectl has them. Cordon sets the
// Node's spec.unschedulable (the scheduler then passes it over; Pods already there
// stay). Drain cordons, plans what to do with the node's Pods (cli-drain-plan.ts:
// refusals come before any eviction), deletes the evicted Pods gracefully (their
// agent stops them within their grace period; their ReplicaSets make replacements
// on other nodes at once) and waits until they are gone. Bramble has no Eviction
// API or PodDisruptionBudgets, so an eviction is a graceful delete.
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { resolveKind, type NodeObject, type Pod } from '../../proto/model.js';
import { withCluster, type ClusterConnection } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { planDrain, type DrainFlags } from './cli-drain-plan.js';
import { parseDuration } from './cli-token.js';
import { listKind, readModifyWrite } from './cli-workload.js';

export const DRAIN_POLL_MS = 1000;

function nodeTarget(name: string | undefined, command: string): { kind: NonNullable<ReturnType<typeof resolveKind>>; namespace: string; name: string } {
  if (!name) throw new UsageError(`${command} needs a node: use \`bramble ${command} NODE\``);
  return { kind: resolveKind('Node')!, namespace: '', name };
}

/** Sets spec.unschedulable; true when it changed. */
async function setUnschedulable(conn: ClusterConnection, name: string, unschedulable: boolean, command: string): Promise<boolean> {
  const result = await readModifyWrite(conn, nodeTarget(name, command), (obj) => {
    const node = obj as NodeObject;
    if ((node.spec?.unschedulable ?? false) === unschedulable) return { unchanged: 'already' };
    const { unschedulable: _u, ...spec } = node.spec ?? {};
    node.spec = unschedulable ? { ...spec, unschedulable: true } : spec;
    return { write: node };
  });
  return 'write' in result;
}

async function cordonWith(ctx: CommandContext, conn: ClusterConnection, name: string, unschedulable: boolean, command: string): Promise<void> {
  const changed = await setUnschedulable(conn, name, unschedulable, command);
  const verb = unschedulable ? 'cordoned' : 'uncordoned';
  ctx.io.stdout.write(`node/${name} ${changed ? '' : 'already '}${verb}\n`);
}

export async function runCordon(ctx: CommandContext, input: { node?: string; unschedulable: boolean }): Promise<number> {
  const command = input.unschedulable ? 'cordon' : 'uncordon';
  const name = nodeTarget(input.node, command).name;
  await withCluster(ctx.connect, (conn) => cordonWith(ctx, conn, name, input.unschedulable, command));
  return 0;
}

export interface DrainInput extends Partial<DrainFlags> {
  node?: string;
  /** --grace-period as typed: -1 (the default) keeps each Pod's own terminationGracePeriodSeconds. */
  gracePeriod?: string;
  /** --timeout as typed; 0 (the default, as kubectl's) waits for ever. */
  timeout?: string;
}

/** --grace-period: -1 (or any negative) for each Pod's own, else whole seconds from 1; undefined for the Pod's own. */
export function parseGracePeriodSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  const n = /^-?\d+$/.test(t) ? Number(t) : NaN;
  // 0 would mean "kill at once" in kubectl; an agent always sends SIGTERM first, so there is no such stop here.
  if (!Number.isSafeInteger(n) || n === 0 || n > 2 ** 31 - 1) {
    throw new UsageError(`--grace-period must be -1 (each Pod's own terminationGracePeriodSeconds) or a whole number of seconds from 1: current value is "${text}"`);
  }
  return n < 0 ? undefined : n;
}

const key = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;

export async function runDrain(ctx: CommandContext, input: DrainInput): Promise<number> {
  const name = nodeTarget(input.node, 'drain').name;
  const timeoutMs = input.timeout === undefined ? 0 : parseDuration(input.timeout, '--timeout') * 1000;
  const gracePeriodSeconds = parseGracePeriodSeconds(input.gracePeriod);
  const flags: DrainFlags = { force: !!input.force, ignoreDaemonSets: !!input.ignoreDaemonSets, deleteEmptyDirData: !!input.deleteEmptyDirData };
  const { io } = ctx;
  const started = io.clock.now();
  return withCluster(ctx.connect, async (conn) => {
    await cordonWith(ctx, conn, name, true, 'drain');
    const plan = planDrain(name, (await listKind(conn, 'Pod', '')) as Pod[], flags);
    for (const w of plan.warnings) io.stderr.write(`Warning: ${w}\n`);
    if (plan.refusals.length > 0) {
      // kubectl's wording; the node stays cordoned, as kubectl leaves it.
      io.stderr.write(`error: unable to drain node "${name}" due to error: ${plan.refusals.join(', ')}\n`);
      io.stderr.write(`There are pending nodes to be drained:\n ${name}\n`);
      return 1;
    }
    const pending = new Map<string, string>();
    for (const pod of plan.evict) {
      io.stdout.write(`evicting pod ${key(pod)}\n`);
      try {
        await conn.delete({ kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, resourceVersion: '', force: false, propagationPolicy: '',
          gracePeriodSeconds: gracePeriodSeconds ?? 0,
        });
        pending.set(key(pod), pod.metadata.uid ?? '');
      } catch (e) {
        if (!isBrambleError(e, 'NOT_FOUND')) throw e;
        io.stdout.write(`pod/${pod.metadata.name} evicted\n`);
      }
    }
    const deadline = timeoutMs > 0 ? started + timeoutMs : Infinity;
    let lastShown = -1;
    while (pending.size > 0) {
      const left = new Map((await listKind(conn, 'Pod', '')).map((p) => [key(p as Pod), p.metadata.uid ?? '']));
      for (const [k, uid] of [...pending]) {
        if (left.get(k) === uid) continue;
        pending.delete(k);
        io.stdout.write(`pod/${k.slice(k.indexOf('/') + 1)} evicted\n`);
      }
      if (pending.size === 0) break;
      if (io.clock.now() >= deadline) {
        // The deletes stand: their agents go on stopping the Pods; a second drain waits again.
        throw new BrambleError('UNAVAILABLE',
          `drain of node/${name} did not complete within ${input.timeout}: ${pending.size} Pod(s) still terminating: ${[...pending.keys()].join(', ')}`);
      }
      if (pending.size !== lastShown) {
        lastShown = pending.size;
        io.stderr.write(`waiting for ${pending.size} Pod(s) to terminate: ${[...pending.keys()].join(', ')}\n`);
      }
      await io.clock.sleep(Math.min(DRAIN_POLL_MS, Math.max(0, deadline - io.clock.now())));
    }
    io.stdout.write(`node/${name} drained\n`);
    return 0;
  });
}
