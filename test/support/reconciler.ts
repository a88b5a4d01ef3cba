// Shared by the pod reconciler's unit tests: waiting until it has nothing left to do.

/** Resolves once the reconciler stayed idle for a few turns of the event loop; fails after 5 s. */
export async function settleReconciler(rec: { readonly busy: boolean }): Promise<void> {
  const deadline = Date.now() + 5000;
  for (let quiet = 0; quiet < 5; ) {
    await new Promise((r) => setImmediate(r));
    quiet = rec.busy ? 0 : quiet + 1;
    if (Date.now() > deadline) throw new Error('reconciler did not settle within 5 s');
  }
}
