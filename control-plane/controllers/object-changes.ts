// What an update event changed, for handlers that skip events needing no reconcile.
import type { KObject } from '../../proto/model.js';

/**
 * A write of status alone (a controller's own, mostly) needs no reconcile of the
 * object's owner logic; enqueueing it would also cut short the back-off of a key
 * whose failure was just recorded. A relist's resync (old === new) still counts
 * as a change, so it enqueues.
 */
export function onlyStatusChanged(old: KObject, obj: KObject): boolean {
  if (old === obj) return false;
  const { status: _a, metadata: { resourceVersion: _ra, ...oldMeta }, ...oldRest } = old;
  const { status: _b, metadata: { resourceVersion: _rb, ...meta }, ...rest } = obj;
  return JSON.stringify(oldMeta) === JSON.stringify(meta) && JSON.stringify(oldRest) === JSON.stringify(rest);
}

/** Whether the labels differ (a selector may now match, or stop matching). */
export function labelsChanged(old: KObject, obj: KObject): boolean {
  return JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(obj.metadata.labels ?? {});
}
