// One call for a fault test: is this history of store operations something a
// linearizable Bramble store could have produced? The revision-order check
// (cluster-wide, fast) runs first, then the per-key linearizability search.
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
