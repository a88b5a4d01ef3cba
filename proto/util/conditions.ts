// Status conditions, the one way every writer sets them: the scheduler
// (PodScheduled), node status and node lifecycle (Ready) and the agent (a Pod's
// conditions). lastTransitionTime dates the last change of status, not the last
// write, so it is kept while the status stays the same; a reason or message may
// change under it. Inputs are never changed: conditions read from the store are
// frozen.
import type { Condition } from '../model.js';

/** The condition of this type, or undefined when there is none. */
export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Whether the condition of this type is present with status True. */
export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * `next` dated as it should be stored after `previous` (the condition of the same
 * type before): previous's lastTransitionTime when the status is unchanged and
 * previous has one, `nowIso` otherwise. Any lastTransitionTime on `next` is ignored.
 */
export function withTransitionTime(next: Condition, previous: Condition | undefined, nowIso: string): Condition {
  const kept = previous?.status === next.status ? previous.lastTransitionTime : undefined;
  return { ...next, lastTransitionTime: kept || nowIso };
}

/**
 * A new list with `next` in place of the condition of its type (dated by
 * withTransitionTime). The other conditions keep their order and `next` goes
 * last, as every writer stored them before this module.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: Condition, nowIso: string): Condition[] {
  const previous = findCondition(conditions, next.type);
  return [...(conditions ?? []).filter((c) => c.type !== next.type), withTransitionTime(next, previous, nowIso)];
}
