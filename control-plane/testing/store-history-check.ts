// One call for a fault test: is this history of store operations something a
// linearizable Bramble store could have produced? The revision-order check
// (cluster-wide, fast) runs first, then the per-key linearizability search.
//
// What is checked:
//   - per key, that some order of the operations, each placed between its call
//     and its return, explains every answer under the store's rules (create
//     needs the key absent, update and a conditional delete need its
//     resourceVersion, refusals are ALREADY_EXISTS / CONFLICT / NOT_FOUND, a get
//     answers the value and resourceVersion of the last write), with each write's
//     revision above the key's previous one: stale reads, lost acknowledged
//     writes, two creates that both succeed, values never written, a refusal
//     that should have succeeded;
//   - operations of unknown outcome as "took effect at some point after the
//     call, or never", each once; a value one of them wrote carries a revision
//     that no acknowledged write returned, learned from the first read of it;
//   - across keys: no two acknowledged writes share a revision; a write called
//     after another operation returned gets a higher revision than that one
//     wrote or read; a get called after a write of any key returned does not read
//     a version that an acknowledged write had already replaced by that write's
//     revision (revision-order.ts).
// What is not:
//   - one order for all keys at once: the per-key orders are each consistent with
//     the revision order only where revisions are known (acknowledged writes,
//     found reads); not-found reads, refusals, deletes without a revision and
//     operations of unknown outcome constrain their own key only;
//   - commands of several ops (they share one revision and would be reported as
//     a repeated revision): record one op per command;
//   - lists and watches, metadata other than the resourceVersion, values other
//     than the one string.
import { checkLinearizable, validateHistory, type CheckOptions, type CheckResult } from './linearizability.js';
import {
  acknowledgedRevisions, storeModel, validateStoreHistory, type StoreOperation,
} from './linearizability-model.js';
import { checkRevisionOrder } from './revision-order.js';

export type StoreCheckResult =
  | (CheckResult & { check: 'linearizability' })
  | { result: 'illegal'; check: 'revision-order'; key?: undefined; operations: number[]; message: string };

export interface StoreCheckOptions extends CheckOptions {
  /** Keys that exist before the history starts. */
  initial?: ReadonlyMap<string, { value: string; resourceVersion: number }>;
}

/** Throws INVALID_ARGUMENT when an operation is not a store operation the model knows. */
export function checkStoreHistory(history: readonly StoreOperation[], options: StoreCheckOptions = {}): StoreCheckResult {
  validateHistory(history);
  validateStoreHistory(history);
  const violation = checkRevisionOrder(history);
  if (violation) return { result: 'illegal', check: 'revision-order', ...violation };
  const acknowledged = acknowledgedRevisions(history);
  for (const o of options.initial?.values() ?? []) acknowledged.add(o.resourceVersion);
  const model = storeModel({ acknowledged, initial: options.initial });
  return { ...checkLinearizable(model, history, options), check: 'linearizability' };
}
