// Whether an update event changed nothing but status: controllers skip those.
import type { KObject } from '../../proto/model.js';

/**
 * A write of status alone (a controller's own, mostly) needs no reconcile;
 * enqueueing it would also cut short the back-off of an object whose failure
 * was just recorded. A relist's resync (old === new) still counts as a change.
 */
export function onlyStatusChanged(old: KObject, obj: KObject): boolean {
  if (old === obj) return false;
  const { status: _a, metadata: { resourceVersion: _ra, ...oldMeta }, ...oldRest } = old;
  const { status: _b, metadata: { resourceVersion: _rb, ...meta }, ...rest } = obj;
  return JSON.stringify(oldMeta) === JSON.stringify(meta) && JSON.stringify(oldRest) === JSON.stringify(rest);
}
