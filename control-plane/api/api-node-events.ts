// Node.RecordEvents: the agent's events about its Pods (Started, Killing,
// BackOff, Unhealthy) go into the same aggregating recorder as the
// controllers', with source "kubelet" and the node as host. A node may report
// only about Pods bound to it; a Pod gone (or replaced under its name) by now
// is skipped, as UpdatePodStatus skips stale reports.
import { BrambleError } from '../../proto/util/errors.js';
import type { PodEventReport__Output } from '../../proto/types.js';
import type { Pod } from '../../proto/model.js';
import type { EventReport } from '../controllers/event-recorder-store.js';
import { eventReportProblems } from '../schema/schema-event-reports.js';
import type { Store } from '../store/store.js';

/** The kubelet's source.component, so tools that filter on it find the agent's events. */
export const AGENT_EVENT_COMPONENT = 'kubelet';

export interface EventReportSink {
  report(r: EventReport): boolean;
}

/** Checks every event, then records them; resolves with how many were kept. */
export function recordNodeEvents(store: Store, sink: EventReportSink, node: string, events: readonly PodEventReport__Output[]): number {
  const problems = eventReportProblems(events);
  if (problems.length > 0) {
    const summary = problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join('; ');
    throw new BrambleError('VALIDATION_FAILED', `events reported by node "${node}" are invalid: ${summary}`, problems);
  }
  const reports: EventReport[] = [];
  for (const e of events) {
    const pod = store.get('Pod', e.namespace, e.podName) as Pod | undefined;
    if (!pod || (e.podUid !== '' && pod.metadata.uid !== e.podUid)) continue;
    if (pod.spec.nodeName !== node) {
      throw new BrambleError('FORBIDDEN', `node "${node}" may not report events about pod "${e.namespace}/${e.podName}": it is bound to "${pod.spec.nodeName ?? ''}"`);
    }
    reports.push({
      involved: {
        kind: 'Pod', namespace: e.namespace, name: e.podName, apiVersion: 'v1',
        ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
        ...(e.fieldPath ? { fieldPath: e.fieldPath } : {}),
      },
      type: e.type as EventReport['type'],
      reason: e.reason,
      message: e.message,
      source: { component: AGENT_EVENT_COMPONENT, host: node },
      count: e.count,
    });
  }
  let accepted = 0;
  for (const r of reports) if (sink.report(r)) accepted++;
  return accepted;
}
