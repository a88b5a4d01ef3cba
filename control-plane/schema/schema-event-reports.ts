// The agents' event reports (Node.RecordEvents), checked before any is kept:
// a board's report is untrusted input like a user's manifest. One bad event
// refuses the whole report (nothing is half-recorded), naming the field path.
import type { FieldProblem } from '../../proto/util/errors.js';
import type { PodEventReport__Output } from '../../proto/types.js';
import { EVENT_LIMITS, reasonRule } from './schema-events.js';

export const EVENT_REPORT_LIMITS = {
  /** Events in one RecordEvents call; the agent sends more in several. */
  maxEvents: 100,
  /** Repeats folded into one report. */
  maxCount: 1_000_000,
  fieldPathLength: 256,
} as const;

export function eventReportProblems(events: readonly PodEventReport__Output[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (events.length > EVENT_REPORT_LIMITS.maxEvents) {
    problems.push({ path: 'events', message: `must hold no more than ${EVENT_REPORT_LIMITS.maxEvents} events: current count is ${events.length}` });
    return problems;
  }
  events.forEach((e, i) => {
    const at = (f: string): string => `events[${i}].${f}`;
    for (const [f, v] of [['namespace', e.namespace], ['podName', e.podName]] as const) {
      if (v === '') problems.push({ path: at(f), message: 'required' });
      else if (v.length > EVENT_LIMITS.nameLength) problems.push({ path: at(f), message: `must be no more than ${EVENT_LIMITS.nameLength} characters: current length is ${v.length}` });
    }
    if (e.podUid.length > 128) problems.push({ path: at('podUid'), message: `must be no more than 128 characters: current length is ${e.podUid.length}` });
    if (e.type !== 'Normal' && e.type !== 'Warning') problems.push({ path: at('type'), message: `must be "Normal" or "Warning": current value is ${JSON.stringify(e.type.slice(0, 40))}` });
    const reason = reasonRule(e.reason);
    if (reason) problems.push({ path: at('reason'), message: `${reason}: current value is ${JSON.stringify(e.reason.slice(0, 40))}` });
    if (e.message.length > EVENT_LIMITS.messageLength) {
      problems.push({ path: at('message'), message: `must be no more than ${EVENT_LIMITS.messageLength} characters: current length is ${e.message.length}` });
    }
    if (e.fieldPath.length > EVENT_REPORT_LIMITS.fieldPathLength) {
      problems.push({ path: at('fieldPath'), message: `must be no more than ${EVENT_REPORT_LIMITS.fieldPathLength} characters: current length is ${e.fieldPath.length}` });
    }
    if (!(e.count >= 1 && e.count <= EVENT_REPORT_LIMITS.maxCount)) {
      problems.push({ path: at('count'), message: `must be from 1 to ${EVENT_REPORT_LIMITS.maxCount}: current value is ${e.count}` });
    }
  });
  return problems;
}
