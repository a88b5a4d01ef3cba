// What a label-filtered watch sends for one store event. A client that keeps a
// view from list + watch must see an object leave when its labels stop
// matching and arrive when they start, or its view goes stale (Kubernetes'
// watch cache does the same). The store records the labels a MODIFIED event
// replaced (StoreEvent.previousLabels), so this is a pure function of the event
// and works alike for live events, replayed ones and ones read back from disk.
import { matchesSelector, type SelectorRequirement } from '../../proto/model.js';
import type { StoreEvent, WatchEventType } from '../store/store.js';

/**
 * The event type a watch with `selector` delivers, or undefined to skip it:
 * matched → matched MODIFIED, unmatched → matched ADDED, matched → unmatched
 * DELETED (carrying the new state of the object, as Kubernetes does).
 */
export function selectedEventType(e: StoreEvent, selector: SelectorRequirement[]): WatchEventType | undefined {
  if (selector.length === 0) return e.type;
  const now = matchesSelector(e.object.metadata.labels, selector);
  if (e.type !== 'MODIFIED') return now ? e.type : undefined;
  // No previousLabels: the write left the labels alone, so the object matched before iff it matches now.
  const before = e.previousLabels === undefined ? now : matchesSelector(e.previousLabels, selector);
  if (before && now) return 'MODIFIED';
  if (now) return 'ADDED';
  if (before) return 'DELETED';
  return undefined;
}
