// Creates in growing batches (Kubernetes' slowStartBatch), shared by the workload
// controllers: a template that cannot be created fails once, not a hundred times.

/**
 * Runs `count` calls in batches of 1, 2, 4, …. Stops after the first batch with a
 * failure; says how many calls were made and succeeded. `fn` gets the call's
 * index (0 … count-1), so each call can do a different thing (a node each).
 */
export async function slowStartBatch(
  count: number, fn: (index: number) => Promise<void>,
): Promise<{ succeeded: number; attempted: number; error?: unknown }> {
  let succeeded = 0;
  let attempted = 0;
  let batch = 1;
  let remaining = count;
  while (remaining > 0) {
    const size = Math.min(batch, remaining);
    const first = attempted;
    const results = await Promise.allSettled(Array.from({ length: size }, (_, i) => fn(first + i)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    succeeded += size - failed.length;
    attempted += size;
    if (failed.length > 0) return { succeeded, attempted, error: failed[0]!.reason };
    remaining -= size;
    batch *= 2;
  }
  return { succeeded, attempted };
}
