// `bramble scale deploy/web --replicas N`: sets spec.replicas of a Deployment or
// ReplicaSet, as kubectl scale does, with its --current-replicas and
// --resource-version preconditions. A DaemonSet runs one Pod per node and has
// no replica count, so it is refused like any other kind.
import { BrambleError } from '../../proto/util/errors.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { qualifiedName, readModifyWrite, workloadTarget } from './cli-workload.js';

export const SCALABLE_KINDS = ['Deployment', 'ReplicaSet'] as const;

export interface ScaleInput {
  kind: string;
  name?: string;
  namespace?: string;
  replicas?: string;
  currentReplicas?: string;
  resourceVersion?: string;
}

/** A replica count as typed: a whole number, 0 or more; the error names the flag. */
export function parseReplicas(text: string | undefined, flag: string): number {
  if (text === undefined) throw new UsageError(`${flag} is required: the number of replicas wanted, e.g. ${flag} 3`);
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a whole number, 0 or more: current value is "${text}"`);
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1) throw new UsageError(`${flag} must be no more than ${2 ** 31 - 1}: current value is "${text}"`);
  return n;
}

export async function runScale(ctx: CommandContext, input: ScaleInput): Promise<number> {
  const target = workloadTarget('scale', input.kind, input.name, input.namespace, SCALABLE_KINDS);
  const replicas = parseReplicas(input.replicas, '--replicas');
  const expected = input.currentReplicas === undefined ? undefined : parseReplicas(input.currentReplicas, '--current-replicas');
  const shown = qualifiedName(target.kind, target.name);
  await withCluster(ctx.connect, (conn) =>
    readModifyWrite(
      conn,
      target,
      (obj) => {
        const spec = obj.spec as { replicas?: number };
        // Kubernetes defaults an absent count to 1, and so does the schema for ReplicaSets.
        const current = spec.replicas ?? 1;
        if (expected !== undefined && current !== expected) {
          throw new BrambleError('CONFLICT', `${shown} has ${current} replicas, not ${expected} as --current-replicas requires`);
        }
        if (spec.replicas === replicas) return { unchanged: 'already at that count' };
        spec.replicas = replicas;
        return { write: obj };
      },
      { resourceVersion: input.resourceVersion },
    ),
  );
  // kubectl prints "scaled" also when the count was already right.
  ctx.io.stdout.write(`${shown} scaled\n`);
  return 0;
}
