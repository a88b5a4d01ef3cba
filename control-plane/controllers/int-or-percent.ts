// maxSurge and maxUnavailable as counts (Kubernetes' intstr.GetScaledValueFromIntOrPercent
// and deploymentutil.ResolveFenceposts): a percentage of the desired Pods, surge
// rounded up and unavailability rounded down, so 25% of 3 is a surge of 1 and an
// unavailability of 0; both zero would stall a rollout, so unavailability is then 1.
import type { IntOrPercent } from '../../proto/model.js';

/** `value` as a count of `total`; percentages round up or down as asked. Malformed text counts as 0. */
export function scaledValue(value: IntOrPercent | undefined, total: number, roundUp: boolean, fallback: IntOrPercent): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return Math.max(0, Math.trunc(v));
  const m = /^(\d+)%$/.exec(v);
  if (!m) return 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** The surge and unavailability a rolling update may use for `replicas` desired Pods. */
export function resolveFenceposts(
  maxSurge: IntOrPercent | undefined, maxUnavailable: IntOrPercent | undefined, replicas: number,
  defaults: { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent } = { maxSurge: '25%', maxUnavailable: '25%' },
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, replicas, true, defaults.maxSurge);
  let unavailable = scaledValue(maxUnavailable, replicas, false, defaults.maxUnavailable);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}
