// Events on the command line: `get events --field-selector` (parsed and applied
// here, on the client: the server lists by kind and namespace and Events are
// few, so a field index in the store would cost more than it saves), the order
// kubectl users expect (oldest first, newest last, next to the prompt), and the
// "Events:" table `describe` ends with.
import type { EventObject, KObject } from '../../proto/model.js';
import { humanDuration } from './cli-print.js';
import { UsageError } from './cli-errors.js';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Fields every kind can be selected on, as the apiserver. */
const META_FIELDS = ['metadata.name', 'metadata.namespace'];
/** The Event fields the apiserver indexes for selectors. */
const EVENT_FIELDS = [
  ...META_FIELDS,
  'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
  'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath',
  'reason', 'reportingComponent', 'source', 'type',
];

export function selectableFields(kind: string): string[] {
  return kind === 'Event' ? EVENT_FIELDS : META_FIELDS;
}

/**
 * Reads "involvedObject.name=web,type!=Normal" ("==" is "="). Throws a UsageError
 * naming an unknown field and the fields `kind` has, or a malformed term.
 */
export function parseFieldSelector(text: string, kind: string): FieldRequirement[] {
  const known = selectableFields(kind);
  const out: FieldRequirement[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const m = /^([A-Za-z][A-Za-z.]*)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (!m) throw new UsageError(`--field-selector must be terms such as involvedObject.name=web or type!=Normal, joined by commas: current value has "${term}"`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!known.includes(field)) {
      throw new UsageError(`--field-selector: "${field}" is not a field of ${kind} that can be selected on (${known.join(', ')})`);
    }
    out.push({ field, op: op === '!=' ? '!=' : '=', value: value.trim() });
  }
  return out;
}

function fieldValue(obj: KObject, field: string): string {
  if (field === 'source') return String((obj as Partial<EventObject>).source?.component ?? '');
  let cur: unknown = obj;
  for (const part of field.split('.')) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[part] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(obj: KObject, reqs: readonly FieldRequirement[]): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}

/** When the Event last happened, in ms; NaN when it does not say. */
export function lastSeenMs(e: KObject): number {
  const ev = e as Partial<EventObject>;
  for (const t of [ev.lastTimestamp, ev.eventTime as string | undefined, ev.firstTimestamp, e.metadata.creationTimestamp]) {
    const ms = typeof t === 'string' ? Date.parse(t) : NaN;
    if (!Number.isNaN(ms)) return ms;
  }
  return NaN;
}

/** Oldest first, as `kubectl get events --sort-by=.lastTimestamp`; undated Events first. */
export function sortEvents<T extends KObject>(events: T[]): T[] {
  const key = (e: KObject): number => (Number.isNaN(lastSeenMs(e)) ? -Infinity : lastSeenMs(e));
  return [...events].sort((a, b) => key(a) - key(b) || a.metadata.name.localeCompare(b.metadata.name));
}

/** The Events about `obj`: same kind and name, and the same uid when both say (an older namesake's are not its). */
export function eventsAbout(obj: KObject, events: KObject[]): EventObject[] {
  return (events as EventObject[]).filter((e) => {
    const o = e.involvedObject;
    if (!o || o.kind !== obj.kind || o.name !== obj.metadata.name) return false;
    return !(o.uid && obj.metadata.uid && o.uid !== obj.metadata.uid);
  });
}

/** kubectl's describe Age: "2m" or, for a repeated Event, "2m (x3 over 10m)". */
function eventAge(e: EventObject, now: number): string {
  const last = lastSeenMs(e);
  if (Number.isNaN(last)) return '<unknown>';
  const first = Date.parse(e.firstTimestamp ?? '');
  if ((e.count ?? 1) > 1 && !Number.isNaN(first)) return `${humanDuration(now - last)} (x${e.count} over ${humanDuration(now - first)})`;
  return humanDuration(now - last);
}

function eventSource(e: EventObject): string {
  const s = e.source;
  const component = s?.component ?? e.reportingComponent ?? '';
  return s?.host ? `${component}, ${s.host}` : component;
}

/** The "Events:" section `describe` ends with, kubectl's layout; "<none>" when there are none. */
export function describeEvents(events: EventObject[], now: number): string {
  if (events.length === 0) return 'Events:  <none>\n';
  const rows = [['Type', 'Reason', 'Age', 'From', 'Message'], ['----', '------', '----', '----', '-------']];
  for (const e of sortEvents(events)) rows.push([e.type ?? '', e.reason ?? '', eventAge(e, now), eventSource(e), (e.message ?? '').trim()]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return 'Events:\n' + rows.map((r) => ('  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')).trimEnd() + '\n').join('');
}
