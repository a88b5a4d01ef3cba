// What an update event changed, for handlers that skip events needing no reconcile.
import type { KObject } from '../../proto/model.js';
import { keyOf, type EventHandlers } from './informer.js';

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

/**
 * The handlers of a controller for its own kind: every add and delete enqueues, an
 * update only when more than the status changed (the controller's own status
 * write must not wake it again). `onDeleted` runs first, e.g. to drop expectations.
 */
export function ownKindHandlers<T extends KObject>(enqueue: (key: string) => void, onDeleted?: (key: string) => void): EventHandlers<T> {
  return {
    onAdd: (obj) => enqueue(keyOf(obj)),
    onUpdate: (old, obj) => {
      if (!onlyStatusChanged(old, obj)) enqueue(keyOf(obj));
    },
    onDelete: (obj) => {
      onDeleted?.(keyOf(obj));
      enqueue(keyOf(obj));
    },
  };
}
