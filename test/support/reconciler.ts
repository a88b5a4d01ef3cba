// Shared by the pod reconciler's unit tests: a plain Pod, and waiting until the reconciler has nothing left to do.
import type { Pod } from '../../proto/model.js';

/** Resolves once the reconciler stayed idle for a few turns of the event loop; fails after 5 s. */
export async function settleReconciler(rec: { readonly busy: boolean }): Promise<void> {
  const deadline = Date.now() + 5000;
  for (let quiet = 0; quiet < 5; ) {
    await new Promise((r) => setImmediate(r));
    quiet = rec.busy ? 0 : quiet + 1;
    if (Date.now() > deadline) throw new Error('reconciler did not settle within 5 s');
  }
}

/** A one-container Pod bound to pi-1, with a uid derived from its name. */
export function sleeper(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `${name}-0123456789ab` },
    spec: { nodeName: 'pi-1', containers: [{ name: 'app', image: 'busybox:1.36' }] },
  };
}
